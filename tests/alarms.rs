//! Alarms with the clock moved by hand: the client-secret countdown raises
//! one alarm per threshold (emailed once to each opted-in admin, none
//! repeated by another run or a restart), turns into "expired", and clears
//! when a renewed secret is saved; delivery failures raise their alarms and
//! a working delivery clears them. The emails arrive at the peers'
//! smtp-server from the Alarm Notification sender.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::build_state;
use common::app::{harness_in, open_alarms, post, sign_in};
use common::forms::{MAILBOX, configure_smtp, form_body, smtp_fields};
use common::mail::{received_with_subject, settled};
use http::StatusCode;
use mailroom::domain::alarm::{AlarmCode, AlarmView, Severity};
use mailroom::domain::mail::RetryPolicy;
use mailroom::server::alarms::{CheckRun, run_check};
use mailroom::server::clock::{Clock, ManualClock};
use mailroom::server::mail::{MailConfig, worker};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn date_in(clock: &ManualClock, days: i64) -> String {
    let date = (clock.now() + time::Duration::days(days)).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

struct Rig {
    h: common::app::Harness,
    peers: Peers,
    root: String,
    clock: Arc<ManualClock>,
}

async fn rig() -> Rig {
    let peers = Peers::start();
    // Now: the peers' test CA is valid from the moment they started.
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let h = harness_in(
        tempfile::tempdir().unwrap(),
        clock.clone(),
        Some(MailConfig {
            pool_size: 2,
            retry: RetryPolicy {
                max_attempts: 2,
                base_ms: 100,
                max_ms: 200,
            },
            lease: Duration::from_secs(60),
            ..MailConfig::default()
        }),
    )
    .await;
    let root = sign_in(&h.app, "root").await;
    // Two admins opt in, with their own addresses; "viewer" does not.
    sqlx::query(
        "UPDATE admins SET include_alarm_emails = TRUE, email = name || '@contoso.com' \
         WHERE name IN ('root', 'sysadmin')",
    )
    .execute(&h.state.db)
    .await
    .unwrap();
    let reply = post(
        &h.app,
        "/api/save_alarm_sender",
        &format!("sender={}", common::forms::encode(MAILBOX)),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    Rig {
        h,
        peers,
        root,
        clock,
    }
}

#[tokio::test]
async fn the_secret_countdown_alarms_once_per_threshold_and_clears_on_renewal() {
    let Rig {
        h,
        peers,
        root,
        clock,
    } = rig().await;
    let expiry = date_in(&clock, 40);
    configure_smtp(&h, &root, &peers, &[("secret_expiry", expiry.clone())]).await;
    worker::spawn(h.state.clone());
    let check = || run_check(&h.state);
    assert_eq!(check().await.unwrap().raised, 0, "40 days left: no alarm");

    let mut expected_mails = 0;
    for (advance, threshold, severity) in [
        (10, 30, Severity::Warning),
        (15, 15, Severity::Warning),
        (8, 7, Severity::Critical),
        (6, 1, Severity::Critical),
    ] {
        clock.advance(time::Duration::days(advance));
        // Two runs at once and a third after: one raise.
        let (a, b) = tokio::join!(check(), check());
        assert_eq!(a.unwrap().raised + b.unwrap().raised, 1, "{threshold} days");
        assert_eq!(check().await.unwrap(), CheckRun::default());
        let root = sign_in(&h.app, "root").await;
        let open = open_alarms(&h, &root).await;
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].code, AlarmCode::SecretExpiring);
        assert_eq!(open[0].severity, severity, "{threshold} days");
        assert!(
            open[0].details.contains(&format!("{threshold} days left")),
            "{}",
            open[0].details
        );
        expected_mails += 2;
        let mails = received_with_subject(&peers, "Mailroom Alarm", expected_mails).await;
        assert_eq!(mails.len(), expected_mails, "{mails:#?}");
        // Delivery runs on the same clock: let it record its replies
        // before time jumps by days, as it would in life.
        settled(&h.state).await;
    }
    assert_eq!(
        open_alarms(&h, &sign_in(&h.app, "root").await).await[0].occurrences,
        4
    );

    // A restart finds the open alarm at its threshold: nothing new.
    let restarted = build_state(h.dir.path(), clock.clone()).await.unwrap();
    assert_eq!(run_check(&restarted).await.unwrap(), CheckRun::default());

    // The expiry date comes: "expired" replaces "about to expire".
    clock.advance(time::Duration::days(1));
    let run = check().await.unwrap();
    assert_eq!(
        run,
        CheckRun {
            raised: 1,
            cleared: 1
        }
    );
    let root = sign_in(&h.app, "root").await;
    let open = open_alarms(&h, &root).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].code, AlarmCode::SecretExpired);
    assert_eq!(open[0].severity, Severity::Critical);
    expected_mails += 2;
    let mails = received_with_subject(&peers, "Mailroom Alarm", expected_mails).await;
    assert_eq!(mails.len(), expected_mails, "no duplicates");
    for mail in &mails {
        assert_eq!(mail["from"], MAILBOX);
    }
    let mut to: Vec<&str> = mails.iter().map(|m| m["to"][0].as_str().unwrap()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to, ["root@contoso.com", "sysadmin@contoso.com"]);
    let expired_mail = mails
        .iter()
        .find(|m| m["subject"] == "Mailroom Alarm : Critical : SMTP OAuth client secret expired")
        .expect("the expired alarm's email");
    assert!(
        expired_mail["raw"]
            .as_str()
            .unwrap()
            .contains("Create a new client secret"),
        "the suggested action is in the email"
    );

    // The admin saves a new secret valid for a year: the alarm clears.
    let mut fields = smtp_fields(&peers, "");
    fields.retain(|(name, _)| *name != "secret_expiry");
    fields.push(("secret_expiry", date_in(&clock, 365)));
    let report = common::forms::test_connection(&h, &root, &form_body(&fields)).await;
    assert!(report.diagnosis.is_none(), "{:?}", report.diagnosis);
    let saved = post(
        &h.app,
        "/api/save_smtp_settings",
        &form_body(&fields),
        Some(&root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(open_alarms(&h, &root).await.is_empty());
    let reply = post(
        &h.app,
        "/api/list_alarms",
        "include_cleared=true",
        Some(&root),
    )
    .await;
    let all: Vec<AlarmView> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|a| a.cleared_by.as_deref() == Some("system"))
    );
    assert_eq!(check().await.unwrap(), CheckRun::default());
}

#[tokio::test]
async fn delivery_failures_alarm_and_a_working_delivery_clears_them() {
    let Rig {
        h,
        peers,
        root,
        clock,
    } = rig().await;
    configure_smtp(&h, &root, &peers, &[]).await;
    worker::spawn(h.state.clone());
    let control = |path: &'static str, body: Value| {
        let url = format!("{}{path}", peers.authority());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    };
    // A permanent refusal moves the message to dead letters.
    control(
        "/_faults",
        json!({"at": "rcpt", "action": "reply", "code": 550,
            "text": "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}),
    )
    .await;
    let queued = common::mail::queue_guest_mail(&h.state, 1, "Alarm").await;
    h.state.mailer.submitted(&queued);
    let started = Instant::now();
    let open = loop {
        let open = open_alarms(&h, &root).await;
        if !open.is_empty() || started.elapsed() > Duration::from_secs(20) {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].code, AlarmCode::DeliveryFailed);
    assert!(open[0].details.contains("550"), "{}", open[0].details);
    let mails = received_with_subject(&peers, "Mailroom Alarm", 2).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(
        mails[0]["subject"],
        "Mailroom Alarm : Warning : Email delivery failed"
    );

    // Acknowledge it (a Read-Only admin may not).
    let id = open[0].id;
    let viewer = sign_in(&h.app, "viewer").await;
    let body = format!("ids[0]={id}&action=Acknowledge");
    let refused = post(&h.app, "/api/act_on_alarms", &body, Some(&viewer)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let acked = post(&h.app, "/api/act_on_alarms", &body, Some(&root)).await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.body);
    assert_eq!(
        open_alarms(&h, &root).await[0].acknowledged_by.as_deref(),
        Some("root")
    );

    // The server goes down: "unreachable" while messages wait.
    control("/_smtp/down", json!({})).await;
    // The pool's open sessions outlive the listener; drop them so the
    // next message must connect.
    h.state.mailer.settings_changed();
    let queued = common::mail::queue_guest_mail(&h.state, 1, "Down").await;
    h.state.mailer.submitted(&queued);
    let started = Instant::now();
    let open = loop {
        let open = open_alarms(&h, &root).await;
        if open.len() == 2 || started.elapsed() > Duration::from_secs(20) {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        open.iter().any(|a| a.code == AlarmCode::SmtpUnreachable),
        "{open:?}"
    );
    // Back up: the message goes through and "unreachable" clears; the
    // dead letter is still there, so its alarm stays.
    control("/_smtp/up", json!({})).await;
    // The retries are due on the test's clock.
    clock.advance(time::Duration::minutes(1));
    h.state.mailer.wake();
    let started = Instant::now();
    let open = loop {
        let open = open_alarms(&h, &root).await;
        if open.len() == 1 || started.elapsed() > Duration::from_secs(30) {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].code, AlarmCode::DeliveryFailed);
    // Discarding the last dead letter clears it.
    let dead = queued_dead_letter(&h).await;
    let reply = post(
        &h.app,
        "/api/discard_mail",
        &format!("id={dead}"),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(open_alarms(&h, &root).await.is_empty());
}

async fn queued_dead_letter(h: &common::app::Harness) -> i64 {
    sqlx::query_scalar("SELECT id FROM outbox WHERE status = 'dead'")
        .fetch_one(&h.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_system_certificate_in_use_alarms_before_it_expires_and_clears_when_unused() {
    use mailroom::domain::system_certificate::{
        CertificateEdit, CertificateRequestForm, SubjectFields,
    };
    use mailroom::server::service::{Caller, system_certificates};
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let h = common::app::harness_with_clock(clock.clone()).await;
    let caller = Caller::command_line();
    let portal = system_certificates::generate_self_signed(
        &h.state,
        &caller,
        CertificateRequestForm {
            friendly_name: "Guest portal".into(),
            subject: SubjectFields {
                common_name: "localhost".into(),
                ..Default::default()
            },
            sans: "localhost".into(),
            validity_days: "40".into(),
            used_by_portal: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The check a certificate change starts on its own runs first: a check
    // that read the conditions before the clock moved would clear what
    // this one raises.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(run_check(&h.state).await.unwrap().raised, 0, "40 days left");
    for (advance, severity, text) in [
        (15, Severity::Warning, "days left"),
        (20, Severity::Critical, "days left"),
        (10, Severity::Critical, "expired on"),
    ] {
        clock.advance(time::Duration::days(advance));
        assert_eq!(run_check(&h.state).await.unwrap().raised, 1);
        let root = sign_in(&h.app, "root").await;
        let open = open_alarms(&h, &root).await;
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].code, AlarmCode::SystemCertificateExpiring);
        assert_eq!(open[0].severity, severity);
        assert!(
            open[0].details.contains("'Guest portal' of node") && open[0].details.contains(text),
            "{}",
            open[0].details
        );
    }
    // A certificate nothing serves cannot break a browser: no alarm.
    system_certificates::edit(
        &h.state,
        &caller,
        CertificateEdit {
            id: portal.id,
            friendly_name: portal.friendly_name.clone(),
            used_by_admin: false,
            used_by_portal: false,
        },
    )
    .await
    .unwrap();
    run_check(&h.state).await.unwrap();
    let root = sign_in(&h.app, "root").await;
    assert!(open_alarms(&h, &root).await.is_empty());
}
