//! The outbox and its delivery workers against the peers' smtp-server
//! (STARTTLS, AUTH XOAUTH2 with the token verified) and the Entra-like
//! token endpoint: pooled delivery with one token, and each retry path
//! (server down then up, a greeting that never comes, a drop during DATA,
//! 421 and 432, token throttling, an expired token, a permanent 5xx to a
//! dead letter and back) while the console keeps answering.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, harness_with_mail, post, sign_in};
use common::forms::{GOOD_APP, MAILBOX, configure_smtp};
use common::mail::{fill_outbox, mail_detail, queue_guest_mail, queue_mail, wait_for_status};
use http::StatusCode;
use mailroom::domain::diagnosis::Step;
use mailroom::domain::mail::{MailDetail, MailKind, MailStatus, RetryPolicy, TestEmailResult};
use mailroom::server::db;
use mailroom::server::mail::{MailConfig, Outgoing, worker};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const POOL_SIZE: u32 = 3;

struct Rig {
    h: Harness,
    root: String,
    peers: Peers,
}

async fn rig() -> Rig {
    rig_with(&[]).await
}

async fn rig_with(overrides: &[(&'static str, String)]) -> Rig {
    let peers = Peers::start();
    let h = harness_with_mail(MailConfig {
        pool_size: POOL_SIZE,
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
    configure_smtp(&h, &root, &peers, overrides).await;
    worker::spawn(h.state.clone());
    Rig { h, root, peers }
}

impl Rig {
    async fn control(&self, path: &str, body: Value) {
        self.peers.control(path, body).await;
    }

    async fn fault(&self, fault: Value) {
        self.control("/_faults", fault).await
    }

    /// Queues `count` guest-credential emails and wakes the workers.
    async fn queue(&self, count: usize) -> Vec<(i64, String)> {
        let queued = queue_guest_mail(&self.h.state, count, "Dispatch").await;
        self.h.state.mailer.submitted(&queued);
        queued.into_iter().map(|q| (q.id, q.message_id)).collect()
    }

    async fn status(&self, id: i64) -> MailStatus {
        db::outbox::get(&self.h.state.db, id)
            .await
            .unwrap()
            .unwrap()
            .row
            .status
    }

    async fn wait_for(&self, id: i64, wanted: MailStatus, within: Duration) -> MailDetail {
        wait_for_status(&self.h, &self.root, id, wanted, within).await
    }

    async fn detail(&self, id: i64) -> MailDetail {
        mail_detail(&self.h, &self.root, id).await
    }

    async fn received(&self) -> Vec<String> {
        let messages: Vec<Value> = self.peers.messages().await;
        messages
            .iter()
            .map(|m| m["message_id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn stats(&self) -> Value {
        self.peers.stats().await
    }
}

fn outcomes(detail: &MailDetail) -> Vec<&str> {
    detail.attempts.iter().map(|a| a.outcome.as_str()).collect()
}

#[tokio::test]
async fn pooled_delivery_uses_one_token_and_few_sessions() {
    let rig = rig().await;
    let before = rig.stats().await;
    let queued = rig.queue(60).await;
    for (id, _) in &queued {
        rig.wait_for(*id, MailStatus::Sent, Duration::from_secs(60))
            .await;
    }
    let received: HashSet<String> = rig.received().await.into_iter().collect();
    for (_, message_id) in &queued {
        assert!(received.contains(message_id), "{message_id} never arrived");
    }
    let stats = rig.stats().await;
    let tokens = stats["token_requests_by_client"][GOOD_APP]
        .as_i64()
        .unwrap()
        - before["token_requests_by_client"][GOOD_APP]
            .as_i64()
            .unwrap();
    assert_eq!(tokens, 1, "one token for 60 messages: {stats}");
    let sessions = stats["auth_ok"].as_i64().unwrap() - before["auth_ok"].as_i64().unwrap();
    assert!(
        (1..=POOL_SIZE as i64).contains(&sessions),
        "60 messages over at most {POOL_SIZE} signed-in sessions, not {sessions}"
    );
    let detail = rig.detail(queued[0].0).await;
    assert_eq!(outcomes(&detail), ["sent"]);
    assert!(
        detail.row.last_reply.as_deref().unwrap().starts_with("250"),
        "{detail:?}"
    );
    assert!(!detail.body_kept, "a delivered body is dropped");
    assert_eq!(detail.persona.as_str(), "PSN");
}

/// Queues one email whose text has lines SMTP must escape (a lone dot
/// would end the message early; a leading dot would be lost).
async fn queue_dotted(rig: &Rig, tag: &str) -> (i64, String) {
    let mail = Outgoing {
        kind: MailKind::GuestCredentials,
        sender: MAILBOX.into(),
        recipients: vec![
            format!("{tag}-a@example.com"),
            format!("{tag}-b@example.com"),
        ],
        subject: format!("Dotted {tag}"),
        text: format!("first line\n.\n.hidden {tag}\n..two\nafter the dots {tag}"),
        html: None,
        created_by: "sponsor1".into(),
        language: None,
    };
    let queued = queue_mail(&rig.h.state, &[mail]).await;
    rig.h.state.mailer.submitted(&queued);
    (queued[0].id, queued[0].message_id.clone())
}

/// Each sender writes the next message's envelope with this message's end
/// (one round trip per message). A refusal of such an envelope, or a drop
/// while one is on the wire, fails that one message alone.
#[tokio::test]
async fn a_failure_amid_chained_messages_touches_only_its_own() {
    let rig = rig().await;
    // Past the first envelope of each session, so they land mid-chain.
    rig.fault(json!({"at": "rcpt", "action": "reply", "code": 550, "skip": 5,
        "text": "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}))
        .await;
    rig.fault(json!({"at": "data", "action": "drop", "skip": 9}))
        .await;
    let queued = rig.queue(24).await;
    let started = Instant::now();
    let mut dead = Vec::new();
    for (id, message_id) in &queued {
        loop {
            match rig.status(*id).await {
                MailStatus::Sent => break,
                MailStatus::Dead => {
                    dead.push((rig.detail(*id).await, message_id.clone()));
                    break;
                }
                _ => {}
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{id} never settled: {:#?}",
                rig.detail(*id).await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    assert_eq!(
        dead.len(),
        1,
        "only the refused recipient's message: {dead:#?}"
    );
    let (refused, refused_id) = &dead[0];
    assert_eq!(refused.diagnosis.as_ref().unwrap().code, "550 5.1.10");
    assert_eq!(outcomes(refused), ["dead"]);
    let received = rig.received().await;
    for (_, message_id) in &queued {
        let copies = received.iter().filter(|r| *r == message_id).count();
        if message_id == refused_id {
            assert_eq!(copies, 0, "the refused message never arrives");
        } else {
            assert_eq!(copies, 1, "{message_id} arrives once: {received:?}");
        }
    }
    let stats = rig.stats().await;
    assert_eq!(stats["faults_used"], 2, "both faults were met: {stats}");
}

#[tokio::test]
async fn pipelined_or_one_command_at_a_time_every_message_arrives_whole() {
    for pipelining in [true, false] {
        let rig = rig().await;
        // Before any session opens, so every EHLO answer says it.
        rig.control("/_smtp/pipelining", json!({"on": pipelining}))
            .await;
        let tag = if pipelining { "piped" } else { "stepwise" };
        let (id, message_id) = queue_dotted(&rig, tag).await;
        rig.wait_for(id, MailStatus::Sent, Duration::from_secs(30))
            .await;
        let messages = rig.peers.messages().await;
        let message = messages
            .iter()
            .find(|m| m["message_id"] == message_id.as_str())
            .unwrap_or_else(|| panic!("{message_id} never arrived"));
        assert_eq!(
            message["to"],
            json!([
                format!("{tag}-a@example.com"),
                format!("{tag}-b@example.com")
            ])
        );
        let raw = message["raw"].as_str().unwrap();
        for line in [
            ".",
            &format!(".hidden {tag}"),
            "..two",
            &format!("after the dots {tag}"),
        ] {
            assert!(
                raw.contains(&format!("\r\n{line}\r\n")) || raw.ends_with(&format!("\r\n{line}")),
                "{line:?} arrived as written ({tag}): {raw}"
            );
        }
        // A refusal is placed at the command it answered, in either mode.
        rig.fault(json!({"at": "mail", "action": "reply", "code": 550,
            "text": "5.7.60 SMTP; Client does not have permissions to send as this sender"}))
            .await;
        let (refused, _) = rig.queue(1).await.remove(0);
        let detail = rig
            .wait_for(refused, MailStatus::Dead, Duration::from_secs(30))
            .await;
        let diagnosis = detail.diagnosis.unwrap();
        assert_eq!(diagnosis.step, Step::MailFrom, "{diagnosis:?}");
        assert_eq!(diagnosis.code, "550 5.7.60");
        // The session it failed on is dropped; the next message still goes.
        let (id, _) = rig.queue(1).await.remove(0);
        rig.wait_for(id, MailStatus::Sent, Duration::from_secs(30))
            .await;
    }
}

#[tokio::test]
async fn send_test_email_waits_for_the_servers_reply() {
    let rig = rig().await;
    let reply = post(
        &rig.h.app,
        "/api/send_test_email",
        "to=admin%40example.com",
        Some(&rig.root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let result: TestEmailResult = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(result.status, MailStatus::Sent, "{result:?}");
    assert!(result.reply.as_deref().unwrap().starts_with("250 "));
    assert!(rig.received().await.contains(&result.message_id));

    // The result of a failing first attempt is the diagnosis.
    rig.fault(json!({"at": "rcpt", "action": "reply", "code": 550,
        "text": "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}))
        .await;
    let reply = post(
        &rig.h.app,
        "/api/send_test_email",
        "to=nobody%40example.com",
        Some(&rig.root),
    )
    .await;
    let result: TestEmailResult = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(result.status, MailStatus::Dead, "{result:?}");
    assert_eq!(result.diagnosis.unwrap().code, "550 5.1.10");

    // A bad address is refused next to the field, and nothing is queued.
    let reply = post(
        &rig.h.app,
        "/api/send_test_email",
        "to=not-an-address",
        Some(&rig.root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("\"field\":\"to\""), "{}", reply.body);
    let counts = db::outbox::counts(&rig.h.state.db).await.unwrap();
    assert_eq!(counts.sent + counts.dead, 2);

    let viewer = sign_in(&rig.h.app, "viewer").await;
    let refused = post(
        &rig.h.app,
        "/api/send_test_email",
        "to=a%40example.com",
        Some(&viewer),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn server_down_then_up_is_retried_while_pages_keep_answering() {
    let rig = rig().await;
    rig.control("/_smtp/down", json!({})).await;
    let (id, message_id) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Retrying, Duration::from_secs(20))
        .await;
    assert_eq!(
        detail.diagnosis.as_ref().unwrap().code,
        "connect-failed",
        "{detail:?}"
    );
    // The console answers while delivery fails.
    let started = Instant::now();
    let page = post(
        &rig.h.app,
        "/api/get_mail_queue",
        "status=retrying&kind=&recipient=guest0&subject=&page=1",
        Some(&rig.root),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(page.body.contains("\"total\":1"), "{}", page.body);

    rig.control("/_smtp/up", json!({})).await;
    let detail = rig
        .wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail).last(), Some(&"sent"));
    assert!(outcomes(&detail).len() >= 2);
    assert!(rig.received().await.contains(&message_id));
}

#[tokio::test]
async fn a_greeting_that_never_comes_times_out_and_is_retried() {
    let rig = rig_with(&[("connection_timeout", "2".into())]).await;
    rig.fault(json!({"at": "connect", "action": "hang"})).await;
    let (id, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "sent"], "{detail:?}");
    assert!(
        detail.attempts[0].reply.starts_with("timeout")
            || detail.attempts[0].reply.starts_with("connect-timeout"),
        "{detail:?}"
    );
    assert!(detail.attempts[0].millis >= 1900, "{detail:?}");
}

#[tokio::test]
async fn a_drop_during_data_is_retried_with_the_same_message_id() {
    let rig = rig().await;
    rig.fault(json!({"at": "data", "action": "drop"})).await;
    let (id, message_id) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "sent"], "{detail:?}");
    assert!(
        detail.attempts[0].reply.starts_with("connection-lost"),
        "{detail:?}"
    );
    let received = rig.received().await;
    assert_eq!(
        received.iter().filter(|id| **id == message_id).count(),
        1,
        "the dropped copy was never accepted, the retry was"
    );
}

#[tokio::test]
async fn replies_421_and_432_are_temporary() {
    let rig = rig().await;
    rig.fault(json!({"at": "connect", "action": "reply", "code": 421,
        "text": "4.3.2 Service not available, closing transmission channel"}))
        .await;
    let (first, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(first, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "sent"], "{detail:?}");
    assert!(detail.attempts[0].reply.starts_with("421"), "{detail:?}");

    rig.fault(json!({"at": "mail", "action": "reply", "code": 432,
        "text": "4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information."}))
        .await;
    let (second, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(second, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "sent"], "{detail:?}");
    assert!(
        detail.attempts[0].reply.starts_with("432 4.3.2"),
        "{detail:?}"
    );
}

#[tokio::test]
async fn token_endpoint_throttling_waits_for_retry_after() {
    let rig = rig().await;
    rig.fault(json!({"at": "token", "action": "status", "status": 429, "retry_after": 2}))
        .await;
    let (id, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "sent"], "{detail:?}");
    assert!(
        detail.attempts[0].reply.starts_with("HTTP 429"),
        "{detail:?}"
    );
    let waited = detail.attempts[1].started_at - detail.attempts[0].started_at;
    assert!(
        waited >= 2000,
        "Retry-After: 2 honoured, waited {waited} ms"
    );
}

#[tokio::test]
async fn a_cached_token_that_exchange_refuses_is_refreshed_once_within_the_attempt() {
    let rig = rig().await;
    let before = rig.stats().await;
    // Entra says the token lives an hour, but it expires in 2 s (a revoked
    // or clock-skewed token looks the same to the console).
    rig.fault(json!({"at": "token", "action": "expired", "lifetime": 2}))
        .await;
    let (first, _) = rig.queue(1).await.remove(0);
    rig.wait_for(first, MailStatus::Sent, Duration::from_secs(30))
        .await;
    // Cut the pooled sessions, so the next message signs in again, with
    // the cached token that has expired by then.
    rig.control("/_smtp/down", json!({})).await;
    rig.control("/_smtp/up", json!({})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (second, message_id) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(second, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert_eq!(
        outcomes(&detail),
        ["sent"],
        "refreshed within the attempt: {detail:?}"
    );
    let stats = rig.stats().await;
    let tokens = |s: &Value| s["token_requests_by_client"][GOOD_APP].as_i64().unwrap();
    assert_eq!(tokens(&stats) - tokens(&before), 2, "{stats}");
    assert!(
        stats["auth_failed"].as_i64() > before["auth_failed"].as_i64(),
        "{stats}"
    );
    assert!(rig.received().await.contains(&message_id));
}

#[tokio::test]
async fn a_permanent_refusal_is_a_dead_letter_until_retried_or_discarded() {
    let rig = rig().await;
    let refusal = json!({"at": "rcpt", "action": "reply", "code": 550,
        "text": "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"});
    rig.fault(refusal.clone()).await;
    let (id, message_id) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Dead, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["dead"], "one attempt, no retries");
    let diagnosis = detail.diagnosis.clone().unwrap();
    assert_eq!(diagnosis.code, "550 5.1.10");
    assert!(!diagnosis.temporary);
    assert!(detail.body_kept, "a dead letter keeps its body for Retry");

    // A Read-Only admin may look but not retry.
    let viewer = sign_in(&rig.h.app, "viewer").await;
    let refused = post(
        &rig.h.app,
        "/api/retry_mail",
        &format!("id={id}"),
        Some(&viewer),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let retried = post(
        &rig.h.app,
        "/api/retry_mail",
        &format!("id={id}"),
        Some(&rig.root),
    )
    .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    rig.wait_for(id, MailStatus::Sent, Duration::from_secs(30))
        .await;
    assert!(rig.received().await.contains(&message_id));
    let again = post(
        &rig.h.app,
        "/api/retry_mail",
        &format!("id={id}"),
        Some(&rig.root),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "only dead letters");

    // Exhausted retries are dead letters too; Discard drops the body.
    rig.fault(json!({"at": "mail", "action": "reply", "code": 421,
        "text": "4.3.2 Service not available, closing transmission channel", "times": 4}))
        .await;
    let (doomed, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(doomed, MailStatus::Dead, Duration::from_secs(30))
        .await;
    assert_eq!(outcomes(&detail), ["retry", "retry", "retry", "dead"]);
    let discarded = post(
        &rig.h.app,
        "/api/discard_mail",
        &format!("id={doomed}"),
        Some(&rig.root),
    )
    .await;
    assert_eq!(discarded.status, StatusCode::OK, "{}", discarded.body);
    let detail = rig.detail(doomed).await;
    assert_eq!(detail.row.status, MailStatus::Discarded);
    assert!(!detail.body_kept);
    let audit = db::audit::recent(&rig.h.state.db, 10).await.unwrap();
    assert!(audit.iter().any(|row| row.action == "discard"));
    assert!(audit.iter().any(|row| row.action == "retry"));
}

#[tokio::test]
async fn the_mail_queue_pages_and_filters_a_hundred_thousand_rows() {
    let h = harness_with_mail(MailConfig::default()).await;
    let root = sign_in(&h.app, "root").await;
    fill_outbox(&h.state, 100_000).await;
    let page = |query: String| {
        let (app, root) = (h.app.clone(), root.clone());
        async move {
            let reply = post(&app, "/api/get_mail_queue", &query, Some(&root)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            serde_json::from_str::<mailroom::api::mail::MailQueuePage>(&reply.body).unwrap()
        }
    };
    let first = page("status=&kind=&recipient=&subject=&page=1".into()).await;
    assert_eq!(first.total, 100_000);
    assert_eq!((first.counts.sent, first.counts.dead), (99_900, 100));
    assert_eq!(first.rows.len(), 50);
    assert_eq!(first.rows[0].id, 100_000, "newest first");
    let last = page("status=&kind=&recipient=&subject=&page=2000".into()).await;
    assert_eq!(last.rows.last().unwrap().id, 1);
    let beyond = page("status=&kind=&recipient=&subject=&page=2001".into()).await;
    assert!(beyond.rows.is_empty());
    let dead = page("status=dead&kind=&recipient=&subject=&page=2".into()).await;
    assert_eq!(dead.total, 100);
    assert_eq!(dead.rows[0].id, 50_000);
    let one =
        page("status=&kind=guest-credentials&recipient=guest77777%40&subject=&page=1".into()).await;
    assert_eq!(one.total, 1);
    assert_eq!(one.rows[0].recipients, "guest77777@example.com");
    // LIKE wildcards in a filter are taken literally.
    let none = page("status=&kind=&recipient=%25_%25&subject=&page=1".into()).await;
    assert_eq!(none.total, 0);
    let refused = post(
        &h.app,
        "/api/get_mail_queue",
        "status=lost&kind=&recipient=&subject=&page=1",
        Some(&root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("\"field\":\"status\""),
        "{}",
        refused.body
    );
}

/// A worker records only the rows it still holds: one whose lease ran out
/// and was claimed again belongs to the new owner.
#[tokio::test]
async fn a_result_is_recorded_only_by_the_worker_that_holds_the_lease() {
    let h = harness_with_mail(MailConfig {
        pool_size: POOL_SIZE,
        retry: RetryPolicy::default(),
        lease: Duration::from_secs(60),
        ..MailConfig::default()
    })
    .await;
    let db = &h.state.db;
    let queued = queue_guest_mail(&h.state, 3, "Lease").await;
    let now = mailroom::server::clock::unix_ms(h.state.clock.now());
    let short = db::outbox::claim(db, "first", now, now + 1, 2)
        .await
        .unwrap();
    let long = db::outbox::claim(db, "first", now, now + 60_000, 1)
        .await
        .unwrap();
    assert_eq!((short.len(), long.len()), (2, 1));
    let taken = db::outbox::claim(db, "second", now + 2, now + 60_000, 10)
        .await
        .unwrap();
    let taken_ids: Vec<i64> = taken.iter().map(|row| row.id).collect();
    assert_eq!(
        taken_ids,
        short.iter().map(|row| row.id).collect::<Vec<_>>()
    );
    let settled: Vec<db::outbox::Settled> = queued
        .iter()
        .map(|q| db::outbox::Settled {
            id: q.id,
            status: MailStatus::Sent,
            reply: "250 2.6.0 Queued mail for delivery",
            diagnosis_json: None,
            next_attempt_at: now,
            now,
            attempt: 1,
            started_at: now,
            millis: 1,
            outcome: "sent",
            sent_from: None,
        })
        .collect();
    let mut tx = db::begin_write(db).await.unwrap();
    let recorded = db::outbox::settle_all(&mut tx, "first", &settled)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(recorded, [long[0].id].into(), "only the row it still holds");
    for row in &short {
        let detail = db::outbox::get(db, row.id).await.unwrap().unwrap();
        assert_eq!(detail.row.status, MailStatus::Sending, "still the second's");
        assert!(db::outbox::attempts(db, row.id).await.unwrap().is_empty());
    }
    let detail = db::outbox::get(db, long[0].id).await.unwrap().unwrap();
    assert_eq!(detail.row.status, MailStatus::Sent);
    assert_eq!(db::outbox::attempts(db, long[0].id).await.unwrap().len(), 1);
}

/// Password settings that passed Test Connection, then the server retires
/// basic authentication: the worker's dead letter names the command it
/// sent (AUTH PLAIN), the server's 535 (not the 221 to the QUIT after it)
/// and the way out (OAuth).
#[tokio::test]
async fn a_password_refused_after_basic_auth_is_retired_names_auth_plain_and_oauth() {
    let relay = ("relay-user".to_string(), "Relay-Passw0rd".to_string());
    let rig = rig_with(&[
        ("auth_type", "password".into()),
        ("username", relay.0.clone()),
        ("password", relay.1.clone()),
    ])
    .await;
    rig.control("/_smtp/basic-auth", json!({"enabled": false}))
        .await;
    let (id, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Dead, Duration::from_secs(30))
        .await;
    let diagnosis = detail.diagnosis.clone().unwrap();
    assert_eq!(diagnosis.step, Step::AuthPlain, "{diagnosis:?}");
    assert_eq!(diagnosis.code, "535 5.7.139");
    assert!(
        diagnosis
            .message
            .contains("basic authentication is disabled"),
        "{diagnosis:?}"
    );
    assert!(diagnosis.hint.contains("MS Exchange Online OAuth"));
    let reply = detail.attempts.last().unwrap().reply.clone();
    assert!(reply.contains("535 5.7.139"), "{reply}");
    assert!(!reply.contains("Bye"), "{reply}");
}

/// The server starts presenting a certificate for other names, then an
/// expired one: each delivery failure has its own diagnosis.
#[tokio::test]
async fn certificate_faults_during_delivery_are_told_apart() {
    let rig = rig().await;
    rig.control("/_smtp/certificate", json!({"use": "other-names"}))
        .await;
    let (id, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Dead, Duration::from_secs(30))
        .await;
    let diagnosis = detail.diagnosis.unwrap();
    assert_eq!(diagnosis.step, Step::StartTls);
    assert_eq!(diagnosis.code, "certificate-name-mismatch");
    assert!(
        diagnosis
            .hint
            .contains("smtp.contoso.test, mail.contoso.test"),
        "{diagnosis:?}"
    );

    rig.control("/_smtp/certificate", json!({"use": "expired"}))
        .await;
    let (id, _) = rig.queue(1).await.remove(0);
    let detail = rig
        .wait_for(id, MailStatus::Dead, Duration::from_secs(30))
        .await;
    assert_eq!(detail.diagnosis.unwrap().code, "certificate-expired");
}
