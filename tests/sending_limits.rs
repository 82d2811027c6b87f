//! Pacing under Exchange Online's per-mailbox limits, against the peers'
//! smtp-server enforcing them (a concurrent-connection limit answered with
//! 432 4.3.2, a daily recipient quota answered with 554 5.2.0
//! SubmissionQuotaExceededException): a paced batch never trips them and
//! never exceeds the rate, a test email overtakes the batch, and a quota
//! refusal pauses the mailbox and resumes without loss or dead letters.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::build_state;
use common::app::{harness_in, open_alarms, post, sign_in};
use common::forms::{configure_smtp, form_body};
use common::mail::queue_guest_mail;
use http::StatusCode;
use mailroom::domain::alarm::AlarmCode;
use mailroom::domain::limits::SendingLimits;
use mailroom::domain::mail::{MailStatus, RetryPolicy, TestEmailResult};
use mailroom::server::clock::{ManualClock, SystemClock, unix_ms};
use mailroom::server::db;
use mailroom::server::db::pacing::{Release, reserve};
use mailroom::server::mail::{MailConfig, worker};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn mail_config() -> MailConfig {
    MailConfig {
        // More than the mailbox allows: the limiter, not the pool, decides.
        pool_size: 8,
        retry: RetryPolicy {
            max_attempts: 3,
            base_ms: 200,
            max_ms: 1000,
        },
        lease: Duration::from_secs(60),
        ..MailConfig::default()
    }
}

/// A console on `clock` whose SMTP Server page is set up against `peers`.
async fn configured(
    clock: Arc<dyn mailroom::server::clock::Clock>,
    peers: &Peers,
) -> (common::app::Harness, String) {
    let h = harness_in(tempfile::tempdir().unwrap(), clock, Some(mail_config())).await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, peers, &[]).await;
    (h, root)
}

/// New peers and a console set up against them.
async fn rig(
    clock: Arc<dyn mailroom::server::clock::Clock>,
) -> (common::app::Harness, Peers, String) {
    let peers = Peers::start();
    let (h, root) = configured(clock, &peers).await;
    (h, peers, root)
}

async fn save_limits(h: &common::app::Harness, cookie: &str, limits: [&str; 4]) {
    let body = form_body(&[
        ("max_connections", limits[0].into()),
        ("messages_per_minute", limits[1].into()),
        ("recipients_per_day", limits[2].into()),
        ("recipients_per_message", limits[3].into()),
    ]);
    let reply = post(&h.app, "/api/save_sending_limits", &body, Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

async fn wait_sent(state: &mailroom::server::AppState, sent: i64, within: Duration) {
    let started = Instant::now();
    loop {
        let counts = db::outbox::counts(&state.db).await.unwrap();
        if counts.sent >= sent {
            return;
        }
        assert!(started.elapsed() < within, "not delivered: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_paced_batch_stays_under_the_limits_and_a_test_email_overtakes_it() {
    let (h, peers, root) = rig(Arc::new(SystemClock)).await;
    peers
        .control("/_limits", json!({"max_connections": 3}))
        .await;
    // Exchange's limits, scaled down: 3 connections, 600 messages a minute.
    save_limits(&h, &root, ["3", "600", "0", "0"]).await;
    worker::spawn(h.state.clone());

    let queued = queue_guest_mail(&h.state, 300, "Paced").await;
    h.state.mailer.submitted(&queued);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = db::outbox::waiting(&h.state.db).await.unwrap();
    assert!(waiting > 200, "the batch is still draining: {waiting} left");

    // A test email goes ahead of the bulk mail still waiting.
    let started = Instant::now();
    let reply = post(
        &h.app,
        "/api/send_test_email",
        "to=admin%40example.com",
        Some(&root),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let result: TestEmailResult = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(result.status, MailStatus::Sent, "{result:?}");
    assert!(took < Duration::from_secs(2), "accepted after {took:?}");

    wait_sent(&h.state, 301, Duration::from_secs(90)).await;
    let stats = peers.stats().await;
    assert_eq!(stats["refused_432"].as_i64().unwrap_or(0), 0, "{stats}");
    assert!(stats["max_open"].as_i64().unwrap() <= 3, "{stats}");

    // The server's receive times: never more than 600 in any 60 s, and
    // evenly paced (at most 101 in any 10 s) rather than in bursts.
    let messages: Vec<Value> = peers.messages().await;
    let mut times: Vec<i64> = messages.iter().map(|m| m["at"].as_i64().unwrap()).collect();
    times.sort_unstable();
    assert_eq!(times.len(), 301);
    let most_within = |window: i64| {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + window)
                    .count()
            })
            .max()
            .unwrap()
    };
    assert!(most_within(60_000) <= 600);
    assert!(most_within(10_000) <= 101, "{}", most_within(10_000));
    assert!(
        times[times.len() - 1] - times[0] >= 29_000,
        "300 messages at 600 a minute take about 30 s"
    );
    let dead = db::outbox::counts(&h.state.db).await.unwrap().dead;
    assert_eq!(dead, 0);
}

#[tokio::test]
async fn a_quota_refusal_pauses_the_mailbox_and_it_resumes_without_loss() {
    // Now, once the peers run: their test CA is valid from their start.
    let peers = Peers::start();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let (h, root) = configured(clock.clone(), &peers).await;
    // The server's quota (20 recipients) is below what the console was
    // told: the server's 554 5.2.0 is what stops sending.
    peers
        .control("/_limits", json!({"daily_recipients": 20}))
        .await;
    save_limits(&h, &root, ["3", "0", "10000", "500"]).await;
    worker::spawn(h.state.clone());
    let queued = queue_guest_mail(&h.state, 30, "Quota").await;
    h.state.mailer.submitted(&queued);

    // 20 go through; the rest wait, none is a dead letter.
    wait_sent(&h.state, 20, Duration::from_secs(30)).await;
    let started = Instant::now();
    loop {
        let counts = db::outbox::counts(&h.state.db).await.unwrap();
        let (_, _, paused, reason) = db::pacing::usage(
            &mut h.state.db.acquire().await.unwrap(),
            common::forms::MAILBOX,
            unix_ms(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
        if counts.sending == 0 && paused.is_some() {
            assert!(!reason.is_empty(), "a pause says why");
            assert_eq!(counts.sent, 20, "{counts:?}");
            assert_eq!(counts.dead, 0, "{counts:?}");
            assert_eq!(counts.queued + counts.retrying, 10, "{counts:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(peers.stats().await["quota_refusals"].as_i64().unwrap() >= 1);
    // The alarm is raised once the refusal is recorded, a moment after the
    // pause is.
    let started = Instant::now();
    loop {
        let alarms = open_alarms(&h, &root).await;
        if alarms
            .iter()
            .any(|a| a.code == AlarmCode::SendingQuotaExceeded)
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{alarms:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A day later the quota is free again: the rest go, in full.
    peers.control("/_limits/new-day", json!({})).await;
    clock.advance(time::Duration::hours(25));
    h.state.mailer.wake();
    wait_sent(&h.state, 30, Duration::from_secs(30)).await;
    let counts = db::outbox::counts(&h.state.db).await.unwrap();
    assert_eq!(counts.dead, 0, "{counts:?}");
    let started = Instant::now();
    loop {
        // The clock moved a day: a new session.
        let alarms = open_alarms(&h, &sign_in(&h.app, "root").await).await;
        if alarms.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{alarms:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_pace_is_kept_across_a_restart() {
    let h = harness_in(tempfile::tempdir().unwrap(), Arc::new(SystemClock), None).await;
    let limits = SendingLimits {
        messages_per_minute: 30,
        ..SendingLimits::UNLIMITED
    };
    let now = unix_ms(time::OffsetDateTime::now_utc());
    assert_eq!(
        reserve(&h.state.db, "mbx", &limits, 1, now).await.unwrap(),
        Release::Go
    );
    let restarted = build_state(h.dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    match reserve(&restarted.db, "mbx", &limits, 1, now + 10)
        .await
        .unwrap()
    {
        Release::Wait { until, quota, .. } => {
            assert!(!quota);
            assert_eq!(until, now + 2020);
        }
        Release::Go => panic!("a restart must not reset the pace"),
    }
    assert_eq!(
        reserve(&restarted.db, "mbx", &limits, 1, now + 2020)
            .await
            .unwrap(),
        Release::Go
    );
}

#[tokio::test]
async fn a_message_to_more_recipients_than_allowed_goes_in_parts() {
    let (h, peers, root) = rig(Arc::new(SystemClock)).await;
    save_limits(&h, &root, ["3", "0", "0", "2"]).await;
    worker::spawn(h.state.clone());
    // The workers load the limits before their first message.
    let started = Instant::now();
    while h
        .state
        .mailer
        .paced
        .lock()
        .unwrap()
        .as_ref()
        .is_none_or(|p| p.limits.recipients_per_message != 2)
    {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let to: Vec<String> = (0..5).map(|n| format!("staff{n}@example.com")).collect();
    let mut tx = db::begin_write(&h.state.db).await.unwrap();
    let queued = h
        .state
        .mailer
        .enqueue(
            &mut tx,
            &h.state.vault,
            &mailroom::server::mail::Outgoing {
                kind: mailroom::domain::mail::MailKind::Alarm,
                sender: common::forms::MAILBOX.into(),
                recipients: to.clone(),
                subject: "To many".into(),
                text: "Split".into(),
                html: None,
                created_by: "test".into(),
                language: None,
            },
            unix_ms(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    h.state.mailer.submitted(&queued);
    assert_eq!(queued.len(), 3);
    wait_sent(&h.state, 3, Duration::from_secs(20)).await;
    let messages: Vec<Value> = peers.messages().await;
    let mut sizes: Vec<usize> = messages
        .iter()
        .filter(|m| m["subject"] == "To many")
        .map(|m| m["to"].as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 2, 2]);
    let mut received: Vec<String> = messages
        .iter()
        .flat_map(|m| m["to"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    received.sort();
    assert_eq!(received, to);
}

#[tokio::test]
async fn a_sender_pool_spreads_bulk_mail_each_mailbox_under_its_own_limits() {
    let (h, peers, root) = rig(Arc::new(SystemClock)).await;
    peers
        .control("/_limits", json!({"max_connections": 3}))
        .await;
    save_limits(&h, &root, ["3", "600", "0", "0"]).await;
    let add = |mailbox: &str| {
        let body = form_body(&[("mailbox", mailbox.into())]);
        let (app, root) = (h.app.clone(), root.clone());
        async move { post(&app, "/api/add_sender_mailbox", &body, Some(&root)).await }
    };
    // Refused next to the field, and nothing changes: the SMTP Server's
    // own mailbox, and a half address.
    for bad in [common::forms::MAILBOX, "guests1"] {
        let reply = add(bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(reply.body.contains("mailbox"), "{}", reply.body);
    }
    // guests3@ is a mailbox the app has no permission on.
    for mailbox in [
        "guests1@contoso.onmicrosoft.com",
        "Guests2@contoso.onmicrosoft.com",
        "guests3@contoso.onmicrosoft.com",
    ] {
        let reply = add(mailbox).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert_eq!(
        db::pacing::sender_mailboxes(&h.state.db)
            .await
            .unwrap()
            .len(),
        3
    );
    worker::spawn(h.state.clone());

    // A test email From a pool mailbox is sent signed in as it.
    let reply = post(
        &h.app,
        "/api/send_pool_test_email",
        "mailbox=guests1%40contoso.onmicrosoft.com&to=admin%40example.com",
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let result: TestEmailResult = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(result.status, MailStatus::Sent, "{result:?}");

    let queued = queue_guest_mail(&h.state, 240, "Pooled").await;
    h.state.mailer.submitted(&queued);
    wait_sent(&h.state, 241, Duration::from_secs(60)).await;

    let messages: Vec<Value> = peers.messages().await;
    assert_eq!(messages.len(), 241);
    let mut by_mailbox: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for message in &messages {
        let user = message["user"].as_str().unwrap().to_string();
        assert_eq!(
            message["from"].as_str(),
            Some(user.as_str()),
            "From is the sending mailbox"
        );
        by_mailbox
            .entry(user)
            .or_default()
            .push(message["at"].as_i64().unwrap());
    }
    let names: Vec<&str> = by_mailbox.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "guests1@contoso.onmicrosoft.com",
            "guests2@contoso.onmicrosoft.com",
            common::forms::MAILBOX
        ],
        "the mailbox without permission sent nothing"
    );
    for (mailbox, times) in &mut by_mailbox {
        times.sort_unstable();
        assert!(
            times.len() >= 40,
            "{mailbox} took its share: {}",
            times.len()
        );
        // Each mailbox at its own pace: at most 101 in any 10 s.
        let most = (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + 10_000)
                    .count()
            })
            .max()
            .unwrap();
        assert!(most <= 101, "{mailbox}: {most} in 10 s");
    }
    // Three mailboxes at 600 a minute each: 240 take about 8 s (one alone, 24 s).
    let all: Vec<i64> = by_mailbox.values().flatten().copied().collect();
    let span = all.iter().max().unwrap() - all.iter().min().unwrap();
    assert!(span < 16_000, "the pool sent 241 in {span} ms");
    let stats = peers.stats().await;
    assert_eq!(stats["refused_432"].as_i64().unwrap_or(0), 0, "{stats}");
    assert!(stats["max_open"].as_i64().unwrap() <= 3, "{stats}");

    // Nothing was lost to the refused mailbox: it rests, the others sent its share.
    let counts = db::outbox::counts(&h.state.db).await.unwrap();
    assert_eq!(counts.dead, 0, "{counts:?}");
    let now = unix_ms(time::OffsetDateTime::now_utc());
    let rest = db::pacing::usage(
        &mut h.state.db.acquire().await.unwrap(),
        "guests3@contoso.onmicrosoft.com",
        now,
    )
    .await
    .unwrap();
    assert!(rest.2.is_some(), "guests3@ rests: {rest:?}");
    assert!(rest.3.contains("permission"), "{}", rest.3);
    // The Mail Queue shows the mailbox each message went from.
    let recorded: Vec<(String, i64)> = sqlx::query_as(
        "SELECT sender, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY sender ORDER BY sender",
    )
    .fetch_all(&h.state.db)
    .await
    .unwrap();
    let shown: Vec<(String, i64)> = by_mailbox
        .iter()
        .map(|(mailbox, times)| (mailbox.clone(), times.len() as i64))
        .collect();
    assert_eq!(recorded, shown);

    // Disabled, a mailbox sends no more; its pacing view says so. The
    // address is matched whatever its case.
    let reply = post(
        &h.app,
        "/api/enable_sender_mailbox",
        "mailbox=Guests2%40Contoso.onmicrosoft.com&enabled=false",
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let view = mailroom::server::mail::pacing::view(&h.state)
        .await
        .unwrap();
    let guests2 = view
        .pool
        .iter()
        .find(|m| m.mailbox.starts_with("guests2"))
        .unwrap();
    assert!(!guests2.enabled && !guests2.sending);
    assert!(view.oauth);

    let reply = post(
        &h.app,
        "/api/remove_sender_mailbox",
        "mailbox=+GUESTS3%40contoso.onmicrosoft.com+",
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = post(
        &h.app,
        "/api/remove_sender_mailbox",
        "mailbox=guests3%40contoso.onmicrosoft.com",
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.body.contains("not in the sender pool"),
        "{}",
        reply.body
    );
    let view = mailroom::server::mail::pacing::view(&h.state)
        .await
        .unwrap();
    assert!(
        view.pool.iter().all(|m| !m.mailbox.starts_with("guests3")),
        "{:?}",
        view.pool.iter().map(|m| &m.mailbox).collect::<Vec<_>>()
    );
}
