//! The shipped binary's HTTPS listener with a real TLS client: the
//! self-signed certificate of a first start (its names, as `openssl
//! s_client` reads them), HTTP/2 by ALPN, the security headers and Secure
//! session cookies; and the plain listener's redirect mode.
#![cfg(feature = "ssr")]

mod common;

use common::free_port;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Https-Test-Passw0rd";

struct Console {
    child: Child,
    http: u16,
    https: u16,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(dir: &Path, mode: Option<&str>) -> Console {
    let (http, https) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    match common::database::env_url(dir).await {
        Some(url) => command.env("MAILROOM_DATABASE_URL", url),
        None => command.env_remove("MAILROOM_DATABASE_URL"),
    };
    if let Some(mode) = mode {
        command.env("MAILROOM_HTTP_MODE", mode);
    }
    let child = command
        .arg("serve")
        .env("MAILROOM_DATA_DIR", dir)
        .env("MAILROOM_ADMIN_PASSWORD", PASSWORD)
        .env("MAILROOM_NODE_NAME", "ise-pan-01")
        .env("MAILROOM_TLS_SANS", "mailroom.example.com")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{http}"))
        .env("MAILROOM_HTTPS_ADDR", format!("127.0.0.1:{https}"))
        .env_remove("MAILROOM_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mailroom binary");
    let console = Console { child, http, https };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", https)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "HTTPS did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    console
}

/// What `openssl s_client` prints for a handshake with the listener.
fn s_client(port: u16, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The certificate the listener presents (PEM).
fn served_certificate(port: u16) -> String {
    let text = s_client(port, &[]);
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = text.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    text[start..end].to_string()
}

fn openssl_x509(pem: &str, args: &[&str]) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .arg("x509")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_serves_https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let console = serve(dir.path(), None).await;
    let pem = served_certificate(console.https);
    let sans = openssl_x509(&pem, &["-noout", "-ext", "subjectAltName"]);
    for name in [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        "DNS:mailroom.example.com",
    ] {
        assert!(sans.contains(name), "{name} missing: {sans}");
    }
    let subject = openssl_x509(&pem, &["-noout", "-subject", "-issuer", "-dates"]);
    assert!(
        subject.contains("CN=ise-pan-01") || subject.contains("CN = ise-pan-01"),
        "{subject}"
    );

    // Browsers get HTTP/2 (ALPN), and never TLS 1.1.
    assert!(
        s_client(console.https, &["-alpn", "h2,http/1.1"]).contains("ALPN protocol: h2"),
        "no h2"
    );
    assert!(
        !s_client(console.https, &["-tls1_1"]).contains("BEGIN CERTIFICATE"),
        "TLS 1.1 accepted"
    );

    // A client that trusts exactly this certificate: the security headers,
    // and a Secure session cookie.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .resolve(
            "localhost",
            format!("127.0.0.1:{}", console.https).parse().unwrap(),
        )
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", console.https);
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let hsts = page
        .headers()
        .get("strict-transport-security")
        .expect("HSTS");
    assert!(hsts.to_str().unwrap().starts_with("max-age="), "{hsts:?}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let login = client
        .post(format!("{base}/api/login"))
        .header("origin", &base)
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        login.status().is_success() || login.status().is_redirection(),
        "{}",
        login.status()
    );
    let session = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mailroom_session="))
        .expect("a session cookie");
    assert!(session.contains("; Secure"), "{session}");

    // The private key is nowhere in the database file in clear.
    let database = std::fs::read(dir.path().join("mailroom.db")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&database).contains("PRIVATE KEY"));

    // On loopback the plain listener serves the console too.
    let plain = reqwest::get(format!("http://127.0.0.1:{}/login", console.http))
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    drop(console);

    // The same certificate after a restart: it was stored, not regenerated.
    let again = serve(dir.path(), None).await;
    assert_eq!(served_certificate(again.https), pem);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_mode_sends_every_request_to_https() {
    let dir = tempfile::tempdir().unwrap();
    let console = serve(dir.path(), Some("redirect")).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client
        .post(format!(
            "http://127.0.0.1:{}/administration/system?x=1",
            console.http
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 308);
    assert_eq!(
        answer.headers()["location"],
        format!(
            "https://127.0.0.1:{}/administration/system?x=1",
            console.https
        )
        .as_str()
    );
}
