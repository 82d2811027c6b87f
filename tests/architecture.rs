//! The layering rules of ARCHITECTURE.md, checked on the source: the
//! interfaces (server functions, pages) hold no SQL and open no
//! transaction, the service layer knows no web framework, and the domain
//! does no IO.

use std::path::{Path, PathBuf};

fn sources(under: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(under);
    let mut found = Vec::new();
    if root.is_dir() {
        walk(&root, &mut found);
    } else {
        found.push((root.clone(), std::fs::read_to_string(&root).unwrap()));
    }
    assert!(!found.is_empty(), "no sources under {under}");
    found
}

/// Each file under `dirs` that contains one of `forbidden`, with the word.
fn offenders(dirs: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        for (path, text) in sources(dir) {
            for word in forbidden {
                if text.contains(word) {
                    found.push(format!("{}: {word}", path.display()));
                }
            }
        }
    }
    found
}

#[test]
fn interfaces_hold_no_sql_and_open_no_transaction() {
    let found = offenders(
        &["src/api", "src/pages", "src/components", "src/app.rs"],
        &[
            "sqlx",
            "begin_write",
            ".begin(",
            "begin_with",
            "server::db",
            "record_audit",
        ],
    );
    assert!(
        found.is_empty(),
        "SQL and transactions belong in src/server (the services call db): {found:#?}"
    );
}

#[test]
fn the_service_layer_knows_no_web_framework() {
    let found = offenders(
        &["src/server/service"],
        &["leptos", "axum", "http::", "crate::api"],
    );
    assert!(
        found.is_empty(),
        "services are called by every interface and know none: {found:#?}"
    );
}

#[test]
fn the_domain_does_no_io() {
    let found = offenders(
        &["src/domain"],
        &[
            "sqlx",
            "tokio",
            "std::fs",
            "TcpStream",
            "reqwest",
            "lettre",
            "crate::server",
            "crate::api",
        ],
    );
    assert!(
        found.is_empty(),
        "the domain is pure and compiled for the browser too: {found:#?}"
    );
}

#[test]
fn the_server_does_not_depend_on_the_server_functions() {
    let found = offenders(&["src/server"], &["crate::api"]);
    assert!(
        found.is_empty(),
        "src/api calls src/server, not the other way round: {found:#?}"
    );
}
