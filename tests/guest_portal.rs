//! The Self-Registered Guest Portal over HTTP with the real router: its
//! settings and email template, Send Test Email and a guest's registration
//! delivered through the outbox to the peers' smtp-server, the domain
//! lists and the per-address rate limit.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, add_sponsor, post, sponsor_sign_in};
use common::forms::{MAILBOX, encode, guest_mail_console, portal_body};
use http::StatusCode;
use mailroom::api::portals::{PortalPage, Registered};
use mailroom::domain::guest::GuestState;
use mailroom::domain::mail::{MailStatus, TestEmailResult};
use mailroom::server::db;
use mailroom::server::guests::PASSWORD_PURPOSE;
use serde_json::Value;
use std::time::{Duration, Instant};

struct Rig {
    h: Harness,
    root: String,
    peers: Peers,
    portal: PortalPage,
}

async fn rig() -> Rig {
    let peers = Peers::start();
    let (h, root) = guest_mail_console(&peers, 2).await;
    let reply = post(&h.app, "/api/get_guest_portal", "id=1", Some(&root)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let portal = serde_json::from_str(&reply.body).unwrap();
    Rig {
        h,
        root,
        peers,
        portal,
    }
}

impl Rig {
    fn guest_type(&self) -> i64 {
        self.portal.form.guest_type_id.parse().unwrap()
    }

    async fn save(&self, changes: &[(&str, &str)]) -> common::app::Reply {
        post(
            &self.h.app,
            "/api/save_guest_portal",
            &format!("id=1&{}", portal_body(self.guest_type(), changes)),
            Some(&self.root),
        )
        .await
    }

    async fn register(&self, email: &str, company: &str) -> common::app::Reply {
        self.register_named("Ann", email, company).await
    }

    async fn register_named(
        &self,
        first_name: &str,
        email: &str,
        company: &str,
    ) -> common::app::Reply {
        let body = format!(
            "portal=1&form%5Bfirst_name%5D={}&form%5Blast_name%5D=Guest&form%5Bemail%5D={}\
             &form%5Bcompany%5D={}&form%5Bperson_visited%5D=host%40contoso.com&form%5Baccept_aup%5D=true",
            encode(first_name),
            encode(email),
            encode(company)
        );
        post(&self.h.app, "/api/register_guest", &body, None).await
    }

    async fn received_by(&self, address: &str) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let messages: Vec<Value> = self.peers.messages().await;
            let mine: Vec<Value> = messages
                .into_iter()
                .filter(|m| m["to"][0] == address)
                .collect();
            if !mine.is_empty() || started.elapsed() > Duration::from_secs(20) {
                return mine;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn guests(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM guest_accounts")
            .fetch_one(&self.h.state.db)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_guest_registers_and_receives_the_customised_credentials_email() {
    let rig = rig().await;
    assert_eq!(
        rig.portal.form.name,
        "Self-Registered Guest Portal (default)"
    );
    let daily = rig
        .portal
        .guest_types
        .iter()
        .find(|(_, name)| name == "Daily (default)")
        .unwrap()
        .0;
    assert_eq!(rig.guest_type(), daily, "ISE's self-registration default");

    // The admin customises the template.
    let saved = rig
        .save(&[
            ("email.subject", "Wi-Fi access for $ui_first_name$"),
            (
                "email.html",
                "<p>Company: <i>$ui_company$</i></p><p>User $ui_user_name$ / $ui_password$</p>",
            ),
        ])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let reply = rig.register("ann.guest@example.com", "<Acme & Co>").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let registered: Registered = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(registered.username, "ann.guest");
    let password = registered
        .password
        .clone()
        .expect("the success page shows it");
    assert_eq!(password.len(), 8);
    assert_eq!(
        registered.emailed_to.as_deref(),
        Some("ann.guest@example.com")
    );

    let mail = rig.received_by("ann.guest@example.com").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["subject"], "Wi-Fi access for Ann");
    assert_eq!(mail[0]["from"], MAILBOX);
    let raw = mail[0]["raw"].as_str().unwrap();
    assert!(
        raw.contains("<i>&lt;Acme &amp; Co&gt;</i>"),
        "escaped in HTML: {raw}"
    );
    assert!(
        raw.contains(&format!("User ann.guest / {password}")),
        "{raw}"
    );
    assert!(
        raw.contains(&format!("Password: {password}")),
        "text part: {raw}"
    );

    // The account: Created, Daily's one day, the password hashed and sealed.
    let id: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = 'ann.guest'")
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    let row = db::guests::get(&rig.h.state.db, id).await.unwrap().unwrap();
    assert_eq!(row.state, GuestState::Created);
    assert_eq!(row.valid_until - row.valid_from, 86_400);
    assert_eq!(row.company, "<Acme & Co>");
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM guest_accounts WHERE id = $1")
        .bind(id)
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(&password));
    let sealed = rig
        .h
        .state
        .vault
        .get(PASSWORD_PURPOSE, &id.to_string())
        .await
        .unwrap();
    assert_eq!(sealed.unwrap().expose(), password);

    // A second guest with the same address part gets another username.
    let reply = rig.register("ann.guest@example.org", "").await;
    let second: Registered = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(second.username, "ann.guest2");
}

/// Finding 6 of the edge review: a guest's "first name" that is itself a
/// MIME encoded-word (decoding to a line break and a Bcc) reaches the
/// inbox as that literal text in the Subject, as an independent parser
/// (mailparse) reads the delivered message.
#[tokio::test]
async fn an_encoded_word_typed_by_a_guest_stays_literal_in_the_subject() {
    use base64::Engine;
    let rig = rig().await;
    let saved = rig
        .save(&[("email.subject", "Wi-Fi access for $ui_first_name$")])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let hostile = format!(
        "=?utf-8?b?{}?=",
        base64::engine::general_purpose::STANDARD.encode("Ann\r\nBcc: victim@evil.example")
    );
    let reply = rig
        .register_named(&hostile, "eve.guest@example.com", "")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mail = rig.received_by("eve.guest@example.com").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["to"].as_array().unwrap().len(), 1, "{mail:?}");
    let raw = mail[0]["raw"].as_str().unwrap();
    let parsed = mailparse::parse_mail(raw.as_bytes()).unwrap();
    use mailparse::MailHeaderMap;
    let subject = parsed.headers.get_first_value("Subject").unwrap();
    assert_eq!(subject, format!("Wi-Fi access for {hostile}"));
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    assert!(parsed.headers.get_first_value("Bcc").is_none(), "{raw}");
}

#[tokio::test]
async fn send_test_email_delivers_the_unsaved_template_with_escaped_samples() {
    let rig = rig().await;
    let body = format!(
        "email%5Bsubject%5D={}&email%5Btext%5D={}&email%5Bhtml%5D={}&to={}",
        encode("Test for $ui_user_name$"),
        encode("Hi $ui_first_name$ from $ui_company$"),
        encode("<b>$ui_company$</b>"),
        encode("portal-admin@example.com")
    );
    let reply = post(
        &rig.h.app,
        "/api/send_portal_test_email",
        &body,
        Some(&rig.root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let result: TestEmailResult = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(result.status, MailStatus::Sent, "{result:?}");
    let mail = rig.received_by("portal-admin@example.com").await;
    assert_eq!(mail[0]["subject"], "Test for jsmith42");
    let raw = mail[0]["raw"].as_str().unwrap();
    assert!(
        raw.contains("<b>Smith &amp; Sons &lt;Consulting&gt;</b>"),
        "{raw}"
    );
    assert!(
        raw.contains("Hi John from Smith & Sons <Consulting>"),
        "{raw}"
    );

    // An unknown placeholder is refused next to its field; nothing is sent.
    let body = format!(
        "email%5Bsubject%5D=x&email%5Btext%5D={}&to=a%40example.com",
        encode("$ui_nope$")
    );
    let reply = post(
        &rig.h.app,
        "/api/send_portal_test_email",
        &body,
        Some(&rig.root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("\"field\":\"email_text\""),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn domains_and_the_hourly_limit_refuse_registrations_without_creating_accounts() {
    let rig = rig().await;
    let saved = rig
        .save(&[
            ("allowed_domains", "example.com\ncontoso.com"),
            ("blocked_domains", "spam.example.com"),
            ("max_per_hour", "2"),
        ])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let bad = rig.save(&[("email.text", "$ui_unknown$")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("\"field\":\"email_text\""),
        "{}",
        bad.body
    );

    for (address, why) in [
        (
            "a@gmail.com",
            "accepts email addresses at example.com, contoso.com only",
        ),
        ("a@spam.example.com", "cannot register"),
    ] {
        let reply = rig.register(address, "").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{address}");
        assert!(
            reply.body.contains("\"field\":\"email\"") && reply.body.contains(why),
            "{}",
            reply.body
        );
    }
    // The AUP must be accepted.
    let no_aup = post(
        &rig.h.app,
        "/api/register_guest",
        "portal=1&form%5Bfirst_name%5D=A&form%5Blast_name%5D=B&form%5Bemail%5D=a%40example.com",
        None,
    )
    .await;
    assert_eq!(no_aup.status, StatusCode::BAD_REQUEST);
    assert!(no_aup.body.contains("accept_aup"), "{}", no_aup.body);
    assert_eq!(rig.guests().await, 0);

    for n in 0..2 {
        let reply = rig.register(&format!("g{n}@eu.contoso.com"), "").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let third = rig.register("g3@contoso.com", "").await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.body
    );
    assert!(
        third.body.contains("Too many registrations"),
        "{}",
        third.body
    );
    assert_eq!(rig.guests().await, 2);
}

#[tokio::test]
async fn a_guest_signs_in_changes_the_password_and_resend_then_needs_a_reset() {
    use mailroom::domain::sponsor::ActionReport;
    let rig = rig().await;
    let registered: Registered =
        serde_json::from_str(&rig.register("ann@example.com", "").await.body).unwrap();
    let password = registered.password.unwrap();
    let login = |password: String| {
        let app = rig.h.app.clone();
        async move {
            post(
                &app,
                "/api/guest_login",
                &format!("portal=1&username=ann&password={}", encode(&password)),
                None,
            )
            .await
        }
    };
    let wrong = login("not-it".into()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("Invalid username or password"),
        "{}",
        wrong.body
    );
    let ok = login(password.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let state: String =
        sqlx::query_scalar("SELECT state FROM guest_accounts WHERE username = 'ann'")
            .fetch_one(&rig.h.state.db)
            .await
            .unwrap();
    assert_eq!(state, "Active", "the first sign-in activates the account");

    let change = |current: String, new: &str| {
        let app = rig.h.app.clone();
        let body = format!(
            "portal=1&username=ann&current={}&new_password={}&confirm={}",
            encode(&current),
            encode(new),
            encode(new)
        );
        async move { post(&app, "/api/guest_change_password", &body, None).await }
    };
    let mismatch = post(
        &rig.h.app,
        "/api/guest_change_password",
        &format!(
            "portal=1&username=ann&current={}&new_password=Abcdefgh1&confirm=Abcdefgh2",
            encode(&password)
        ),
        None,
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(
        mismatch.body.contains("\"field\":\"confirm\""),
        "{}",
        mismatch.body
    );
    let short = change(password.clone(), "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("new_password"), "{}", short.body);
    let changed = change(password.clone(), "My-Own-Passw0rd").await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        login(password.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login("My-Own-Passw0rd".into()).await.status, StatusCode::OK);
    let id: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = 'ann'")
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    assert!(
        !rig.h
            .state
            .vault
            .contains(PASSWORD_PURPOSE, &id.to_string())
            .await
            .unwrap(),
        "the guest's own password is never kept"
    );

    // A sponsor who manages every account: Resend is refused, Reset works.
    add_sponsor(&rig.h.app, &rig.root, "sponsor1", 1).await;
    let sponsor = sponsor_sign_in(&rig.h.app, "sponsor1").await;
    let act = |action: &str| {
        let app = rig.h.app.clone();
        let sponsor = sponsor.clone();
        let body = format!("ids%5B0%5D={id}&action={action}");
        async move {
            let reply = post(&app, "/api/sponsor_guest_action", &body, Some(&sponsor)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            serde_json::from_str::<ActionReport>(&reply.body).unwrap()
        }
    };
    let resend = act("Resend").await;
    assert!(
        resend.refused[0].1.contains("use Reset Password"),
        "{resend:?}"
    );
    assert_eq!(act("ResetPassword").await.done, ["ann"]);
    let mails = rig.received_by("ann@example.com").await;
    assert!(!mails.is_empty());

    // A suspended guest cannot sign in, whatever the password.
    assert_eq!(act("Suspend").await.done, ["ann"]);
    let refused = login("My-Own-Passw0rd".into()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "the reset replaced it"
    );
    let new_password: String = {
        let started = Instant::now();
        loop {
            let mails: Vec<Value> = rig.peers.messages().await;
            let mine: Vec<&Value> = mails
                .iter()
                .filter(|m| m["to"][0] == "ann@example.com")
                .collect();
            if mine.len() >= 2 {
                let raw = mine[1]["raw"].as_str().unwrap();
                break raw
                    .lines()
                    .find_map(|l| l.strip_prefix("Password: "))
                    .unwrap()
                    .trim()
                    .to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the reset email"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let suspended = login(new_password).await;
    assert_eq!(suspended.status, StatusCode::FORBIDDEN);
    assert!(suspended.body.contains("suspended"), "{}", suspended.body);
}
