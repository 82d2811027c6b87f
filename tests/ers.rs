//! The ERS API: Cisco's own `ciscoisesdk` (installed by scripts/setup.sh
//! into target/ers-venv) drives a sponsor workflow against the console on
//! a real listener, with both of the SDK's version strings and with the
//! CSRF token; the credentials emails reach the peers' smtp-server with
//! the portal's template. Then each refusal over the router.
#![cfg(feature = "ssr")]

mod common;

use axum::body::Body;
use base64::Engine;
use common::Peers;
use common::app::{Harness, PASSWORD, harness_with_mail, send, sign_in};
use common::forms::{configure_smtp, guest_mail_from_mailbox};
use common::mail::received_with_subject;
use http::{Request, StatusCode};
use mailroom::domain::Role;
use mailroom::domain::api::ApiSettings;
use mailroom::server::auth::hash_password;
use mailroom::server::db;
use mailroom::server::mail::{MailConfig, worker};
use mailroom::server::service::{Caller, api_settings};
use serde_json::Value;
use std::path::PathBuf;

struct Rig {
    h: Harness,
    peers: Peers,
}

async fn add_admin(h: &Harness, name: &str, role: Role) {
    let hash = hash_password(&mailroom::domain::Secret::new(PASSWORD)).unwrap();
    db::admins::insert(
        &h.state.db,
        &db::admins::NewAdmin {
            name,
            email: Some("ers@example.com"),
            first_name: "",
            last_name: "",
            description: "",
            role,
            enabled: true,
            include_alarm_emails: false,
            password_hash: &hash,
        },
        0,
    )
    .await
    .unwrap();
}

async fn set_api(h: &Harness, ers_enabled: bool, csrf_enabled: bool) {
    api_settings::save(
        &h.state,
        &Caller::command_line(),
        ApiSettings {
            ers_enabled,
            csrf_enabled,
        },
    )
    .await
    .unwrap();
}

async fn rig() -> Rig {
    let peers = Peers::start();
    let h = harness_with_mail(MailConfig::default()).await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, &peers, &[]).await;
    guest_mail_from_mailbox(&h, &root).await;
    worker::spawn(h.state.clone());
    add_admin(&h, "ersadmin", Role::ErsAdmin).await;
    add_admin(&h, "ersoperator", Role::ErsOperator).await;
    set_api(&h, true, false).await;
    Rig { h, peers }
}

fn python() -> PathBuf {
    if let Ok(path) = std::env::var("MAILROOM_ERS_PYTHON") {
        return path.into();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ers-venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: scripts/setup.sh installs ciscoisesdk into it",
        path.display()
    );
    path
}

/// Serves the rig's router on a free loopback port, as the console does.
async fn listen(h: &Harness) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(mailroom::server::https::serve_plain(
        listener,
        h.app.clone(),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn run_sdk(base: &str, user: &str, version: &str, csrf: bool, tag: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ers/sdk_workflow.py");
    let mut command = std::process::Command::new(python());
    command
        .arg(script)
        .env("ERS_BASE_URL", base)
        .env("ERS_USER", user)
        .env("ERS_PASSWORD", PASSWORD)
        .env("ERS_VERSION", version)
        .env("ERS_CSRF", if csrf { "1" } else { "0" })
        .env("ERS_TAG", tag);
    // The server runs on the test's other runtime threads meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "ciscoisesdk {version} (csrf {csrf}) failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ciscoisesdk_runs_a_sponsor_workflow_with_both_versions_and_csrf() {
    let rig = rig().await;
    let base = listen(&rig.h).await;
    run_sdk(&base, "ersadmin", "3.3_patch_1", false, "v33").await;
    run_sdk(&base, "ersadmin", "3.5.0", false, "v35").await;
    set_api(&rig.h, true, true).await;
    run_sdk(&base, "root", "3.3_patch_1", true, "csrf").await;

    // Each run created five guests (one resent to) with the sponsor
    // portal's template: the default portal's subject.
    let subject = mailroom::domain::portal::EmailTemplate::ise_default().subject;
    let prefix: String = subject.chars().take_while(|c| *c != '$').collect();
    let mails = received_with_subject(&rig.peers, &prefix, 18).await;
    for tag in ["v33", "v35", "csrf"] {
        let to_first: Vec<&Value> = mails
            .iter()
            .filter(|m| {
                m.to_string()
                    .contains(&format!("ada.lovelace+{tag}0@example.com"))
            })
            .collect();
        assert_eq!(to_first.len(), 2, "{tag}: created and resent once");
        assert!(
            to_first[0].to_string().contains(&format!("ada0.{tag}")),
            "the credentials name the guest"
        );
    }
    let audit: Vec<(String, String)> =
        sqlx::query_as("SELECT admin, action FROM audit_log WHERE action LIKE '%via ERS'")
            .fetch_all(&rig.h.state.db)
            .await
            .unwrap();
    assert!(
        audit
            .iter()
            .any(|(admin, action)| admin == "ersadmin" && action == "create via ERS")
    );
    assert!(
        audit
            .iter()
            .any(|(admin, action)| admin == "root" && action == "Suspend via ERS")
    );
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn call(
    h: &Harness,
    method: &str,
    path: &str,
    user: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value, http::HeaderMap) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", basic(user, PASSWORD))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let reply = send(&h.app, request).await;
    let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, json, reply.headers)
}

fn title(body: &Value) -> String {
    body["ERSResponse"]["messages"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn every_refusal_answers_with_its_status_and_an_ersresponse_title() {
    let rig = rig().await;
    let h = &rig.h;
    const JSON: &str = "application/json;charset=utf-8";

    // A wrong password: 401 with a Basic challenge, never a redirect.
    let request = Request::builder()
        .uri("/ers/config/guestuser")
        .header("authorization", basic("ersadmin", "wrong"))
        .body(Body::empty())
        .unwrap();
    let reply = send(&h.app, request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let request = Request::builder()
        .uri("/ers/config/guestuser")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&h.app, request).await.status, StatusCode::UNAUTHORIZED);
    // The SDK sends a refused request once more: that retry is not a
    // second failure. Another wrong password is.
    let failures = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count FROM sign_in_failures WHERE throttle_key = 'user:ersadmin'",
        )
        .fetch_one(&h.state.db)
        .await
        .unwrap()
    };
    assert_eq!(failures().await, 1);
    let again = Request::builder()
        .uri("/ers/config/guestuser")
        .header("authorization", basic("ersadmin", "wrong"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&h.app, again).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(failures().await, 1, "the retry counted");
    let other = Request::builder()
        .uri("/ers/config/guestuser")
        .header("authorization", basic("ersadmin", "wrong-too"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&h.app, other).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(failures().await, 2);

    // Console roles have no API access; ERS roles have no console.
    let (status, body, _) = call(h, "GET", "/ers/config/guesttype", "sysadmin", JSON, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let sign_in = common::app::post(
        &h.app,
        "/api/sign_in",
        &format!("username=ersadmin&password={PASSWORD}"),
        None,
    )
    .await;
    assert_ne!(
        sign_in.status,
        StatusCode::OK,
        "an ERS Admin signed in to the console"
    );

    // The operator reads, and its writes change nothing.
    let (status, list, _) = call(h, "GET", "/ers/config/guesttype", "ersoperator", JSON, "").await;
    assert_eq!(status, StatusCode::OK);
    let total = list["SearchResult"]["total"].as_i64().unwrap();
    let create = r#"{"GuestType": {"name": "Operator made"}}"#;
    let (status, body, _) = call(
        h,
        "POST",
        "/ers/config/guesttype",
        "ersoperator",
        JSON,
        create,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(title(&body).contains("ERS Operator"), "{body}");
    let (_, list, _) = call(h, "GET", "/ers/config/guesttype", "ersoperator", JSON, "").await;
    assert_eq!(list["SearchResult"]["total"].as_i64().unwrap(), total);

    // Malformed JSON, wrong types, a non-numeric port: 400 with a title.
    let (status, body, _) = call(
        h,
        "POST",
        "/ers/config/guesttype",
        "ersadmin",
        JSON,
        r#"{"GuestType": {"name": "#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(title(&body).contains("not valid JSON"), "{body}");
    let (status, body, _) = call(
        h,
        "POST",
        "/ers/config/guesttype",
        "ersadmin",
        JSON,
        r#"{"GuestType": {"name": 5}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(title(&body).contains("name"), "{body}");
    let (status, body, _) = call(
        h,
        "PUT",
        &format!(
            "/ers/config/guestsmtpnotificationsettings/{}",
            mailroom::server::ers::SMTP_SETTINGS_ID
        ),
        "ersadmin",
        JSON,
        r#"{"ERSGuestSmtpNotificationSettings": {"smtpPort": "smtp"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(title(&body).contains("smtpPort"), "{body}");
    let (status, body, _) = call(h, "POST", "/ers/config/guestuser", "ersadmin", JSON, r#"{"GuestUser": {"guestType": "Daily (default)", "guestInfo": {"userName": "x", "emailAddress": "not-an-email"}}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(title(&body).contains("emailAddress"), "{body}");

    // Unknown ids and names: 404.
    for path in [
        "/ers/config/guestuser/00000000-0000-4000-a000-000000000000",
        "/ers/config/guestuser/name/nobody",
        "/ers/config/guesttype/00000000-0000-4000-a000-000000000000",
        "/ers/config/selfregportal/00000000-0000-4000-a000-000000000000",
    ] {
        let (status, body, _) = call(h, "GET", path, "ersadmin", JSON, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!title(&body).is_empty(), "{path}: {body}");
    }

    // Another media type: 415.
    let (status, _, _) = call(
        h,
        "POST",
        "/ers/config/guesttype",
        "ersadmin",
        "application/xml",
        "<GuestType/>",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A creation answers 201 with Location; the trailing-slash path too.
    let (status, _, headers) = call(
        h,
        "POST",
        "/ers/config/guesttype/",
        "ersadmin",
        JSON,
        r#"{"GuestType": {"name": "Slash made"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let location = headers["location"].to_str().unwrap().to_string();
    let id = location.rsplit('/').next().unwrap();
    let (status, body, _) = call(
        h,
        "GET",
        &format!("/ers/config/guesttype/{id}"),
        "ersoperator",
        JSON,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["GuestType"]["name"], "Slash made");

    // Paging out of range: 400; a page past the end: empty with the total.
    let (status, _, _) = call(
        h,
        "GET",
        "/ers/config/guesttype?size=101",
        "ersadmin",
        JSON,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body, _) = call(
        h,
        "GET",
        "/ers/config/guesttype?size=2&page=99",
        "ersadmin",
        JSON,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["SearchResult"]["resources"].as_array().unwrap().len(),
        0
    );
    assert_eq!(body["SearchResult"]["total"].as_i64().unwrap(), total + 1);

    // ERS switched off: 403 saying where to switch it on.
    set_api(h, false, false).await;
    let (status, body, _) = call(h, "GET", "/ers/config/guesttype", "ersadmin", JSON, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(title(&body).contains("API Settings"), "{body}");
}

#[tokio::test]
async fn a_sponsor_uses_the_guest_rest_api_only_as_its_group_allows() {
    let rig = rig().await;
    let h = &rig.h;
    const JSON: &str = "application/json;charset=utf-8";
    let root = sign_in(&h.app, "root").await;
    let groups: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM sponsor_groups")
        .fetch_all(&h.state.db)
        .await
        .unwrap();
    let own = groups
        .iter()
        .find(|g| g.1 == "OWN_ACCOUNTS (default)")
        .unwrap()
        .0;
    let all = groups
        .iter()
        .find(|g| g.1 == "ALL_ACCOUNTS (default)")
        .unwrap()
        .0;
    common::app::add_sponsor(&h.app, &root, "amy", own).await;
    common::app::add_sponsor(&h.app, &root, "bob", own).await;
    let guest = r#"{"GuestUser": {"guestType": "Daily (default)", "guestInfo": {"userName": "amys.guest", "firstName": "Grace", "emailAddress": "grace@example.com"}}}"#;

    // Without the group's Guest REST API permission: refused, nothing made.
    let (status, body, _) = call(h, "POST", "/ers/config/guestuser", "amy", JSON, guest).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        db::ers::guest_by_name(&h.state.db, "amys.guest")
            .await
            .unwrap()
            .is_none()
    );

    for group in [own, all] {
        let body = format!(
            "id={group}&permissions%5Bcan_create%5D=true&permissions%5Bscope%5D={}&permissions%5Bcan_suspend%5D=true&permissions%5Bcan_use_api%5D=true",
            if group == own { "Own" } else { "All" }
        );
        let saved = common::app::post(&h.app, "/api/save_sponsor_group", &body, Some(&root)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let (status, body, headers) =
        call(h, "POST", "/ers/config/guestuser", "amy", JSON, guest).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let location = headers["location"].to_str().unwrap().to_string();
    let path = location
        .split_once("/ers/")
        .map(|(_, p)| format!("/ers/{p}"))
        .unwrap();
    let (status, body, _) = call(h, "GET", &path, "amy", JSON, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["GuestUser"]["sponsorUserName"], "amy");
    assert_eq!(
        body["GuestUser"]["guestInfo"]["notificationLanguage"],
        "English"
    );

    // The notification language by ISE's name; an unknown one is refused
    // and changes nothing.
    let spanish = r#"{"GuestUser": {"guestInfo": {"notificationLanguage": "Spanish"}}}"#;
    let (status, body, _) = call(h, "PUT", &path, "amy", JSON, spanish).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let klingon = r#"{"GuestUser": {"guestInfo": {"notificationLanguage": "Klingon"}}}"#;
    let (status, body, _) = call(h, "PUT", &path, "amy", JSON, klingon).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, body, _) = call(h, "GET", &path, "amy", JSON, "").await;
    assert_eq!(
        body["GuestUser"]["guestInfo"]["notificationLanguage"],
        "Spanish"
    );

    // Bob manages only his own accounts: Amy's guest is not there for him.
    let (status, _, _) = call(h, "GET", &path, "bob", JSON, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        h,
        "PUT",
        &path.replace("guestuser/", "guestuser/suspend/"),
        "bob",
        JSON,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list, _) = call(h, "GET", "/ers/config/guestuser", "bob", JSON, "").await;
    assert_eq!(list["SearchResult"]["total"], 0);
    let (_, list, _) = call(h, "GET", "/ers/config/guestuser", "amy", JSON, "").await;
    assert_eq!(list["SearchResult"]["total"], 1);

    // The group may suspend but not reset passwords or delete.
    let (status, _, _) = call(
        h,
        "PUT",
        &path.replace("guestuser/", "guestuser/suspend/"),
        "amy",
        JSON,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(
        h,
        "PUT",
        &path.replace("guestuser/", "guestuser/resetpassword/"),
        "amy",
        JSON,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(h, "DELETE", &path, "amy", JSON, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        db::ers::guest_by_name(&h.state.db, "amys.guest")
            .await
            .unwrap()
            .is_some()
    );

    // Sponsors have the guestuser resource only.
    let (status, body, _) = call(h, "GET", "/ers/config/guesttype", "amy", JSON, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(title(&body).contains("guestuser"), "{body}");
}
