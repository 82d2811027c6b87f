//! Start-up: state, the first admin, the axum router and its handlers.

use crate::app::{App, shell};
use crate::domain::{AdminPassword, Role, Secret};
use crate::server::auth::{generate_password, hash_password};
use crate::server::clock::{Clock, SystemClock, unix};
use crate::server::db;
use crate::server::throttle::LoginThrottle;
use crate::server::vault::Vault;
use crate::server::{AppState, Config};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use std::path::Path;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

pub const ADMIN_PASSWORD_ENV: &str = "MAILROOM_ADMIN_PASSWORD";

/// Opens the database and vault in `data_dir` and builds the shared state.
pub async fn build_state(
    data_dir: &Path,
    leptos_options: LeptosOptions,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(data_dir)?;
    let db = db::open(data_dir).await?;
    let vault = Vault::open(db.clone(), data_dir).await?;
    db::portals::ensure_default(&db, clock.now().unix_timestamp()).await?;
    db::alarms::ensure_catalogue(&db, clock.now().unix_timestamp()).await?;
    let log_levels = Arc::new(crate::server::logging::LogLevels::default());
    // Levels an admin set on Debug Log Configuration survive restarts.
    for (component, level) in db::log_levels::all(&db).await? {
        if let Some(level) = crate::server::logging::LogLevel::parse(&level) {
            log_levels.set(&component, level);
        }
    }
    let mailer = Arc::new(crate::server::mail::Mailer::new(
        crate::server::mail::MailConfig::from_env(),
        clock.clone(),
    ));
    Ok(AppState {
        leptos_options,
        db,
        vault: Arc::new(vault),
        mailer,
        clock,
        throttle: Arc::new(LoginThrottle::default()),
        config: Arc::new(Config::new(data_dir.to_path_buf())),
        test_gate: Arc::default(),
        log_levels,
    })
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// On an empty database, creates the Super Admin `admin`. Its password comes
/// from `MAILROOM_ADMIN_PASSWORD`, or is generated and returned so the caller
/// prints it once; only its argon2id hash is stored.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<Option<Secret>> {
    if db::admins::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match std::env::var(ADMIN_PASSWORD_ENV) {
        Ok(value) if !value.is_empty() => {
            AdminPassword::check(ADMIN_PASSWORD_ENV, &value, "admin")
                .map_err(|e| anyhow::anyhow!("{ADMIN_PASSWORD_ENV}: {}", e.message))?;
            (Secret::new(value), false)
        }
        _ => (generate_password(), true),
    };
    let hash = hash_password(&password)?;
    let now = unix(state.clock.now());
    db::admins::insert(
        &state.db,
        &db::admins::NewAdmin {
            name: "admin",
            email: None,
            first_name: "",
            last_name: "",
            description: "Default admin user",
            role: Role::SuperAdmin,
            enabled: true,
            include_alarm_emails: false,
            password_hash: &hash,
        },
        now,
    )
    .await?;
    tracing::info!(target: "admin-access", user = "admin", "created the first Super Admin 'admin'");
    Ok(generated.then_some(password))
}

async fn server_fn_handler(
    State(state): State<AppState>,
    request: Request<Body>,
) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await
}

async fn page_handler(State(state): State<AppState>, request: Request<Body>) -> Response {
    let options = state.leptos_options.clone();
    // Async: the whole page is rendered before it is sent, so it works
    // (reads, links, GET forms) before or without the wasm.
    let handler = leptos_axum::render_app_async_with_context(
        move || provide_context(state.clone()),
        move || shell(options.clone()),
    );
    let mut response = handler(request).await.into_response();
    // Admin pages show configuration: keep them out of shared caches and history.
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Download Logs: every log file in one zip, for admins who may change
/// system settings (logs name hosts, admins and recipients). Audited.
async fn download_logs(State(state): State<AppState>, request: Request<Body>) -> Response {
    use crate::domain::Access;
    use crate::server::{auth, logging};
    use http::StatusCode;
    let (parts, _) = request.into_parts();
    let caller = match auth::current_caller(&state, &parts).await {
        Ok(Some(caller)) => caller,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Sign in first.").into_response(),
        Err(e) => {
            tracing::error!(target: "admin-access", "download logs: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if !caller.role().allows(Access::ChangeSystemSettings) {
        return (
            StatusCode::FORBIDDEN,
            "Your admin role does not allow this action.",
        )
            .into_response();
    }
    let dir = logging::log_dir(&state.config.data_dir);
    let zipped = tokio::task::spawn_blocking(move || logging::zip_logs(&dir)).await;
    let bytes = match zipped {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            tracing::error!(target: "admin-access", "download logs: {e:#}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Err(e) => {
            tracing::error!(target: "admin-access", "download logs: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let now = unix(state.clock.now());
    let audited: anyhow::Result<()> = async {
        db::audit::insert(
            &state.db,
            &db::audit::AuditRow {
                at: now,
                admin: caller.admin.name.clone(),
                client_ip: caller.client_ip.clone(),
                action: "download".into(),
                target: "Debug Logs".into(),
                changed_fields: String::new(),
            },
        )
        .await?;
        Ok(())
    }
    .await;
    if let Err(e) = audited {
        tracing::error!(target: "admin-access", "download logs: {e}");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let file_name = format!("mailroom-logs-{}-{now}.zip", state.config.node_name);
    (
        [
            (http::header::CONTENT_TYPE, "application/zip".to_string()),
            (
                http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// The whole HTTP surface: pages, server functions under /api, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let fallback_state = state.clone();
    Router::new()
        .route(
            "/api/{*fn_name}",
            post(server_fn_handler).get(server_fn_handler),
        )
        .route(crate::api::logs::LOGS_ZIP_PATH, get(download_logs))
        .leptos_routes_with_handler(routes, get(page_handler))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(fallback_state.clone()), shell
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::X_FRAME_OPTIONS,
            http::HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::X_CONTENT_TYPE_OPTIONS,
            http::HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::REFERRER_POLICY,
            http::HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// Deletes idle sessions now and then, so the table does not grow forever.
pub fn spawn_session_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let idle_before = unix(state.clock.now()) - state.config.session_idle.as_secs() as i64;
            if let Err(e) = db::sessions::delete_idle(&state.db, idle_before).await {
                tracing::warn!(target: "admin-access", "could not sweep idle sessions: {e}");
            }
        }
    });
}
