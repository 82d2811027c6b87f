//! A crash loses no mail: 1,000 messages are queued, the shipped binary is
//! killed with SIGKILL in the middle of the batch, started again, and every
//! Message-ID arrives at the peers' smtp-server. The logs of the run carry
//! ISE's mail lines and no secret.
#![cfg(feature = "ssr")]

mod common;

use common::app::{harness_in, sign_in};
use common::forms::configure_oauth_smtp;
use common::mail::queue_guest_mail;
use common::{Peers, free_port};
use mailroom::domain::mail::MailStatus;
use mailroom::server::db;
use mailroom::server::http::system_clock;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MESSAGES: usize = 1000;
const POOL_SIZE: usize = 3;

async fn serve(dir: &Path, port: u16) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    match common::database::env_url(dir).await {
        Some(url) => command.env("MAILROOM_DATABASE_URL", url),
        None => command.env_remove("MAILROOM_DATABASE_URL"),
    };
    command
        .arg("serve")
        .env("MAILROOM_DATA_DIR", dir)
        .env("MAILROOM_MAIL_POOL_SIZE", POOL_SIZE.to_string())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("MAILROOM_HTTPS_ADDR", format!("127.0.0.1:{}", free_port()))
        .env_remove("MAILROOM_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mailroom binary")
}

/// Message-ID -> how many times smtp-server accepted it.
async fn received(peers: &Peers) -> HashMap<String, usize> {
    let messages: Vec<Value> = peers.messages().await;
    let mut counts = HashMap::new();
    for message in messages {
        *counts
            .entry(
                message["message_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
            .or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_in_the_middle_of_a_batch_loses_no_message() {
    let peers = Peers::start();
    let dir = tempfile::tempdir().unwrap();

    // Set the console up as an admin would, turn the guest log up to DEBUG,
    // and queue the batch in one transaction; then close the database.
    let h = harness_in(dir, system_clock(), None).await;
    let root = sign_in(&h.app, "root").await;
    configure_oauth_smtp(&h, &root, &peers).await;
    db::log_levels::put(&h.state.db, "guestaccess", "DEBUG", 0, "root")
        .await
        .unwrap();
    let queued: Vec<String> = queue_guest_mail(&h.state, MESSAGES, "Crash")
        .await
        .into_iter()
        .map(|q| q.message_id)
        .collect();
    h.state.db.close().await;
    let dir = h.dir;

    // A slow server (20 ms per message), so the batch is surely in flight
    // when the kill comes.
    peers
        .control(
            "/_faults",
            json!({"at": "data", "action": "delay", "ms": 20, "times": 1_000_000}),
        )
        .await;

    let port = free_port();
    let mut first = serve(dir.path(), port).await;
    let started = Instant::now();
    loop {
        let count: usize = received(&peers).await.values().sum();
        if count >= 150 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {count} messages arrived before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: no shutdown code runs
    first.wait().unwrap();
    let before_restart: usize = received(&peers).await.values().sum();
    assert!(
        before_restart < MESSAGES,
        "the kill came after the batch ({before_restart} messages)"
    );
    // What the killed server had recorded as delivered: those must never be
    // sent again.
    let db = db::open(&common::database::location(dir.path()).await)
        .await
        .unwrap();
    let recorded_sent: Vec<(String,)> =
        sqlx::query_as("SELECT message_id FROM outbox WHERE status = 'sent'")
            .fetch_all(&db)
            .await
            .unwrap();
    db.close().await;

    let mut second = serve(dir.path(), port).await;
    let started = Instant::now();
    let arrived = loop {
        let arrived = received(&peers).await;
        if queued.iter().all(|id| arrived.contains_key(id)) {
            break arrived;
        }
        if started.elapsed() > Duration::from_secs(240) {
            let missing = queued
                .iter()
                .filter(|id| !arrived.contains_key(*id))
                .count();
            second.kill().unwrap();
            panic!("{missing} of {MESSAGES} messages never arrived");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Let the last replies be recorded, then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    second.kill().unwrap();
    second.wait().unwrap();

    // Only a message whose 250 was not yet recorded can arrive twice.
    for (message_id,) in &recorded_sent {
        assert_eq!(
            arrived[message_id], 1,
            "{message_id} was recorded sent before the kill, yet sent again"
        );
    }
    let duplicates = arrived.values().filter(|n| **n > 1).count();
    eprintln!(
        "{before_restart} accepted before the kill, {} recorded sent, {duplicates} sent twice",
        recorded_sent.len()
    );

    let db = db::open(&common::database::location(dir.path()).await)
        .await
        .unwrap();
    let counts = db::outbox::counts(&db).await.unwrap();
    assert_eq!(counts.get(MailStatus::Sent), MESSAGES as i64, "{counts:?}");

    // guest.log tells the story in ISE's words, and never holds a secret.
    let logs = dir.path().join("logs");
    let guest = std::fs::read_to_string(logs.join("guest.log")).unwrap();
    for line in [
        "guestaccess -::",
        "submitMailMsgJob: SMTP server FQDN ==> localhost:",
        "Putting value in OAuth Cache (accessToken, expiry",
        "Creating transport object...",
        "Successfully created mail session and connected to mail server.",
        "Time taken for transport.sendMessage() call is ",
        "Future.get status: success",
    ] {
        assert!(guest.contains(line), "guest.log lacks {line:?}");
    }
    let main_log = std::fs::read_to_string(logs.join("mailroom.log")).unwrap();
    assert!(
        main_log.contains("Resuming") && main_log.contains("mail jobs that were being sent"),
        "the restart resumed the interrupted jobs"
    );
    for entry in std::fs::read_dir(&logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(&peers.text("client_secret")));
        assert!(!text.contains("eyJ"), "no bearer token in the logs");
        assert!(!text.contains("Crash-1-pw"), "no message body in the logs");
    }
}
