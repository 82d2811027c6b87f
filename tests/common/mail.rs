//! Queueing guest-credential emails as a sponsor creating guests would.

use super::forms::MAILBOX;
use mailroom::domain::mail::MailKind;
use mailroom::server::AppState;
use mailroom::server::mail::{Outgoing, Queued};

/// Queues `mails` in one transaction. The workers are not woken: call
/// `state.mailer.submitted`.
pub async fn queue_mail(state: &AppState, mails: &[Outgoing]) -> Vec<Queued> {
    let now = mailroom::server::clock::unix_ms(state.clock.now());
    let mut tx = mailroom::server::db::begin_write(&state.db).await.unwrap();
    let mut queued = Vec::with_capacity(mails.len());
    for mail in mails {
        queued.extend(
            state
                .mailer
                .enqueue(&mut tx, &state.vault, mail, now)
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    queued
}

/// Queues `count` emails (to guest0@example.com, ...) in one transaction.
/// Each body holds the password `{tag}-{n}-pw`, for checks that it never
/// leaks. The workers are not woken: call `state.mailer.submitted`.
pub async fn queue_guest_mail(state: &AppState, count: usize, tag: &str) -> Vec<Queued> {
    let mails: Vec<Outgoing> = (0..count)
        .map(|n| Outgoing {
            kind: MailKind::GuestCredentials,
            sender: MAILBOX.into(),
            recipients: vec![format!("guest{n}@example.com")],
            subject: format!("Your guest account {n}"),
            text: format!("Username: guest{n}\nPassword: {tag}-{n}-pw"),
            html: Some(format!("<p>Username: <b>guest{n}</b></p>")),
            created_by: "sponsor1".into(),
            language: None,
        })
        .collect();
    queue_mail(state, &mails).await
}

/// Fills the outbox with `count` delivered rows (every 1,000th a dead
/// letter) in one statement, for the Mail Queue's paging.
pub async fn fill_outbox(state: &AppState, count: i64) {
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO outbox (kind, persona, sender, recipients, subject, message_id, status, \
           attempts, next_attempt_at, last_reply, created_by, created_at, updated_at, sent_at) \
         SELECT 'guest-credentials', 'PSN', 'noreply@contoso.onmicrosoft.com', \
           'guest' || i || '@example.com', 'Your guest account ' || i, '<fill-' || i || '@x>', \
           CASE WHEN i % 1000 = 0 THEN 'dead' ELSE 'sent' END, 1, 0, '250 2.6.0 Queued', \
           'sponsor1', i, i, i FROM n",
    )
    .bind(count)
    .execute(&state.db)
    .await
    .unwrap();
}

/// Waits until the outbox has nothing queued, in flight or retrying.
pub async fn settled(state: &AppState) {
    let started = std::time::Instant::now();
    loop {
        let counts = mailroom::server::db::outbox::counts(&state.db)
            .await
            .unwrap();
        if counts.queued + counts.sending + counts.retrying == 0 {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "not delivered: {counts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// The messages the peers' SMTP server received whose subject starts with
/// `prefix`, once `count` have come (or after 30 s, whatever came).
pub async fn received_with_subject(
    peers: &super::Peers,
    prefix: &str,
    count: usize,
) -> Vec<serde_json::Value> {
    let started = std::time::Instant::now();
    loop {
        let messages: Vec<serde_json::Value> = peers.messages().await;
        let matching: Vec<serde_json::Value> = messages
            .into_iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .collect();
        if matching.len() >= count || started.elapsed() > std::time::Duration::from_secs(30) {
            return matching;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The Mail Queue's detail of message `id`, as the page asks for it.
pub async fn mail_detail(
    h: &super::app::Harness,
    cookie: &str,
    id: i64,
) -> mailroom::domain::mail::MailDetail {
    let reply = super::app::post(
        &h.app,
        "/api/get_mail_detail",
        &format!("id={id}"),
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, http::StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// Waits until message `id` reaches `wanted`, failing after `within`.
pub async fn wait_for_status(
    h: &super::app::Harness,
    cookie: &str,
    id: i64,
    wanted: mailroom::domain::mail::MailStatus,
    within: std::time::Duration,
) -> mailroom::domain::mail::MailDetail {
    let started = std::time::Instant::now();
    loop {
        let status = mailroom::server::db::outbox::get(&h.state.db, id)
            .await
            .unwrap()
            .unwrap()
            .row
            .status;
        if status == wanted {
            return mail_detail(h, cookie, id).await;
        }
        assert!(
            started.elapsed() < within,
            "message {id} is {status:?}, not {wanted:?}: {:#?}",
            mail_detail(h, cookie, id).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// The text/plain parts of a delivered message (`raw`), decoded.
pub fn plain_text(message: &serde_json::Value) -> String {
    fn collect(part: &mailparse::ParsedMail, texts: &mut Vec<String>) {
        if part.subparts.is_empty() {
            if part.ctype.mimetype == "text/plain" {
                texts.push(part.get_body().unwrap());
            }
        } else {
            for sub in &part.subparts {
                collect(sub, texts);
            }
        }
    }
    let raw = message["raw"].as_str().unwrap();
    let parsed = mailparse::parse_mail(raw.as_bytes()).unwrap();
    let mut texts = Vec::new();
    collect(&parsed, &mut texts);
    texts.join("\n")
}
