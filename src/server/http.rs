//! Start-up: state, the first admin, the axum router and its handlers.

use crate::app::{App, shell};
use crate::domain::Secret;
use crate::domain::deployment::Persona;
use crate::server::assets::StaticFiles;
use crate::server::clock::{Clock, SystemClock};
use crate::server::db;
use crate::server::service::{Caller, ServiceError, admins, logs};
use crate::server::vault::Vault;
use crate::server::{AppState, Config};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use std::path::Path;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

pub const ADMIN_PASSWORD_ENV: &str = "MAILROOM_ADMIN_PASSWORD";

/// What the router's handlers share: the console's state, and the options
/// the pages are rendered and served with.
#[derive(Clone, FromRef)]
pub struct WebState {
    pub app: AppState,
    pub leptos_options: LeptosOptions,
    pub files: StaticFiles,
}

/// Opens the database and vault in `data_dir` and builds the shared state.
pub async fn build_state(
    data_dir: &Path,
    database: &db::Location,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(data_dir)?;
    let db = db::open(database).await?;
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
    let config = Config::new(data_dir.to_path_buf())?;
    let mailer = Arc::new(crate::server::mail::Mailer::new(
        crate::server::mail::MailConfig::from_env(),
        clock.clone(),
        &config.instance,
    ));
    Ok(AppState {
        db,
        vault: Arc::new(vault),
        mailer,
        clock,
        config: Arc::new(config),
        log_levels,
        primary: Arc::default(),
        personas: Arc::new(std::sync::atomic::AtomicU8::new(
            crate::domain::deployment::Personas::EVERY.bits(),
        )),
        tls: Arc::default(),
    })
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// On an empty database, creates the Super Admin `admin`. Its password comes
/// from `MAILROOM_ADMIN_PASSWORD`, or is generated and returned so the caller
/// prints it once; only its argon2id hash is stored.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<Option<Secret>> {
    let password = std::env::var(ADMIN_PASSWORD_ENV)
        .ok()
        .filter(|value| !value.is_empty())
        .map(Secret::new);
    admins::create_first_admin(state, password)
        .await
        .map_err(|e| anyhow::anyhow!("{ADMIN_PASSWORD_ENV}: {e}"))
}

/// A service's refusal as a plain handler's answer.
impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let status = match &self {
            ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Invalid(_) | ServiceError::Conflict(_) => StatusCode::BAD_REQUEST,
            ServiceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

async fn server_fn_handler(
    State(state): State<AppState>,
    request: Request<Body>,
) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await
}

async fn page_handler(State(state): State<WebState>, request: Request<Body>) -> Response {
    let WebState {
        app,
        leptos_options,
        ..
    } = state;
    // A console page without a session goes to sign-in at once, as HTML
    // anyone can read, rather than as a blank page the wasm redirects.
    let (mut parts, body) = request.into_parts();
    if needs_admin_session(parts.uri.path()) {
        use axum::extract::OptionalFromRequestParts;
        let caller =
            <Caller as OptionalFromRequestParts<AppState>>::from_request_parts(&mut parts, &app)
                .await;
        if let Ok(Some(caller)) = &caller {
            parts.extensions.insert(caller.clone());
        }
        if matches!(caller, Ok(None) | Err(ServiceError::Unauthenticated)) {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            let location = format!("/login?next={}", crate::domain::percent_encode(&next));
            return (StatusCode::SEE_OTHER, [(http::header::LOCATION, location)]).into_response();
        }
    }
    let request = Request::from_parts(parts, body);
    // A fresh nonce per page: the hydration scripts carry it, and the
    // Content-Security-Policy allows no other inline script.
    let nonce = leptos::nonce::Nonce::new();
    let policy = content_security_policy(&nonce);
    // Async: the whole page is rendered before it is sent, so it works
    // (reads, links, GET forms) before or without the wasm.
    let handler = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(app.clone());
            provide_context(nonce.clone());
        },
        move || shell(leptos_options.clone()),
    );
    let mut response = handler(request).await.into_response();
    if let Ok(policy) = http::HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_SECURITY_POLICY, policy);
    }
    // Admin pages show configuration: keep them out of shared caches and history.
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// What a console page may load and run: its own files, the wasm, and only
/// the inline scripts that carry this response's nonce (the hydration
/// scripts). Styles may be inline (email previews carry their own).
fn content_security_policy(nonce: &leptos::nonce::Nonce) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Download Logs: every log file in one zip, for admins who may change
/// system settings (logs name hosts, admins and recipients). Audited.
async fn download_logs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ServiceError> {
    let archive = logs::download(&state, &caller).await?;
    Ok((
        [
            (http::header::CONTENT_TYPE, "application/zip".to_string()),
            (
                http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", archive.file_name),
            ),
            (http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        archive.zip,
    )
        .into_response())
}

/// Versioned static files: `/assets/<version>/…`, cached for a year.
async fn versioned_asset(State(files): State<StaticFiles>, request: Request<Body>) -> Response {
    files.versioned(request).await
}

/// Anything no route takes: a file of the site folder (revalidated on every
/// use), or the console's "not found" page.
async fn site_file_or_not_found(State(state): State<WebState>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let mut probe = Request::new(Body::empty());
    *probe.method_mut() = parts.method.clone();
    *probe.uri_mut() = parts.uri.clone();
    *probe.headers_mut() = parts.headers.clone();
    if let Some(response) = state.files.unversioned(probe).await {
        return response;
    }
    let app = state.app.clone();
    let not_found = leptos_axum::file_and_error_handler_with_context::<WebState, _>(
        move || provide_context(app.clone()),
        shell,
    );
    let uri = parts.uri.clone();
    not_found(uri, State(state), Request::from_parts(parts, body)).await
}

/// Server-rendered pages and server-function answers are compressed when the
/// client accepts it and they are big enough to gain (static files come
/// compressed from the build instead). Fast gzip only: brotli's encoder
/// costs more to set up than a page costs to render (BENCHMARKS.md).
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::Predicate;
    use tower_http::compression::predicate::{NotForContentType, SizeAbove};
    tower_http::compression::CompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(
            SizeAbove::new(1024)
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE)
                .and(NotForContentType::const_new("application/zip")),
        )
}

/// The whole HTTP surface: pages, server functions under /api, static files.
pub fn router(app: AppState, leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let files = StaticFiles::open(
        Path::new(&*leptos_options.site_root),
        &leptos_options.site_pkg_dir,
    );
    let state = WebState {
        app,
        leptos_options,
        files,
    };
    Router::new()
        .route(
            "/api/{*fn_name}",
            post(server_fn_handler).get(server_fn_handler),
        )
        .route(crate::domain::logs::LOGS_ZIP_PATH, get(download_logs))
        .leptos_routes_with_handler(routes, get(page_handler))
        .layer(axum::middleware::from_fn_with_state(
            state.app.clone(),
            persona_gate,
        ))
        .route(
            "/ers/{*path}",
            axum::routing::any(crate::server::ers::entry).with_state(state.app.clone()),
        )
        .layer(compression())
        .route(
            &format!("{}{{*file}}", crate::server::assets::PREFIX),
            get(versioned_asset),
        )
        .fallback(site_file_or_not_found)
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
        .layer(axum::middleware::from_fn_with_state(
            state.app.clone(),
            crate::server::edge::guard,
        ))
        // The last line of defence: a handler that panics answers 500 (the
        // panic hook has logged one line) instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server could not complete the request. Details are in the server log.",
                )
                    .into_response()
            },
        ))
        .with_state(state)
}

/// The persona a page needs: the guest and sponsor portals are the Policy
/// Service's, everything else (the admin console and its sign-in) the
/// Administration's. Server functions check their caller's session instead.
pub fn persona_for_page(path: &str) -> Option<Persona> {
    let portal = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path.starts_with(crate::server::assets::PREFIX)
        || path == "/favicon.ico"
        || path == "/favicon.svg"
    {
        None
    } else if portal("/portal") || portal("/sponsor") {
        Some(Persona::PolicyService)
    } else {
        Some(Persona::Administration)
    }
}

/// Console pages (not the sign-in pages) need an admin session.
fn needs_admin_session(path: &str) -> bool {
    persona_for_page(path) == Some(Persona::Administration)
        && path != "/login"
        && !path.starts_with("/login/")
}

/// Answers a page this node does not serve (an admin removed the persona
/// on the Deployment page) with 503 and where to go instead.
async fn persona_gate(
    State(app): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match persona_for_page(request.uri().path()) {
        Some(persona) if !app.has_persona(persona) => {
            let body = format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not served on this node</title></head>\
                 <body><h1>Not served on this node</h1><p>Node {} does not have the {} persona, so it does not serve this page. \
                 Use a node that has it; Administration &gt; System &gt; Deployment lists them.</p></body></html>",
                crate::domain::template::escape_html(&app.config.node_name),
                persona.label()
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response()
        }
        _ => next.run(request).await,
    }
}

/// Every minute: deletes idle sessions and forgotten sign-in failures and
/// devices, and logs the sign-in lockouts that have ended.
pub fn spawn_session_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = sweep_sessions_and_lockouts(&state).await {
                tracing::warn!(target: "admin-access", "could not sweep sessions and sign-in failures: {e}");
            }
        }
    });
}

pub async fn sweep_sessions_and_lockouts(state: &AppState) -> sqlx::Result<()> {
    use crate::server::throttle;
    let now = state.now();
    db::sessions::delete_idle(&state.db, now - state.config.session_idle.as_secs() as i64).await?;
    for (key, ended_at) in db::sign_in_failures::take_ended_locks(&state.db, now).await? {
        crate::server::service::sessions::announce_lock(state, &key, "", now, ended_at, false)
            .await;
    }
    let window = throttle::LONGEST_WINDOW.as_secs() as i64;
    db::sign_in_failures::forget_before(&state.db, now - window, now).await?;
    db::trusted_devices::forget_before(&state.db, now - throttle::DEVICE_TRUST.as_secs() as i64)
        .await?;
    Ok(())
}
