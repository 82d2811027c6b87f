//! A deployment's delivery rate with 1, 2 and 3 nodes on one PostgreSQL
//! database, one node on SQLite beside them, and the rate at which one node
//! renders a signed-in page on each database; side by side in one run, to
//! the peers' smtp-server without sending limits. Run:
//!
//!     MAILROOM_TEST_POSTGRES=$(scripts/postgres.sh) cargo bench --features ssr --bench nodes
//!
//! `BENCH_MESSAGES=3000` and `BENCH_REPEAT=3` change the defaults. The
//! nodes run in this process (each with its own state, pool of 3 sessions
//! and workers), as nodes on one 2-core machine would share it. Prints a
//! Markdown table (the one in BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
mod common;

use common::Peers;
use common::app::{Harness, harness_on, node_named, sign_in};
use common::forms::configure_oauth_smtp;
use common::mail::queue_guest_mail;
use mailroom::domain::mail::MailStatus;
use mailroom::server::AppState;
use mailroom::server::clock::SystemClock;
use mailroom::server::db::{self, Location};
use mailroom::server::mail::worker;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Sqlite,
    Postgres(usize),
}

impl Setup {
    fn label(self) -> String {
        match self {
            Setup::Sqlite => "1 node, SQLite".into(),
            Setup::Postgres(1) => "1 node, PostgreSQL".into(),
            Setup::Postgres(n) => format!("{n} nodes, PostgreSQL"),
        }
    }
}

async fn harness(setup: Setup) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let database = match setup {
        Setup::Sqlite => Location::SqliteFile(dir.path().join("mailroom.db")),
        Setup::Postgres(_) => common::database::location(dir.path()).await,
    };
    harness_on(dir, &database, Arc::new(SystemClock), None).await
}

/// Seconds from the first node's wake-up until every message is sent.
async fn deliver(peers: &Peers, setup: Setup, messages: usize) -> Duration {
    let h = harness(setup).await;
    let root = sign_in(&h.app, "root").await;
    configure_oauth_smtp(&h, &root, peers).await;
    let nodes: Vec<AppState> = match setup {
        Setup::Sqlite => vec![h.state.clone()],
        Setup::Postgres(n) => {
            let mut nodes = Vec::new();
            for i in 1..=n {
                nodes.push(node_named(&h, &format!("ise-psn-{i:02}")).await.1);
            }
            nodes
        }
    };
    let queued = queue_guest_mail(&h.state, messages, "Nodes").await;
    let mut workers = Vec::new();
    for node in &nodes {
        mailroom::server::deployment::join(node).await.unwrap();
        workers.push(mailroom::server::deployment::spawn_heartbeat(node.clone()));
    }
    let started = Instant::now();
    for node in &nodes {
        workers.push(worker::spawn(node.clone()));
        node.mailer.submitted(&queued);
    }
    // Counting the outbox every 20 ms costs little beside the delivery
    // (and every node's announcements would have to be merged).
    while db::outbox::waiting(&h.state.db).await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    for worker in workers {
        worker.abort();
    }
    let counts = db::outbox::counts(&h.state.db).await.unwrap();
    assert_eq!(counts.get(MailStatus::Sent), messages as i64, "{counts:?}");
    elapsed
}

/// Signed-in SMTP Server pages rendered a second by one node, 8 at a time.
async fn page_rate(peers: &Peers, setup: Setup) -> f64 {
    let h = harness(setup).await;
    let root = sign_in(&h.app, "root").await;
    configure_oauth_smtp(&h, &root, peers).await;
    let render = |app: axum::Router, cookie: String| async move {
        let request = http::Request::get("/administration/system/settings/smtp-server")
            .header(http::header::COOKIE, cookie)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap()
            .len()
    };
    // Warm up, then measure.
    for _ in 0..20 {
        render(h.app.clone(), root.clone()).await;
    }
    let pages = 400;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..8 {
        let (app, cookie) = (h.app.clone(), root.clone());
        tasks.push(tokio::spawn(async move {
            for _ in (lane..pages).step_by(8) {
                render(app.clone(), cookie.clone()).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    pages as f64 / started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !common::database::on_postgres() {
        eprintln!(
            "the nodes bench needs PostgreSQL: MAILROOM_TEST_POSTGRES=$(scripts/postgres.sh) cargo bench --features ssr --bench nodes"
        );
        return;
    }
    let messages = env_number("BENCH_MESSAGES", 3000);
    let repeat = env_number("BENCH_REPEAT", 3);
    let peers = Peers::start();
    let setups = [
        Setup::Postgres(1),
        Setup::Postgres(2),
        Setup::Postgres(3),
        Setup::Sqlite,
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); setups.len()];
    for round in 0..repeat {
        // Each round in another order, so no setup always runs first.
        let mut order: Vec<usize> = (0..setups.len()).collect();
        order.rotate_left(round % setups.len());
        for i in order {
            let elapsed = deliver(&peers, setups[i], messages).await;
            let rate = messages as f64 / elapsed.as_secs_f64();
            eprintln!(
                "{}: {messages} in {elapsed:.2?} ({rate:.0}/s)",
                setups[i].label()
            );
            rates[i].push(rate);
        }
    }
    let base = median(rates[0].clone());
    println!("| setup | messages/s (median of {repeat}) | runs | / 1 node on PostgreSQL |");
    println!("|---|---:|---|---:|");
    for (setup, runs) in setups.iter().zip(&rates) {
        let list: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "| {} | {:.0} | {} | {:.2} |",
            setup.label(),
            median(runs.clone()),
            list.join(", "),
            median(runs.clone()) / base
        );
    }
    let mut pages: Vec<(Setup, Vec<f64>)> =
        vec![(Setup::Postgres(1), vec![]), (Setup::Sqlite, vec![])];
    for round in 0..repeat {
        for i in 0..2 {
            let i = (i + round) % 2;
            let rate = page_rate(&peers, pages[i].0).await;
            pages[i].1.push(rate);
        }
    }
    println!();
    println!(
        "| one node renders the signed-in SMTP Server page | pages/s (median of {repeat}) | runs |"
    );
    println!("|---|---:|---|");
    for (setup, runs) in &pages {
        let list: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "| {} | {:.0} | {} |",
            setup.label(),
            median(runs.clone()),
            list.join(", ")
        );
    }
}
