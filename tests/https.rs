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

/// Signs in as admin at `base`; the session's whole Set-Cookie header.
async fn sign_in_as_admin(client: &reqwest::Client, base: &str) -> String {
    let login = client
        .post(format!("{base}/api/login"))
        .header("origin", base)
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        login.status().is_success() || login.status().is_redirection(),
        "{}",
        login.status()
    );
    login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mailroom_session="))
        .expect("a session cookie")
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
    let session = sign_in_as_admin(&client, &base).await;
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

/// Runs `openssl` with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The test CA in `dir` signs the request `csr` into `out`, copying the
/// names the request asks for.
fn ca_signs(dir: &Path, csr: &str, out: &str) {
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "20",
            "-copy_extensions",
            "copy",
            "-out",
            out,
        ],
    );
}

/// The console's API over the plain loopback listener, signed in as admin:
/// the HTTPS certificate changes under the test, this connection does not.
struct Api {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Api {
    async fn sign_in(console: &Console) -> Api {
        let base = format!("http://127.0.0.1:{}", console.http);
        let client = reqwest::Client::new();
        let cookie = sign_in_as_admin(&client, &base).await;
        Api {
            client,
            base,
            cookie: cookie.split(';').next().unwrap().to_string(),
        }
    }

    async fn form(&self, endpoint: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let reply = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("origin", &self.base)
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }

    /// A multipart upload: `(name, Some(file name), bytes)` for files.
    async fn upload(
        &self,
        endpoint: &str,
        parts: Vec<(&'static str, Option<&'static str>, Vec<u8>)>,
    ) -> (u16, String) {
        const BOUNDARY: &str = "mailroom-test-boundary-7f3a";
        let mut body = Vec::new();
        for (name, file_name, bytes) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let disposition = match file_name {
                Some(file_name) => format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ),
                None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(&bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let reply = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("origin", &self.base)
            .header("cookie", &self.cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }
}

fn subject_and_issuer(port: u16) -> String {
    openssl_x509(
        &served_certificate(port),
        &["-noout", "-subject", "-issuer", "-serial"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csr_signed_by_a_ca_and_a_pkcs12_bundle_are_served_on_the_next_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let console = serve(dir.path(), None).await;
    assert!(subject_and_issuer(console.https).contains("ise-pan-01"));
    let api = Api::sign_in(&console).await;

    // A test CA, made here with the machine's OpenSSL.
    openssl(
        work.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Mailroom Test Root CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );

    // Generate a CSR for Admin and Portal; its key stays in the console.
    let (status, body) = api
        .form(
            "generate_signing_request",
            &[
                ("form[subject][common_name]", "ise-pan-01.example.com"),
                ("form[subject][organization]", "Example"),
                ("form[sans]", "ise-pan-01.example.com, localhost, 127.0.0.1"),
                ("form[key_type]", "Rsa2048"),
                ("form[used_by_admin]", "true"),
                ("form[used_by_portal]", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let request: serde_json::Value = serde_json::from_str(&body).unwrap();
    let request_id = request["id"].as_i64().unwrap().to_string();
    std::fs::write(
        work.path().join("request.pem"),
        request["csr_pem"].as_str().unwrap(),
    )
    .unwrap();
    assert!(!body.contains("PRIVATE KEY"));

    // The CA signs it, copying the requested names.
    ca_signs(work.path(), "request.pem", "signed.pem");
    let signed = std::fs::read(work.path().join("signed.pem")).unwrap();
    let bind = |id: String, file: Vec<u8>| {
        vec![
            ("request_id", None, id.into_bytes()),
            ("certificate", Some("signed.pem"), file),
        ]
    };

    // Before the CA is trusted, the chain is refused and nothing changes.
    let (status, body) = api
        .upload(
            "upload_bound_certificate",
            bind(request_id.clone(), signed.clone()),
        )
        .await;
    assert_ne!(status, 200);
    assert!(body.contains("Trusted Certificates"), "{body}");
    assert!(subject_and_issuer(console.https).contains("ise-pan-01"));

    let ca = std::fs::read(work.path().join("ca.pem")).unwrap();
    let (status, body) = api
        .upload(
            "upload_trusted_certificate",
            vec![
                ("certificate", Some("ca.pem"), ca.clone()),
                ("trust_infrastructure", None, b"true".to_vec()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // A certificate issued for another request's key is refused.
    let (status, other) = api
        .form(
            "generate_signing_request",
            &[
                ("form[subject][common_name]", "other"),
                ("form[sans]", "other.example.com"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{other}");
    let other_id = serde_json::from_str::<serde_json::Value>(&other).unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (status, body) = api
        .upload("upload_bound_certificate", bind(other_id, signed.clone()))
        .await;
    assert_ne!(status, 200);
    assert!(
        body.contains("not issued for this signing request"),
        "{body}"
    );

    // Bound: the very next handshake presents the CA-signed certificate,
    // and a client trusting only the test CA accepts it.
    let (status, body) = api
        .upload("upload_bound_certificate", bind(request_id, signed))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Mailroom Test Root CA"),
        "the checked chain: {body}"
    );
    let served = subject_and_issuer(console.https);
    assert!(served.contains("Mailroom Test Root CA"), "{served}");
    assert!(served.contains("ise-pan-01.example.com"), "{served}");
    let trusting_ca = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .resolve(
            "localhost",
            format!("127.0.0.1:{}", console.https).parse().unwrap(),
        )
        .build()
        .unwrap();
    let page = trusting_ca
        .get(format!("https://localhost:{}/login", console.https))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // The self-signed certificate lost its usages and may now be deleted;
    // the one in use may not.
    let (_, list) = api.form("list_system_certificates", &[]).await;
    let list: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
    let in_use = list.iter().find(|c| c["used_by_admin"] == true).unwrap();
    let (status, body) = api
        .form(
            "delete_system_certificates",
            &[("ids[0]", &in_use["id"].to_string())],
        )
        .await;
    assert_ne!(status, 200);
    assert!(body.contains("in use for Admin, Portal"), "{body}");

    // A PKCS#12 bundle (key, certificate and CA, as a Windows CA or
    // OpenSSL exports it), imported for Admin: the next handshake has it.
    openssl(
        work.path(),
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "bundle.key",
            "-out",
            "bundle.csr",
            "-subj",
            "/CN=bundle.example.com",
            "-addext",
            "subjectAltName=DNS:bundle.example.com,DNS:localhost,IP:127.0.0.1",
        ],
    );
    ca_signs(work.path(), "bundle.csr", "bundle.pem");
    openssl(
        work.path(),
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "bundle.key",
            "-in",
            "bundle.pem",
            "-certfile",
            "ca.pem",
            "-passout",
            "pass:Bundle-Pass-1",
            "-out",
            "bundle.p12",
        ],
    );
    let bundle = std::fs::read(work.path().join("bundle.p12")).unwrap();
    let import = |password: &str| {
        vec![
            ("certificate", Some("bundle.p12"), bundle.clone()),
            ("password", None, password.as_bytes().to_vec()),
            ("used_by_admin", None, b"true".to_vec()),
        ]
    };
    let (status, body) = api
        .upload("upload_system_certificate", import("wrong"))
        .await;
    assert_ne!(status, 200);
    assert!(body.contains("password does not open"), "{body}");
    let (status, body) = api
        .upload("upload_system_certificate", import("Bundle-Pass-1"))
        .await;
    assert_eq!(status, 200, "{body}");
    let served = subject_and_issuer(console.https);
    assert!(served.contains("bundle.example.com"), "{served}");

    // No private key in clear anywhere in the database.
    let database = std::fs::read(dir.path().join("mailroom.db")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&database).contains("PRIVATE KEY"));
}
