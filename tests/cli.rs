//! The command line against a real data directory: password reset,
//! master-key rotation, backup and restore, run as the shipped binary.
#![cfg(feature = "ssr")]

mod common;

use common::app::build_state;
use mailroom::domain::{Role, Secret};
use mailroom::server::auth::{hash_password, verify_password};
use mailroom::server::db;
use mailroom::server::http::system_clock;
use std::path::Path;
use std::process::Command;

async fn seeded(dir: &Path) -> mailroom::server::AppState {
    let state = build_state(dir, system_clock()).await.unwrap();
    let hash = hash_password(&Secret::new("Old-Passw0rd-1")).unwrap();
    let id = db::admins::insert(
        &state.db,
        &db::admins::NewAdmin {
            name: "ops",
            email: None,
            first_name: "",
            last_name: "",
            description: "",
            role: Role::SystemAdmin,
            enabled: false,
            include_alarm_emails: false,
            password_hash: &hash,
        },
        0,
    )
    .await
    .unwrap();
    db::sessions::insert(&state.db, "stale-session", id, 0, "", &Default::default())
        .await
        .unwrap();
    state
}

async fn mailroom(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    command
        .env("MAILROOM_DATA_DIR", dir)
        .env_remove("MAILROOM_MASTER_KEY");
    match common::database::env_url(dir).await {
        Some(url) => command.env("MAILROOM_DATABASE_URL", url),
        None => command.env_remove("MAILROOM_DATABASE_URL"),
    };
    command
}

#[tokio::test]
async fn reset_password_sets_the_password_enables_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let state = seeded(dir.path()).await;

    let output = mailroom(dir.path())
        .await
        .args(["admin", "reset-password", "ops"])
        .env("MAILROOM_NEW_PASSWORD", "Fresh-Passw0rd-2")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("Fresh-Passw0rd-2"),
        "a password given by the operator is not echoed"
    );

    let admin = db::admins::by_name(&state.db, "ops")
        .await
        .unwrap()
        .unwrap();
    assert!(verify_password(
        &Secret::new("Fresh-Passw0rd-2"),
        &admin.password_hash
    ));
    assert!(admin.enabled);
    assert!(
        db::sessions::find_with_admin(&state.db, "stale-session")
            .await
            .unwrap()
            .is_none()
    );

    // A generated password is printed once, and it works.
    let output = mailroom(dir.path())
        .await
        .args(["admin", "reset-password", "ops"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let generated = stdout
        .lines()
        .find_map(|line| line.strip_prefix("New password for 'ops': "))
        .expect("the generated password is printed")
        .to_string();
    let admin = db::admins::by_name(&state.db, "ops")
        .await
        .unwrap()
        .unwrap();
    assert!(verify_password(
        &Secret::new(generated),
        &admin.password_hash
    ));

    let missing = mailroom(dir.path())
        .await
        .args(["admin", "reset-password", "nobody"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no admin user named 'nobody'"));

    let weak = mailroom(dir.path())
        .await
        .args(["admin", "reset-password", "ops"])
        .env("MAILROOM_NEW_PASSWORD", "weak")
        .output()
        .unwrap();
    assert!(
        !weak.status.success(),
        "a password that breaks the policy is refused"
    );
}

#[tokio::test]
async fn rotate_key_keeps_every_secret_readable() {
    let dir = tempfile::tempdir().unwrap();
    let state = seeded(dir.path()).await;
    state
        .vault
        .put(
            "smtp",
            "client-secret",
            &Secret::new("entra-secret-value"),
            1,
        )
        .await
        .unwrap();
    let old_key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    drop(state);

    let output = mailroom(dir.path())
        .await
        .args(["vault", "rotate-key"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Re-encrypted 1 secrets"));
    let new_key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    assert_ne!(old_key, new_key);

    let reopened = build_state(dir.path(), system_clock()).await.unwrap();
    let secret = reopened
        .vault
        .get("smtp", "client-secret")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret.expose(), "entra-secret-value");
    let logs = std::fs::read_to_string(dir.path().join("logs").join("mailroom.log")).unwrap();
    assert!(logs.contains("master key rotated"), "{logs}");
    assert!(!logs.contains("entra-secret-value"));
}

#[tokio::test]
async fn admin_create_makes_an_ers_account_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let state = seeded(dir.path()).await;

    let output = mailroom(dir.path())
        .await
        .args([
            "admin",
            "create",
            "kiosk",
            "--role",
            "ers_admin",
            "--email",
            "kiosk@example.com",
        ])
        .env_remove("MAILROOM_NEW_PASSWORD")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let generated = stdout
        .lines()
        .find_map(|line| {
            line.split_once("with the generated password: ")
                .map(|(_, p)| p)
        })
        .expect("the generated password is printed once")
        .to_string();
    let admin = db::admins::by_name(&state.db, "kiosk")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::ErsAdmin);
    assert_eq!(admin.email.as_deref(), Some("kiosk@example.com"));
    assert!(verify_password(
        &Secret::new(generated),
        &admin.password_hash
    ));

    let given = mailroom(dir.path())
        .await
        .args(["admin", "create", "reader", "--role", "ers_operator"])
        .env("MAILROOM_NEW_PASSWORD", "Scripted-Passw0rd-7")
        .output()
        .unwrap();
    assert!(
        given.status.success(),
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );
    assert!(!String::from_utf8_lossy(&given.stdout).contains("Scripted-Passw0rd-7"));

    for (args, why) in [
        (
            vec!["admin", "create", "kiosk", "--role", "ers_admin"],
            "already exists",
        ),
        (
            vec!["admin", "create", "x", "--role", "root"],
            "--role must be one of",
        ),
    ] {
        let refused = mailroom(dir.path()).await.args(&args).output().unwrap();
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(why),
            "{why}"
        );
    }
}

#[tokio::test]
async fn backup_and_restore_run_from_the_command_line_with_the_key_from_the_environment() {
    let source = tempfile::tempdir().unwrap();
    let state = seeded(source.path()).await;
    state
        .vault
        .put("proxy.password", "1", &Secret::new("Proxy-Pa55word"), 0)
        .await
        .unwrap();
    drop(state);
    let repository = tempfile::tempdir().unwrap();
    let output = mailroom(source.path())
        .await
        .args(["backup", "--name", "weekly", "--to"])
        .arg(repository.path())
        .env("MAILROOM_BACKUP_KEY", "Backup-Key-2026")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let files: Vec<_> = std::fs::read_dir(repository.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert!(
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("weekly-CFG-")
    );

    // Another data directory (its own master key): a wrong key changes
    // nothing and says why; the right one brings the admin and the secret.
    let target = tempfile::tempdir().unwrap();
    let fresh = build_state(target.path(), system_clock()).await.unwrap();
    drop(fresh);
    let wrong = mailroom(target.path())
        .await
        .arg("restore")
        .arg(file)
        .env("MAILROOM_BACKUP_KEY", "Another-Key-2026")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not open this backup"),
        "{wrong:?}"
    );
    let state = build_state(target.path(), system_clock()).await.unwrap();
    assert!(
        db::admins::by_name(&state.db, "ops")
            .await
            .unwrap()
            .is_none()
    );
    drop(state);

    let restored = mailroom(target.path())
        .await
        .arg("restore")
        .arg(file)
        .env("MAILROOM_BACKUP_KEY", "Backup-Key-2026")
        .output()
        .unwrap();
    assert!(restored.status.success(), "{restored:?}");
    assert!(String::from_utf8_lossy(&restored.stdout).contains("client secret"));
    let state = build_state(target.path(), system_clock()).await.unwrap();
    assert!(
        db::admins::by_name(&state.db, "ops")
            .await
            .unwrap()
            .is_some()
    );
    let secret = state.vault.get("proxy.password", "1").await.unwrap();
    assert_eq!(secret.unwrap().expose(), "Proxy-Pa55word");
}

#[tokio::test]
async fn backup_to_a_repository_by_name_lands_under_the_local_disk_and_in_the_history() {
    let data = tempfile::tempdir().unwrap();
    let local_disk = tempfile::tempdir().unwrap();
    let state = seeded(data.path()).await;
    db::repositories::insert(
        &state.db,
        &db::repositories::RepositoryRow {
            name: "nightly".into(),
            protocol: "DISK".into(),
            path: "backups/nightly".into(),
            updated_by: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    drop(state);
    let run = |repository: Option<&str>| {
        let data = data.path().to_path_buf();
        let local_disk = local_disk.path().to_path_buf();
        let repository = repository.map(str::to_string);
        async move {
            let mut command = mailroom(&data).await;
            command.args(["backup", "--name", "cli"]);
            if let Some(repository) = repository {
                command.args(["--repository", &repository]);
            }
            command
                .env("MAILROOM_BACKUP_KEY", "Backup-Key-2026")
                .env("MAILROOM_LOCALDISK", &local_disk)
                .output()
                .unwrap()
        }
    };
    let neither = run(None).await;
    assert!(!neither.status.success());
    assert!(
        String::from_utf8_lossy(&neither.stderr).contains("--repository"),
        "{neither:?}"
    );
    let missing = run(Some("weekly")).await;
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("There is no repository named 'weekly'"),
        "{missing:?}"
    );
    let done = run(Some("nightly")).await;
    assert!(done.status.success(), "{done:?}");
    let folder = local_disk.path().join("backups/nightly");
    let files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("cli-CFG-"), "{files:?}");
    let state = build_state(data.path(), system_clock()).await.unwrap();
    let runs = db::backup_runs::recent(&state.db, 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].status.as_str(), runs[0].file_name.as_str()),
        ("succeeded", files[0].as_str())
    );
    assert_eq!(runs[0].repository, "nightly");
}

/// A node's configuration with `guests` guest accounts.
async fn with_guests(dir: &Path, guests: usize) -> mailroom::server::AppState {
    let state = build_state(dir, system_clock()).await.unwrap();
    common::app::insert_guests(&state, guests).await;
    state
}

async fn guest_count(db: &db::Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM guest_accounts")
        .fetch_one(db)
        .await
        .unwrap()
}

/// `mailroom restore` killed (SIGKILL) while its transaction is writing:
/// the previous configuration is whole afterwards (SQLite drops the WAL's
/// uncommitted pages, PostgreSQL the open transaction), and the same file
/// then restores completely.
#[tokio::test]
async fn a_restore_killed_while_it_writes_leaves_the_previous_configuration() {
    const GUESTS: usize = 6_000;
    const KEY: &str = "Backup-Key-2026";
    let source = tempfile::tempdir().unwrap();
    let state = with_guests(source.path(), GUESTS).await;
    let files = tempfile::tempdir().unwrap();
    let taken = mailroom::server::service::backup::backup_now(
        &state,
        &mailroom::server::service::Caller::command_line(),
        files.path(),
        "big",
        &Secret::new(KEY),
    )
    .await
    .unwrap();
    drop(state);

    let target = tempfile::tempdir().unwrap();
    let state = seeded(target.path()).await;
    let postgres = common::database::env_url(target.path()).await.is_some();
    let wal = target.path().join("mailroom.db-wal");
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let wal_before = wal_size();
    let mut restore = mailroom(target.path())
        .await
        .arg("restore")
        .arg(&taken.path)
        .env("MAILROOM_BACKUP_KEY", KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = restore.try_wait().unwrap() {
            panic!("the restore ended ({status}) before it was seen writing");
        }
        // Writing: its transaction holds an id (PostgreSQL), or has spilled
        // pages into the WAL (SQLite).
        let writing = if postgres {
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
            )
            .fetch_one(&state.db)
            .await
            .unwrap();
            open > 0
        } else {
            wal_size() > wal_before + 256 * 1024
        };
        if writing {
            restore.kill().unwrap();
            restore.wait().unwrap();
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    state.db.close().await;
    drop(state);

    let state = build_state(target.path(), system_clock()).await.unwrap();
    assert_eq!(guest_count(&state.db).await, 0, "no restored guest stays");
    assert!(
        db::admins::by_name(&state.db, "ops")
            .await
            .unwrap()
            .is_some(),
        "the previous admins are all there"
    );
    // The history still says running; the node marks it failed when it
    // serves again.
    let statuses =
        |runs: Vec<db::backup_runs::RunRow>| runs.into_iter().map(|r| r.status).collect::<Vec<_>>();
    let runs = db::backup_runs::recent(&state.db, 5).await.unwrap();
    assert_eq!(statuses(runs), ["running"]);
    let node = state.config.node_name.clone();
    db::backup_runs::abandon_running(&state.db, &node, state.now())
        .await
        .unwrap();
    let runs = db::backup_runs::recent(&state.db, 5).await.unwrap();
    assert!(runs[0].message.contains("stopped before"), "{runs:?}");
    assert_eq!(statuses(runs), ["failed"]);
    state.db.close().await;
    drop(state);

    let again = mailroom(target.path())
        .await
        .arg("restore")
        .arg(&taken.path)
        .env("MAILROOM_BACKUP_KEY", KEY)
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    let state = build_state(target.path(), system_clock()).await.unwrap();
    assert_eq!(guest_count(&state.db).await, GUESTS as i64);
    assert!(
        db::admins::by_name(&state.db, "ops")
            .await
            .unwrap()
            .is_none()
    );
    let vault_rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM vault_secrets WHERE purpose = $1")
            .bind(mailroom::server::guests::PASSWORD_PURPOSE)
            .fetch_one(&state.db)
            .await
            .unwrap();
    assert_eq!(vault_rows, GUESTS as i64);
}
