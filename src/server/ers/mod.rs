//! ISE's External RESTful Services (ERS) API under `/ers/config/`, as
//! Cisco's `ciscoisesdk` calls it: Basic authentication on every request,
//! JSON bodies in ISE's envelopes, `SearchResult` paging and `ERSResponse`
//! errors. Only the wire format lives here; every rule is the service
//! layer's, the same the pages use.

mod auth;
mod guest_users;
pub mod openapi;
mod resources;
mod wire;

use crate::server::AppState;
use crate::server::service::{Caller, api_settings};
use axum::extract::{Request, State};
use axum::response::Response;
use http::{Method, StatusCode};
pub use resources::{SMTP_SETTINGS_ID, SPONSOR_PORTAL_ID};
pub use wire::ErsError;
use wire::{Ctx, Reply};

/// The largest body an ERS request may carry.
const MAX_BODY: usize = 256 * 1024;

/// Every `/ers/` request.
pub async fn entry(State(app): State<AppState>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let segments: Vec<String> = path
        .trim_start_matches("/ers/")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let resource = segments.get(1).cloned().unwrap_or_default();
    let operation = wire::operation_name(&method, &segments);
    let base = wire::base_url(&request);
    let link = format!("{base}/ers/config/{resource}");
    match handle(app, request, method, segments).await {
        Ok(reply) => reply,
        Err(error) => error.respond(&operation, &link),
    }
}

async fn handle(
    app: AppState,
    request: Request,
    method: Method,
    segments: Vec<String>,
) -> Result<Response, ErsError> {
    if segments == ["openapi.json"] && method == Method::GET {
        return Ok(Reply::ok(openapi::document()).into_response());
    }
    let settings = api_settings::current(&app).await.map_err(ErsError::from)?;
    if !settings.ers_enabled {
        return Err(ErsError::new(
            StatusCode::FORBIDDEN,
            "The ERS API is disabled. Turn on 'ERS (Read/Write)' under Administration > System > Settings > API Settings, or start the console with MAILROOM_ERS=on.",
            "Forbidden",
        ));
    }
    if segments.first().map(String::as_str) != Some("config") || segments.len() < 2 {
        return Err(ErsError::not_found(
            "No such ERS resource: the API is under /ers/config/.",
        ));
    }
    wire::check_media_types(request.headers())?;
    let client = request
        .extensions()
        .get::<crate::server::edge::ClientAddress>()
        .and_then(|c| c.ip)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let (caller, sponsor) = auth::caller(&app, request.headers(), &client).await?;
    let resource = segments[1].as_str();
    if let Some(sponsor) = &sponsor
        && resource != "guestuser"
        && segments.get(2).map(String::as_str) != Some("versioninfo")
    {
        return Err(ErsError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Sponsor '{}' may use only the guestuser resource (the Guest REST API).",
                sponsor.user.username
            ),
            "Forbidden",
        ));
    }
    let csrf = auth::csrf(
        &app,
        &caller,
        &method,
        request.headers(),
        settings.csrf_enabled,
    )
    .await?;
    let base = wire::base_url(&request);
    let query = wire::query_pairs(request.uri())?;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| ErsError::bad("The request body is over 256 KB or was cut off."))?;
    let ctx = Ctx {
        app,
        caller,
        sponsor,
        base,
        method,
        query,
        body,
    };
    let mut reply = dispatch(&ctx, &segments[1..]).await?;
    if let Some(token) = csrf {
        reply.headers_mut().insert(
            http::HeaderName::from_static("x-csrf-token"),
            http::HeaderValue::from_str(&token).map_err(|_| ErsError::internal())?,
        );
    }
    Ok(reply)
}

async fn dispatch(ctx: &Ctx, path: &[String]) -> Result<Response, ErsError> {
    let words: Vec<&str> = path.iter().map(String::as_str).collect();
    let reply: Reply = match words.as_slice() {
        [resource, "versioninfo"] => resources::version_info(ctx, resource)?,
        ["guestuser", rest @ ..] => guest_users::route(ctx, rest).await?,
        ["guesttype", rest @ ..] => resources::guest_types(ctx, rest).await?,
        ["guestsmtpnotificationsettings", rest @ ..] => resources::smtp(ctx, rest).await?,
        ["sponsorportal", rest @ ..] => resources::sponsor_portals(ctx, rest).await?,
        ["selfregportal", rest @ ..] => resources::self_reg_portals(ctx, rest).await?,
        ["sponsorgroup", rest @ ..] => resources::sponsor_groups(ctx, rest).await?,
        [other, ..] => {
            return Err(ErsError::not_found(format!(
                "ERS resource '{other}' is not served by this console."
            )));
        }
        [] => return Err(ErsError::not_found("Name an ERS resource.")),
    };
    Ok(reply.into_response())
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An answer with no body (operations, deletes): 204.
fn no_content() -> Reply {
    Reply::Status(StatusCode::NO_CONTENT)
}

/// Whether `caller` may write (an ERS Operator may not): 403 otherwise.
fn require_write(caller: &Caller) -> Result<(), ErsError> {
    caller
        .require(crate::domain::Access::ErsWrite)
        .map_err(ErsError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(percent_decode("ada%2Blovelace"), "ada+lovelace");
        assert_eq!(percent_decode("a%zzb"), "a%zzb");
        assert_eq!(percent_decode("end%4"), "end%4");
        assert_eq!(percent_decode("%é%41"), "%éA");
    }
}
