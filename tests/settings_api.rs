//! The SMTP Server, Trusted Certificates and Proxy server functions over
//! HTTP against the real peers: a save needs a passed Test Connection of
//! exactly the values saved, imported CAs are what TLS trusts, the proxy
//! carries the token request, and no secret is ever served or stored in clear.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, harness, post, sign_in};
use common::forms::{
    GOOD_APP, MAILBOX, certificate_and_key, configure_oauth_smtp, encode, form_body, smtp_fields,
    test_connection, trust_test_ca, upload, upload_with_trust,
};
use http::StatusCode;
use mailroom::api::smtp::SAVE_NEEDS_TEST;

async fn database_bytes(h: &Harness) -> Vec<u8> {
    common::database::stored_bytes(&h.state, h.dir.path()).await
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn save_follows_a_passed_test_of_the_same_values_and_never_leaks_the_secret() {
    let peers = Peers::start();
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let secret = peers.text("client_secret");
    let body = form_body(&smtp_fields(&peers, &secret));

    // Without the test CA the STARTTLS step is refused.
    let report = test_connection(&h, &root, &body).await;
    assert_eq!(report.diagnosis.unwrap().code, "untrusted-certificate");

    // Imported without the infrastructure trust role, it is not trusted for TLS.
    let pem = std::fs::read(peers.text("ca_pem")).unwrap();
    let reply = post(
        &h.app,
        "/api/upload_trusted_certificate",
        &upload_with_trust(&pem, "No role", false),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.body.contains("\"trust_infrastructure\":false"),
        "{}",
        reply.body
    );
    let report = test_connection(&h, &root, &body).await;
    assert_eq!(report.diagnosis.unwrap().code, "untrusted-certificate");
    let id: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    post(
        &h.app,
        "/api/delete_trusted_certificates",
        &format!("ids%5B0%5D={}", id["id"]),
        Some(&root),
    )
    .await;

    // Import it with the role through the Trusted Certificates server function.
    let reply = post(
        &h.app,
        "/api/upload_trusted_certificate",
        &upload(&pem, "Test Root"),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.body.contains("Mailroom Test Root CA"),
        "{}",
        reply.body
    );
    let again = post(
        &h.app,
        "/api/upload_trusted_certificate",
        &upload(&pem, "Twice"),
        Some(&root),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again
            .body
            .contains("already in the Trusted Certificates store")
    );

    // No save before a passed test.
    let refused = post(&h.app, "/api/save_smtp_settings", &body, Some(&root)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains(SAVE_NEEDS_TEST), "{}", refused.body);

    let report = test_connection(&h, &root, &body).await;
    assert!(report.passed(), "{report:#?}");

    // A value changed after the test is refused, and so is another secret.
    let mut other_port = smtp_fields(&peers, &secret);
    other_port[1].1 = "2525".into();
    let refused = post(
        &h.app,
        "/api/save_smtp_settings",
        &form_body(&other_port),
        Some(&root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let other_secret = form_body(&smtp_fields(&peers, "another-secret-value"));
    let refused = post(
        &h.app,
        "/api/save_smtp_settings",
        &other_secret,
        Some(&root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // Another admin cannot ride on root's test.
    let sysadmin = sign_in(&h.app, "sysadmin").await;
    let refused = post(&h.app, "/api/save_smtp_settings", &body, Some(&sysadmin)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let saved = post(&h.app, "/api/save_smtp_settings", &body, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(
        saved.body.contains("\"client_secret_set\":true"),
        "{}",
        saved.body
    );

    // The stored secret is used when the field is left blank.
    let blank = form_body(&smtp_fields(&peers, ""));
    assert!(test_connection(&h, &root, &blank).await.passed());
    let saved_blank = post(&h.app, "/api/save_smtp_settings", &blank, Some(&root)).await;
    assert_eq!(saved_blank.status, StatusCode::OK, "{}", saved_blank.body);

    // Nothing served or stored shows the secret, raw or URL-encoded.
    let page = post(&h.app, "/api/get_smtp_settings", "", Some(&root)).await;
    let audit = post(&h.app, "/api/list_audit", "", Some(&root)).await;
    assert!(audit.body.contains("SMTP Server"), "{}", audit.body);
    assert!(
        audit.body.contains("client_secret"),
        "the field is named: {}",
        audit.body
    );
    let db = database_bytes(&h).await;
    for leak in [secret.as_str(), &encode(&secret), "Good~Secret"] {
        for (what, text) in [
            ("page", &page.body),
            ("save", &saved.body),
            ("audit", &audit.body),
        ] {
            assert!(!text.contains(leak), "{what} leaks the secret");
        }
        assert!(
            !contains(&db, leak),
            "the database holds the secret in clear"
        );
    }

    // Deleting the CA makes TLS refuse the server again.
    let list = post(&h.app, "/api/list_trusted_certificates", "", Some(&root)).await;
    let certs: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    let id = certs[0]["id"].as_i64().unwrap();
    let deleted = post(
        &h.app,
        "/api/delete_trusted_certificates",
        &format!("ids%5B0%5D={id}"),
        Some(&root),
    )
    .await;
    assert_eq!(deleted.body, "1");
    let report = test_connection(&h, &root, &blank).await;
    assert_eq!(report.diagnosis.unwrap().code, "untrusted-certificate");
}

#[tokio::test]
async fn invalid_values_name_their_field_and_change_nothing() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let peers = Peers::start();
    let cases = [
        ("smtp_port", "70000"),
        ("connection_timeout", "0"),
        ("client_id", "not-a-guid"),
        ("tenant_id", "bad tenant"),
        ("username", "no-at-sign"),
        ("custom_authority", "http://login.example.com"),
        ("smtp_server", "smtp.example.com\r\nRCPT TO:<x@y>"),
    ];
    for (field, value) in cases {
        let mut fields = smtp_fields(&peers, "s");
        for f in fields.iter_mut() {
            if f.0 == field {
                f.1 = value.into();
            }
        }
        let reply = post(
            &h.app,
            "/api/test_smtp_connection",
            &form_body(&fields),
            Some(&root),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.body
        );
        assert!(
            reply.body.contains(&format!("\"field\":\"{field}\"")),
            "{field}: {}",
            reply.body
        );
    }
    let page = post(&h.app, "/api/get_smtp_settings", "", Some(&root)).await;
    assert!(page.body.contains("\"updated_by\":null"), "{}", page.body);
    let not_cert = post(
        &h.app,
        "/api/upload_trusted_certificate",
        &upload(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "key",
        ),
        Some(&root),
    )
    .await;
    assert_eq!(not_cert.status, StatusCode::BAD_REQUEST);
    assert!(
        not_cert.body.contains("no PEM CERTIFICATE"),
        "{}",
        not_cert.body
    );
}

#[tokio::test]
async fn the_saved_proxy_carries_the_token_request() {
    let peers = Peers::start();
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let proxy_password = peers.text("proxy_password");
    let proxy = form_body(&[
        ("host", "127.0.0.1".into()),
        ("port", peers.port("proxy").to_string()),
        ("username", peers.text("proxy_user")),
        ("password", proxy_password.clone()),
        ("bypass", "".into()),
    ]);
    let saved = post(&h.app, "/api/save_proxy_settings", &proxy, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("\"password_set\":true"));
    assert!(!saved.body.contains(&proxy_password));

    trust_test_ca(&h, &root, &peers).await;
    let body = form_body(&smtp_fields(&peers, &peers.text("client_secret")));
    let report = test_connection(&h, &root, &body).await;
    assert!(report.passed(), "{report:#?}");
    assert!(report.token_via_proxy);
    assert!(peers.stats().await["proxied"].as_u64().unwrap() >= 1);
    assert!(!contains(&database_bytes(&h).await, &proxy_password));

    // A blank host removes the proxy: the next token request goes direct.
    let cleared = post(
        &h.app,
        "/api/save_proxy_settings",
        "form%5Bhost%5D=",
        Some(&root),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK);
    let report = test_connection(&h, &root, &body).await;
    assert!(report.passed());
    assert!(!report.token_via_proxy);
}

#[tokio::test]
async fn a_certificate_generated_in_the_console_replaces_the_secret() {
    let peers = Peers::start();
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let pem = trust_test_ca(&h, &root, &peers).await;

    let generated = post(&h.app, "/api/generate_oauth_certificate", "", Some(&root)).await;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.body);
    assert!(
        !generated.body.contains("PRIVATE KEY"),
        "the private key never leaves"
    );
    let info: serde_json::Value = serde_json::from_str(&generated.body).unwrap();
    let id = info["id"].as_i64().unwrap().to_string();

    let mut fields = smtp_fields(&peers, "");
    fields.retain(|(name, _)| !matches!(*name, "client_secret" | "secret_expiry" | "credential"));
    fields.push(("credential", "certificate".into()));
    fields.push(("certificate_id", id.clone()));
    let body = form_body(&fields);

    // Not yet uploaded to the app registration: Entra refuses the assertion.
    let report = test_connection(&h, &root, &body).await;
    let d = report.diagnosis.expect("a diagnosis");
    assert_eq!(d.code, "AADSTS700027", "{d:#?}");
    assert!(d.hint.contains("Download certificate"));

    // Upload it to the app (what the admin does in the Entra portal).
    peers
        .register_certificate(GOOD_APP, info["pem"].as_str().unwrap())
        .await;
    let report = test_connection(&h, &root, &body).await;
    assert!(report.passed(), "{report:#?}");
    let transcript = mailroom::domain::transcript::to_text(&report.transcript);
    assert!(
        transcript.contains("client_assertion=********"),
        "{transcript}"
    );
    assert!(
        transcript.contains("client_assertion_type=urn"),
        "{transcript}"
    );

    let saved = post(&h.app, "/api/save_smtp_settings", &body, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let page: serde_json::Value = serde_json::from_str(&saved.body).unwrap();
    assert_eq!(page["form"]["credential"], "certificate");
    assert_eq!(page["certificate"]["id"].as_i64().unwrap().to_string(), id);

    // The private key is only in the vault, encrypted.
    assert!(!contains(&database_bytes(&h).await, "PRIVATE KEY"));

    // A certificate and key made elsewhere can be uploaded instead; a key
    // that does not match its certificate is refused next to its field.
    let ca_key = std::fs::read_to_string(
        std::path::Path::new(&peers.text("ca_pem")).with_file_name("test-ca.key"),
    )
    .unwrap();
    let mismatched = certificate_and_key(info["pem"].as_str().unwrap(), &ca_key);
    let refused = post(
        &h.app,
        "/api/upload_oauth_certificate",
        &mismatched,
        Some(&root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("does not belong to this certificate"),
        "{}",
        refused.body
    );
    let matching = certificate_and_key(&String::from_utf8_lossy(&pem), &ca_key);
    let uploaded = post(
        &h.app,
        "/api/upload_oauth_certificate",
        &matching,
        Some(&root),
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    assert!(uploaded.body.contains("\"origin\":\"uploaded\""));
}

#[tokio::test]
async fn log_levels_change_at_once_and_survive_a_restart() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    assert_eq!(
        h.state.log_levels.get("guest-access-admin"),
        Some(mailroom::server::logging::LogLevel::Info)
    );
    let set = post(
        &h.app,
        "/api/set_log_level",
        "component=guest-access-admin&level=DEBUG",
        Some(&root),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        h.state.log_levels.get("guest-access-admin"),
        Some(mailroom::server::logging::LogLevel::Debug)
    );
    let listed = post(&h.app, "/api/get_log_levels", "", Some(&root)).await;
    assert!(
        listed.body.contains(
            r#"{"component":"guest-access-admin","level":"DEBUG","log_file":"guest.log"}"#
        ),
        "{}",
        listed.body
    );
    for (body, field) in [
        ("component=guest-access-admin&level=VERBOSE", "level"),
        ("component=no-such-thing&level=INFO", "component"),
    ] {
        let refused = post(&h.app, "/api/set_log_level", body, Some(&root)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body.contains(&format!("\"field\":\"{field}\"")),
            "{}",
            refused.body
        );
    }
    // A new start on the same data directory applies the saved level.
    let restarted = common::app::build_state(h.dir.path(), mailroom::server::http::system_clock())
        .await
        .unwrap();
    assert_eq!(
        restarted.log_levels.get("guest-access-admin"),
        Some(mailroom::server::logging::LogLevel::Debug)
    );
}

#[tokio::test]
async fn guest_email_settings_start_from_ise_defaults_and_know_the_exchange_mailbox() {
    use mailroom::api::guest::GuestEmailPage;
    let peers = Peers::start();
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let get = |cookie: String| {
        let app = h.app.clone();
        async move {
            let reply = post(&app, "/api/get_guest_email_settings", "", Some(&cookie)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            serde_json::from_str::<GuestEmailPage>(&reply.body).unwrap()
        }
    };
    let page = get(root.clone()).await;
    assert!(page.form.enabled);
    assert_eq!(page.form.default_from, "donotreply@example.com");
    assert!(!page.form.from_sponsor);
    assert_eq!(page.oauth_mailbox, None);

    // A bad address is refused next to its field and changes nothing.
    let refused = post(
        &h.app,
        "/api/save_guest_email_settings",
        "form%5Benabled%5D=true&form%5Bdefault_from%5D=not%20an%20address",
        Some(&root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("\"field\":\"default_from\""),
        "{}",
        refused.body
    );
    assert_eq!(get(root.clone()).await.form, page.form);

    // Once the SMTP Server page signs in with OAuth, the page knows the
    // only sender Exchange accepts (the warning rule is in domain::guest).
    configure_oauth_smtp(&h, &root, &peers).await;
    assert_eq!(
        get(root.clone()).await.oauth_mailbox.as_deref(),
        Some(MAILBOX)
    );

    let saved = post(
        &h.app,
        "/api/save_guest_email_settings",
        &format!(
            "form%5Benabled%5D=true&form%5Bdefault_from%5D={}&form%5Bfrom_sponsor%5D=false",
            encode(MAILBOX)
        ),
        Some(&root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let page = get(root.clone()).await;
    assert_eq!(page.form.default_from, MAILBOX);
    assert!(page.form.enabled && !page.form.from_sponsor);

    // An unticked switch is absent from the post: notifications off.
    let off = post(
        &h.app,
        "/api/save_guest_email_settings",
        &format!("form%5Bdefault_from%5D={}", encode(MAILBOX)),
        Some(&root),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert!(!get(root.clone()).await.form.enabled);
    let audit = mailroom::server::db::audit::recent(&h.state.db, 20)
        .await
        .unwrap();
    let changes: Vec<&str> = audit
        .iter()
        .filter(|row| row.target == "Guest Email Settings")
        .map(|row| row.changed_fields.as_str())
        .collect();
    assert_eq!(changes, ["enabled", "default_from"], "newest first");

    let viewer = sign_in(&h.app, "viewer").await;
    assert!(get(viewer.clone()).await.form.default_from == MAILBOX);
    let forbidden = post(
        &h.app,
        "/api/save_guest_email_settings",
        "form%5Bdefault_from%5D=a%40b.example",
        Some(&viewer),
    )
    .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn guest_types_refuse_duplicate_names_and_deleting_a_type_in_use() {
    use mailroom::api::guest_types::GuestTypeSummary;
    use mailroom::domain::guest::GuestState;
    use mailroom::server::db::guests::{NewGuest, insert};
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let list = || async {
        let reply = post(&h.app, "/api/list_guest_types", "", Some(&root)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        serde_json::from_str::<Vec<GuestTypeSummary>>(&reply.body).unwrap()
    };
    let before = list().await;
    let names: Vec<&str> = before.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Contractor (default)",
            "Daily (default)",
            "Weekly (default)"
        ]
    );
    let fields = |name: &str, max: &str| {
        form_body(&[
            ("name", name.to_string()),
            ("max_days", max.to_string()),
            ("default_days", "1".into()),
            ("notify_advance", "3".into()),
            ("notify_unit", "days".into()),
        ])
    };

    // Another type's name, in any case, is refused next to the field.
    let duplicate = post(
        &h.app,
        "/api/save_guest_type",
        &fields("daily (DEFAULT)", "5"),
        Some(&root),
    )
    .await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    assert!(
        duplicate.body.contains("\"field\":\"name\""),
        "{}",
        duplicate.body
    );
    let bad = post(
        &h.app,
        "/api/save_guest_type",
        &fields("Visitor", "many"),
        Some(&root),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("\"field\":\"max_days\""), "{}", bad.body);
    assert_eq!(list().await, before, "nothing changed");

    // A type with a guest cannot be deleted; an unused one can.
    let created = post(
        &h.app,
        "/api/save_guest_type",
        &fields("Visitor", "2"),
        Some(&root),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let visitor: i64 = created.body.trim().parse().unwrap();
    let daily = before[1].id;
    insert(
        &h.state.db,
        &NewGuest {
            username: "guest1",
            password_hash: "x",
            state: GuestState::Active,
            first_name: "A",
            last_name: "B",
            email: "a@example.com",
            company: "",
            person_visited: "",
            guest_type_id: daily,
            valid_from: 0,
            valid_until: 86_400,
            sponsor: None,
            sponsor_email: None,
            portal: "Self-Registered Guest Portal (default)",
            registered_ip: None,
            sponsor_id: None,
            sponsor_group_id: None,
            extras: &Default::default(),
            approval_deadline: None,
            language: "",
        },
        0,
    )
    .await
    .unwrap();
    let refused = post(
        &h.app,
        "/api/delete_guest_types",
        &format!("ids%5B0%5D={daily}&ids%5B1%5D={visitor}"),
        Some(&root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("Daily (default) (1 guest accounts)"),
        "{}",
        refused.body
    );
    assert_eq!(list().await.len(), 4, "nothing deleted");
    let deleted = post(
        &h.app,
        "/api/delete_guest_types",
        &format!("ids%5B0%5D={visitor}"),
        Some(&root),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.body.trim(), "1");
    let after = list().await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[1].accounts, 1, "the guest counts against its type");
}
