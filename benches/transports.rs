//! Messages per second through Microsoft Graph's sendMail against through
//! SMTP AUTH (XOAUTH2), the whole pipeline each time, side by side in one
//! run against the peers (smtp-server with STARTTLS and the token verified;
//! the Graph-like sendMail, which checks the token and the From, takes
//! about 2 ms per message and refuses more than four requests at once per
//! mailbox). Run:
//!
//!     cargo bench --features ssr --bench transports
//!
//! `BENCH_SIZES=1000,5000` and `BENCH_REPEAT=3` (pairs of runs per size, the
//! order alternating) change the defaults. Prints a Markdown table (the one
//! in BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
mod common;

use common::app::{harness_in, sign_in};
use common::forms::{GOOD_APP, configure_smtp};
use common::mail::queue_guest_mail;
use common::{Peers, env_list};
use mailroom::domain::mail::{MailStatus, RetryPolicy};
use mailroom::server::clock::SystemClock;
use mailroom::server::db;
use mailroom::server::mail::{MailConfig, worker};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Smtp,
    Graph,
}

struct Run {
    per_second: f64,
    token_requests: i64,
}

async fn run(peers: &Peers, transport: Transport, n: usize) -> Run {
    let h = harness_in(
        tempfile::tempdir().unwrap(),
        Arc::new(SystemClock),
        Some(MailConfig {
            pool_size: 4,
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(600),
            ..MailConfig::default()
        }),
    )
    .await;
    let root = sign_in(&h.app, "root").await;
    let overrides = match transport {
        Transport::Smtp => vec![],
        Transport::Graph => vec![("transport", "graph".to_string())],
    };
    configure_smtp(&h, &root, peers, &overrides).await;
    let tokens_before = peers.stats().await["token_requests_by_client"][GOOD_APP]
        .as_i64()
        .unwrap_or(0);
    let state = h.state.clone();
    let queued = queue_guest_mail(&state, n, "Bench").await;
    let started = Instant::now();
    let mut settled = state.mailer.subscribe();
    let workers = worker::spawn(state.clone());
    state.mailer.submitted(&queued);
    let (mut finished, mut missed) = (0, false);
    while finished < n && !missed {
        match settled.recv().await {
            Ok(outcome) if matches!(outcome.status, MailStatus::Sent | MailStatus::Dead) => {
                finished += 1
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => missed = true,
            Err(RecvError::Closed) => panic!("the workers stopped"),
        }
    }
    while missed && db::outbox::waiting(&state.db).await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    workers.abort();
    let counts = db::outbox::counts(&state.db).await.unwrap();
    assert_eq!(counts.sent, n as i64, "every message sent: {counts:?}");
    let tokens_after = peers.stats().await["token_requests_by_client"][GOOD_APP]
        .as_i64()
        .unwrap_or(0);
    Run {
        per_second: n as f64 / elapsed.as_secs_f64(),
        token_requests: tokens_after - tokens_before,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let peers = Peers::start();
    let sizes = env_list("BENCH_SIZES", &[1000]);
    let repeat = env_list("BENCH_REPEAT", &[3])[0].max(1);
    println!(
        "| messages | SMTP AUTH msg/s (runs) | Graph msg/s (runs) | Graph / SMTP | token requests per run (SMTP, Graph) |"
    );
    println!("|---:|---|---|---:|---|");
    for n in sizes {
        let (mut smtp, mut graph) = (Vec::new(), Vec::new());
        let (mut smtp_tokens, mut graph_tokens) = (0, 0);
        for round in 0..repeat {
            let order = if round % 2 == 0 {
                [Transport::Smtp, Transport::Graph]
            } else {
                [Transport::Graph, Transport::Smtp]
            };
            for transport in order {
                let result = run(&peers, transport, n).await;
                // Test Connection asked for one of them; delivery the rest.
                match transport {
                    Transport::Smtp => {
                        smtp.push(result.per_second);
                        smtp_tokens = result.token_requests;
                    }
                    Transport::Graph => {
                        graph.push(result.per_second);
                        graph_tokens = result.token_requests;
                    }
                }
            }
        }
        let runs = |v: &[f64]| {
            v.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (s, g) = (median(smtp.clone()), median(graph.clone()));
        println!(
            "| {n} | **{s:.0}** ({}) | **{g:.0}** ({}) | {:.2} | {smtp_tokens}, {graph_tokens} |",
            runs(&smtp),
            runs(&graph),
            g / s
        );
    }
}
