//! A sponsor creates N guests in one CSV import and every credentials email
//! is delivered: the time from the sponsor's request to the last message
//! accepted by the peers' smtp-server (STARTTLS, AUTH XOAUTH2 verified).
//! The whole console runs in-process: the router, argon2 hashing, the
//! outbox, the delivery workers. Run:
//!
//!     cargo bench --features ssr --bench guest_batch
//!
//! `BENCH_GUESTS=1000,2000` and `BENCH_POOL_SIZE=3` change the defaults.
//! Prints a Markdown table (the one in BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
mod common;

use common::app::{add_sponsor, harness_in, post, sign_in, sponsor_sign_in};
use common::forms::{configure_oauth_smtp, encode, guest_mail_from_mailbox};
use common::{Peers, env_list};
use http::StatusCode;
use mailroom::domain::mail::RetryPolicy;
use mailroom::server::clock::SystemClock;
use mailroom::server::mail::{MailConfig, worker};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Run {
    request: Duration,
    last_accepted: Duration,
}

async fn accepted(peers: &Peers) -> i64 {
    peers.stats().await["messages"].as_i64().unwrap_or(0)
}

async fn run(peers: &Peers, n: usize, pool: u32, chain_messages: bool) -> Run {
    let h = harness_in(
        tempfile::tempdir().unwrap(),
        Arc::new(SystemClock),
        Some(MailConfig {
            pool_size: pool,
            chain_messages,
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(600),
        }),
    )
    .await;
    let root = sign_in(&h.app, "root").await;
    configure_oauth_smtp(&h, &root, peers).await;
    guest_mail_from_mailbox(&h, &root).await;
    add_sponsor(&h.app, &root, "sponsor1", 1).await;
    let sponsor = sponsor_sign_in(&h.app, "sponsor1").await;
    worker::spawn(h.state.clone());

    let mut csv = String::from("First Name,Last Name,Email Address,Company\n");
    for i in 0..n {
        csv.push_str(&format!("Guest,Number{i},bench{i}@example.com,Acme\n"));
    }
    let body = format!(
        "form%5Bcsv%5D={}&form%5Bguest_type_id%5D=3&form%5Bduration_days%5D=7",
        encode(&csv)
    );
    let before = accepted(peers).await;
    let started = Instant::now();
    let reply = post(&h.app, "/api/sponsor_import_guests", &body, Some(&sponsor)).await;
    let request = started.elapsed();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    loop {
        if accepted(peers).await - before >= n as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "never finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Run {
        request,
        last_accepted: started.elapsed(),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sizes = env_list("BENCH_GUESTS", &[1000]);
    let pool = env_list("BENCH_POOL_SIZE", &[3])[0] as u32;
    let peers = Peers::start();
    // Warm the peers (JIT, TLS) with a small batch first.
    run(&peers, 50, pool, true).await;
    println!(
        "| guests | senders chain envelopes | import request (create, hash, queue) | last credentials email accepted | emails/s |"
    );
    println!("|---:|---|---:|---:|---:|");
    for (i, &n) in sizes.iter().enumerate() {
        // Each size with and without chaining, the order alternating.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for chain in order {
            let r = run(&peers, n, pool, chain).await;
            println!(
                "| {n} | {} | {:.2} s | **{:.2} s** | {:.0} |",
                if chain { "yes" } else { "no" },
                r.request.as_secs_f64(),
                r.last_accepted.as_secs_f64(),
                n as f64 / r.last_accepted.as_secs_f64()
            );
        }
    }
}
