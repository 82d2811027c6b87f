//! Calls every server function over plain HTTP as each kind of caller and
//! checks the answer: 401 without a session, 403 for a role that lacks the
//! right, success otherwise, and no change behind a refusal.
#![cfg(feature = "ssr")]

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use leptos::config::LeptosOptions;
use mailroom::domain::{Role, Secret};
use mailroom::server::AppState;
use mailroom::server::auth::hash_password;
use mailroom::server::clock::{Clock, ManualClock};
use mailroom::server::db;
use mailroom::server::http::{build_state, router, system_clock};
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "Table-Test-Passw0rd";

struct Harness {
    app: Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    harness_with_clock(system_clock()).await
}

async fn harness_with_clock(clock: Arc<dyn Clock>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let options = LeptosOptions::builder().output_name("mailroom").build();
    let state = build_state(dir.path(), options, clock).await.unwrap();
    let hash = hash_password(&Secret::new(PASSWORD)).unwrap();
    for (name, role) in [
        ("root", Role::SuperAdmin),
        ("sysadmin", Role::SystemAdmin),
        ("viewer", Role::ReadOnlyAdmin),
    ] {
        db::admins::insert(
            &state.db,
            &db::admins::NewAdmin {
                name,
                email: Some("ops@example.com"),
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
    Harness {
        app: router(state.clone()),
        state,
        _dir: dir,
    }
}

async fn admin_id(h: &Harness, name: &str) -> i64 {
    db::admins::by_name(&h.state.db, name)
        .await
        .unwrap()
        .expect("seeded admin")
        .id
}

struct Reply {
    status: StatusCode,
    set_cookie: Option<String>,
    body: String,
}

async fn post(app: &Router, path: &str, body: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        set_cookie,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn sign_in(app: &Router, name: &str) -> String {
    let reply = post(
        app,
        "/api/login",
        &format!("username={name}&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "sign-in of {name}: {}",
        reply.body
    );
    let cookie = reply.set_cookie.expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

fn admin_form(name: &str, description: &str) -> String {
    format!(
        "form%5Bname%5D={name}&form%5Bemail%5D=new%40example.com&form%5Brole%5D=read_only_admin\
         &form%5Bstatus%5D=enabled&form%5Bdescription%5D={description}\
         &form%5Bpassword%5D=New-Admin-Passw0rd&form%5Bpassword_confirm%5D=New-Admin-Passw0rd"
    )
}

#[derive(Clone, Copy)]
enum Expect {
    /// Every signed-in role may call it; anonymous callers get 401.
    AnyAdmin,
    /// Only these roles may call it.
    Only(&'static [Role]),
}

#[tokio::test]
async fn every_server_fn_checks_the_callers_role() {
    let h = harness().await;
    let viewer_id = admin_id(&h, "viewer").await;
    let cookies = [
        (Role::SuperAdmin, sign_in(&h.app, "root").await),
        (Role::SystemAdmin, sign_in(&h.app, "sysadmin").await),
        (Role::ReadOnlyAdmin, sign_in(&h.app, "viewer").await),
    ];

    // (path, body for the call, who may call it). The body varies per role
    // where a success would otherwise collide (a name can be created once).
    type BodyFor = Box<dyn Fn(Role) -> String>;
    let table: Vec<(&str, BodyFor, Expect)> = vec![
        (
            "/api/list_admins",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/get_admin",
            Box::new(move |_| format!("id={viewer_id}")),
            Expect::AnyAdmin,
        ),
        (
            "/api/get_dashboard",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/list_audit",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_admin",
            Box::new(|role| {
                admin_form(&format!("made-by-{}", role.as_str().replace('_', "-")), "x")
            }),
            Expect::Only(&[Role::SuperAdmin]),
        ),
        (
            "/api/save_admin",
            Box::new(move |role| {
                format!("id={viewer_id}&{}", admin_form("viewer", role.as_str())).replace(
                "&form%5Bpassword%5D=New-Admin-Passw0rd&form%5Bpassword_confirm%5D=New-Admin-Passw0rd",
                "",
            )
            }),
            Expect::Only(&[Role::SuperAdmin]),
        ),
        (
            "/api/set_admins_status",
            Box::new(move |_| format!("ids%5B0%5D={viewer_id}&enabled=true")),
            Expect::Only(&[Role::SuperAdmin]),
        ),
    ];

    // The table must name every registered server function, so a new one
    // cannot be added without deciding who may call it. login, logout and
    // current_admin are the public ones, tested below.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    let mut covered: BTreeSet<String> = table.iter().map(|(path, _, _)| path.to_string()).collect();
    covered.extend(["/api/login", "/api/logout", "/api/current_admin"].map(String::from));
    assert_eq!(
        registered, covered,
        "every server fn needs a row in this table"
    );

    for (path, body, expect) in &table {
        let anonymous = post(&h.app, path, &body(Role::ReadOnlyAdmin), None).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "anonymous {path}: {}",
            anonymous.body
        );
        assert!(
            anonymous.body.contains("Unauthenticated"),
            "{path}: {}",
            anonymous.body
        );
        for (role, cookie) in &cookies {
            let reply = post(&h.app, path, &body(*role), Some(cookie)).await;
            let allowed = match expect {
                Expect::AnyAdmin => true,
                Expect::Only(roles) => roles.contains(role),
            };
            if allowed {
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "{role:?} {path}: {}",
                    reply.body
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {path}: {}",
                    reply.body
                );
                assert!(reply.body.contains("Forbidden"), "{path}: {}", reply.body);
            }
        }
    }

    // Refused calls changed nothing; the allowed one did.
    let names: Vec<String> = db::admins::list(&h.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert!(
        names.contains(&"made-by-super-admin".to_string()),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n == "made-by-system-admin" || n == "made-by-read-only-admin"),
        "{names:?}"
    );
    let viewer = db::admins::by_id(&h.state.db, viewer_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        viewer.description, "super_admin",
        "only the Super Admin's update landed"
    );
}

#[tokio::test]
async fn public_functions_and_session_lifecycle() {
    let h = harness().await;
    let anonymous = post(&h.app, "/api/current_admin", "", None).await;
    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (StatusCode::OK, "null")
    );

    let unknown = post(
        &h.app,
        "/api/login",
        "username=ghost&password=Whatever-1",
        None,
    )
    .await;
    let wrong = post(
        &h.app,
        "/api/login",
        &format!("username=root&password={PASSWORD}x"),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.body, wrong.body,
        "the same answer for an unknown user and a wrong password"
    );
    assert!(unknown.set_cookie.is_none());

    let cookie = sign_in(&h.app, "root").await;
    let me = post(&h.app, "/api/current_admin", "", Some(&cookie)).await;
    assert!(
        me.body.contains("\"name\":\"root\"") && me.body.contains("SuperAdmin"),
        "{}",
        me.body
    );

    let out = post(&h.app, "/api/logout", "", Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    let after = post(&h.app, "/api/list_admins", "", Some(&cookie)).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the old cookie is dead after sign-out"
    );
}

#[tokio::test]
async fn sign_in_is_throttled_per_user() {
    let h = harness().await;
    for _ in 0..5 {
        let reply = post(
            &h.app,
            "/api/login",
            "username=viewer&password=Wrong-Passw0rd",
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password now waits: the account is throttled.
    let reply = post(
        &h.app,
        "/api/login",
        &format!("username=viewer&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("Too many failed sign-in attempts"),
        "{}",
        reply.body
    );
    // Another user is not affected.
    sign_in(&h.app, "root").await;
}

#[tokio::test]
async fn a_disabled_admin_is_signed_out_and_cannot_sign_in() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let viewer = sign_in(&h.app, "viewer").await;
    let viewer_id = admin_id(&h, "viewer").await;
    let reply = post(
        &h.app,
        "/api/set_admins_status",
        &format!("ids%5B0%5D={viewer_id}&enabled=false"),
        Some(&root),
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(
        post(&h.app, "/api/list_admins", "", Some(&viewer))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let again = post(
        &h.app,
        "/api/login",
        &format!("username=viewer&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);

    // The last enabled Super Admin cannot disable itself.
    let root_id = admin_id(&h, "root").await;
    let reply = post(
        &h.app,
        "/api/set_admins_status",
        &format!("ids%5B0%5D={root_id}&enabled=false"),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("You cannot disable your own account"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn invalid_admin_input_names_the_field_and_saves_nothing() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let body = admin_form("bad-email", "x").replace("new%40example.com", "not-an-address");
    let reply = post(&h.app, "/api/save_admin", &body, Some(&root)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("\"field\":\"email\""), "{}", reply.body);
    assert!(
        db::admins::by_name(&h.state.db, "bad-email")
            .await
            .unwrap()
            .is_none()
    );
    let duplicate = post(
        &h.app,
        "/api/save_admin",
        &admin_form("viewer", "x"),
        Some(&root),
    )
    .await;
    assert!(
        duplicate.body.contains("already exists"),
        "{}",
        duplicate.body
    );
}

#[tokio::test]
async fn no_password_or_hash_is_served_and_passwords_are_not_stored_in_clear() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let reply = post(
        &h.app,
        "/api/save_admin",
        &admin_form("newbie", "x"),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let list = post(&h.app, "/api/list_admins", "", Some(&root)).await;
    assert!(
        !list.body.contains("argon2") && !list.body.contains("New-Admin-Passw0rd"),
        "{}",
        list.body
    );
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&h.state.db)
        .await
        .unwrap();
    let file = std::fs::read(h.state.config.data_dir.join("mailroom.db")).unwrap();
    let text = String::from_utf8_lossy(&file);
    assert!(!text.contains("New-Admin-Passw0rd") && !text.contains(PASSWORD));
    assert!(text.contains("$argon2id$"));
}

#[tokio::test]
async fn an_idle_session_expires() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let h = harness_with_clock(clock.clone()).await;
    let cookie = sign_in(&h.app, "viewer").await;
    clock.advance(time::Duration::minutes(29));
    let active = post(&h.app, "/api/list_admins", "", Some(&cookie)).await;
    assert_eq!(
        active.status,
        StatusCode::OK,
        "activity within the idle timeout"
    );
    // Activity moved the deadline: 29 more minutes are still inside it.
    clock.advance(time::Duration::minutes(29));
    assert_eq!(
        post(&h.app, "/api/list_admins", "", Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    clock.advance(time::Duration::minutes(31));
    let idle = post(&h.app, "/api/list_admins", "", Some(&cookie)).await;
    assert_eq!(
        idle.status,
        StatusCode::UNAUTHORIZED,
        "31 idle minutes end the session"
    );
}
