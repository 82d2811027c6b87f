//! Throughput of the whole mail pipeline against a bare pooled lettre loop,
//! side by side in one run, to the peers' smtp-server (STARTTLS, AUTH
//! XOAUTH2 with the token verified). Run:
//!
//!     cargo bench --features ssr --bench dispatch
//!
//! `BENCH_SIZES=1000,10000`, `BENCH_REPEAT=3` (pairs of runs per size, the
//! order alternating) and `BENCH_POOL_SIZE=3` change the defaults;
//! `BENCH_BASELINE_SIZE=0` skips the connection strategies and the Mail
//! Queue's reads; `BENCH_PIPELINE_ONLY=1` runs only the pipeline (to
//! profile it alone).
//! Prints a Markdown table (the one in BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
mod common;

use common::app::{harness_in, sign_in};
use common::forms::{GOOD_APP, MAILBOX, configure_oauth_smtp};
use common::mail::{fill_outbox, queue_guest_mail};
use common::{Peers, env_list};
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
use tokio::sync::broadcast::error::RecvError;

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
/// `n` messages between them, message by message as lettre's pool does.
/// No database, no vault, no bookkeeping. `chained`: each next message's
/// envelope goes with the last one's end, as the workers send.
async fn bare_sessions(peers: &Peers, n: usize, pool: u32, chained: bool) -> Duration {
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
            let take = || Some(next.fetch_add(1, Ordering::SeqCst)).filter(|&i| i < n);
            let mut current = take().map(message);
            while let Some(this) = current {
                let following = if chained { take().map(message) } else { None };
                session
                    .send_then(&this, following.as_ref(), Duration::from_secs(30))
                    .await
                    .expect("bare send");
                current = if chained {
                    following
                } else {
                    take().map(message)
                };
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
    /// CPU µs per message while delivering: the console, the peers.
    cpu: (f64, f64),
    token_requests: i64,
}

/// The console's own path: n rows queued in one transaction (timed apart),
/// then the workers deliver them; timed until the last is recorded sent.
async fn pipeline(peers: &Peers, n: usize, pool: u32, chain_messages: bool) -> PipelineRun {
    let config = MailConfig {
        pool_size: pool,
        chain_messages,
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
    let cpu = cpu_now();
    let started = Instant::now();
    let mut settled = state.mailer.subscribe();
    let workers = worker::spawn(state.clone());
    state.mailer.submitted(&queued);
    // Counts the outcomes the workers announce once written, rather than
    // polling the outbox, whose reads would compete with the delivery.
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
    // Announcements were missed: the outbox tells when no row is left.
    while missed && db::outbox::waiting(&state.db).await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let deliver = started.elapsed();
    let cpu = cpu_now().per_message(cpu, n);
    workers.abort();
    let counts = db::outbox::counts(&state.db).await.unwrap();
    assert_eq!(
        counts.get(MailStatus::Sent),
        n as i64,
        "every message sent, none failed: {counts:?}"
    );
    let stats = peers.stats().await;
    PipelineRun {
        queue,
        deliver,
        cpu,
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

/// CPU time used so far (user and system, ms): by this process (every
/// thread: the runtime's, SQLite's) and by the peers' node process.
#[derive(Clone, Copy, Default)]
struct Cpu {
    console_ms: f64,
    peers_ms: f64,
}

fn cpu_ms(stat_path: std::path::PathBuf) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // Linux reports clock ticks of 10 ms.
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) * 10.0
}

fn cpu_now() -> Cpu {
    let peers_ms = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|p| {
            std::fs::read_to_string(p.path().join("comm")).is_ok_and(|comm| comm.trim() == "node")
        })
        .map(|p| cpu_ms(p.path().join("stat")))
        .sum();
    Cpu {
        console_ms: cpu_ms("/proc/self/stat".into()),
        peers_ms,
    }
}

impl Cpu {
    /// Microseconds per message since `before`.
    fn per_message(self, before: Cpu, n: usize) -> (f64, f64) {
        (
            (self.console_ms - before.console_ms) * 1000.0 / n as f64,
            (self.peers_ms - before.peers_ms) * 1000.0 / n as f64,
        )
    }
}

/// The bare loop, timed, with its CPU per message.
async fn bare_run(peers: &Peers, n: usize, pool: u32) -> (Duration, (f64, f64)) {
    reset(peers).await;
    let before = cpu_now();
    let elapsed = bare_sessions(peers, n, pool, false).await;
    (elapsed, cpu_now().per_message(before, n))
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
    bare_sessions(&peers, 300, pool, false).await;

    let repeats = env_list("BENCH_REPEAT", &[3])[0].max(1);
    let pipeline_only = std::env::var_os("BENCH_PIPELINE_ONLY").is_some();
    println!(
        "| N | run | bare pooled loop | whole pipeline (queued → recorded sent) | pipeline / bare | CPU µs/msg, bare: console + peers | CPU µs/msg, pipeline: console + peers | token requests (pipeline) | queueing N rows | bare loop, chained | pipeline / chained bare | pipeline unchained (CPU µs/msg) | pipeline / unchained |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let mut ratios = Vec::new();
        let mut gains = Vec::new();
        for run_number in 0..repeats {
            // The machine's load drifts: alternate which goes first.
            let bare_first = run_number % 2 == 0;
            let mut bare = None;
            if pipeline_only {
                reset(&peers).await;
                let run = pipeline(&peers, n, pool, true).await;
                println!(
                    "| {n} | {} | | {:.0} msg/s ({:.2} s) | | | {:.0} + {:.0} | {} | {:.2} s | | | | |",
                    run_number + 1,
                    rate(n, run.deliver),
                    run.deliver.as_secs_f64(),
                    run.cpu.0,
                    run.cpu.1,
                    run.token_requests,
                    run.queue.as_secs_f64(),
                );
                continue;
            }
            if bare_first {
                bare = Some(bare_run(&peers, n, pool).await);
            }
            reset(&peers).await;
            let run = pipeline(&peers, n, pool, true).await;
            let (bare, bare_cpu) = match bare {
                Some(bare) => bare,
                None => bare_run(&peers, n, pool).await,
            };
            let ratio = rate(n, run.deliver) / rate(n, bare);
            ratios.push(ratio);
            reset(&peers).await;
            let chained = bare_sessions(&peers, n, pool, true).await;
            // The pipeline again with each message's envelope sent on its
            // own round trip: what chaining gains.
            reset(&peers).await;
            let unchained = pipeline(&peers, n, pool, false).await;
            let gain = rate(n, run.deliver) / rate(n, unchained.deliver);
            gains.push(gain);
            println!(
                "| {n} | {} | {:.0} msg/s ({:.2} s) | {:.0} msg/s ({:.2} s) | **{ratio:.2}** | {:.0} + {:.0} | {:.0} + {:.0} | {} | {:.2} s | {:.0} msg/s | {:.2} | {:.0} msg/s ({:.0} + {:.0}) | **{gain:.2}** |",
                run_number + 1,
                rate(n, bare),
                bare.as_secs_f64(),
                rate(n, run.deliver),
                run.deliver.as_secs_f64(),
                bare_cpu.0,
                bare_cpu.1,
                run.cpu.0,
                run.cpu.1,
                run.token_requests,
                run.queue.as_secs_f64(),
                rate(n, chained),
                rate(n, run.deliver) / rate(n, chained),
                rate(n, unchained.deliver),
                unchained.cpu.0,
                unchained.cpu.1,
            );
        }
        if ratios.is_empty() {
            continue;
        }
        ratios.sort_by(f64::total_cmp);
        gains.sort_by(f64::total_cmp);
        println!(
            "| {n} | median | | | **{:.2}** | | | | | | | | **{:.2}** |",
            ratios[ratios.len() / 2],
            gains[gains.len() / 2]
        );
    }

    let n = env_list("BENCH_BASELINE_SIZE", &[300])[0];
    if n == 0 {
        return;
    }
    reset(&peers).await;
    let single = per_message(&peers, n, pool).await;
    let lettre = lettre_pool(&peers, n, pool).await;
    let bare = bare_sessions(&peers, n, pool, false).await;
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
