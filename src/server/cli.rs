//! The command line: `serve` (the default), `admin create NAME --role
//! ROLE`, `admin reset-password NAME`, `vault rotate-key`, `backup --to
//! DIR`, `restore FILE`.

use crate::domain::Secret;
use crate::server::http::{
    bootstrap_admin, build_state, router, spawn_session_sweeper, system_clock,
};
use crate::server::service::{Caller, admins, backup, vault};
use crate::server::{AppState, db, logging};
use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mailroom",
    version,
    about = "ISE-style admin console for email over Exchange Online OAuth"
)]
struct Cli {
    /// Directory for the database, key file and logs.
    #[arg(
        long,
        env = "MAILROOM_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    data_dir: PathBuf,
    /// The database: `postgres://user:password@host/db` for PostgreSQL (15
    /// or newer, shared by every node), or `sqlite://path`; by default
    /// `mailroom.db` in the data directory.
    #[arg(
        long,
        env = "MAILROOM_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the console (listen address from LEPTOS_SITE_ADDR, default 127.0.0.1:3000).
    Serve {
        /// Development builds only: start the clock at this time
        /// (RFC 3339, e.g. 2027-06-01T09:00:00Z) to see expiry alarms and
        /// reminders without waiting.
        #[cfg(debug_assertions)]
        #[arg(long, value_parser = parse_now)]
        now: Option<time::OffsetDateTime>,
    },
    /// Admin user tasks.
    Admin {
        #[command(subcommand)]
        task: AdminTask,
    },
    /// Secret vault tasks.
    Vault {
        #[command(subcommand)]
        task: VaultTask,
    },
    /// Back up the configuration into a repository or a folder (the OAuth
    /// client secret and certificate are left out). The Encryption Key
    /// comes from MAILROOM_BACKUP_KEY, or is asked for twice on the terminal.
    Backup {
        /// The repository (Administration > System > Maintenance >
        /// Repository) to write the backup file to.
        #[arg(long, required_unless_present = "to", conflicts_with = "to")]
        repository: Option<String>,
        /// A folder of this node to write the backup file to.
        #[arg(long)]
        to: Option<PathBuf>,
        /// The backup's name: the file is NAME-CFG-YYMMDD-HHMM.mrbak.
        #[arg(long, default_value = "mailroom")]
        name: String,
    },
    /// Replace the configuration with a backup's, on a stopped node. The
    /// Encryption Key comes from MAILROOM_BACKUP_KEY, or is asked for.
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
enum AdminTask {
    /// Create an admin (an automation account for the ERS API, say). The
    /// password comes from MAILROOM_NEW_PASSWORD, or is generated and printed once.
    Create {
        name: String,
        /// super_admin, system_admin, read_only_admin, ers_admin or ers_operator.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Set a new password for an admin, enable the account and end its sessions.
    /// The password comes from MAILROOM_NEW_PASSWORD, or is generated and printed.
    ResetPassword { name: String },
}

#[derive(Subcommand)]
enum VaultTask {
    /// Re-encrypt every stored secret under a new master key.
    RotateKey,
}

/// Hands memory that the C libraries (SQLite) free back to the system:
/// glibc would otherwise raise its thresholds to the largest block freed
/// and keep such blocks for good. Rust's own allocations go through
/// mimalloc (see main.rs), which returns freed memory by itself.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: mallopt only sets allocator parameters; no memory is touched.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        }
    }
}

/// mimalloc (the server's allocator, see main.rs) by default purges freed
/// pages only on later allocator activity, which an idle server does not
/// have: it then holds about 54 MB. Purging at once brings it to about
/// 25 MB, at no cost measurable in page rendering (BENCHMARKS.md).
fn allocator_returns_memory_at_once() {
    // mi_option_purge_delay in mimalloc.h (the crate does not name it).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets an allocator option; no memory is touched.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

pub fn main() -> ExitCode {
    allocator_returns_memory_at_once();
    return_freed_memory();
    let cli = Cli::parse();
    if std::env::var_os("LEPTOS_OUTPUT_NAME").is_none()
        && option_env!("LEPTOS_OUTPUT_NAME").is_none()
    {
        // SAFETY: still single-threaded; no other code reads the environment yet.
        unsafe { std::env::set_var("LEPTOS_OUTPUT_NAME", "mailroom") };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mailroom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let command = cli.command.unwrap_or(Command::Serve {
            #[cfg(debug_assertions)]
            now: None,
        });
        let database = db::Location::new(cli.database_url.as_deref(), &cli.data_dir)?;
        match command {
            #[cfg(debug_assertions)]
            Command::Serve { now } => {
                let clock = match now {
                    Some(now) => {
                        std::sync::Arc::new(crate::server::clock::ShiftedClock::starting_at(now))
                            as _
                    }
                    None => system_clock(),
                };
                serve(cli.data_dir, &database, clock).await
            }
            #[cfg(not(debug_assertions))]
            Command::Serve {} => serve(cli.data_dir, &database, system_clock()).await,
            Command::Admin {
                task: AdminTask::ResetPassword { name },
            } => reset_password(cli.data_dir, &database, &name).await,
            Command::Admin {
                task: AdminTask::Create { name, role, email },
            } => create_admin(cli.data_dir, &database, &name, &role, &email).await,
            Command::Vault {
                task: VaultTask::RotateKey,
            } => rotate_key(cli.data_dir, &database).await,
            Command::Backup {
                repository,
                to,
                name,
            } => {
                let into = match (repository, to) {
                    (Some(repository), _) => BackupInto::Repository(repository),
                    (None, Some(folder)) => BackupInto::Folder(folder),
                    (None, None) => anyhow::bail!("name --repository or --to"),
                };
                backup_to(cli.data_dir, &database, &into, &name).await
            }
            Command::Restore { file } => restore_from(cli.data_dir, &database, &file).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open_state(
    data_dir: &std::path::Path,
    database: &db::Location,
) -> anyhow::Result<AppState> {
    build_state(data_dir, database, system_clock()).await
}

#[cfg(debug_assertions)]
fn parse_now(value: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time such as 2027-06-01T09:00:00Z: {e}"))
}

/// A panic is logged as one line (where, and its message) rather than a
/// stack trace on stdout: a request that could provoke one must not be a
/// cheap way to flood the logs.
fn log_panics_in_one_line() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(target: "system", "panic at {location}: {}", message.replace(['\r', '\n'], " "));
    }));
}

async fn serve(
    data_dir: PathBuf,
    database: &db::Location,
    clock: std::sync::Arc<dyn crate::server::clock::Clock>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&data_dir)?;
    let (levels, _flush) = logging::init(Some(&data_dir), true);
    log_panics_in_one_line();
    let options = get_configuration(None)?.leptos_options;
    let mut state = build_state(&data_dir, database, clock).await?;
    // The logging layer reads `levels`; start it from the saved ones.
    for (component, level) in state.log_levels.snapshot() {
        levels.set(component, level);
    }
    state.log_levels = levels;
    if let Some(password) = bootstrap_admin(&state).await? {
        // Printed once, here; only the hash is stored.
        println!(
            "==> Created the Super Admin 'admin' with the generated password: {}",
            password.expose()
        );
        println!(
            "==> Store it now: it is not shown again (reset with `mailroom admin reset-password admin`)."
        );
    }
    crate::server::service::api_settings::apply_environment(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", crate::domain::api::ERS_ENV))?;
    let addr = options.site_addr;
    crate::server::deployment::join(&state).await?;
    let cut_short =
        db::backup_runs::abandon_running(&state.db, &state.config.node_name, state.now()).await?;
    if cut_short > 0 {
        tracing::warn!(target: "system", "{cut_short} backup or restore run(s) were cut short when this node stopped");
    }
    crate::server::deployment::spawn_heartbeat(state.clone());
    spawn_session_sweeper(state.clone());
    crate::server::mail::worker::spawn(state.clone());
    crate::server::guests::spawn_expiry_scheduler(state.clone());
    crate::server::alarms::spawn_scheduler(state.clone());
    crate::server::service::backup::spawn_scheduler(state.clone());
    crate::server::deployment::spawn_settings_watcher(state.clone()).await;
    use crate::server::https;
    let https_addr = https::https_addr_from_env()?;
    let http_mode = https::HttpMode::from_env(addr)?;
    https::ensure_node_certificate(&state).await?;
    state.tls.set(https::served_certificates(&state).await?);
    let tls = std::sync::Arc::new(https::server_config(state.tls.clone())?);
    let app = router(state.clone(), options);
    let https_listener = tokio::net::TcpListener::bind(https_addr)
        .await
        .map_err(|e| anyhow::anyhow!("{} {https_addr}: {e}", https::HTTPS_ADDR_ENV))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let plain = match http_mode {
        https::HttpMode::Serve => app.clone(),
        https::HttpMode::Redirect => https::redirect_router(https_addr),
    };
    tracing::info!(target: "system", "Mailroom {} listening on https://{https_addr} and http://{addr} ({}; data directory {}, database {})",
        crate::server::VERSION,
        if http_mode == https::HttpMode::Serve { "serving" } else { "redirecting to HTTPS" },
        data_dir.display(),
        database.redacted());
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut https_stop = stop.clone();
    let secure = tokio::spawn(https::serve_tls(https_listener, tls, app, async move {
        let _ = https_stop.changed().await;
    }));
    https::serve_plain(listener, plain, async move {
        stop_requested().await;
        let _ = stopping.send(true);
    })
    .await;
    drop(stop);
    let _ = secure.await;
    crate::server::deployment::leave(&state).await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (a service manager stopping the node).
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!(target: "system", "stopping: leaving the deployment");
}

async fn reset_password(
    data_dir: PathBuf,
    database: &db::Location,
    name: &str,
) -> anyhow::Result<()> {
    let (_, _flush) = logging::init(Some(&data_dir), false);
    let state = open_state(&data_dir, database).await?;
    let password = std::env::var("MAILROOM_NEW_PASSWORD")
        .ok()
        .filter(|value| !value.is_empty())
        .map(Secret::new);
    let generated = admins::reset_password(&state, &Caller::command_line(), name, password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match generated {
        Some(password) => println!("New password for '{name}': {}", password.expose()),
        None => println!("Password for '{name}' set from MAILROOM_NEW_PASSWORD."),
    }
    println!("The account is enabled and its sessions were ended.");
    Ok(())
}

async fn create_admin(
    data_dir: PathBuf,
    database: &db::Location,
    name: &str,
    role: &str,
    email: &str,
) -> anyhow::Result<()> {
    let (_, _flush) = logging::init(Some(&data_dir), false);
    let Some(role) = crate::domain::Role::parse(role) else {
        let known: Vec<&str> = crate::domain::Role::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        anyhow::bail!("--role must be one of: {}", known.join(", "));
    };
    let state = open_state(&data_dir, database).await?;
    let given = std::env::var("MAILROOM_NEW_PASSWORD")
        .ok()
        .filter(|value| !value.is_empty());
    let password = given.clone().unwrap_or_else(|| {
        crate::server::auth::generate_password()
            .expose()
            .to_string()
    });
    let form = crate::domain::AdminForm {
        name: name.to_string(),
        email: email.to_string(),
        first_name: String::new(),
        last_name: String::new(),
        description: "Created on the command line".into(),
        role: role.as_str().into(),
        status: "enabled".into(),
        include_alarm_emails: false,
        password: password.clone(),
        password_confirm: password.clone(),
    };
    admins::create(&state, &Caller::command_line(), form)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match given {
        Some(_) => println!(
            "Created the {} '{name}' with the password from MAILROOM_NEW_PASSWORD.",
            role.label()
        ),
        None => println!(
            "Created the {} '{name}' with the generated password: {password}",
            role.label()
        ),
    }
    Ok(())
}

async fn rotate_key(data_dir: PathBuf, database: &db::Location) -> anyhow::Result<()> {
    let (_, _flush) = logging::init(Some(&data_dir), false);
    let state = open_state(&data_dir, database).await?;
    let rotation = vault::rotate_key(&state, &Caller::command_line(), &data_dir)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Re-encrypted {} secrets under a new master key.",
        rotation.secrets
    );
    if let Some(key) = rotation.new_key_for_environment {
        println!(
            "The key came from MAILROOM_MASTER_KEY: set it to this new value before the next start:"
        );
        println!("{}", key.as_str());
    }
    Ok(())
}

/// The Encryption Key: MAILROOM_BACKUP_KEY, else typed on the terminal
/// without echo (twice for a new backup).
fn backup_key(confirm: bool) -> anyhow::Result<Secret> {
    if let Ok(key) = std::env::var("MAILROOM_BACKUP_KEY")
        && !key.is_empty()
    {
        return Ok(Secret::new(key));
    }
    let key = read_hidden("Encryption key: ")?;
    if confirm && read_hidden("Encryption key again: ")? != key {
        anyhow::bail!("the two keys differ");
    }
    Ok(Secret::new(key))
}

fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    use std::process::{Command, Stdio};
    eprint!("{prompt}");
    let terminal = std::io::stdin().is_terminal();
    let echo = |on: &str| {
        if terminal {
            let _ = Command::new("stty")
                .arg(on)
                .stdin(Stdio::inherit())
                .status();
        }
    };
    echo("-echo");
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    echo("echo");
    if terminal {
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

enum BackupInto {
    Repository(String),
    Folder(PathBuf),
}

async fn backup_to(
    data_dir: PathBuf,
    database: &db::Location,
    into: &BackupInto,
    name: &str,
) -> anyhow::Result<()> {
    let (_, _flush) = logging::init(Some(&data_dir), false);
    let key = backup_key(true)?;
    let state = open_state(&data_dir, database).await?;
    let caller = Caller::command_line();
    let taken = match into {
        BackupInto::Repository(repository) => {
            backup::backup_to_repository(&state, &caller, repository, name, &key).await
        }
        BackupInto::Folder(folder) => backup::backup_now(&state, &caller, folder, name, &key).await,
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Wrote {} ({} bytes in {} ms). The OAuth client secret and certificate are not in it: enter them again after a restore.",
        taken.path.display(),
        taken.size,
        taken.millis
    );
    Ok(())
}

async fn restore_from(
    data_dir: PathBuf,
    database: &db::Location,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let (_, _flush) = logging::init(Some(&data_dir), false);
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let key = backup_key(false)?;
    let state = open_state(&data_dir, database).await?;
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let restored = backup::restore(&state, &Caller::command_line(), bytes, &file_name, &key)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Restored {} tables ({} rows) and {} secrets from {file_name}. Enter the SMTP OAuth client secret (or certificate) again on the SMTP Server page, run Test Connection and Save: mail waits until then.",
        restored.tables, restored.rows, restored.secrets
    );
    Ok(())
}
