//! The layering rules of ARCHITECTURE.md, checked on the source: the
//! interfaces (server functions, pages) hold no SQL and open no
//! transaction, the service layer knows no web framework, the domain does
//! no IO, and SQLite and PostgreSQL stay one code path (every migration
//! for both, no SQLite-only SQL outside `db::Dialect`).

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

/// The edge refuses an upload without a multipart boundary by its path
/// (`mailroom::server::edge::UPLOAD_PREFIX`): every multipart server
/// function's endpoint is `upload_…`, and only those are.
#[test]
fn multipart_server_functions_are_the_upload_endpoints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut uploads = Vec::new();
    let mut misnamed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for attribute in text.split("#[server(").skip(1) {
            let attribute = attribute.split(")]").next().unwrap();
            let endpoint = attribute
                .split("endpoint = \"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default();
            let multipart = attribute.contains("MultipartFormData");
            let upload =
                format!("/api/{endpoint}").starts_with(mailroom::server::edge::UPLOAD_PREFIX);
            if multipart != upload {
                misnamed.push(format!("{}: {endpoint}", path.display()));
            }
            if multipart {
                uploads.push(endpoint.to_string());
            }
        }
    }
    assert!(
        misnamed.is_empty(),
        "multipart endpoints must be named upload_…, and only they: {misnamed:?}"
    );
    assert_eq!(uploads.len(), 6, "{uploads:?}");
}

fn migrations(database: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(database);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_migration_exists_for_both_databases() {
    let sqlite = migrations("sqlite");
    let postgres = migrations("postgres");
    assert!(sqlite.len() >= 14, "{sqlite:?}");
    let only_sqlite: Vec<_> = sqlite.iter().filter(|m| !postgres.contains(m)).collect();
    let only_postgres: Vec<_> = postgres.iter().filter(|m| !sqlite.contains(m)).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "migrations/sqlite only: {only_sqlite:?}; migrations/postgres only: {only_postgres:?}"
    );
}

/// The text inside the string literals of `source` (escapes kept as written).
fn string_literals(source: &str) -> Vec<&str> {
    let mut literals = Vec::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') || bytes.get(i + 1) == Some(&b'\\') => {
                // A char literal such as '"' or '\\'.
                i += if bytes.get(i + 1) == Some(&b'\\') {
                    4
                } else {
                    3
                };
                continue;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                literals.push(&source[start..i.min(source.len())]);
            }
            _ => {}
        }
        i += 1;
    }
    literals
}

/// A `?` or `?N` bind parameter (SQLite's); `$N` is what both accept.
fn has_question_mark_parameter(sql: &str) -> bool {
    let chars: Vec<char> = sql.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        *c == '?'
            && i > 0
            && matches!(chars[i - 1], ' ' | '(' | ',' | '=')
            && chars
                .get(i + 1)
                .is_none_or(|next| next.is_ascii_digit() || matches!(next, ' ' | ',' | ')'))
    })
}

#[test]
fn sql_is_written_once_in_the_dialect_both_databases_speak() {
    let sources = sources("src/server");
    // SQLite-only words and where each belongs instead.
    let sqlite_only = [
        ("INSERT OR", "INSERT ... ON CONFLICT DO NOTHING"),
        ("COLLATE NOCASE", "lower(name)"),
        ("last_insert_rowid", "RETURNING id"),
        ("group_concat", "Dialect::json_rows"),
        ("json_group_array", "Dialect::json_rows"),
        ("json_each", "Dialect::int_list / text_list / json_elements"),
        ("INDEXED BY", "Dialect::indexed_by"),
        ("PRAGMA", "db::open"),
        ("SqlitePool", "db::Db"),
        ("SqliteExecutor", "AnyExecutor or DbExecutor"),
        ("SqliteConnection", "AnyConnection"),
    ];
    let mut found = Vec::new();
    for (path, text) in &sources {
        if path.ends_with("src/server/db/mod.rs") {
            continue;
        }
        let path = path.display();
        for (word, instead) in sqlite_only {
            if text.contains(word) {
                found.push(format!("{path}: {word} (use {instead})"));
            }
        }
        for literal in string_literals(text) {
            let upper = literal.to_ascii_uppercase();
            let is_sql = ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", " WHERE "]
                .iter()
                .any(|keyword| upper.contains(keyword));
            if is_sql && has_question_mark_parameter(literal) {
                found.push(format!("{path}: a ? parameter in {literal:?} (use $N)"));
            }
        }
    }
    assert!(found.is_empty(), "SQLite-only SQL:\n{}", found.join("\n"));
}

#[test]
fn the_sql_checks_can_fail() {
    assert!(has_question_mark_parameter("SELECT x FROM t WHERE id = ?"));
    assert!(has_question_mark_parameter("VALUES (?1, ?2)"));
    assert!(!has_question_mark_parameter("WHERE id = $1"));
    assert!(!has_question_mark_parameter("{text:?} is not"));
    assert_eq!(
        string_literals("let a = \"SELECT ?\"; // \"not\"\nlet b = '\"';"),
        ["SELECT ?"]
    );
}

/// Pages load their data with `components::load`, whose codec reads JSON as
/// bytes the way server-function answers are read: `Resource::new` reads it
/// as a string, which compiles a second JSON parser per type into the wasm.
#[test]
fn pages_load_data_with_one_json_reader() {
    let found = offenders(
        &["src/pages", "src/components/shell.rs", "src/app.rs"],
        &["Resource::new", "serde_json::from_str"],
    );
    assert!(found.is_empty(), "use components::load instead: {found:#?}");
}
