//! `/ers/openapi.json` is the ERS API as the router serves it: every
//! operation it lists is routed, undocumented ones are not, and a bounded
//! schemathesis run (from target/ers-venv, installed by scripts/setup.sh)
//! finds no server error and no answer outside the document.
#![cfg(feature = "ssr")]

mod common;

use axum::body::Body;
use base64::Engine;
use common::app::{Harness, PASSWORD, harness, send};
use http::{Request, StatusCode};
use mailroom::domain::api::ApiSettings;
use mailroom::server::ers::openapi::OPERATIONS;
use mailroom::server::service::{Caller, api_settings};
use serde_json::Value;
use std::path::PathBuf;

async fn rig() -> Harness {
    let h = harness().await;
    api_settings::save(
        &h.state,
        &Caller::command_line(),
        ApiSettings {
            ers_enabled: true,
            csrf_enabled: false,
        },
    )
    .await
    .unwrap();
    h
}

async fn call(h: &Harness, method: &str, path: &str) -> (StatusCode, Value) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("root:{PASSWORD}"));
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Basic {auth}"))
        .header("content-type", "application/json")
        .body(Body::empty())
        .unwrap();
    let reply = send(&h.app, request).await;
    (
        reply.status,
        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
    )
}

fn title(body: &Value) -> String {
    body["ERSResponse"]["messages"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Whether the router served the operation (whatever it answered), rather
/// than refusing the path or method as unknown.
fn routed(status: StatusCode, body: &Value) -> bool {
    status != StatusCode::METHOD_NOT_ALLOWED && !title(body).contains("not served")
}

#[tokio::test]
async fn the_document_lists_exactly_the_operations_the_router_serves() {
    let h = rig().await;
    let (status, document) = call(&h, "GET", "/ers/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = document["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, OPERATIONS.len());

    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "00000000-0000-4000-a000-000000000000")
                .replace("{portalId}", "00000000-0000-4000-a000-000000000001")
                .replace("{name}", "nobody");
            let (status, body) = call(&h, &method.to_uppercase(), &concrete).await;
            assert!(routed(status, &body), "{method} {path}: {status} {body}");
            let documented_statuses = operations[method]["responses"].as_object().unwrap();
            assert!(
                documented_statuses.contains_key(status.as_str()),
                "{method} {path} answered {status}, which the document does not list"
            );
        }
    }

    // And what it does not list is not served.
    for (method, path) in [
        (
            "PUT",
            "/ers/config/guestuser/sms/00000000-0000-4000-a000-000000000000/portalId/x",
        ),
        (
            "PUT",
            "/ers/config/guesttype/sms/00000000-0000-4000-a000-000000000000",
        ),
        (
            "DELETE",
            "/ers/config/sponsorportal/00000000-0000-4000-a000-000000000000",
        ),
        ("POST", "/ers/config/sponsorgroup"),
        ("GET", "/ers/config/networkdevice"),
    ] {
        let (status, body) = call(&h, method, path).await;
        assert!(
            !routed(status, &body) || status == StatusCode::NOT_FOUND,
            "{method} {path}: {status}"
        );
    }
}

fn schemathesis() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ers-venv/bin/schemathesis");
    assert!(
        path.exists(),
        "{} is missing: scripts/setup.sh installs it",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_nothing_outside_the_document() {
    let h = rig().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mailroom::server::https::serve_plain(
        listener,
        h.app.clone(),
        std::future::pending(),
    ));
    let reports = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(schemathesis());
    command
        .args(["run", &format!("{base}/ers/openapi.json")])
        .args(["--auth", &format!("root:{PASSWORD}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
        ])
        // Bounded (a few thousand requests, about 25 s), reproducible.
        .args(["--max-examples", "6", "--seed", "20261207", "--workers", "1"])
        .args(["--request-timeout", "20", "--no-color"])
        .args(["--report-dir", &reports.path().display().to_string()])
        // Its example cache goes there too, not into the work tree.
        .current_dir(reports.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It ran every operation, hundreds of requests, and all passed.
    assert!(
        stdout.contains(&format!("Tested: {}", OPERATIONS.len())),
        "{stdout}"
    );
    let counts = stdout
        .lines()
        .find(|line| line.contains(" generated, "))
        .expect("schemathesis reports its test cases");
    let numbers: Vec<u64> = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        numbers.len() == 2 && numbers[0] == numbers[1] && numbers[0] >= 300,
        "{counts}"
    );
}
