//! Microsoft Graph's sendMail as the transport, against the peers' Graph-like
//! endpoint (it checks the token's audience and roles, the mailbox's scope
//! and the MIME From, answers Graph's error bodies and throttles above four
//! concurrent requests per mailbox): Test Connection's diagnoses, each
//! provoked for real, and delivery (one token for a batch, Retry-After on
//! 429, a refreshed token after a 401, a dead letter on 403).
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, harness_with_mail, sign_in};
use common::forms::{GOOD_APP, MAILBOX, configure_smtp};
use common::mail::{queue_guest_mail, queue_mail, wait_for_status};
use mailroom::domain::Secret;
use mailroom::domain::connection_test::{ConnectionTestReport, StepStatus};
use mailroom::domain::diagnosis::Step;
use mailroom::domain::mail::{MailDetail, MailKind, MailStatus, RetryPolicy};
use mailroom::domain::smtp::{SmtpSettingsForm, StoredSecrets};
use mailroom::domain::transcript::to_text;
use mailroom::server::db;
use mailroom::server::mail::{MailConfig, Outgoing, worker};
use mailroom::server::oauth::client::ProxyConfig;
use mailroom::server::smtp::{TestContext, test_connection};
use mailroom::server::tls;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;

const NO_ROLE_APP: &str = "1b2c3d4e-0000-4000-8000-00000000beef";

/// One set of peers for the Test Connection cases; the delivery cases
/// start their own, so that faults and counters stay theirs.
fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(Peers::start)
}

fn graph_form(peers: &Peers) -> SmtpSettingsForm {
    SmtpSettingsForm {
        // Left as the page keeps them; Graph does not use them.
        smtp_server: "smtp.office365.com".into(),
        smtp_port: "587".into(),
        connection_timeout: "10".into(),
        use_tls: true,
        use_authentication: true,
        auth_type: "oauth".into(),
        username: MAILBOX.into(),
        cloud: "custom".into(),
        custom_authority: peers.authority(),
        client_id: GOOD_APP.into(),
        tenant_id: peers.text("tenant_id"),
        credential: "secret".into(),
        client_secret: peers.text("client_secret"),
        secret_expiry: "2027-06-30".into(),
        transport: "graph".into(),
        ..Default::default()
    }
}

async fn run_with(
    form: &SmtpSettingsForm,
    trusted: Vec<Vec<u8>>,
    proxy: Option<ProxyConfig>,
) -> ConnectionTestReport {
    let settings = form
        .validate(StoredSecrets::default())
        .expect("the test form is valid");
    let context = TestContext {
        secret: Some(Secret::new(form.client_secret.clone())),
        assertion: None,
        tls: tls::client_config(&trusted),
        proxy,
        hello_name: "ise-pan-01.test".into(),
    };
    test_connection(&settings, context).await
}

async fn run(form: &SmtpSettingsForm) -> ConnectionTestReport {
    run_with(form, vec![peers().ca_der()], None).await
}

/// The failing rung and the diagnosis's code.
fn failure(report: &ConnectionTestReport) -> (Step, String) {
    let step = report
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap_or_else(|| panic!("a failed step: {report:#?}"))
        .step;
    (step, report.diagnosis.as_ref().unwrap().code.clone())
}

#[tokio::test]
async fn graph_test_connection_sends_to_the_mailbox_itself_and_masks_the_token() {
    let peers = peers();
    let report = run(&graph_form(peers)).await;
    assert!(report.passed(), "{report:#?}");
    let steps: Vec<Step> = report.steps.iter().map(|s| s.step).collect();
    assert_eq!(steps, [Step::Token, Step::TokenClaims, Step::GraphSend]);
    assert_eq!(
        report.summary,
        format!("Microsoft Graph accepted a test message from {MAILBOX} to itself.")
    );
    assert!(
        report.steps[1].detail.contains("Mail.Send"),
        "{:?}",
        report.steps[1]
    );
    assert!(report.steps[2].detail.starts_with("202 Accepted"));
    let text = to_text(&report.transcript);
    assert!(
        text.contains("/v1.0/users/noreply@contoso.onmicrosoft.com/sendMail"),
        "{text}"
    );
    assert!(text.contains("Authorization: Bearer ********"), "{text}");
    assert!(
        text.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
        "{text}"
    );
    assert!(!text.contains("eyJ"), "no part of a JWT: {text}");
    assert!(!text.contains("Good~Secret"), "{text}");
    let messages = peers.messages().await;
    let test_message = messages
        .iter()
        .rev()
        .find(|m| {
            m["via"] == "graph"
                && m["subject"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Test Connection")
        })
        .expect("the test message reached Graph");
    assert_eq!(test_message["from"], MAILBOX);
    assert_eq!(test_message["to"], json!([MAILBOX]));
}

#[tokio::test]
async fn graphs_refusals_are_each_diagnosed_with_their_fix() {
    let peers = peers();
    // No Mail.Send in the token: found before Graph is asked.
    let mut form = graph_form(peers);
    form.client_id = NO_ROLE_APP.into();
    let report = run(&form).await;
    assert_eq!(
        failure(&report),
        (Step::TokenClaims, "token-missing-role".into())
    );
    assert!(report.diagnosis.unwrap().hint.contains("Mail.Send"));

    // A mailbox of the tenant outside the app's RBAC scope.
    let mut form = graph_form(peers);
    form.username = "guests3@contoso.onmicrosoft.com".into();
    let report = run(&form).await;
    assert_eq!(
        failure(&report),
        (Step::GraphSend, "403 ErrorAccessDenied".into())
    );
    let diagnosis = report.diagnosis.unwrap();
    assert!(!diagnosis.temporary);
    assert!(diagnosis.hint.contains("New-ManagementRoleAssignment -App"));
    assert!(
        diagnosis
            .hint
            .contains("Test-ServicePrincipalAuthorization")
    );
    assert!(diagnosis.trace_id.is_some(), "Graph's request-id is kept");

    // A mailbox hosted on premises.
    form.username = "onprem@contoso.onmicrosoft.com".into();
    let report = run(&form).await;
    assert_eq!(
        failure(&report),
        (Step::GraphSend, "404 MailboxNotEnabledForRESTAPI".into())
    );
    assert!(report.diagnosis.unwrap().hint.contains("on premises"));

    // No such mailbox.
    form.username = "nobody@contoso.onmicrosoft.com".into();
    let report = run(&form).await;
    assert_eq!(
        failure(&report),
        (Step::GraphSend, "404 ErrorInvalidUser".into())
    );
    assert!(report.diagnosis.unwrap().hint.contains("no mailbox"));
}

#[tokio::test]
async fn throttling_unavailability_an_untrusted_chain_and_a_proxy_refusal() {
    // Its own peers: faults are taken by whichever request comes first.
    let peers = Peers::start();
    let trusted = || vec![peers.ca_der()];
    peers
        .control(
            "/_faults",
            json!({"at": "graph", "action": "status", "status": 429, "retry_after": 7}),
        )
        .await;
    let report = run_with(&graph_form(&peers), trusted(), None).await;
    assert_eq!(
        failure(&report),
        (Step::GraphSend, "429 ApplicationThrottled".into())
    );
    let diagnosis = report.diagnosis.unwrap();
    assert!(diagnosis.temporary);
    assert_eq!(diagnosis.retry_after_seconds, Some(7));

    for status in [503, 504] {
        peers
            .control(
                "/_faults",
                json!({"at": "graph", "action": "status", "status": status}),
            )
            .await;
        let report = run_with(&graph_form(&peers), trusted(), None).await;
        let (step, code) = failure(&report);
        assert_eq!(step, Step::GraphSend);
        assert!(code.starts_with(&status.to_string()), "{code}");
        assert!(report.diagnosis.unwrap().temporary);
    }

    // Graph behind a certificate from a CA nobody imported.
    let mut form = graph_form(&peers);
    form.graph_endpoint = format!("https://localhost:{}", peers.port("token_https"));
    let report = run_with(&form, vec![], None).await;
    assert_eq!(
        failure(&report),
        (Step::GraphSend, "untrusted-certificate".into())
    );
    assert!(
        report
            .diagnosis
            .unwrap()
            .hint
            .contains("Trusted Certificates")
    );

    // The proxy refuses (wrong password); the token endpoint is bypassed.
    let proxy = ProxyConfig {
        host: "127.0.0.1".into(),
        port: peers.port("proxy"),
        username: Some(peers.text("proxy_user")),
        password: Some(Secret::new("wrong")),
        bypass: vec!["127.0.0.1".into()],
    };
    let report = run_with(&form, trusted(), Some(proxy)).await;
    assert_eq!(
        failure(&report),
        (Step::GraphSend, "graph-unreachable".into())
    );
    assert!(report.diagnosis.unwrap().hint.contains("proxy"));
}

struct Rig {
    h: Harness,
    root: String,
    peers: Peers,
}

async fn rig() -> Rig {
    let peers = Peers::start();
    let h = harness_with_mail(MailConfig {
        pool_size: 8,
        retry: RetryPolicy {
            max_attempts: 4,
            base_ms: 200,
            max_ms: 2000,
        },
        lease: Duration::from_secs(60),
        ..MailConfig::default()
    })
    .await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, &peers, &[("transport", "graph".into())]).await;
    worker::spawn(h.state.clone());
    Rig { h, root, peers }
}

impl Rig {
    async fn stats(&self) -> Value {
        self.peers.stats().await
    }

    async fn tokens(&self) -> i64 {
        self.stats().await["token_requests_by_client"][GOOD_APP]
            .as_i64()
            .unwrap_or(0)
    }

    async fn wait_for(&self, id: i64, wanted: MailStatus, within: Duration) -> MailDetail {
        wait_for_status(&self.h, &self.root, id, wanted, within).await
    }

    async fn queue_one(&self, sender: &str, tag: &str) -> i64 {
        let queued = queue_mail(
            &self.h.state,
            &[Outgoing {
                kind: MailKind::GuestCredentials,
                sender: sender.into(),
                recipients: vec![format!("{tag}@example.com")],
                subject: format!("Graph {tag}"),
                text: format!("Hello {tag}"),
                html: None,
                created_by: "sponsor1".into(),
                language: None,
            }],
        )
        .await;
        self.h.state.mailer.submitted(&queued);
        queued[0].id
    }
}

fn outcomes(detail: &MailDetail) -> Vec<&str> {
    detail.attempts.iter().map(|a| a.outcome.as_str()).collect()
}

#[tokio::test]
async fn a_thousand_messages_go_through_graph_with_one_token_four_at_a_time() {
    let rig = rig().await;
    let tokens_before = rig.tokens().await;
    let queued = queue_guest_mail(&rig.h.state, 1000, "Graph").await;
    rig.h.state.mailer.submitted(&queued);
    common::mail::settled(&rig.h.state).await;
    let counts = db::outbox::counts(&rig.h.state.db).await.unwrap();
    assert_eq!(counts.sent, 1000, "{counts:?}");
    let stats = rig.stats().await;
    assert_eq!(rig.tokens().await - tokens_before, 1, "one token: {stats}");
    assert_eq!(
        stats["graph_throttled"], 0,
        "never over Graph's limit: {stats}"
    );
    let most = stats["graph_max_in_flight"].as_i64().unwrap();
    assert!((1..=4).contains(&most), "{stats}");
    // Every message arrived whole, with the Message-ID the outbox gave it.
    let arrived: std::collections::HashSet<String> = rig
        .peers
        .messages()
        .await
        .iter()
        .filter(|m| m["via"] == "graph")
        .map(|m| m["message_id"].as_str().unwrap_or_default().to_string())
        .collect();
    for q in &queued {
        assert!(
            arrived.contains(&q.message_id),
            "{} never arrived",
            q.message_id
        );
    }
    let raw = rig
        .peers
        .messages()
        .await
        .into_iter()
        .find(|m| m["subject"] == "Your guest account 7")
        .unwrap();
    let raw = raw["raw"].as_str().unwrap();
    assert!(
        raw.contains("multipart/alternative"),
        "both parts kept: {raw}"
    );
    assert!(raw.contains("Graph-7-pw"), "{raw}");
}

#[tokio::test]
async fn graph_429_waits_for_retry_after_and_a_revoked_token_is_replaced_once() {
    let rig = rig().await;
    rig.peers
        .control(
            "/_faults",
            json!({"at": "graph", "action": "status", "status": 429, "retry_after": 2}),
        )
        .await;
    let id = rig.queue_one(MAILBOX, "throttled").await;
    let detail = rig
        .wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "sent"], "{detail:?}");
    let waited = detail.attempts[1].started_at - detail.attempts[0].started_at;
    assert!(
        waited >= 2000,
        "Retry-After: 2 honoured, waited {waited} ms"
    );
    assert!(
        detail.row.last_reply.as_deref().unwrap().starts_with("202"),
        "{detail:?}"
    );

    // Graph revokes the cached token: one new token, sent in the same attempt.
    let tokens_before = rig.tokens().await;
    rig.peers
        .control("/_faults", json!({"at": "graph", "action": "revoke"}))
        .await;
    let id = rig.queue_one(MAILBOX, "revoked").await;
    let detail = rig
        .wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["sent"], "{detail:?}");
    assert_eq!(rig.tokens().await - tokens_before, 1);
}

#[tokio::test]
async fn graphs_403_is_a_dead_letter_with_its_diagnosis() {
    let rig = rig().await;
    // Graph sends only as the mailbox in the address.
    let id = rig
        .queue_one("someone-else@contoso.onmicrosoft.com", "send-as")
        .await;
    let detail = rig
        .wait_for(id, MailStatus::Dead, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["dead"], "no retries: {detail:?}");
    let diagnosis = detail.diagnosis.unwrap();
    assert_eq!(diagnosis.code, "403 ErrorSendAsDenied");
    assert_eq!(diagnosis.step, Step::GraphSend);
    assert!(diagnosis.hint.contains(MAILBOX), "{diagnosis:?}");
    assert!(detail.body_kept, "a dead letter keeps its body for Retry");
}
