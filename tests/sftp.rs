//! SFTP repositories against Debian's OpenSSH `sshd`, started here on a
//! free loopback port with its own host key, signing in as the user the
//! tests run as with a key in a test `authorized_keys`: the host key shown
//! and accepted on first use, Validate, Backup Now, the listing, Restore,
//! a refused password, and a server that presents another key refused
//! before any credential is sent.
#![cfg(feature = "ssr")]

mod common;

use common::app::{Harness, harness, post, sign_in};
use common::forms::{encode, form_body};
use http::StatusCode;
use mailroom::domain::backup::{BackupFile, BackupPage, Repository, RunStatus, Validation};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "Backup-Key-2026";
const SSHD: &str = "/usr/sbin/sshd";

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new key pair of `kind` (`ed25519`, `rsa`) at `path` (and `path.pub`).
fn keygen(path: &Path, kind: &str) {
    run(
        "ssh-keygen",
        &["-q", "-t", kind, "-N", "", "-f", path.to_str().unwrap()],
    );
}

/// `SHA256:…`, as `ssh-keygen -lf` prints it for the server's key.
fn fingerprint(public_key: &Path) -> String {
    let line = run("ssh-keygen", &["-lf", public_key.to_str().unwrap()]);
    line.split_whitespace().nth(1).unwrap().to_string()
}

/// An OpenSSH server on loopback, stopped when dropped.
struct Sshd {
    child: Child,
    log: PathBuf,
}

impl Sshd {
    fn start(dir: &Path, port: u16, host_key: &Path) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: scripts/setup.sh installs Debian's openssh-server"
        );
        // The privilege-separation directory sshd insists on when run as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let config = dir.join(format!("sshd-{port}.conf"));
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile none\n\
                 AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n\
                 LogLevel VERBOSE\n",
                host_key.display(),
                dir.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let log = dir.join(format!(
            "sshd-{}.log",
            host_key.file_name().unwrap().to_string_lossy()
        ));
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "sshd did not listen: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn user() -> String {
    run("id", &["-un"]).trim().to_string()
}

async fn call(h: &Harness, cookie: &str, function: &str, body: &str) -> (StatusCode, String) {
    let reply = post(&h.app, &format!("/api/{function}"), body, Some(cookie)).await;
    (reply.status, reply.body)
}

async fn validate(h: &Harness, cookie: &str) -> Validation {
    let (status, body) = call(h, cookie, "validate_repository", "name=offsite").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Accept Host Key with `fingerprint`: what the server answered.
async fn accept(h: &Harness, cookie: &str, fingerprint: &str) -> (StatusCode, String) {
    let body = format!("name=offsite&fingerprint={}", encode(fingerprint));
    call(h, cookie, "accept_host_key", &body).await
}

fn step<'a>(
    validation: &'a Validation,
    name: &str,
) -> &'a mailroom::domain::backup::ValidationStep {
    validation
        .steps
        .iter()
        .find(|s| s.step == name)
        .unwrap_or_else(|| panic!("no step {name}: {validation:#?}"))
}

/// Backup Now into the SFTP repository, followed to its end.
async fn backup_now(h: &Harness, cookie: &str) -> mailroom::domain::backup::BackupRun {
    let form = format!(
        "form%5Bname%5D=offsite&form%5Brepository%5D=offsite&form%5Bencryption_key%5D={KEY}&form%5Bconfirm_key%5D={KEY}"
    );
    let (status, body) = call(h, cookie, "start_backup", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let started = Instant::now();
    loop {
        let (_, body) = call(h, cookie, "get_backup_page", "").await;
        let page: BackupPage = serde_json::from_str(&body).unwrap();
        if !page.running() {
            return page.runs[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{page:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Backup Now ends failed, saying `why`.
async fn backup_refused(h: &Harness, cookie: &str, why: &str) {
    let run = backup_now(h, cookie).await;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    assert!(run.message.contains(why), "{}", run.message);
}

#[tokio::test]
async fn an_sftp_repository_pins_the_host_key_takes_a_backup_restores_it_and_refuses_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let (host_a, host_b, client, client_rsa) = (
        dir.path().join("host_a"),
        dir.path().join("host_b"),
        dir.path().join("client"),
        dir.path().join("client_rsa"),
    );
    for key in [&host_a, &host_b, &client] {
        keygen(key, "ed25519");
    }
    keygen(&client_rsa, "rsa");
    let authorized: String = [&client, &client_rsa]
        .iter()
        .map(|key| std::fs::read_to_string(key.with_extension("pub")).unwrap())
        .collect();
    std::fs::write(dir.path().join("authorized_keys"), authorized).unwrap();
    let private_key = std::fs::read_to_string(&client).unwrap();
    let rsa_private_key = std::fs::read_to_string(&client_rsa).unwrap();
    let port = common::free_port();
    let mut sshd = Sshd::start(dir.path(), port, &host_a);
    let folder = dir.path().join("offsite").join("config");

    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let fields = |extra: &[(&str, String)]| {
        let mut all = vec![
            ("name", "offsite".to_string()),
            ("protocol", "SFTP".into()),
            ("host", "127.0.0.1".into()),
            ("port", port.to_string()),
            ("username", user()),
            ("path", folder.display().to_string()),
            ("auth", "key".into()),
        ];
        for (name, value) in extra {
            all.retain(|(n, _)| n != name);
            all.push((name, value.clone()));
        }
        form_body(&all)
    };

    // Bad input is refused by its field and saves nothing.
    let (status, body) = call(&h, &root, "save_repository", &fields(&[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("private_key"), "no key yet: {body}");
    let (status, body) = call(
        &h,
        &root,
        "save_repository",
        &fields(&[("port", "70000".into())]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("\"port\""), "{body}");
    let (_, listed) = call(&h, &root, "list_repositories", "").await;
    assert_eq!(listed, "[]");

    let (status, body) = call(
        &h,
        &root,
        "save_repository",
        &fields(&[("private_key", private_key.clone())]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.contains("PRIVATE KEY"),
        "the key is write-only: {body}"
    );
    let listed: Vec<Repository> = serde_json::from_str(&body).unwrap();
    assert!(listed[0].credential_set);
    assert_eq!(listed[0].host_key, None);

    // First contact: the host key is shown, not trusted, and nothing is
    // written or sent before the admin accepts it.
    let first = validate(&h, &root).await;
    assert!(!first.passed());
    assert!(step(&first, "Connect over SSH").passed, "{first:#?}");
    assert!(!step(&first, "Check the host key").passed);
    let offer = first
        .host_key
        .clone()
        .expect("the presented key is offered");
    assert_eq!(offer.presented.algorithm, "ssh-ed25519");
    assert_eq!(
        offer.presented.fingerprint,
        fingerprint(&host_a.with_extension("pub"))
    );
    assert_eq!(offer.pinned, None);
    assert!(!sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    backup_refused(&h, &root, "not trusted yet").await;
    assert!(!folder.exists());

    // Accepting a fingerprint other than the server's pins nothing.
    let (status, body) = accept(&h, &root, &fingerprint(&host_b.with_extension("pub"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Nothing was changed"), "{body}");
    let (status, body) = accept(&h, &root, &offer.presented.fingerprint).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let accepted: Validation = serde_json::from_str(&body).unwrap();
    assert!(accepted.passed(), "{accepted:#?}");
    assert_eq!(accepted.steps.len(), 7, "{accepted:#?}");
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());

    // Backup Now over SFTP: the file lands in the folder (made on the way),
    // listed by the page, with no partial file left.
    let run = backup_now(&h, &root).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let on_server: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(on_server, std::slice::from_ref(&run.file_name));
    let (status, body) = call(&h, &root, "list_backup_files", "repository=offsite").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let files: Vec<BackupFile> = serde_json::from_str(&body).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name, run.file_name);
    assert_eq!(files[0].size, run.size);

    // A change, then Restore from the SFTP repository undoes it.
    let proxy = form_body(&[
        ("host", "proxy.after.example".into()),
        ("port", "8080".into()),
    ]);
    let (status, body) = call(&h, &root, "save_proxy_settings", &proxy).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let restore = format!(
        "repository=offsite&file_name={}&encryption_key={KEY}",
        run.file_name
    );
    let (status, body) = call(&h, &root, "restore_from_repository", &restore).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let root = sign_in(&h.app, "root").await;
    let (_, proxy_now) = call(&h, &root, "get_proxy_settings", "").await;
    assert!(!proxy_now.contains("proxy.after.example"), "{proxy_now}");

    // A wrong password is refused at its own step.
    let (status, body) = call(
        &h,
        &root,
        "save_repository",
        &fields(&[
            ("original_name", "offsite".into()),
            ("auth", "password".into()),
            ("password", "Not-The-Password-1".into()),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed: Vec<Repository> = serde_json::from_str(&body).unwrap();
    assert!(
        listed[0].host_key.is_some(),
        "same server: the accepted key stays"
    );
    let wrong = validate(&h, &root).await;
    assert!(step(&wrong, "Check the host key").passed, "{wrong:#?}");
    let sign_in_step = step(&wrong, "Sign in and start SFTP");
    assert!(!sign_in_step.passed);
    assert!(
        sign_in_step.detail.contains("refused the password"),
        "{sign_in_step:?}"
    );
    let (status, body) = call(
        &h,
        &root,
        "save_repository",
        &fields(&[
            ("original_name", "offsite".into()),
            ("private_key", rsa_private_key.clone()),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rsa = validate(&h, &root).await;
    assert!(rsa.passed(), "an RSA key signs in too: {rsa:#?}");

    // The server comes back with another host key: refused before the key
    // is sent, at every use, until an admin accepts the new one.
    drop(sshd);
    sshd = Sshd::start(dir.path(), port, &host_b);
    let changed = validate(&h, &root).await;
    assert!(!step(&changed, "Check the host key").passed, "{changed:#?}");
    assert!(
        step(&changed, "Check the host key")
            .detail
            .contains("has changed"),
        "{changed:#?}"
    );
    let offer = changed.host_key.clone().unwrap();
    assert_eq!(
        offer.presented.fingerprint,
        fingerprint(&host_b.with_extension("pub"))
    );
    assert_eq!(
        offer.pinned.unwrap().fingerprint,
        fingerprint(&host_a.with_extension("pub"))
    );
    backup_refused(&h, &root, "has changed").await;
    let (status, body) = call(&h, &root, "list_backup_files", "repository=offsite").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("has changed"), "{body}");
    let (status, body) = call(&h, &root, "restore_from_repository", &restore).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("has changed"), "{body}");
    assert!(
        !sshd.log().contains("Accepted publickey"),
        "nothing signed in to the other server: {}",
        sshd.log()
    );
    // Accepted on purpose, it works again.
    let (status, body) = accept(&h, &root, &offer.presented.fingerprint).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let accepted: Validation = serde_json::from_str(&body).unwrap();
    assert!(accepted.passed(), "{accepted:#?}");

    // A server that is down fails the first step, with what to check.
    drop(sshd);
    let down = validate(&h, &root).await;
    assert_eq!(down.steps.len(), 1, "{down:#?}");
    assert!(!down.steps[0].passed);
    assert!(
        down.steps[0].detail.contains("Could not connect"),
        "{down:#?}"
    );
    assert_eq!(down.host_key, None);

    // The audit names the repository and the key's fingerprint, never the
    // private key or the password.
    let audit = mailroom::server::db::audit::recent(&h.state.db, 100)
        .await
        .unwrap();
    let text = format!("{audit:?}");
    assert!(text.contains("host key"), "{text}");
    assert!(!text.contains("PRIVATE KEY") && !text.contains("Not-The-Password-1"));
}
