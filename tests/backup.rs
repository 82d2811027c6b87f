//! Configuration backup and restore through the service layer, on real
//! databases: a console configured on many pages (SMTP with OAuth, proxy,
//! sponsors and their guests) is backed up on SQLite and restored into a
//! fresh data directory with its own vault key (PostgreSQL when the run
//! uses it). Every page's answer matches, except the OAuth client secret,
//! which the backup leaves out; entering it again makes mail flow, and mail
//! the target had queued is delivered.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{
    Harness, add_sponsor, all_accounts_group, harness, harness_on, post, sign_in, sponsor_sign_in,
    wait_for_open_alarm,
};
use common::forms::{
    configure_smtp, form_body, guest_mail_from_mailbox, smtp_fields, test_connection,
};
use common::mail::{queue_guest_mail, wait_for_status};
use http::StatusCode;
use mailroom::api::sponsor::CreatedBatch;
use mailroom::domain::Secret;
use mailroom::domain::alarm::AlarmCode;
use mailroom::domain::mail::MailStatus;
use mailroom::domain::smtp::SmtpPage;
use mailroom::server::backup;
use mailroom::server::db;
use mailroom::server::mail::worker;
use mailroom::server::service::{Caller, ServiceError, backup as service};
use serde_json::Value;

const KEY: &str = "Backup-Key-2026";

/// A console on SQLite, configured: SMTP over OAuth with a client secret,
/// a proxy with a password, a sponsor and five guests with passwords.
async fn configured_source(peers: &Peers) -> (Harness, String) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = db::Location::SqliteFile(dir.path().join("mailroom.db"));
    let h = harness_on(dir, &sqlite, mailroom::server::http::system_clock(), None).await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, peers, &[]).await;
    guest_mail_from_mailbox(&h, &root).await;
    let proxy = form_body(&[
        ("host", "proxy.contoso.com".into()),
        ("port", "3128".into()),
        ("username", "mailroom".into()),
        ("password", "Proxy-Pa55word".into()),
        ("bypass", "127.0.0.1, localhost".into()),
    ]);
    let saved = post(&h.app, "/api/save_proxy_settings", &proxy, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let all = all_accounts_group(&h.app, &root).await;
    add_sponsor(&h.app, &root, "sponsor1", all).await;
    let sponsor = sponsor_sign_in(&h.app, "sponsor1").await;
    let created = post(
        &h.app,
        "/api/sponsor_create_random",
        "form%5Bcount%5D=5&form%5Bprefix%5D=conf&form%5Bguest_type_id%5D=2&form%5Bduration_days%5D=1",
        Some(&sponsor),
    )
    .await;
    let batch: CreatedBatch =
        serde_json::from_str(&created.body).unwrap_or_else(|_| panic!("{}", created.body));
    assert_eq!(batch.guests.len(), 5);
    (h, root)
}

/// What each read-only page function answers, for comparison.
async fn answers(h: &Harness, cookie: &str) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for function in [
        "get_alarm_settings",
        "list_guest_types",
        "get_sponsor_groups",
        "list_trusted_certificates",
        "get_api_settings",
        "list_guest_portals",
        "list_system_certificates",
        "get_guest_email_settings",
        "get_sending_limits",
        "list_internal_users",
        "get_proxy_settings",
        "get_log_levels",
    ] {
        let reply = post(&h.app, &format!("/api/{function}"), "", Some(cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{function}: {}", reply.body);
        let mut answer: Value = serde_json::from_str(&reply.body).unwrap();
        if function == "get_sending_limits" {
            // The mail waiting is each console's own queue, not configuration.
            answer["waiting"] = Value::Null;
        }
        all.push((function.to_string(), answer));
    }
    // Admins: who they are (their last sign-in differs by design).
    let admins: Value = serde_json::from_str(
        &post(&h.app, "/api/list_admins", "", Some(cookie))
            .await
            .body,
    )
    .unwrap();
    let who: Vec<Value> = admins
        .as_array()
        .or_else(|| admins["admins"].as_array())
        .unwrap()
        .iter()
        .map(|a| serde_json::json!([a["name"], a["role"], a["email"], a["status"]]))
        .collect();
    all.push(("list_admins".into(), Value::Array(who)));
    all
}

async fn smtp_page(h: &Harness, cookie: &str) -> SmtpPage {
    serde_json::from_str(
        &post(&h.app, "/api/get_smtp_settings", "", Some(cookie))
            .await
            .body,
    )
    .unwrap()
}

#[tokio::test]
async fn a_backup_restores_every_page_into_a_fresh_console_without_the_oauth_secret() {
    let peers = Peers::start();
    let (source, source_root) = configured_source(&peers).await;
    let repository = tempfile::tempdir().unwrap();
    let taken = service::backup_now(
        &source.state,
        &Caller::command_line(),
        repository.path(),
        "nightly",
        &Secret::new(KEY),
    )
    .await
    .unwrap();
    assert!(taken.file_name.starts_with("nightly-CFG-"), "{taken:?}");
    assert!(taken.file_name.ends_with(".mrbak"));
    let file = std::fs::read(&taken.path).unwrap();
    assert_eq!(file.len() as u64, taken.size);

    // No secret in clear in the file; no OAuth secret even decrypted.
    let client_secret = peers.text("client_secret");
    let text = String::from_utf8_lossy(&file);
    for secret in [client_secret.as_str(), "Proxy-Pa55word"] {
        assert!(!text.contains(secret), "{secret} in clear");
    }
    let (header, contents) = backup::open(&file, KEY).unwrap();
    assert_eq!(header.name, "nightly");
    assert_eq!(header.schema_version, db::schema_version());
    let decrypted = serde_json::to_string(&contents).unwrap();
    assert!(
        !decrypted.contains(&client_secret),
        "the OAuth client secret is left out"
    );
    assert!(
        decrypted.contains("Proxy-Pa55word"),
        "the proxy's password is carried"
    );
    assert!(
        contents
            .secrets
            .iter()
            .all(|s| s.purpose != "smtp.client_secret" && s.purpose != "oauth.certificate_key"),
        "{:?}",
        contents.secrets
    );

    // The target: another data directory, its own vault key, mail queued.
    let target = harness().await;
    let queued = queue_guest_mail(&target.state, 3, "Queued before the restore").await;
    let audit_before = db::audit::recent(&target.state.db, 500)
        .await
        .unwrap()
        .len();

    // A wrong key is refused next to its field and changes nothing.
    let refused = service::restore(
        &target.state,
        &Caller::command_line(),
        file.clone(),
        &taken.file_name,
        &Secret::new("Not-The-Key"),
    )
    .await
    .unwrap_err();
    match refused {
        ServiceError::Invalid(e) => assert_eq!(e.field, "encryption_key", "{e:?}"),
        other => panic!("{other:?}"),
    }
    let target_root = sign_in(&target.app, "root").await;
    assert!(!smtp_page(&target, &target_root).await.client_secret_set);
    assert!(
        smtp_page(&target, &target_root)
            .await
            .form
            .smtp_server
            .is_empty()
    );

    let restored = service::restore(
        &target.state,
        &Caller::command_line(),
        file,
        &taken.file_name,
        &Secret::new(KEY),
    )
    .await
    .unwrap();
    assert!(restored.tables >= 10, "{restored:?}");
    assert!(
        restored.secrets >= 6,
        "proxy password and five guests' passwords: {restored:?}"
    );

    // Sessions of the replaced admins are gone: sign in again (the same
    // password, restored with its hash).
    let stale = post(
        &target.app,
        "/api/get_smtp_settings",
        "",
        Some(&target_root),
    )
    .await;
    assert_ne!(stale.status, StatusCode::OK, "{}", stale.body);
    let target_root = sign_in(&target.app, "root").await;
    let (restored_pages, original_pages) = (
        answers(&target, &target_root).await,
        answers(&source, &source_root).await,
    );
    for ((function, after), (_, before)) in restored_pages.iter().zip(&original_pages) {
        assert_eq!(after, before, "{function} differs after the restore");
    }

    // SMTP: the same settings, no client secret.
    let (before, after) = (
        smtp_page(&source, &source_root).await,
        smtp_page(&target, &target_root).await,
    );
    assert_eq!(after.form, before.form);
    assert!(before.client_secret_set);
    assert!(
        !after.client_secret_set,
        "the client secret must be entered again"
    );

    // Guests and their passwords, sealed again under the target's key.
    let sponsor = sponsor_sign_in(&target.app, "sponsor1").await;
    let guests = post(
        &target.app,
        "/api/sponsor_guests",
        "search=&state=&page=1",
        Some(&sponsor),
    )
    .await;
    assert_eq!(guests.status, StatusCode::OK, "{}", guests.body);
    for n in 1..=5 {
        assert!(
            guests.body.contains(&format!("conf00{n}")),
            "{}",
            guests.body
        );
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM guest_accounts ORDER BY id")
        .fetch_all(&source.state.db)
        .await
        .unwrap();
    for id in ids {
        let from = source
            .state
            .vault
            .get("guest.password", &id.to_string())
            .await
            .unwrap();
        let to = target
            .state
            .vault
            .get("guest.password", &id.to_string())
            .await
            .unwrap();
        assert_eq!(
            from.map(|s| s.expose().to_string()),
            to.map(|s| s.expose().to_string())
        );
    }

    // The target's own operational data stays: its queue, its audit (one
    // more line: the restore, named by the file).
    let audit = db::audit::recent(&target.state.db, 500).await.unwrap();
    assert!(audit.len() > audit_before);
    assert!(
        audit
            .iter()
            .any(|row| row.action == "restore" && row.changed_fields == taken.file_name),
        "{audit:?}"
    );
    assert!(!audit.iter().any(|row| row.changed_fields.contains(KEY)));

    // Until then the queued mail waits, with the token alarm: never a
    // dead letter for it.
    assert!(after.credential_missing, "the page says to enter it again");
    worker::spawn(target.state.clone());
    target.state.mailer.submitted(&queued);
    for q in &queued {
        let started = std::time::Instant::now();
        loop {
            let row = db::outbox::get(&target.state.db, q.id)
                .await
                .unwrap()
                .unwrap()
                .row;
            if row.status == MailStatus::Retrying {
                let reply = row.last_reply.unwrap_or_default();
                assert!(reply.starts_with("credential-missing"), "{reply}");
                assert!(row.next_attempt_at > Some(target.state.now_ms() + 20_000));
                break;
            }
            assert_ne!(row.status, MailStatus::Dead);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{row:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
    let token = wait_for_open_alarm(&target, &target_root, AlarmCode::TokenAcquisitionFailed).await;
    assert!(token.details.contains("must be entered again"), "{token:?}");

    // The secret typed again, Test Connection, Save: the held mail goes at
    // once, not at its next retry.
    let body = form_body(&smtp_fields(&peers, &client_secret));
    let report = test_connection(&target, &target_root, &body).await;
    assert!(report.passed(), "{report:#?}");
    let saved = post(
        &target.app,
        "/api/save_smtp_settings",
        &body,
        Some(&target_root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let page: SmtpPage = serde_json::from_str(&saved.body).unwrap();
    assert!(!page.credential_missing);
    for q in &queued {
        wait_for_status(
            &target,
            &target_root,
            q.id,
            MailStatus::Sent,
            std::time::Duration::from_secs(15),
        )
        .await;
    }
}

#[tokio::test]
async fn a_repository_that_cannot_take_the_file_is_named_and_keeps_nothing() {
    let h = harness().await;
    let missing = h.dir.path().join("no-such-folder");
    let refused = service::backup_now(
        &h.state,
        &Caller::command_line(),
        &missing,
        "nightly",
        &Secret::new(KEY),
    )
    .await
    .unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("does not exist"), "{message}");
    // A short key or a bad name is refused before anything is written.
    let dir = tempfile::tempdir().unwrap();
    let short = service::backup_now(
        &h.state,
        &Caller::command_line(),
        dir.path(),
        "n",
        &Secret::new("short"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(short, ServiceError::Invalid(ref e) if e.field == "encryption_key"),
        "{short:?}"
    );
    let bad_name = service::backup_now(
        &h.state,
        &Caller::command_line(),
        dir.path(),
        "../up",
        &Secret::new(KEY),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(bad_name, ServiceError::Invalid(ref e) if e.field == "name"),
        "{bad_name:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Adds a DISK repository through the page's server function.
async fn add_repository(h: &Harness, cookie: &str, name: &str, path: &str) {
    let fields = form_body(&[
        ("name", name.into()),
        ("protocol", "DISK".into()),
        ("path", path.into()),
    ]);
    let saved = post(&h.app, "/api/save_repository", &fields, Some(cookie)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

async fn validate(h: &Harness, cookie: &str, name: &str) -> mailroom::domain::backup::Validation {
    let reply = post(
        &h.app,
        "/api/validate_repository",
        &format!("name={name}"),
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

async fn backup_page(h: &Harness, cookie: &str) -> mailroom::domain::backup::BackupPage {
    let reply = post(&h.app, "/api/get_backup_page", "", Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// The newest run, once nothing runs any more.
async fn newest_run_when_done(h: &Harness, cookie: &str) -> mailroom::domain::backup::BackupRun {
    let started = std::time::Instant::now();
    loop {
        let page = backup_page(h, cookie).await;
        if !page.running() {
            return page.runs[0].clone();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The pages' path: a DISK repository added (a path leaving the local
/// disk refused by its field), validated, Backup Now followed to the end
/// in the history, the file listed, a wrong key refused with nothing
/// changed, then restored, which ends every session.
#[tokio::test]
async fn backup_now_into_a_repository_then_restore_from_it_through_the_pages() {
    use mailroom::domain::backup::{BackupFile, BackupPage, Repository, RunStatus};
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let repository = |path: &str| {
        form_body(&[
            ("name", "local-backups".into()),
            ("protocol", "DISK".into()),
            ("path", path.into()),
        ])
    };
    let escaping = post(
        &h.app,
        "/api/save_repository",
        &repository("/../../etc"),
        Some(&root),
    )
    .await;
    assert_eq!(
        escaping.status,
        StatusCode::BAD_REQUEST,
        "{}",
        escaping.body
    );
    assert!(escaping.body.contains("\"path\""), "{}", escaping.body);
    let listed: Vec<Repository> = serde_json::from_str(
        &post(&h.app, "/api/list_repositories", "", Some(&root))
            .await
            .body,
    )
    .unwrap();
    assert!(listed.is_empty(), "nothing saved: {listed:?}");
    add_repository(&h, &root, "local-backups", "/backups/nightly").await;
    let listed: Vec<Repository> = serde_json::from_str(
        &post(&h.app, "/api/list_repositories", "", Some(&root))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].path, "/backups/nightly");
    let validation = validate(&h, &root, "local-backups").await;
    assert!(validation.passed(), "{validation:#?}");
    assert_eq!(validation.steps.len(), 4);
    let folder = h.state.config.local_disk.join("backups/nightly");
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        0,
        "the probe is gone"
    );

    // The two keys differ: refused by its field, no run recorded.
    let mut fields = vec![
        ("name", "nightly".to_string()),
        ("repository", "local-backups".to_string()),
        ("encryption_key", KEY.to_string()),
        ("confirm_key", "Another-Key-2026".to_string()),
    ];
    let differ = post(
        &h.app,
        "/api/start_backup",
        &form_body(&fields),
        Some(&root),
    )
    .await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(differ.body.contains("confirm_key"), "{}", differ.body);
    fields[3].1 = KEY.to_string();
    let started = post(
        &h.app,
        "/api/start_backup",
        &form_body(&fields),
        Some(&root),
    )
    .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let page: BackupPage = serde_json::from_str(&started.body).unwrap();
    assert_eq!(page.runs.len(), 1);
    let run = newest_run_when_done(&h, &root).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.percent, 100);
    assert!(run.file_name.starts_with("nightly-CFG-"), "{run:?}");
    let on_disk = std::fs::metadata(folder.join(&run.file_name)).unwrap();
    assert_eq!(run.size, on_disk.len());
    let files: Vec<BackupFile> = serde_json::from_str(
        &post(
            &h.app,
            "/api/list_backup_files",
            "repository=local-backups",
            Some(&root),
        )
        .await
        .body,
    )
    .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name, run.file_name);

    // A change after the backup, which the restore undoes.
    let proxy = form_body(&[
        ("host", "proxy.after.example".into()),
        ("port", "8080".into()),
    ]);
    let changed = post(&h.app, "/api/save_proxy_settings", &proxy, Some(&root)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);

    let restore = |key: &str| {
        format!(
            "repository=local-backups&file_name={}&encryption_key={}",
            run.file_name,
            common::forms::encode(key)
        )
    };
    let wrong = post(
        &h.app,
        "/api/restore_from_repository",
        &restore("Not-The-Key-2026"),
        Some(&root),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("encryption_key"), "{}", wrong.body);
    let proxy_now = post(&h.app, "/api/get_proxy_settings", "", Some(&root)).await;
    assert!(
        proxy_now.body.contains("proxy.after.example"),
        "a refused restore changes nothing: {}",
        proxy_now.body
    );
    let restored = post(
        &h.app,
        "/api/restore_from_repository",
        &restore(KEY),
        Some(&root),
    )
    .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let ended = post(&h.app, "/api/get_proxy_settings", "", Some(&root)).await;
    assert_eq!(
        ended.status,
        StatusCode::UNAUTHORIZED,
        "every session ended"
    );
    let root = sign_in(&h.app, "root").await;
    let proxy_now = post(&h.app, "/api/get_proxy_settings", "", Some(&root)).await;
    assert!(
        !proxy_now.body.contains("proxy.after.example"),
        "{}",
        proxy_now.body
    );
    let page = backup_page(&h, &root).await;
    let kinds: Vec<_> = page
        .runs
        .iter()
        .map(|r| (r.kind.label(), r.status))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Restore", RunStatus::Succeeded),
            ("Restore", RunStatus::Failed),
            ("Backup", RunStatus::Succeeded)
        ],
        "the history outlives the restore"
    );
    assert!(page.runs[1].message.contains("key"), "{:?}", page.runs[1]);
}

/// A repository whose folder cannot be made: Validate names the step that
/// failed, and Backup Now ends in a failed run with why, keeping nothing.
#[tokio::test]
async fn a_repository_that_cannot_be_written_fails_validation_and_the_backup_says_why() {
    use mailroom::domain::backup::RunStatus;
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    // A plain file where the folder should be.
    std::fs::create_dir_all(&h.state.config.local_disk).unwrap();
    std::fs::write(h.state.config.local_disk.join("taken"), b"not a folder").unwrap();
    add_repository(&h, &root, "blocked", "/taken/backups").await;
    let validation = validate(&h, &root, "blocked").await;
    assert!(!validation.passed());
    assert_eq!(validation.steps.len(), 1, "{validation:#?}");
    assert_eq!(validation.steps[0].step, "Write a probe file");
    assert!(!validation.steps[0].passed);

    let backup = form_body(&[
        ("name", "nightly".into()),
        ("repository", "blocked".into()),
        ("encryption_key", KEY.into()),
        ("confirm_key", KEY.into()),
    ]);
    let started = post(&h.app, "/api/start_backup", &backup, Some(&root)).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let run = newest_run_when_done(&h, &root).await;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    assert!(run.message.contains("could not be written"), "{run:?}");
    assert!(run.message.contains("Nothing was kept"), "{run:?}");
    assert_eq!(run.step, "Writing to the repository");
    assert!(!run.message.contains(KEY));
}

/// Schedule Backup: refused without a key, then daily at 02:00 keeping
/// the last two. Nothing runs before the due time, each due time runs
/// once even when two nodes look at once, older files of the schedule go
/// (other backups stay), and a failed run raises the alarm that the next
/// success clears.
#[tokio::test]
async fn the_schedule_runs_once_per_due_time_keeps_the_last_files_and_alarms_when_it_fails() {
    use mailroom::domain::backup::{BackupPage, RunStatus};
    use mailroom::server::clock::ManualClock;
    let clock = std::sync::Arc::new(ManualClock::new(time::macros::datetime!(
        2026-12-07 01:59:00 UTC
    )));
    let h = common::app::harness_with_clock(clock.clone()).await;
    let root = sign_in(&h.app, "root").await;
    add_repository(&h, &root, "nightly-disk", "/scheduled").await;
    let mut schedule = vec![
        ("enabled", "true".to_string()),
        ("name", "nightly".to_string()),
        ("repository", "nightly-disk".to_string()),
        ("frequency", "daily".to_string()),
        ("time", "02:00".to_string()),
        ("keep_last", "2".to_string()),
    ];
    let keyless = post(
        &h.app,
        "/api/save_backup_schedule",
        &form_body(&schedule),
        Some(&root),
    )
    .await;
    assert_eq!(keyless.status, StatusCode::BAD_REQUEST);
    assert!(keyless.body.contains("encryption_key"), "{}", keyless.body);
    schedule.push(("encryption_key", KEY.into()));
    schedule.push(("confirm_key", KEY.into()));
    let saved = post(
        &h.app,
        "/api/save_backup_schedule",
        &form_body(&schedule),
        Some(&root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(!saved.body.contains(KEY), "the key is write-only");
    let page: BackupPage = serde_json::from_str(&saved.body).unwrap();
    let two_am = time::macros::datetime!(2026-12-07 02:00:00 UTC).unix_timestamp();
    assert_eq!(page.schedule.next_run_at, Some(two_am));
    assert!(page.schedule.key_set);
    let in_use = post(
        &h.app,
        "/api/delete_repository",
        "name=nightly-disk",
        Some(&root),
    )
    .await;
    assert_eq!(in_use.status, StatusCode::BAD_REQUEST);
    assert!(in_use.body.contains("schedule"), "{}", in_use.body);

    let due = || service::run_due_backup(&h.state);
    assert_eq!(due().await.unwrap(), None, "not due before 02:00");
    clock.advance(time::Duration::minutes(2));
    // Two nodes look at once: one takes it.
    let (first, second) = tokio::join!(due(), due());
    let mut outcomes = [first.unwrap(), second.unwrap()];
    outcomes.sort_by_key(|o| o.is_some());
    assert_eq!(outcomes, [None, Some(RunStatus::Succeeded)]);
    assert_eq!(due().await.unwrap(), None, "once per due time");

    // Another backup in the same repository, not the schedule's.
    service::backup_to_repository(
        &h.state,
        &Caller::command_line(),
        "nightly-disk",
        "before-change",
        &Secret::new(KEY),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        clock.advance(time::Duration::days(1));
        assert_eq!(due().await.unwrap(), Some(RunStatus::Succeeded));
    }
    let folder = h.state.config.local_disk.join("scheduled");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "before-change-CFG-261207-0201.mrbak",
            "nightly-CFG-261208-0201.mrbak",
            "nightly-CFG-261209-0201.mrbak"
        ],
        "the schedule keeps its last two"
    );

    // The repository's folder taken by a file: the run fails, says why in
    // the history, and raises the alarm.
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, b"not a folder").unwrap();
    clock.advance(time::Duration::days(1));
    assert_eq!(due().await.unwrap(), Some(RunStatus::Failed));
    // Days have passed: the session has ended.
    let root = sign_in(&h.app, "root").await;
    let page = backup_page(&h, &root).await;
    let failed = &page.runs[0];
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.started_by, "system (schedule)");
    assert!(
        failed.message.contains("could not be written"),
        "{failed:?}"
    );
    let alarm = wait_for_open_alarm(&h, &root, AlarmCode::ScheduledBackupFailed).await;
    assert!(alarm.details.contains("nightly-disk"), "{alarm:?}");

    std::fs::remove_file(&folder).unwrap();
    clock.advance(time::Duration::days(1));
    assert_eq!(due().await.unwrap(), Some(RunStatus::Succeeded));
    let root = sign_in(&h.app, "root").await;
    let alarms = common::app::open_alarms(&h, &root).await;
    assert!(
        !alarms
            .iter()
            .any(|a| a.code == AlarmCode::ScheduledBackupFailed),
        "a backup that works clears it: {alarms:#?}"
    );
}

/// A repository that runs out of space while the file is written (the
/// partial file lands on /dev/full, which answers every write with
/// ENOSPC): the run says the repository is full, and no file is left,
/// neither under the backup's name nor half-written.
#[tokio::test]
async fn a_full_repository_fails_the_backup_and_leaves_no_file() {
    use mailroom::domain::backup::RunStatus;
    use mailroom::server::clock::ManualClock;
    let clock = std::sync::Arc::new(ManualClock::new(time::macros::datetime!(
        2026-12-07 03:00:00 UTC
    )));
    let h = common::app::harness_with_clock(clock).await;
    let root = sign_in(&h.app, "root").await;
    add_repository(&h, &root, "full-disk", "/full").await;
    let folder = h.state.config.local_disk.join("full");
    std::fs::create_dir_all(&folder).unwrap();
    let file_name = "nightly-CFG-261207-0300.mrbak";
    let partial = folder.join(format!(".{file_name}.partial"));
    std::os::unix::fs::symlink("/dev/full", &partial).unwrap();

    let refused = service::backup_to_repository(
        &h.state,
        &Caller::command_line(),
        "full-disk",
        "nightly",
        &Secret::new(KEY),
    )
    .await
    .unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("the repository is full"), "{message}");
    assert!(message.contains("Nothing was kept"), "{message}");
    assert!(!folder.join(file_name).exists());
    assert!(
        std::fs::symlink_metadata(&partial).is_err(),
        "the partial file is removed"
    );
    let runs = db::backup_runs::recent(&h.state.db, 5).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed.as_str());
    assert!(runs[0].message.contains("full"), "{:?}", runs[0]);
}

/// A repository on a read-only file system (a tmpfs mounted read-only
/// over its folder): Validate stops at the write and says so, and the
/// backup names the reason. Mounting needs root with CAP_SYS_ADMIN; where
/// the machine does not allow it, the test says it did not run.
#[tokio::test]
async fn a_read_only_repository_fails_validation_and_the_backup_names_it() {
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let h = harness().await;
    let folder = h.state.config.local_disk.join("readonly");
    std::fs::create_dir_all(&folder).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
        .arg(&folder)
        .stderr(std::process::Stdio::null())
        .status();
    if !matches!(mounted, Ok(status) if status.success()) {
        eprintln!("NOT RUN: this machine does not allow mounting a read-only tmpfs");
        return;
    }
    let _unmount = Unmount(folder.clone());
    let root = sign_in(&h.app, "root").await;
    add_repository(&h, &root, "read-only", "/readonly").await;
    let validation = validate(&h, &root, "read-only").await;
    assert!(!validation.passed());
    assert_eq!(validation.steps.len(), 1, "{validation:#?}");
    assert!(
        validation.steps[0].detail.contains("Read-only file system"),
        "{validation:#?}"
    );
    let refused = service::backup_to_repository(
        &h.state,
        &Caller::command_line(),
        "read-only",
        "nightly",
        &Secret::new(KEY),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("the repository is read-only"),
        "{refused}"
    );
}

/// An upload without a file is refused by its field with a 400, as every
/// refusal (the random-input test once met it as a 500).
#[tokio::test]
async fn an_upload_without_a_file_is_refused_by_its_field() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let boundary = common::app::BOUNDARY;
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"encryption_key\"\r\n\r\n{KEY}\r\n--{boundary}--\r\n"
    );
    let reply = post(&h.app, "/api/upload_restore_backup", &body, Some(&root)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.body.contains("Choose the backup file"),
        "{}",
        reply.body
    );
}
