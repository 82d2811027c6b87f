//! The console's router in-process with a fresh data directory and three
//! signed-up admins (root, sysadmin, viewer), called over HTTP.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use leptos::config::LeptosOptions;
use mailroom::domain::{Role, Secret};
use mailroom::server::AppState;
use mailroom::server::auth::hash_password;
use mailroom::server::clock::Clock;
use mailroom::server::db;
use mailroom::server::http::{router, system_clock};
use mailroom::server::mail::{MailConfig, Mailer};
use std::sync::Arc;
use tower::ServiceExt;

pub const PASSWORD: &str = "Table-Test-Passw0rd";
/// A body starting with `--BOUNDARY` is sent as multipart/form-data.
pub const BOUNDARY: &str = "RoleTableBoundary";

pub struct Harness {
    pub app: Router,
    pub state: AppState,
    pub dir: tempfile::TempDir,
}

/// The console's state on `dir`'s database (see `super::database`), as a
/// node starting (or restarting) on it builds it.
pub async fn build_state(dir: &std::path::Path, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let database = super::database::location(dir).await;
    mailroom::server::http::build_state(dir, &database, clock).await
}

/// Another node on `h`'s database (its own state and router; no workers or
/// watchers until a test spawns them), as a load balancer's other target.
pub async fn another_node(h: &Harness) -> (Router, AppState) {
    let state = build_state(h.dir.path(), system_clock()).await.unwrap();
    let options = LeptosOptions::builder().output_name("mailroom").build();
    (router(state.clone(), options), state)
}

/// As `another_node`, named `name` (nodes of one machine share its host
/// name, which the node name defaults to), with its own lease owner.
pub async fn node_named(h: &Harness, name: &str) -> (Router, AppState) {
    let clock = system_clock();
    let mut state = build_state(h.dir.path(), clock.clone()).await.unwrap();
    let mut config = (*state.config).clone();
    config.node_name = name.to_string();
    config.instance = format!("{name}/{}", std::process::id());
    state.mailer = Arc::new(Mailer::new(MailConfig::from_env(), clock, &config.instance));
    state.config = Arc::new(config);
    let options = LeptosOptions::builder().output_name("mailroom").build();
    (router(state.clone(), options), state)
}

pub async fn harness() -> Harness {
    harness_with_clock(system_clock()).await
}

pub async fn harness_with_clock(clock: Arc<dyn Clock>) -> Harness {
    harness_with(clock, None).await
}

/// A harness whose delivery workers use `config` (they are not started:
/// call `mailroom::server::mail::worker::spawn`).
pub async fn harness_with_mail(config: MailConfig) -> Harness {
    harness_with(system_clock(), Some(config)).await
}

async fn harness_with(clock: Arc<dyn Clock>, mail: Option<MailConfig>) -> Harness {
    harness_in(tempfile::tempdir().unwrap(), clock, mail).await
}

/// A harness on `dir` (which it keeps), for tests that later hand the same
/// data directory to the shipped binary.
pub async fn harness_in(
    dir: tempfile::TempDir,
    clock: Arc<dyn Clock>,
    mail: Option<MailConfig>,
) -> Harness {
    let database = super::database::location(dir.path()).await;
    harness_on(dir, &database, clock, mail).await
}

/// As `harness_in`, on `database` whatever the run's default.
pub async fn harness_on(
    dir: tempfile::TempDir,
    database: &db::Location,
    clock: Arc<dyn Clock>,
    mail: Option<MailConfig>,
) -> Harness {
    let options = LeptosOptions::builder().output_name("mailroom").build();
    let mut state = mailroom::server::http::build_state(dir.path(), database, clock.clone())
        .await
        .unwrap();
    if let Some(config) = mail {
        state.mailer = Arc::new(Mailer::new(config, clock, &state.config.instance));
    }
    seed_admins(&state).await;
    Harness {
        app: router(state.clone(), options),
        state,
        dir,
    }
}

/// The three admins every harness has (root, sysadmin, viewer), each with
/// password `PASSWORD`.
pub async fn seed_admins(state: &AppState) {
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
}

pub async fn admin_id(h: &Harness, name: &str) -> i64 {
    db::admins::by_name(&h.state.db, name)
        .await
        .unwrap()
        .expect("seeded admin")
        .id
}

pub struct Reply {
    pub status: StatusCode,
    /// The cookie set besides the device cookie (which any sign-in from a
    /// browser without one gets), if any: a session cookie, or its clearing.
    pub set_cookie: Option<String>,
    /// Every Set-Cookie of the answer.
    pub cookies: Vec<String>,
    pub body: String,
    pub headers: http::HeaderMap,
}

impl Reply {
    /// `name=value` of the cookie `name` this answer set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_string())
    }
}

/// Sends `request` to the router and reads the whole answer.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let set_cookie = cookies
        .iter()
        .find(|c| !c.starts_with("mailroom_device="))
        .cloned();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    Reply {
        status,
        set_cookie,
        cookies,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        headers,
    }
}

pub async fn post(app: &Router, path: &str, body: &str, cookie: Option<&str>) -> Reply {
    let content_type = if body.starts_with(&format!("--{BOUNDARY}")) {
        format!("multipart/form-data; boundary={BOUNDARY}")
    } else {
        "application/x-www-form-urlencoded".to_string()
    };
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(app, request.body(Body::from(body.to_string())).unwrap()).await
}

pub async fn sign_in(app: &Router, name: &str) -> String {
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

/// Adds the sponsor user `username` (password `PASSWORD`, address
/// `username@contoso.com`) to sponsor group `group_id`, as the admin whose
/// session `cookie` is.
pub async fn add_sponsor(app: &Router, cookie: &str, username: &str, group_id: i64) {
    let body = format!(
        "form%5Busername%5D={username}&form%5Bfull_name%5D=Sam%20Sponsor&form%5Bemail%5D={username}%40contoso.com\
         &form%5Bpassword%5D={PASSWORD}&form%5Bgroup_id%5D={group_id}"
    );
    let reply = post(app, "/api/create_sponsor_user", &body, Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// The id of ISE's ALL_ACCOUNTS (default) sponsor group.
pub async fn all_accounts_group(app: &Router, cookie: &str) -> i64 {
    let reply = post(app, "/api/get_sponsor_groups", "", Some(cookie)).await;
    let groups: mailroom::api::sponsor_groups::SponsorGroupsPage =
        serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("{}", reply.body));
    groups
        .groups
        .iter()
        .find(|g| g.name == "ALL_ACCOUNTS (default)")
        .expect("ISE's default sponsor group")
        .id
}

/// Signs the sponsor `username` in on the sponsor portal; its session cookie.
pub async fn sponsor_sign_in(app: &Router, username: &str) -> String {
    let reply = post(
        app,
        "/api/sponsor_login",
        &format!("username={username}&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cookie = reply.set_cookie.expect("a sponsor session cookie");
    assert!(cookie.starts_with("mailroom_sponsor=") && cookie.contains("HttpOnly"));
    cookie.split(';').next().unwrap().to_string()
}

/// The open alarms, as Operations > Alarms lists them.
pub async fn open_alarms(h: &Harness, cookie: &str) -> Vec<mailroom::domain::alarm::AlarmView> {
    let reply = post(
        &h.app,
        "/api/list_alarms",
        "include_cleared=false",
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// The open alarm with `code`, waited for: alarms are raised off the
/// delivery path, a moment after the outbox row records the failure.
pub async fn wait_for_open_alarm(
    h: &Harness,
    cookie: &str,
    code: mailroom::domain::alarm::AlarmCode,
) -> mailroom::domain::alarm::AlarmView {
    let started = std::time::Instant::now();
    loop {
        let alarms = open_alarms(h, cookie).await;
        if let Some(alarm) = alarms.into_iter().find(|a| a.code == code) {
            return alarm;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no open {code:?} alarm"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// After a role table has run: of the admin users made (`made-by-ROLE`)
/// and the viewer's description set to the caller's role, only the Super
/// Admin's landed; the refused calls changed nothing.
pub async fn only_the_super_admins_admin_changes_landed(h: &Harness, viewer_id: i64) {
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

/// `n` guest accounts (each password sealed in the vault), written straight
/// to the tables in one transaction: for tests and benches about the size
/// of a configuration, not about the sponsor's work.
pub async fn insert_guests(state: &AppState, n: usize) {
    use mailroom::domain::guest::GuestState;
    use mailroom::server::guests::{GuestExtras, PASSWORD_PURPOSE, hash_guest_password};
    let now = state.now();
    let extras = GuestExtras::default();
    // One hash for all: hashing is the sponsor's cost.
    let hash = hash_guest_password(&Secret::new("Guest-Pa55")).unwrap();
    let mut tx = db::begin_write(&state.db).await.unwrap();
    for i in 0..n {
        let username = format!("guest{i:05}");
        let email = format!("{username}@example.com");
        let id = db::guests::insert(
            &mut *tx,
            &db::guests::NewGuest {
                username: &username,
                password_hash: &hash,
                state: GuestState::Created,
                first_name: "Guest",
                last_name: "Visitor",
                email: &email,
                company: "Contoso",
                person_visited: "host@contoso.com",
                guest_type_id: 2,
                valid_from: now,
                valid_until: now + 86_400,
                sponsor: None,
                sponsor_email: None,
                portal: "Sponsor Portal (default)",
                registered_ip: None,
                sponsor_id: None,
                sponsor_group_id: None,
                extras: &extras,
                approval_deadline: None,
                language: "",
            },
            now,
        )
        .await
        .unwrap();
        state
            .vault
            .put_in(
                &mut *tx,
                PASSWORD_PURPOSE,
                &id.to_string(),
                &Secret::new(format!("Pw{i:06}")),
                now,
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}
