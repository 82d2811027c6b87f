//! The command line against a real data directory: password reset and
//! master-key rotation, run as the shipped binary.
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
            updated_at: 0,
            updated_by: "test".into(),
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
