//! Form bodies for the settings server functions, and the steps that
//! configure the console against the peers the way an admin would.

use super::Peers;
use super::app::{BOUNDARY, Harness, post};
use http::StatusCode;
use mailroom::domain::connection_test::ConnectionTestReport;

pub const MAILBOX: &str = "noreply@contoso.onmicrosoft.com";
pub const GOOD_APP: &str = "1b2c3d4e-0000-4000-8000-00000000abcd";

pub use mailroom::domain::percent_encode as encode;

pub fn form_body(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("form%5B{name}%5D={}", encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn smtp_fields(peers: &Peers, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("smtp_server", "localhost".into()),
        ("smtp_port", peers.port("smtp").to_string()),
        ("connection_timeout", "10".into()),
        ("use_tls", "true".into()),
        ("use_authentication", "true".into()),
        ("auth_type", "oauth".into()),
        ("username", MAILBOX.into()),
        ("cloud", "custom".into()),
        ("custom_authority", peers.authority()),
        ("client_id", GOOD_APP.into()),
        ("tenant_id", peers.text("tenant_id")),
        ("credential", "secret".into()),
        ("client_secret", secret.into()),
        ("secret_expiry", "2027-06-30".into()),
    ]
}

/// The certificate credential upload form.
pub fn certificate_and_key(certificate: &str, key: &str) -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"c.pem\"\r\n\r\n{certificate}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"private_key\"; filename=\"k.pem\"\r\n\r\n{key}\r\n\
         --{BOUNDARY}--\r\n"
    )
}

pub fn upload(file: &[u8], friendly_name: &str) -> String {
    upload_with_trust(file, friendly_name, true)
}

/// The Import form; an unticked checkbox is simply absent from the post.
pub fn upload_with_trust(file: &[u8], friendly_name: &str, infrastructure: bool) -> String {
    let trust = if infrastructure {
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"trust_infrastructure\"\r\n\r\ntrue\r\n"
        )
    } else {
        String::new()
    };
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"ca.pem\"\r\n\
         Content-Type: application/x-pem-file\r\n\r\n{}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"friendly_name\"\r\n\r\n{friendly_name}\r\n\
         {trust}--{BOUNDARY}--\r\n",
        String::from_utf8_lossy(file)
    )
}

/// Imports the peers' CA with the infrastructure role; returns its PEM.
pub async fn trust_test_ca(h: &Harness, cookie: &str, peers: &Peers) -> Vec<u8> {
    let pem = std::fs::read(peers.text("ca_pem")).unwrap();
    let reply = post(
        &h.app,
        "/api/upload_trusted_certificate",
        &upload(&pem, "Test Root"),
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    pem
}

pub async fn test_connection(h: &Harness, cookie: &str, body: &str) -> ConnectionTestReport {
    let reply = post(&h.app, "/api/test_smtp_connection", body, Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// Imports the CA, passes Test Connection with the peers' OAuth app and
/// saves: the console is set up to send as MAILBOX.
pub async fn configure_oauth_smtp(h: &Harness, cookie: &str, peers: &Peers) {
    configure_smtp(h, cookie, peers, &[]).await
}

/// Like `configure_oauth_smtp`, with some fields replaced.
pub async fn configure_smtp(
    h: &Harness,
    cookie: &str,
    peers: &Peers,
    overrides: &[(&'static str, String)],
) {
    trust_test_ca(h, cookie, peers).await;
    let mut fields = smtp_fields(peers, &peers.text("client_secret"));
    for (name, value) in overrides {
        fields.retain(|(field, _)| field != name);
        fields.push((name, value.clone()));
    }
    let body = form_body(&fields);
    let report = test_connection(h, cookie, &body).await;
    assert!(report.diagnosis.is_none(), "{:?}", report.diagnosis);
    let saved = post(&h.app, "/api/save_smtp_settings", &body, Some(cookie)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

/// The Self-Registered Guest Portal's form with ISE's defaults, `changes`
/// applied (names as in `PortalForm`; the template's as `email.subject`).
pub fn portal_body(guest_type_id: i64, changes: &[(&str, &str)]) -> String {
    use mailroom::domain::portal::{DEFAULT_AUP, DEFAULT_PORTAL_NAME, EmailTemplate};
    let email = EmailTemplate::ise_default();
    let mut fields: Vec<(String, String)> = vec![
        ("name".into(), DEFAULT_PORTAL_NAME.into()),
        ("description".into(), "Guests register themselves.".into()),
        ("guest_type_id".into(), guest_type_id.to_string()),
        ("max_per_hour".into(), "10".into()),
        ("require_aup".into(), "true".into()),
        ("aup_text".into(), DEFAULT_AUP.into()),
        ("email_credentials".into(), "true".into()),
        ("show_credentials".into(), "true".into()),
        ("email.subject".into(), email.subject),
        ("email.text".into(), email.text),
        ("email.html".into(), email.html),
    ];
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => fields.push((name.to_string(), value.to_string())),
        }
    }
    fields
        .iter()
        .filter(|(_, value)| value != "false")
        .map(|(name, value)| {
            let key = name
                .split('.')
                .map(|part| format!("%5B{part}%5D"))
                .collect::<String>();
            format!("form{key}={}", encode(value))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Guest Email Settings on, from the SMTP Server page's mailbox (the only
/// sender the peers' Exchange-like server takes), as an admin saves them.
pub async fn guest_mail_from_mailbox(h: &Harness, cookie: &str) {
    let saved = post(
        &h.app,
        "/api/save_guest_email_settings",
        &format!(
            "form%5Benabled%5D=true&form%5Bdefault_from%5D={}",
            encode(MAILBOX)
        ),
        Some(cookie),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

/// A console that delivers guest mail through the test peers: SMTP over
/// OAuth saved, guest mail sent from the mailbox, the delivery workers
/// running with `pool_size` connections. The console and its Super
/// Admin's session cookie.
pub async fn guest_mail_console(peers: &Peers, pool_size: u32) -> (Harness, String) {
    use mailroom::domain::mail::RetryPolicy;
    use mailroom::server::mail::{MailConfig, worker};
    let h = super::app::harness_with_mail(MailConfig {
        pool_size,
        retry: RetryPolicy::default(),
        lease: std::time::Duration::from_secs(60),
        ..MailConfig::default()
    })
    .await;
    let root = super::app::sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, peers, &[]).await;
    guest_mail_from_mailbox(&h, &root).await;
    worker::spawn(h.state.clone());
    (h, root)
}
