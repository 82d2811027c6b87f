//! The guest expiry job with the clock moved by hand: each guest gets its
//! account expiration notice exactly once (also when two runs race and
//! across restarts), at the time its guest type says, delivered through
//! the outbox to the peers' smtp-server; ended accounts expire and lose
//! their resendable password.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::build_state;
use common::app::{harness_in, post, sign_in};
use common::forms::{MAILBOX, configure_smtp, form_body, guest_mail_from_mailbox};
use http::StatusCode;
use mailroom::domain::Secret;
use mailroom::domain::guest::GuestState;
use mailroom::domain::mail::RetryPolicy;
use mailroom::server::clock::{Clock, ManualClock, unix};
use mailroom::server::db;
use mailroom::server::db::guests::{NewGuest, insert};
use mailroom::server::guests::{ExpiryRun, PASSWORD_PURPOSE, run_expiry_job};
use mailroom::server::mail::{MailConfig, worker};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

#[tokio::test]
async fn every_guest_gets_one_expiry_notice_when_its_type_says() {
    let peers = Peers::start();
    // Now: the peers' test CA is valid from today.
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let h = harness_in(
        tempfile::tempdir().unwrap(),
        clock.clone(),
        Some(MailConfig {
            pool_size: 2,
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            ..MailConfig::default()
        }),
    )
    .await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, &peers, &[]).await;
    guest_mail_from_mailbox(&h, &root).await;

    // Contractor: the ISE default notice, 3 days before, turned on.
    let types: Vec<Value> = serde_json::from_str(
        &post(&h.app, "/api/list_guest_types", "", Some(&root))
            .await
            .body,
    )
    .unwrap();
    let id_of = |name: &str| {
        types.iter().find(|t| t["name"] == name).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let contractor = id_of("Contractor (default)");
    let mut fields = vec![
        ("name", "Contractor (default)".to_string()),
        ("description", "Contractors".into()),
        ("max_days", "365".into()),
        ("default_days", "90".into()),
        ("notify_enabled", "true".into()),
        ("notify_advance", "3".into()),
        ("notify_unit", "days".into()),
        (
            "notify_subject",
            "Access for $ui_user_name$ ends soon".into(),
        ),
        (
            "notify_text",
            "Hello $ui_first_name$, your access ends $ui_end_date_time$.".into(),
        ),
    ];
    let save = |id: Option<i64>, fields: Vec<(&'static str, String)>| {
        let app = h.app.clone();
        let root = root.clone();
        async move {
            let id = id.map(|id| format!("id={id}&")).unwrap_or_default();
            post(
                &app,
                "/api/save_guest_type",
                &format!("{id}{}", form_body(&fields)),
                Some(&root),
            )
            .await
        }
    };
    let reply = save(Some(contractor), fields.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // A new type with a 2-hour notice.
    fields[0].1 = "Visitor".into();
    fields[2].1 = "1".into();
    fields[3].1 = "1".into();
    fields[5].1 = "2".into();
    fields[6].1 = "hours".into();
    let reply = save(None, fields.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let visitor: i64 = reply.body.trim().parse().unwrap();

    let start = unix(clock.now());
    let guest = |n: usize, type_id: i64, until: i64, state: GuestState, email: &str| {
        let db = h.state.db.clone();
        let username = format!("guest{n}");
        let email = email.to_string();
        async move {
            insert(
                &db,
                &NewGuest {
                    username: &username,
                    password_hash: "not-used",
                    state,
                    first_name: "Ann <b>",
                    last_name: "Guest",
                    email: &email,
                    company: "Acme",
                    person_visited: "host@contoso.com",
                    guest_type_id: type_id,
                    valid_from: start,
                    valid_until: until,
                    sponsor: Some("sponsor1"),
                    sponsor_email: Some("sponsor1@contoso.com"),
                    portal: "Sponsor Portal (default)",
                    registered_ip: None,
                    sponsor_id: None,
                    sponsor_group_id: None,
                    extras: &Default::default(),
                    approval_deadline: None,
                    language: "",
                },
                start,
            )
            .await
            .unwrap()
        }
    };
    let v1 = guest(
        1,
        visitor,
        start + DAY,
        GuestState::Active,
        "v1@example.com",
    )
    .await;
    let v2 = guest(
        2,
        visitor,
        start + DAY,
        GuestState::Created,
        "v2@example.com",
    )
    .await;
    let c3 = guest(
        3,
        contractor,
        start + 10 * DAY,
        GuestState::Active,
        "c3@example.com",
    )
    .await;
    let c4 = guest(
        4,
        contractor,
        start + 10 * DAY,
        GuestState::Active,
        "c4@example.com",
    )
    .await;
    let suspended = guest(
        5,
        contractor,
        start + 10 * DAY,
        GuestState::Suspended,
        "c5@example.com",
    )
    .await;
    let _no_email = guest(6, contractor, start + 10 * DAY, GuestState::Active, "").await;
    h.state
        .vault
        .put(
            PASSWORD_PURPOSE,
            &v1.to_string(),
            &Secret::new("pw-v1"),
            start,
        )
        .await
        .unwrap();
    worker::spawn(h.state.clone());

    let run = || run_expiry_job(&h.state);
    assert_eq!(
        run().await.unwrap(),
        ExpiryRun::default(),
        "nothing due yet"
    );

    // 21h59m in: the visitors' 2-hour window has not opened.
    clock.advance(time::Duration::seconds(22 * HOUR - 60));
    assert_eq!(run().await.unwrap(), ExpiryRun::default());
    // 22h in: both visitors, once, even with two runs racing.
    clock.advance(time::Duration::seconds(60));
    let (a, b) = tokio::join!(run(), run());
    assert_eq!(a.unwrap().notices + b.unwrap().notices, 2);
    assert_eq!(run().await.unwrap().notices, 0, "already sent");
    // Delivery runs on the same clock: let it finish before time jumps
    // by hours, as it would in life.
    delivered(&h.state, 2).await;

    // The end of the visitors' day: they expire and v1's password copy goes.
    clock.advance(time::Duration::seconds(2 * HOUR));
    assert_eq!(
        run().await.unwrap(),
        ExpiryRun {
            notices: 0,
            expired: 2,
            denied: 0
        }
    );
    for id in [v1, v2] {
        let row = db::guests::get(&h.state.db, id).await.unwrap().unwrap();
        assert_eq!(row.state, GuestState::Expired);
    }
    assert!(
        !h.state
            .vault
            .contains(PASSWORD_PURPOSE, &v1.to_string())
            .await
            .unwrap()
    );

    // 7 days in: the contractors with an address, not the suspended one.
    clock.advance(time::Duration::seconds(6 * DAY));
    assert_eq!(
        run().await.unwrap(),
        ExpiryRun {
            notices: 2,
            expired: 0,
            denied: 0
        }
    );
    for id in [c3, c4] {
        let row = db::guests::get(&h.state.db, id).await.unwrap().unwrap();
        assert_eq!(row.expiry_notice_at, Some(unix(clock.now())));
    }
    let row = db::guests::get(&h.state.db, suspended)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.expiry_notice_at, None);

    delivered(&h.state, 4).await;
    // What the SMTP server received: one notice per guest, rendered.
    let started = Instant::now();
    let messages = loop {
        let messages: Vec<Value> = peers.messages().await;
        if messages.len() >= 4 || started.elapsed() > Duration::from_secs(30) {
            break messages;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut to: Vec<String> = messages
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "c3@example.com",
            "c4@example.com",
            "v1@example.com",
            "v2@example.com"
        ]
    );
    let c3_mail = messages
        .iter()
        .find(|m| m["to"][0] == "c3@example.com")
        .unwrap();
    assert_eq!(c3_mail["subject"], "Access for guest3 ends soon");
    assert_eq!(c3_mail["from"], MAILBOX);
    let raw = c3_mail["raw"].as_str().unwrap();
    // In English (the guest's) and the node's time zone (no portal).
    let ends = mailroom::server::languages::format_in("en", "", start + 10 * DAY);
    assert!(
        raw.contains(&format!("Hello Ann <b>, your access ends {ends}.")),
        "{raw}"
    );

    // A restart (a new state on the same data directory) finds the
    // stored marks: nothing new.
    clock.advance(time::Duration::seconds(HOUR));
    let restarted = build_state(h.dir.path(), clock.clone()).await.unwrap();
    assert_eq!(
        run_expiry_job(&restarted).await.unwrap(),
        ExpiryRun::default()
    );
    // At their end the live contractors expire, the suspended one too.
    clock.advance(time::Duration::seconds(3 * DAY));
    assert_eq!(
        run().await.unwrap(),
        ExpiryRun {
            notices: 0,
            expired: 4,
            denied: 0
        }
    );
}

/// Waits until the outbox holds `sent` delivered messages and none pending.
async fn delivered(state: &mailroom::server::AppState, sent: i64) {
    let started = Instant::now();
    loop {
        let counts = db::outbox::counts(&state.db).await.unwrap();
        if counts.sent == sent && counts.queued + counts.sending + counts.retrying == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not delivered: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
