//! The console's edge as an attacker meets it: state changes from another
//! origin, malformed and oversized requests, forged forwarding headers.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use common::app::{PASSWORD, harness, post, send, sign_in};
use http::{Request, StatusCode, header};
use mailroom::server::edge::EdgeConfig;
use std::net::SocketAddr;
use tower::ServiceExt;

async fn level_of(h: &common::app::Harness, component: &str) -> Option<String> {
    mailroom::server::db::log_levels::all(&h.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|(c, _)| c == component)
        .map(|(_, level)| level)
}

/// Finding 1: a signed-in admin's browser on a hostile page (another
/// origin, even another port of the same host) cannot change a setting,
/// whatever the content type; the console's own pages can.
#[tokio::test]
async fn state_changes_from_another_origin_are_refused() {
    let h = harness().await;
    let cookie = sign_in(&h.app, "root").await;
    let before = level_of(&h, "guestaccess").await;
    let attempts: [(&str, &str, Option<&str>); 5] = [
        (
            "origin",
            "http://evil.example",
            Some("application/x-www-form-urlencoded"),
        ),
        ("origin", "http://console.test:4000", Some("text/plain")),
        ("origin", "null", None),
        (
            "sec-fetch-site",
            "same-site",
            Some("application/x-www-form-urlencoded"),
        ),
        (
            "referer",
            "http://evil.example/form.html",
            Some("application/x-www-form-urlencoded"),
        ),
    ];
    for (name, value, content_type) in attempts {
        let mut request = Request::post("/api/set_log_level")
            .header(header::HOST, "console.test:3000")
            .header(header::COOKIE, &cookie)
            .header(name, value);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = send(
            &h.app,
            request
                .body(Body::from("component=guestaccess&level=TRACE"))
                .unwrap(),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{name}: {value}: {}",
            answer.body
        );
        assert!(
            answer
                .body
                .contains("did not come from the console's own pages"),
            "{}",
            answer.body
        );
        assert_eq!(
            level_of(&h, "guestaccess").await,
            before,
            "{name}: {value} changed the level"
        );
    }
    // The console's own page, as a browser sends it.
    let answer = send(
        &h.app,
        Request::post("/api/set_log_level")
            .header(header::HOST, "console.test:3000")
            .header("origin", "http://console.test:3000")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("component=guestaccess&level=TRACE"))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(level_of(&h, "guestaccess").await.as_deref(), Some("TRACE"));
}

/// With `MAILROOM_PUBLIC_ORIGIN` set, only that origin's pages may change
/// state, whatever Host the request names (a proxy may rewrite it).
#[tokio::test]
async fn a_configured_public_origin_is_the_only_one() {
    let mut h = harness().await;
    let mut config = (*h.state.config).clone();
    config.edge = EdgeConfig::parse("https://mail.example.com", "").unwrap();
    h.state.config = std::sync::Arc::new(config);
    let app = mailroom::server::http::router(
        h.state.clone(),
        leptos::config::LeptosOptions::builder()
            .output_name("mailroom")
            .build(),
    );
    let login = |origin: &'static str| {
        Request::post("/api/login")
            .header(header::HOST, "10.0.0.5:3000")
            .header("origin", origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("username=root&password={PASSWORD}")))
            .unwrap()
    };
    let refused = send(&app, login("http://10.0.0.5:3000")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let accepted = send(&app, login("https://mail.example.com")).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
}

fn multipart_without_boundary(
    path: &str,
    content_type: &str,
    cookie: Option<&str>,
) -> Request<Body> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from("--x\r\n")).unwrap()
}

/// Finding 4: malformed requests get 400 or 413 with a short message, and
/// nothing panics.
#[tokio::test]
async fn malformed_requests_are_answered_400_or_413_without_a_panic() {
    let h = harness().await;
    let cookie = sign_in(&h.app, "root").await;
    for path in [
        "/api/upload_trusted_certificate",
        "/api/upload_oauth_certificate",
    ] {
        for content_type in ["multipart/form-data", "application/json", "text/plain"] {
            for session in [None, Some(cookie.as_str())] {
                let answer = send(
                    &h.app,
                    multipart_without_boundary(path, content_type, session),
                )
                .await;
                assert_eq!(
                    answer.status,
                    StatusCode::BAD_REQUEST,
                    "{path} {content_type}: {}",
                    answer.body
                );
                assert!(
                    answer.body.contains("multipart/form-data with a boundary"),
                    "{}",
                    answer.body
                );
            }
        }
    }

    // Over the body limit: declared, and streamed without a length.
    let big = vec![b'a'; 3 * 1024 * 1024];
    let declared = send(
        &h.app,
        Request::post("/api/set_log_level")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(
        declared.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        declared.body
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let streamed = send(
        &h.app,
        Request::post("/api/set_log_level")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap(),
    )
    .await;
    assert_eq!(
        streamed.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        streamed.body
    );

    // Undecodable arguments: a missing field, bytes that are not UTF-8.
    let missing = post(
        &h.app,
        "/api/set_log_level",
        "component=guestaccess",
        Some(&cookie),
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    let not_utf8 = send(
        &h.app,
        Request::post("/api/set_log_level")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(vec![b'{', 0xff, 0xfe, b'}']))
            .unwrap(),
    )
    .await;
    assert_eq!(
        not_utf8.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_utf8.body
    );

    // 40,000 ids: refused before the database sees them.
    let ids: String = (0..40_000).map(|i| format!("ids%5B{i}%5D={i}&")).collect();
    let bulk = post(
        &h.app,
        "/api/delete_guest_types",
        ids.trim_end_matches('&'),
        Some(&cookie),
    )
    .await;
    assert_eq!(bulk.status, StatusCode::BAD_REQUEST, "{}", bulk.body);
    assert!(bulk.body.contains("at most 5,000"), "{}", bulk.body);
}

/// A harness whose edge trusts `proxies` (CIDRs) as forwarding proxies.
async fn harness_trusting(proxies: &str) -> (common::app::Harness, axum::Router) {
    let mut h = harness().await;
    let mut config = (*h.state.config).clone();
    config.edge = EdgeConfig::parse("", proxies).unwrap();
    h.state.config = std::sync::Arc::new(config);
    let app = mailroom::server::http::router(
        h.state.clone(),
        leptos::config::LeptosOptions::builder()
            .output_name("mailroom")
            .build(),
    );
    (h, app)
}

fn sign_in_from(
    peer: &str,
    forwarded: &[(&str, &str)],
    user: &str,
    password: &str,
) -> Request<Body> {
    sign_in_to("/api/login", peer, forwarded, user, password)
}

/// A sign-in at `path` from the socket address `peer`, with `forwarded`
/// headers.
fn sign_in_to(
    path: &str,
    peer: &str,
    forwarded: &[(&str, &str)],
    user: &str,
    password: &str,
) -> Request<Body> {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in forwarded {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Body::from(format!("username={user}&password={password}")))
        .unwrap();
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// 20 wrong passwords for 20 names from the socket address `peer`, each
/// with an `X-Forwarded-For` naming another client.
async fn twenty_wrong_sign_ins_naming_other_clients(app: &axum::Router, peer: &str) {
    for attempt in 0..20 {
        let client = format!("203.0.113.{attempt}");
        let answer = send(
            app,
            sign_in_from(
                peer,
                &[("x-forwarded-for", &client)],
                &format!("nobody{attempt}"),
                "Wrong-Passw0rd",
            ),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            answer.body
        );
    }
}

/// Finding 5: forwarding headers from an address that is not a trusted
/// proxy change nothing (the per-address throttle still keys on the
/// socket, and `X-Forwarded-Proto: https` does not make cookies Secure);
/// from a trusted proxy they name the client.
#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let (_h, app) = harness_trusting("10.0.0.0/8").await;
    twenty_wrong_sign_ins_naming_other_clients(&app, "198.51.100.7").await;
    let throttled = send(
        &app,
        sign_in_from(
            "198.51.100.7",
            &[("x-forwarded-for", "203.0.113.200")],
            "root",
            PASSWORD,
        ),
    )
    .await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the forged address was believed: {}",
        throttled.body
    );

    // The same through a trusted proxy: each forwarded client is its own.
    let (_h, app) = harness_trusting("10.0.0.0/8").await;
    twenty_wrong_sign_ins_naming_other_clients(&app, "10.0.0.2").await;
    let signed_in = send(
        &app,
        sign_in_from(
            "10.0.0.2",
            &[
                ("x-forwarded-for", "203.0.113.200"),
                ("x-forwarded-proto", "https"),
            ],
            "root",
            PASSWORD,
        ),
    )
    .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert!(
        signed_in
            .set_cookie
            .as_deref()
            .is_some_and(|c| c.contains("; Secure")),
        "{:?}",
        signed_in.set_cookie
    );

    let untrusted_https = send(
        &app,
        sign_in_from(
            "198.51.100.8",
            &[("x-forwarded-proto", "https")],
            "root",
            PASSWORD,
        ),
    )
    .await;
    assert_eq!(
        untrusted_https.status,
        StatusCode::OK,
        "{}",
        untrusted_https.body
    );
    assert!(
        untrusted_https
            .set_cookie
            .as_deref()
            .is_some_and(|c| !c.contains("Secure")),
        "{:?}",
        untrusted_https.set_cookie
    );
}

/// Random bodies under random content types to every server function,
/// signed in and not: no panic, no 500 (a bounded property-based run).
#[test]
fn no_server_function_panics_or_fails_on_random_input() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = runtime.block_on(harness());
    let cookie = runtime.block_on(sign_in(&h.app, "root"));
    let paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .filter(|path| !["/api/logout", "/api/sponsor_logout"].contains(&path.as_str()))
        .collect();
    let content_types = [
        "application/x-www-form-urlencoded",
        "application/json",
        "multipart/form-data",
        "multipart/form-data; boundary=zz",
        "text/plain",
        "application/cbor",
        "",
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[a-z_%\\[\\]0-9=&]{0,120}".prop_map(String::into_bytes),
        "\\{(\"[a-z_]{1,12}\":(-?[0-9]{1,20}|\"[^\"]{0,20}\"|null|\\[\\]|\\{\\}),?){0,4}\\}"
            .prop_map(String::into_bytes),
        Just(b"--zz\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"a\"\r\n\r\nxx\r\n--zz--\r\n".to_vec()),
    ];
    let config = ProptestConfig {
        cases: 600,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(
            &(0..paths.len(), 0..content_types.len(), any::<bool>(), body),
            |(path, content_type, signed_in, body)| {
                let path = &paths[path];
                let mut request = Request::post(path.as_str());
                if !content_types[content_type].is_empty() {
                    request = request.header(header::CONTENT_TYPE, content_types[content_type]);
                }
                if signed_in {
                    request = request.header(header::COOKIE, &cookie);
                }
                let answer =
                    runtime.block_on(send(&h.app, request.body(Body::from(body)).unwrap()));
                prop_assert!(
                    answer.status.as_u16() < 500,
                    "{path} ({}) answered {}: {}",
                    content_types[content_type],
                    answer.status,
                    answer.body
                );
                Ok(())
            },
        )
        .unwrap();
}

/// Finding 2: an attacker's wrong passwords for `root` (60 from one
/// address) lock that address and slow clients root never used, but the
/// browser root signed in with before (its device cookie) signs in from
/// anywhere, the attacker's address included. Each lockout's start and end
/// is audited, and root sees the failed attempts after signing in. The
/// sponsor portal's sign-in is throttled alike.
#[tokio::test]
async fn a_lockout_does_not_lock_the_owners_browser_out() {
    use mailroom::server::clock::ManualClock;
    let clock = std::sync::Arc::new(ManualClock::new(
        time::macros::datetime!(2026-12-01 09:00 UTC),
    ));
    let h = common::app::harness_with_clock(clock.clone()).await;
    let first = send(&h.app, sign_in_from("192.0.2.10", &[], "root", PASSWORD)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let device = first.cookie("mailroom_device").expect("a device cookie");
    assert!(
        first
            .cookies
            .iter()
            .any(|c| c.starts_with("mailroom_device=")
                && c.contains("HttpOnly")
                && c.contains("SameSite=Strict")
                && c.contains("Max-Age=31536000")),
        "{:?}",
        first.cookies
    );

    let mut statuses = Vec::new();
    for _ in 0..60 {
        let answer = send(
            &h.app,
            sign_in_from("198.51.100.66", &[], "root", "Wrong-Passw0rd"),
        )
        .await;
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");

    // Root's browser: from another address, and from the attacker's.
    let with_device = |peer: &'static str| {
        let mut request = sign_in_from(peer, &[], "root", PASSWORD);
        request
            .headers_mut()
            .insert(header::COOKIE, device.parse().unwrap());
        request
    };
    let elsewhere = send(&h.app, with_device("192.0.2.20")).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
    let same_address = send(&h.app, with_device("198.51.100.66")).await;
    assert_eq!(same_address.status, StatusCode::OK, "{}", same_address.body);
    // A browser root never used is throttled at the attacker's address.
    let stranger = send(&h.app, sign_in_from("198.51.100.66", &[], "root", PASSWORD)).await;
    assert_eq!(
        stranger.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        stranger.body
    );

    // After signing in, root sees the failed attempts since the last sign-in.
    let session = elsewhere
        .set_cookie
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let dashboard = post(&h.app, "/api/get_dashboard", "", Some(&session)).await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    let summary: mailroom::domain::admin::DashboardSummary =
        serde_json::from_str(&dashboard.body).unwrap();
    let previous = summary.previous_sign_in.expect("the previous sign-in");
    assert_eq!(previous.from, "192.0.2.10");
    assert_eq!(previous.failed_attempts, 5);
    assert_eq!(previous.last_failed_from, "198.51.100.66");

    // The lockouts' starts are audited; their ends once they are over.
    let audited = |action: &'static str| {
        let db = h.state.db.clone();
        async move {
            mailroom::server::db::audit::recent(&db, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|row| row.action == action)
                .map(|row| row.target)
                .collect::<Vec<_>>()
        }
    };
    let started = audited("Sign-in lockout started").await;
    assert!(
        started.contains(&"admin 'root' from 198.51.100.66".to_string()),
        "{started:?}"
    );
    assert!(audited("Sign-in lockout ended").await.is_empty());
    clock.advance(time::Duration::minutes(20));
    mailroom::server::http::sweep_sessions_and_lockouts(&h.state)
        .await
        .unwrap();
    let ended = audited("Sign-in lockout ended").await;
    assert!(
        ended.contains(&"admin 'root' from 198.51.100.66".to_string()),
        "{ended:?}"
    );
    mailroom::server::http::sweep_sessions_and_lockouts(&h.state)
        .await
        .unwrap();
    assert_eq!(
        audited("Sign-in lockout ended").await.len(),
        ended.len(),
        "each end is audited once"
    );

    // A script that signs in without keeping cookies gets a new device id
    // each time: the user keeps at most ten trusted browsers, the latest
    // among them.
    let mut last = String::new();
    for n in 0..12 {
        let answer = send(
            &h.app,
            sign_in_from(&format!("192.0.2.{}", 40 + n), &[], "root", PASSWORD),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        last = answer.cookie("mailroom_device").unwrap();
    }
    let root_key = mailroom::server::throttle::user_key("root");
    assert_eq!(
        mailroom::server::db::trusted_devices::count(&h.state.db, &root_key)
            .await
            .unwrap(),
        mailroom::server::db::trusted_devices::MAX_PER_USER
    );
    let id = last.split_once('=').unwrap().1;
    let hash = mailroom::server::auth::token_hash(id);
    assert!(
        mailroom::server::db::trusted_devices::is_trusted(&h.state.db, &hash, &root_key, 0)
            .await
            .unwrap()
    );
}

/// The sponsor portal's sign-in shares the lockout: a sponsor's own browser
/// gets in after an attacker's failures for that sponsor.
#[tokio::test]
async fn a_sponsors_browser_is_not_locked_out_either() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    common::app::add_sponsor(&h.app, &root, "sam", 1).await;
    let first = send(
        &h.app,
        sign_in_to("/api/sponsor_login", "192.0.2.10", &[], "sam", PASSWORD),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let device = first.cookie("mailroom_device").expect("a device cookie");
    for attempt in 0..12 {
        let peer = format!("198.51.100.{}", attempt % 3);
        let answer = send(
            &h.app,
            sign_in_to("/api/sponsor_login", &peer, &[], "sam", "Wrong-Passw0rd"),
        )
        .await;
        assert!(
            matches!(answer.status.as_u16(), 401 | 429),
            "{}",
            answer.body
        );
    }
    // Ten failures from clients sam never used: every such client waits.
    let stranger = send(
        &h.app,
        sign_in_to("/api/sponsor_login", "192.0.2.99", &[], "sam", PASSWORD),
    )
    .await;
    assert_eq!(
        stranger.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        stranger.body
    );
    let mut own = sign_in_to("/api/sponsor_login", "192.0.2.99", &[], "sam", PASSWORD);
    own.headers_mut()
        .insert(header::COOKIE, device.parse().unwrap());
    let own = send(&h.app, own).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}

/// Pages carry a Content-Security-Policy whose nonce every inline script
/// of the page has (the hydration scripts), a fresh one per response.
#[tokio::test]
async fn pages_allow_only_their_own_nonced_scripts() {
    let h = harness().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = h
            .app
            .clone()
            .oneshot(Request::get("/login").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            !policy.contains("script-src 'self' 'unsafe-inline'")
                && policy.contains("frame-ancestors 'none'"),
            "{policy}"
        );
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce")
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        let html = String::from_utf8_lossy(&body);
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{html}");
        for script in scripts {
            let tag = script.split('>').next().unwrap();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "a script without the nonce: <script{tag}>"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
}
