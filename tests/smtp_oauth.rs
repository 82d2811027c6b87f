//! Test Connection against real peers: nodemailer's smtp-server speaking
//! STARTTLS and AUTH XOAUTH2 (it verifies the bearer token), an Entra
//! ID-like token endpoint with its AADSTS error bodies, and an HTTP proxy.
//! Every diagnosis of the troubleshooting table is provoked for real here.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use mailroom::domain::Secret;
use mailroom::domain::connection_test::{ConnectionTestReport, StepStatus};
use mailroom::domain::diagnosis::Step;
use mailroom::domain::smtp::{SmtpSettings, SmtpSettingsForm, StoredSecrets};
use mailroom::domain::transcript::to_text;
use mailroom::server::oauth::client::{
    HttpSetup, ProxyConfig, TokenCredential, TokenRequest, request_token,
};
use mailroom::server::smtp::{TestContext, test_connection};
use mailroom::server::tls;
use std::sync::OnceLock;
use std::time::Duration;

const GOOD_APP: &str = "1b2c3d4e-0000-4000-8000-00000000abcd";
const NO_ROLE_APP: &str = "1b2c3d4e-0000-4000-8000-00000000beef";
const EXPIRED_APP: &str = "1b2c3d4e-0000-4000-8000-00000000dead";
const THROTTLED_APP: &str = "1b2c3d4e-0000-4000-8000-000000000429";
const UNAVAILABLE_APP: &str = "1b2c3d4e-0000-4000-8000-000000000503";
const MAILBOX: &str = "noreply@contoso.onmicrosoft.com";
const SCOPE: &str = "https://outlook.office365.com/.default";

type FormChange = Box<dyn Fn(&mut SmtpSettingsForm)>;

/// One set of peers for the whole file; the process ends with the tests.
fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(Peers::start)
}

fn oauth_form(peers: &Peers) -> SmtpSettingsForm {
    SmtpSettingsForm {
        smtp_server: "localhost".into(),
        smtp_port: peers.port("smtp").to_string(),
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
        ..Default::default()
    }
}

fn settings(form: &SmtpSettingsForm) -> SmtpSettings {
    form.validate(StoredSecrets::default())
        .expect("the test form is valid")
}

fn context(secret: &str, trusted: Vec<Vec<u8>>, proxy: Option<ProxyConfig>) -> TestContext {
    TestContext {
        secret: Some(Secret::new(secret)),
        assertion: None,
        tls: tls::client_config(&trusted),
        proxy,
        hello_name: "ise-pan-01.test".into(),
    }
}

async fn run(form: &SmtpSettingsForm, trust_ca: bool) -> ConnectionTestReport {
    let peers = peers();
    let trusted = if trust_ca {
        vec![peers.ca_der()]
    } else {
        vec![]
    };
    test_connection(&settings(form), context(&form.client_secret, trusted, None)).await
}

fn failed_step(report: &ConnectionTestReport) -> Step {
    report
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .expect("a failed step")
        .step
}

fn code(report: &ConnectionTestReport) -> String {
    report.diagnosis.as_ref().expect("a diagnosis").code.clone()
}

#[tokio::test]
async fn oauth_over_starttls_passes_every_step_and_masks_secrets() {
    let peers = peers();
    let form = oauth_form(peers);
    let report = run(&form, true).await;
    assert!(report.passed(), "{report:#?}");
    assert_eq!(report.summary, "Successfully connected to localhost.");
    let steps: Vec<Step> = report.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            Step::Token,
            Step::TokenClaims,
            Step::Connect,
            Step::Greeting,
            Step::Ehlo,
            Step::StartTls,
            Step::Ehlo,
            Step::Auth,
            Step::Quit
        ]
    );
    let text = to_text(&report.transcript);
    assert!(text.contains("C: STARTTLS"), "{text}");
    assert!(text.contains("C: AUTH XOAUTH2 ********"), "{text}");
    assert!(text.contains("S: 235 Authentication successful"), "{text}");
    assert!(text.contains("client_secret=********"), "{text}");
    assert!(text.contains("\"access_token\":\"********\""), "{text}");
    // Neither the secret (raw or URL-encoded) nor any part of a JWT leaks.
    assert!(!text.contains("Good~Secret"), "{text}");
    assert!(!text.contains("Good%7ESecret"), "{text}");
    assert!(!text.contains("eyJ"), "{text}");
}

#[tokio::test]
async fn an_untrusted_smtp_certificate_is_diagnosed_at_starttls() {
    let report = run(&oauth_form(peers()), false).await;
    assert_eq!(failed_step(&report), Step::StartTls);
    assert_eq!(code(&report), "untrusted-certificate");
    let diagnosis = report.diagnosis.unwrap();
    assert!(diagnosis.message.contains("PKIX path building failed"));
    assert!(diagnosis.hint.contains("Trusted Certificates"));
    // The steps after the failure are listed but did not run.
    assert_eq!(report.steps.last().unwrap().status, StepStatus::NotRun);
}

#[tokio::test]
async fn token_endpoint_errors_are_matched_on_their_aadsts_codes() {
    let peers = peers();
    let cases: [(&str, FormChange); 6] = [
        (
            "AADSTS90002",
            Box::new(|f| f.tenant_id = "fabrikam.onmicrosoft.com".into()),
        ),
        (
            "AADSTS700016",
            Box::new(|f| f.client_id = "1b2c3d4e-0000-4000-8000-0000000f0f0f".into()),
        ),
        (
            "AADSTS7000215",
            Box::new(|f| f.client_secret = "2b8c1f7e-0f1e-4a52-9d5e-000000000001".into()),
        ),
        (
            "AADSTS7000222",
            Box::new(|f| f.client_id = EXPIRED_APP.into()),
        ),
        ("HTTP 429", Box::new(|f| f.client_id = THROTTLED_APP.into())),
        (
            "HTTP 503",
            Box::new(|f| f.client_id = UNAVAILABLE_APP.into()),
        ),
    ];
    for (expected, change) in cases {
        let mut form = oauth_form(peers);
        change(&mut form);
        let report = run(&form, true).await;
        assert_eq!(failed_step(&report), Step::Token, "{expected}");
        let diagnosis = report.diagnosis.clone().unwrap();
        assert!(
            diagnosis.code.starts_with(expected),
            "{expected}: {diagnosis:#?}"
        );
        if expected.starts_with("AADSTS") {
            assert!(
                diagnosis.trace_id.is_some(),
                "{expected} keeps the trace ID"
            );
            assert!(diagnosis.correlation_id.is_some(), "{expected}");
        }
        // Nothing after the token ran: no SMTP connection was attempted.
        assert!(
            report.steps[1..]
                .iter()
                .all(|s| s.status == StepStatus::NotRun)
        );
    }
    let mut form = oauth_form(peers);
    form.client_secret = "wrong".into();
    let d = run(&form, true).await.diagnosis.unwrap();
    assert_eq!(d.message, "Invalid Client Secret.");
    form.client_id = THROTTLED_APP.into();
    let d = run(&form, true).await.diagnosis.unwrap();
    assert!(d.temporary);
    assert!(
        d.hint.contains("30 seconds"),
        "Retry-After is honoured: {d:#?}"
    );
}

/// 900023 and 70011 need a tenant and a scope the SMTP form would never
/// send, so the token client is called directly with them.
#[tokio::test]
async fn malformed_tenant_and_wrong_scope_are_explained() {
    let peers = peers();
    let setup = HttpSetup {
        tls: tls::client_config(&[]),
        proxy: None,
        timeout: Duration::from_secs(10),
    };
    let request = |tenant: &str, scope: &str| TokenRequest {
        token_url: format!("{}/{tenant}/oauth2/v2.0/token", peers.authority()),
        client_id: GOOD_APP.into(),
        scope: scope.into(),
        credential: TokenCredential::Secret(Secret::new(peers.text("client_secret"))),
    };
    let malformed = request_token(&setup, request("contoso_tenant", SCOPE)).await;
    let d = malformed.result.err().unwrap();
    assert_eq!(d.code, "AADSTS900023");
    assert!(d.message.contains("Invalid Tenant ID"));
    let scope = request_token(
        &setup,
        request(
            &peers.text("tenant_id"),
            "https://management.azure.com/.default",
        ),
    )
    .await;
    let d = scope.result.err().unwrap();
    assert_eq!(d.code, "AADSTS70011");
    assert!(d.hint.contains("https://outlook.office365.com/.default"));
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_explained() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut form = oauth_form(peers());
    form.custom_authority = format!("http://127.0.0.1:{port}");
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Token);
    assert_eq!(code(&report), "token-endpoint-unreachable");
    assert!(report.diagnosis.unwrap().hint.contains("proxy"));
}

#[tokio::test]
async fn the_token_endpoint_over_https_trusts_only_imported_cas() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.custom_authority = format!("https://localhost:{}", peers.port("token_https"));
    let report = run(&form, false).await;
    assert_eq!(failed_step(&report), Step::Token);
    assert_eq!(code(&report), "untrusted-certificate");
    assert!(
        report
            .diagnosis
            .unwrap()
            .message
            .starts_with("Error acquiring token: PKIX path building failed")
    );
    assert!(run(&form, true).await.passed());
}

#[tokio::test]
async fn a_token_without_smtp_send_as_app_is_caught_before_smtp() {
    let mut form = oauth_form(peers());
    form.client_id = NO_ROLE_APP.into();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::TokenClaims);
    assert_eq!(code(&report), "token-missing-role");
}

#[tokio::test]
async fn exchange_auth_refusals_are_explained() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.username = "someone-else@contoso.onmicrosoft.com".into();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Auth);
    assert_eq!(code(&report), "535 5.7.3");
    assert!(
        report
            .diagnosis
            .unwrap()
            .hint
            .contains("Add-MailboxPermission")
    );

    form.username = "smtp-disabled@contoso.onmicrosoft.com".into();
    let report = run(&form, true).await;
    assert_eq!(code(&report), "535 5.7.139");
}

#[tokio::test]
async fn a_server_without_xoauth2_answers_504() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.smtp_port = peers.port("smtp_no_xoauth2").to_string();
    form.use_tls = false;
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Auth);
    assert!(code(&report).starts_with("504"), "{report:#?}");
    assert!(report.diagnosis.unwrap().hint.contains("STARTTLS"));

    // The Exchange-like port refuses AUTH before STARTTLS ("538 ... STARTTLS
    // first", Exchange Online says 504 5.7.4): the same advice.
    let mut form = oauth_form(peers);
    form.use_tls = false;
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Auth);
    assert!(code(&report).starts_with("538"), "{report:#?}");
    assert!(
        report
            .diagnosis
            .unwrap()
            .hint
            .contains("Use TLS/SSL Encryption")
    );
}

#[tokio::test]
async fn a_busy_server_421_is_temporary() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.smtp_port = peers.port("smtp_busy").to_string();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Greeting);
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "421 4.3.2");
    assert!(d.temporary);
}

#[tokio::test]
async fn a_connect_timeout_names_host_port_and_seconds() {
    // A listener whose accept queue is full: further SYNs are dropped, so a
    // connect hangs exactly like one through a silent firewall.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(stream);
        }
    }
    let mut form = oauth_form(peers());
    form.smtp_server = "127.0.0.1".into();
    form.smtp_port = addr.port().to_string();
    form.connection_timeout = "2".into();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Connect);
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "connect-timeout");
    assert!(d.message.contains(&format!("port {}", addr.port())));
    assert!(d.message.contains("after 2 s"));
    drop(listener);
}

#[tokio::test]
async fn a_server_that_never_greets_times_out_at_the_greeting() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.smtp_port = peers.port("smtp_silent").to_string();
    form.connection_timeout = "1".into();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Greeting);
    assert_eq!(code(&report), "timeout");
    assert!(report.total_millis < 5_000);
}

#[tokio::test]
async fn an_unknown_host_is_a_dns_failure() {
    let mut form = oauth_form(peers());
    form.smtp_server = "smtp.does-not-exist.invalid".into();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Connect);
    assert_eq!(code(&report), "dns");
}

#[tokio::test]
async fn the_token_request_goes_through_the_proxy_and_says_so() {
    let peers = peers();
    let form = oauth_form(peers);
    let proxy = ProxyConfig {
        host: "127.0.0.1".into(),
        port: peers.port("proxy"),
        username: Some(peers.text("proxy_user")),
        password: Some(Secret::new(peers.text("proxy_password"))),
        bypass: vec![],
    };
    let before = peers.stats().await["proxied"].as_u64().unwrap();
    let report = test_connection(
        &settings(&form),
        context(
            &form.client_secret,
            vec![peers.ca_der()],
            Some(proxy.clone()),
        ),
    )
    .await;
    assert!(report.passed(), "{report:#?}");
    assert!(report.token_via_proxy);
    assert!(report.steps[0].detail.contains("through the proxy"));
    assert!(peers.stats().await["proxied"].as_u64().unwrap() > before);

    // A bypassed host is reached directly.
    let bypassing = ProxyConfig {
        bypass: vec!["127.0.0.1".into()],
        ..proxy
    };
    let report = test_connection(
        &settings(&form),
        context(&form.client_secret, vec![peers.ca_der()], Some(bypassing)),
    )
    .await;
    assert!(report.passed());
    assert!(!report.token_via_proxy);
}

#[tokio::test]
async fn password_auth_on_a_plain_relay() {
    let peers = peers();
    let form = SmtpSettingsForm {
        smtp_server: "127.0.0.1".into(),
        smtp_port: peers.port("smtp_no_xoauth2").to_string(),
        connection_timeout: "10".into(),
        use_tls: false,
        use_authentication: true,
        auth_type: "password".into(),
        username: "relay-user".into(),
        password: "Relay-Passw0rd".into(),
        ..Default::default()
    };
    let report = test_connection(&settings(&form), context("Relay-Passw0rd", vec![], None)).await;
    assert!(report.passed(), "{report:#?}");
    assert!(!to_text(&report.transcript).contains("Relay-Passw0rd"));
    let report = test_connection(&settings(&form), context("wrong", vec![], None)).await;
    // The relay offers PLAIN first: the rung is named after what was sent.
    assert_eq!(failed_step(&report), Step::AuthPlain);
    assert_eq!(code(&report), "535 5.7.3");
}

fn password_form(peers: &Peers, port: &str) -> SmtpSettingsForm {
    SmtpSettingsForm {
        smtp_server: "localhost".into(),
        smtp_port: peers.port(port).to_string(),
        connection_timeout: "10".into(),
        use_tls: true,
        use_authentication: true,
        auth_type: "password".into(),
        username: MAILBOX.into(),
        password: "Summer2026!".into(),
        ..Default::default()
    }
}

/// Exchange Online since basic authentication was retired: EHLO offers
/// `AUTH LOGIN XOAUTH2`, AUTH LOGIN gets 535 5.7.139, and lettre's QUIT
/// afterwards gets 221. The page must show the 535 at AUTH LOGIN.
#[tokio::test]
async fn a_password_refused_because_basic_auth_is_off_points_to_oauth() {
    let peers = peers();
    let form = password_form(peers, "smtp_basic_off");
    let report = test_connection(
        &settings(&form),
        context(&form.password, vec![peers.ca_der()], None),
    )
    .await;
    assert_eq!(failed_step(&report), Step::AuthLogin, "{report:#?}");
    assert_eq!(report.summary, "Test Connection failed at AUTH LOGIN.");
    let d = report.diagnosis.clone().unwrap();
    assert_eq!(d.step, Step::AuthLogin);
    assert_eq!(d.code, "535 5.7.139");
    assert!(
        d.message.contains("basic authentication is disabled"),
        "{d:?}"
    );
    assert!(!d.message.contains("Bye"), "{d:?}");
    assert!(d.hint.contains("MS Exchange Online OAuth"), "{d:?}");
    let text = to_text(&report.transcript);
    assert!(text.contains("C: AUTH LOGIN"), "{text}");
    assert!(text.contains("S: 535 5.7.139"), "{text}");
    // The QUIT after the refusal was answered, and that answer is not the
    // one diagnosed.
    assert!(text.contains("S: 221"), "{text}");
    assert!(!text.contains("Summer2026"), "{text}");
}

/// The same server with OAuth for a mailbox whose SMTP AUTH is off.
#[tokio::test]
async fn a_token_refused_because_smtp_auth_is_off_points_to_set_casmailbox() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.smtp_port = peers.port("smtp_basic_off").to_string();
    form.username = "smtp-disabled@contoso.onmicrosoft.com".into();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::Auth);
    assert_eq!(report.summary, "Test Connection failed at AUTH XOAUTH2.");
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "535 5.7.139");
    assert!(d.message.contains("SMTP AUTH is disabled"), "{d:?}");
    assert!(
        d.hint.contains(
            "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false"
        ),
        "{d:?}"
    );
}

/// 535 5.7.3 to a password: a wrong password, or a mailbox without SMTP
/// AUTH; the fix is not the OAuth app's mailbox permission.
#[tokio::test]
async fn a_refused_password_535_5_7_3_is_explained_for_passwords() {
    let peers = peers();
    let mut form = password_form(peers, "smtp_basic_off");
    form.username = "relay-user".into();
    let report = test_connection(
        &settings(&form),
        context(&form.password, vec![peers.ca_der()], None),
    )
    .await;
    assert_eq!(failed_step(&report), Step::AuthLogin, "{report:#?}");
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "535 5.7.3");
    assert!(d.message.contains("user name and password"), "{d:?}");
    assert!(d.hint.contains("MS Exchange Online OAuth"), "{d:?}");
    assert!(!d.hint.contains("Add-MailboxPermission"), "{d:?}");
}

/// A trusted certificate issued for other names: the fix names them.
#[tokio::test]
async fn a_certificate_for_other_names_lists_the_names_it_carries() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.smtp_port = peers.port("smtp_other_names").to_string();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::StartTls);
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "certificate-name-mismatch");
    assert!(d.message.contains("does not name this host"), "{d:?}");
    assert!(
        d.hint.contains("smtp.contoso.test, mail.contoso.test"),
        "{d:?}"
    );
    assert!(d.hint.contains("SMTP Server") && d.hint.contains("smtp.office365.com"));
    assert!(!d.hint.contains("Import the issuing CA"), "{d:?}");
}

#[tokio::test]
async fn expired_and_not_yet_valid_certificates_are_told_apart() {
    let peers = peers();
    let mut form = oauth_form(peers);
    form.smtp_port = peers.port("smtp_expired").to_string();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::StartTls);
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "certificate-expired");
    assert!(d.message.contains("expired on 2021-01-01"), "{d:?}");
    assert!(d.hint.contains("renew") && !d.hint.contains("Import the issuing CA"));

    form.smtp_port = peers.port("smtp_not_yet_valid").to_string();
    let report = run(&form, true).await;
    assert_eq!(failed_step(&report), Step::StartTls);
    let d = report.diagnosis.unwrap();
    assert_eq!(d.code, "certificate-not-yet-valid");
    assert!(d.message.contains("not valid until 2048-01-01"), "{d:?}");
    assert!(d.hint.contains("clock"));
}
