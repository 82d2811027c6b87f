//! Throughput of the whole mail pipeline against a bare pooled lettre loop,
//! side by side in one run, to the peers' smtp-server (STARTTLS, AUTH
//! XOAUTH2 with the token verified). Run:
//!
//!     cargo bench --features ssr --bench dispatch
//!
//! `BENCH_SIZES=1000,10000` and `BENCH_POOL_SIZE=3` change the defaults.
//! Prints a Markdown table (the one in BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
mod common;

use common::Peers;
use common::app::{harness_in, sign_in};
use common::forms::{GOOD_APP, MAILBOX, configure_oauth_smtp};
use common::mail::{fill_outbox, queue_guest_mail};
use lettre::message::MultiPart;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use lettre::{AsyncTransport, Message};
use mailroom::domain::Secret;
use mailroom::domain::mail::{MailStatus, RetryPolicy};
use mailroom::server::clock::SystemClock;
use mailroom::server::db;
use mailroom::server::mail::{MailConfig, worker};
use mailroom::server::oauth::client::{HttpSetup, TokenCredential, TokenRequest, request_token};
use mailroom::server::smtp::session::{Session, Target};
use mailroom::server::smtp::transport::{Endpoint, Login, tls_parameters, xoauth2};
use mailroom::server::tls;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

async fn reset(peers: &Peers) {
    reqwest::Client::new()
        .post(format!("{}/_reset", peers.authority()))
        .send()
        .await
        .unwrap();
}

/// The same message the pipeline sends (tests/common/mail.rs).
fn message(n: usize) -> Message {
    Message::builder()
        .from(MAILBOX.parse().unwrap())
        .to(format!("guest{n}@example.com").parse().unwrap())
        .subject(format!("Your guest account {n}"))
        .message_id(Some(format!("<bare-{n}@contoso.onmicrosoft.com>")))
        .multipart(MultiPart::alternative_plain_html(
            format!("Username: guest{n}\nPassword: Bench-{n}-pw"),
            format!("<p>Username: <b>guest{n}</b></p>"),
        ))
        .unwrap()
}

async fn token(peers: &Peers, setup: &HttpSetup) -> Secret {
    request_token(
        setup,
        TokenRequest {
            token_url: format!(
                "{}/{}/oauth2/v2.0/token",
                peers.authority(),
                peers.text("tenant_id")
            ),
            client_id: GOOD_APP.into(),
            scope: "https://outlook.office365.com/.default".into(),
            credential: TokenCredential::Secret(Secret::new(peers.text("client_secret"))),
        },
    )
    .await
    .result
    .map_err(|d| d.message)
    .expect("a token")
    .access_token
}

fn setup(ca: &[u8]) -> HttpSetup {
    HttpSetup {
        tls: tls::client_config(&[ca.to_vec()]),
        proxy: None,
        timeout: Duration::from_secs(10),
    }
}

/// The bare loop: `pool` tasks, each with one signed-in session (the same
/// sessions the workers use: lettre's connection with TCP_NODELAY), send
/// `n` messages between them. No database, no vault, no bookkeeping.
async fn bare_sessions(peers: &Peers, n: usize, pool: u32) -> Duration {
    let ca = peers.ca_der();
    let token = Arc::new(token(peers, &setup(&ca)).await);
    let target = Arc::new(Target {
        host: "localhost".into(),
        port: peers.port("smtp"),
        timeout: Duration::from_secs(30),
        starttls: Some(tls_parameters("localhost", std::slice::from_ref(&ca)).unwrap()),
        hello_name: "bench".into(),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pool {
        let (target, token, next) = (target.clone(), token.clone(), next.clone());
        tasks.spawn(async move {
            let login = Login::XOAuth2 {
                mailbox: MAILBOX,
                token: &token,
            };
            let mut session = Session::open(&target, &login).await.expect("a session");
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                session
                    .send(&message(i), Duration::from_secs(30))
                    .await
                    .expect("bare send");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    started.elapsed()
}

/// lettre's own pooled transport (`AsyncSmtpTransport` with the `pool`
/// feature), shared by `pool` tasks.
async fn lettre_pool(peers: &Peers, n: usize, pool: u32) -> Duration {
    let ca = peers.ca_der();
    let token = token(peers, &setup(&ca)).await;
    let transport = Arc::new(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("localhost")
            .port(peers.port("smtp"))
            .timeout(Some(Duration::from_secs(30)))
            .tls(lettre::transport::smtp::client::Tls::Required(
                tls_parameters("localhost", std::slice::from_ref(&ca)).unwrap(),
            ))
            .credentials(Credentials::new(
                MAILBOX.to_string(),
                token.expose().to_string(),
            ))
            .authentication(vec![Mechanism::Xoauth2])
            .pool_config(PoolConfig::new().max_size(pool))
            .build(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pool {
        let (transport, next) = (transport.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                transport.send(message(i)).await.expect("bare send");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    started.elapsed()
}

/// A new connection, STARTTLS and AUTH for every message (`pool` senders
/// at once), as ISE does.
async fn per_message(peers: &Peers, n: usize, pool: u32) -> Duration {
    let ca = peers.ca_der();
    let token = Arc::new(token(peers, &setup(&ca)).await);
    let starttls = tls_parameters("localhost", std::slice::from_ref(&ca)).unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pool {
        let (next, token, starttls) = (next.clone(), token.clone(), starttls.clone());
        let port = peers.port("smtp");
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let transport = xoauth2(
                    Endpoint {
                        host: "localhost",
                        port,
                        timeout: Duration::from_secs(30),
                        starttls: Some(starttls.clone()),
                        hello_name: "bench",
                    },
                    MAILBOX,
                    &token,
                );
                transport.send(message(i)).await.expect("per-message send");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    started.elapsed()
}

struct PipelineRun {
    queue: Duration,
    deliver: Duration,
    token_requests: i64,
}

/// The console's own path: n rows queued in one transaction (timed apart),
/// then the workers deliver them; timed until the last is recorded sent.
async fn pipeline(peers: &Peers, n: usize, pool: u32) -> PipelineRun {
    let config = MailConfig {
        pool_size: pool,
        retry: RetryPolicy::default(),
        lease: Duration::from_secs(600),
    };
    let h = harness_in(
        tempfile::tempdir().unwrap(),
        Arc::new(SystemClock),
        Some(config),
    )
    .await;
    let root = sign_in(&h.app, "root").await;
    configure_oauth_smtp(&h, &root, peers).await;
    reset(peers).await;
    let state = h.state.clone();
    let queue_started = Instant::now();
    let queued = queue_guest_mail(&state, n, "Bench").await;
    let queue = queue_started.elapsed();
    let started = Instant::now();
    let workers = worker::spawn(state.clone());
    state.mailer.submitted(&queued);
    loop {
        let counts = db::outbox::counts(&state.db).await.unwrap();
        if counts.get(MailStatus::Sent) == n as i64 {
            break;
        }
        assert_eq!(counts.dead, 0, "no message may fail in the benchmark");
        // Polling is cheap (an index scan) and rare enough not to compete.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let deliver = started.elapsed();
    workers.abort();
    let stats = peers.stats().await;
    PipelineRun {
        queue,
        deliver,
        token_requests: stats["token_requests_by_client"][GOOD_APP]
            .as_i64()
            .unwrap_or(0),
    }
}

/// The Mail Queue's reads over 100,000 rows: the median of 21 runs of the
/// same queries its server function makes.
async fn mail_queue_pages() {
    let h = harness_in(tempfile::tempdir().unwrap(), Arc::new(SystemClock), None).await;
    fill_outbox(&h.state, 100_000).await;
    let db = &h.state.db;
    let filter = |status: Option<MailStatus>, recipient: &str| db::outbox::Filter {
        status,
        recipient: recipient.into(),
        ..Default::default()
    };
    println!();
    println!("| Mail Queue over 100,000 rows (counts + page + total) | median |");
    println!("|---|---:|");
    for (label, filter, page) in [
        ("first page, no filter", filter(None, ""), 1),
        ("last page (2,000), no filter", filter(None, ""), 2000),
        (
            "dead letters, page 2",
            filter(Some(MailStatus::Dead), ""),
            2,
        ),
        (
            "recipient contains \"guest77777@\"",
            filter(None, "guest77777@"),
            1,
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..21 {
            let started = Instant::now();
            db::outbox::counts(db).await.unwrap();
            db::outbox::page(db, &filter, (page - 1) * 50, 50)
                .await
                .unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!("| {label} | {:.1} ms |", times[10].as_secs_f64() * 1000.0);
    }
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sizes = env_list("BENCH_SIZES", &[1000, 10_000]);
    let pool = env_list("BENCH_POOL_SIZE", &[3])[0] as u32;
    let peers = Peers::start();
    // Warm up the peers (JIT, TLS) before measuring.
    bare_sessions(&peers, 300, pool).await;

    println!(
        "| N | bare pooled loop (lettre sessions) | whole pipeline (queued → recorded sent) | pipeline / bare | token requests (pipeline) | queueing N rows |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        reset(&peers).await;
        let bare = bare_sessions(&peers, n, pool).await;
        let run = pipeline(&peers, n, pool).await;
        println!(
            "| {n} | {:.0} msg/s ({:.2} s) | {:.0} msg/s ({:.2} s) | **{:.2}** | {} | {:.2} s |",
            rate(n, bare),
            bare.as_secs_f64(),
            rate(n, run.deliver),
            run.deliver.as_secs_f64(),
            rate(n, run.deliver) / rate(n, bare),
            run.token_requests,
            run.queue.as_secs_f64(),
        );
    }

    let n = env_list("BENCH_BASELINE_SIZE", &[300])[0];
    reset(&peers).await;
    let single = per_message(&peers, n, pool).await;
    let lettre = lettre_pool(&peers, n, pool).await;
    let bare = bare_sessions(&peers, n, pool).await;
    println!();
    println!(
        "| N | new connection per message (as ISE) | lettre's AsyncSmtpTransport pool | sessions with TCP_NODELAY (the workers') | sessions / per-message | sessions / lettre pool |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {n} | {:.0} msg/s | {:.0} msg/s | {:.0} msg/s | **{:.1}x** | **{:.1}x** |",
        rate(n, single),
        rate(n, lettre),
        rate(n, bare),
        rate(n, bare) / rate(n, single),
        rate(n, bare) / rate(n, lettre),
    );
    mail_queue_pages().await;
    println!(
        "\npool size {pool}, {} CPU(s)",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
}
