//! Configuration backup and restore with many guest accounts (each with its
//! password sealed in the vault): Backup Now (read, compress, Argon2id,
//! AES-256-GCM, write) and Restore into a fresh data directory with its own
//! vault key (open, check, replace in one transaction, seal again). Run:
//!
//!     cargo bench --features ssr --bench backup
//!
//! `BENCH_SIZES=1000,10000` changes the guest counts (default 10,000);
//! with `MAILROOM_TEST_POSTGRES` set, both consoles use PostgreSQL. Prints a
//! Markdown table (the one in BENCHMARKS.md).

#[path = "../tests/common/mod.rs"]
mod common;

use common::app::harness_in;
use common::env_list;
use mailroom::domain::Secret;
use mailroom::server::clock::SystemClock;
use mailroom::server::service::{Caller, backup};
use std::sync::Arc;
use std::time::Instant;

const KEY: &str = "Bench-Backup-Key";

async fn with_guests(n: usize) -> common::app::Harness {
    let h = harness_in(tempfile::tempdir().unwrap(), Arc::new(SystemClock), None).await;
    common::app::insert_guests(&h.state, n).await;
    h
}

#[tokio::main]
async fn main() {
    let sizes = env_list("BENCH_SIZES", &[10_000]);
    println!("| guest accounts | backup | file size | restore | rows restored |");
    println!("|---:|---:|---:|---:|---:|");
    for n in sizes {
        let source = with_guests(n).await;
        let repository = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let taken = backup::backup_now(
            &source.state,
            &Caller::command_line(),
            repository.path(),
            "bench",
            &Secret::new(KEY),
        )
        .await
        .unwrap();
        let backup_time = started.elapsed();
        let file = std::fs::read(&taken.path).unwrap();
        let target = harness_in(tempfile::tempdir().unwrap(), Arc::new(SystemClock), None).await;
        let started = Instant::now();
        let restored = backup::restore(
            &target.state,
            &Caller::command_line(),
            file,
            &taken.file_name,
            &Secret::new(KEY),
        )
        .await
        .unwrap();
        let restore_time = started.elapsed();
        let guests: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guest_accounts")
            .fetch_one(&target.state.db)
            .await
            .unwrap();
        assert_eq!(guests, n as i64);
        println!(
            "| {n} | {:.2} s | {:.0} KB | {:.2} s | {} |",
            backup_time.as_secs_f64(),
            taken.size as f64 / 1024.0,
            restore_time.as_secs_f64(),
            restored.rows
        );
    }
}
