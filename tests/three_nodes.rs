//! Three nodes of the shipped binary on one PostgreSQL send one batch of
//! 3,000 messages through the Exchange-like peers (3 connections per
//! mailbox, a fourth answered 432 4.3.2), and one node is killed with
//! SIGKILL mid-batch. Every Message-ID arrives; only what the killed node
//! had in flight may arrive twice (with its own Message-ID); the mailbox
//! never has a fourth connection; the deployment asks the token endpoint
//! once; and the Deployment page shows the killed node Disconnected with
//! its alarm.
#![cfg(feature = "ssr")]

mod common;

use common::app::{harness_in, post, sign_in};
use common::forms::{configure_oauth_smtp, form_body};
use common::mail::queue_guest_mail;
use common::{Peers, free_port};
use http::StatusCode;
use mailroom::domain::alarm::AlarmCode;
use mailroom::domain::deployment::DeploymentView;
use mailroom::domain::mail::MailStatus;
use mailroom::server::db;
use mailroom::server::http::system_clock;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MESSAGES: usize = 3000;

async fn serve(dir: &Path, key: &str, node: &str, port: u16) -> Child {
    let url = common::database::env_url(dir)
        .await
        .expect("a PostgreSQL database");
    Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .arg("serve")
        .env("MAILROOM_DATABASE_URL", url)
        .env("MAILROOM_DATA_DIR", dir.join(node))
        .env("MAILROOM_NODE_NAME", node)
        // Every node of a deployment opens the vault with the same key.
        .env("MAILROOM_MASTER_KEY", key)
        .env("MAILROOM_MAIL_POOL_SIZE", "3")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "MAILROOM_HTTPS_ADDR",
            format!("127.0.0.1:{}", common::free_port()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mailroom binary")
}

/// Message-ID -> how many times smtp-server accepted it.
async fn received(peers: &Peers) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in peers.messages().await {
        let id = message["message_id"].as_str().unwrap_or_default();
        *counts.entry(id.to_string()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_send_a_batch_and_one_is_killed() {
    if !common::database::on_postgres() {
        eprintln!("three nodes need PostgreSQL (run with MAILROOM_TEST_POSTGRES)");
        return;
    }
    let peers = Peers::start();
    let dir = tempfile::tempdir().unwrap();
    let h = harness_in(dir, system_clock(), None).await;
    let root = sign_in(&h.app, "root").await;
    configure_oauth_smtp(&h, &root, &peers).await;
    peers
        .control("/_limits", json!({"max_connections": 3}))
        .await;
    let limits = form_body(&[
        ("max_connections", "3".into()),
        ("messages_per_minute", "100000".into()),
        ("recipients_per_day", "0".into()),
        ("recipients_per_message", "0".into()),
    ]);
    let saved = post(&h.app, "/api/save_sending_limits", &limits, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let queued: Vec<String> = queue_guest_mail(&h.state, MESSAGES, "Three")
        .await
        .into_iter()
        .map(|q| q.message_id)
        .collect();
    let dir = h.dir.path().to_path_buf();
    // The vault key the harness made, for the nodes to share.
    let key = std::fs::read_to_string(dir.join(mailroom::server::vault::KEY_FILE)).unwrap();
    let tokens_before = peers.stats().await["token_requests"].as_i64().unwrap();
    // A slow server (10 ms per message), so the kill comes mid-batch.
    peers
        .control(
            "/_faults",
            json!({"at": "data", "action": "delay", "ms": 10, "times": 1_000_000}),
        )
        .await;

    let ports = [free_port(), free_port(), free_port()];
    let names = ["ise-psn-01", "ise-psn-02", "ise-psn-03"];
    let mut nodes = Vec::new();
    for (name, port) in names.iter().zip(ports) {
        nodes.push(serve(&dir, key.trim(), name, port).await);
    }
    let started = Instant::now();
    loop {
        let count: usize = received(&peers).await.values().sum();
        if count >= MESSAGES / 4 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "only {count} messages arrived before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut killed = nodes.pop().unwrap();
    killed.kill().unwrap(); // SIGKILL: no shutdown code runs
    killed.wait().unwrap();
    let killed_at: usize = received(&peers).await.values().sum();
    // What the killed node held: only these may be sent twice.
    let in_flight: HashSet<String> = sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE status = 'sending' AND lease_owner LIKE 'ise-psn-03/%'",
    )
    .fetch_all(&h.state.db)
    .await
    .unwrap()
    .into_iter()
    .collect();

    let started = Instant::now();
    let arrived = loop {
        let arrived = received(&peers).await;
        if queued.iter().all(|id| arrived.contains_key(id)) {
            break arrived;
        }
        let missing = queued
            .iter()
            .filter(|id| !arrived.contains_key(*id))
            .count();
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{missing} of {MESSAGES} messages never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let duplicates: Vec<&String> = arrived
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    for id in &duplicates {
        assert!(
            in_flight.contains(*id),
            "{id} was sent twice though the killed node was not sending it"
        );
    }
    assert!(arrived.values().all(|n| *n <= 2));
    let stats = peers.stats().await;
    assert!(stats["max_open"].as_i64().unwrap() <= 3, "{stats}");
    assert_eq!(stats["refused_432"].as_i64().unwrap_or(0), 0, "{stats}");
    let tokens = stats["token_requests"].as_i64().unwrap() - tokens_before;
    assert_eq!(tokens, 1, "one token for the deployment: {stats}");
    eprintln!(
        "{killed_at} accepted at the kill, {} in flight on the killed node, {} sent twice",
        in_flight.len(),
        duplicates.len()
    );

    // The Deployment page, on a surviving node, shows the killed one
    // Disconnected and its alarm.
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", ports[0]);
    let login = client
        .post(format!("{base}/api/login"))
        .form(&[("username", "root"), ("password", common::app::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "{}", login.status());
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("mailroom_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let started = Instant::now();
    loop {
        let view: DeploymentView = client
            .post(format!("{base}/api/get_deployment"))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status: Vec<(String, bool)> = view
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.connected))
            .collect();
        let alarm =
            db::alarms::open_one(&h.state.db, AlarmCode::NodeDisconnected, "node:ise-psn-03")
                .await
                .unwrap();
        if status
            == [
                ("ise-psn-01".to_string(), true),
                ("ise-psn-02".to_string(), true),
                ("ise-psn-03".to_string(), false),
            ]
            && alarm.is_some()
        {
            assert_eq!(view.nodes.iter().filter(|n| n.primary).count(), 1);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the page shows {status:?}, alarm {alarm:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for mut node in nodes {
        node.kill().unwrap();
        node.wait().unwrap();
    }
    let counts = db::outbox::counts(&h.state.db).await.unwrap();
    assert_eq!(counts.get(MailStatus::Sent), MESSAGES as i64, "{counts:?}");
}
