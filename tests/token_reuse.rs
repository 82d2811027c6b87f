//! One token serves 1,000 sends: ten senders each send 100 messages one
//! after another; every send asks the token cache, signs in with AUTH
//! XOAUTH2 on a new STARTTLS connection to smtp-server (which verifies the
//! bearer token), and the Entra-like endpoint is asked for a token exactly
//! once, however many senders ask at the same moment.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use lettre::transport::smtp::client::TlsParameters;
use lettre::{AsyncTransport, Message};
use mailroom::domain::Secret;
use mailroom::server::clock::SystemClock;
use mailroom::server::oauth::cache::{CacheKey, TokenCache};
use mailroom::server::oauth::client::{HttpSetup, TokenCredential, TokenRequest, request_token};
use mailroom::server::smtp::transport::{Endpoint, tls_parameters, xoauth2};
use mailroom::server::tls;
use std::sync::Arc;
use std::time::Duration;

const SCOPE: &str = "https://outlook.office365.com/.default";
const GOOD_APP: &str = "1b2c3d4e-0000-4000-8000-00000000abcd";
const MAILBOX: &str = "noreply@contoso.onmicrosoft.com";
const SENDERS: usize = 10;
const SENDS_EACH: usize = 100;

#[tokio::test]
async fn a_thousand_sends_share_one_token() {
    let peers = Arc::new(Peers::start());
    let ca = peers.ca_der();
    let setup = Arc::new(HttpSetup {
        tls: tls::client_config(std::slice::from_ref(&ca)),
        proxy: None,
        timeout: Duration::from_secs(10),
    });
    let cache = Arc::new(TokenCache::new(Arc::new(SystemClock)));
    let key = CacheKey {
        authority: peers.authority(),
        tenant: peers.text("tenant_id"),
        client_id: GOOD_APP.into(),
        scope: SCOPE.into(),
    };
    let starttls = tls_parameters("localhost", std::slice::from_ref(&ca)).unwrap();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (peers, setup, cache, key, starttls) = (
            peers.clone(),
            setup.clone(),
            cache.clone(),
            key.clone(),
            starttls.clone(),
        );
        senders.spawn(async move {
            for n in 0..SENDS_EACH {
                send_one(
                    &peers,
                    &setup,
                    &cache,
                    &key,
                    &starttls,
                    sender * SENDS_EACH + n,
                )
                .await;
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("a sender panicked");
    }

    let stats = peers.stats().await;
    assert_eq!(stats["token_requests_by_client"][GOOD_APP], 1, "{stats}");
    assert_eq!(stats["auth_ok"], SENDERS * SENDS_EACH, "{stats}");
    assert_eq!(stats["messages"], SENDERS * SENDS_EACH, "{stats}");
}

async fn send_one(
    peers: &Peers,
    setup: &HttpSetup,
    cache: &TokenCache,
    key: &CacheKey,
    starttls: &TlsParameters,
    n: usize,
) {
    let token_url = format!("{}/{}/oauth2/v2.0/token", key.authority, key.tenant);
    let (token, _origin) = cache
        .get(key, || async {
            let exchange = request_token(
                setup,
                TokenRequest {
                    token_url,
                    client_id: GOOD_APP.into(),
                    scope: SCOPE.into(),
                    credential: TokenCredential::Secret(Secret::new(peers.text("client_secret"))),
                },
            )
            .await;
            exchange.result.map_err(|d| d.message)
        })
        .await
        .expect("a token");
    let transport = xoauth2(
        Endpoint {
            host: "localhost",
            port: peers.port("smtp"),
            timeout: Duration::from_secs(20),
            starttls: Some(starttls.clone()),
            hello_name: "ise-pan-01.test",
        },
        MAILBOX,
        &token,
    );
    let message = Message::builder()
        .from(MAILBOX.parse().unwrap())
        .to("guest@example.com".parse().unwrap())
        .subject(format!("reuse {n}"))
        .body(format!("message {n}"))
        .unwrap();
    transport
        .send(message)
        .await
        .unwrap_or_else(|e| panic!("send {n}: {e}"));
}
