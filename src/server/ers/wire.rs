//! ERS's envelopes: requests' bodies and queries read strictly (a wrong
//! type is a 400 naming the field), answers written as ISE writes them.

use crate::server::AppState;
use crate::server::edge::ClientAddress;
use crate::server::service::{Caller, ServiceError};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value, json};

/// One request, authenticated.
pub struct Ctx {
    pub app: AppState,
    pub caller: Caller,
    /// A sponsor calling the Guest REST API (`guestuser` only).
    pub sponsor: Option<crate::server::service::sponsors::SponsorCaller>,
    /// `scheme://host[:port]` as the client addressed the console.
    pub base: String,
    pub method: Method,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl Ctx {
    /// The absolute URL of `path` under `/ers/config/`.
    pub fn href(&self, path: &str) -> String {
        format!("{}/ers/config/{path}", self.base)
    }

    pub fn link(&self, path: &str) -> Value {
        json!({"rel": "self", "href": self.href(path), "type": "application/json"})
    }

    /// The body's object inside `envelope` (or `OperationAdditionalData`);
    /// an empty body is an empty object.
    pub fn body_object(&self, envelope: &str) -> Result<Map<String, Value>, ErsError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        let value: Value = serde_json::from_slice(&self.body).map_err(|e| {
            ErsError::bad(format!(
                "The request body is not valid JSON ({e}); send {{\"{envelope}\": {{...}}}}."
            ))
        })?;
        let Value::Object(mut outer) = value else {
            return Err(ErsError::bad(format!(
                "The request body must be a JSON object: {{\"{envelope}\": {{...}}}}."
            )));
        };
        for name in [envelope, "OperationAdditionalData"] {
            if let Some(inner) = outer.remove(name) {
                return match inner {
                    Value::Object(map) => Ok(map),
                    Value::Null => Ok(Map::new()),
                    _ => Err(ErsError::bad(format!("{name} must be a JSON object."))),
                };
            }
        }
        if outer.is_empty() {
            return Ok(Map::new());
        }
        Err(ErsError::bad(format!(
            "Expected the {envelope} envelope: {{\"{envelope}\": {{...}}}}."
        )))
    }

    /// The `name` entry of `OperationAdditionalData.additionalData`; `None`
    /// when the body is empty or another envelope (3.5.0 sends the
    /// resource's own on operation paths).
    pub fn additional(&self, name: &str) -> Result<Option<String>, ErsError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(&self.body)
            .map_err(|e| ErsError::bad(format!("The request body is not valid JSON ({e}).")))?;
        let Some(object) = value.get("OperationAdditionalData") else {
            return Ok(None);
        };
        let Some(list) = object.get("additionalData") else {
            return Ok(None);
        };
        let Value::Array(items) = list else {
            return Err(ErsError::bad(
                "additionalData must be a list of {name, value}.",
            ));
        };
        for item in items {
            if item.get("name").and_then(Value::as_str) == Some(name) {
                return match item.get("value") {
                    Some(Value::String(v)) => Ok(Some(v.clone())),
                    Some(Value::Null) | None => Ok(None),
                    Some(other) => Ok(Some(other.to_string())),
                };
            }
        }
        Ok(None)
    }
}

/// What a handler answers.
pub enum Reply {
    Json(StatusCode, Value),
    Status(StatusCode),
    /// 201 with `Location`.
    Created(String),
}

impl Reply {
    pub fn ok(value: Value) -> Reply {
        Reply::Json(StatusCode::OK, value)
    }

    pub fn into_response(self) -> Response {
        match self {
            Reply::Json(status, value) => (
                status,
                [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
                value.to_string(),
            )
                .into_response(),
            Reply::Status(status) => status.into_response(),
            Reply::Created(location) => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::CREATED;
                if let Ok(value) = http::HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                response
            }
        }
    }
}

/// An `ERSResponse` error.
#[derive(Debug, Clone)]
pub struct ErsError {
    pub status: StatusCode,
    pub title: String,
    pub code: &'static str,
    /// 401: ask for Basic credentials.
    pub challenge: bool,
}

impl ErsError {
    pub fn new(status: StatusCode, title: impl Into<String>, code: &'static str) -> ErsError {
        ErsError {
            status,
            title: title.into(),
            code,
            challenge: false,
        }
    }

    pub fn bad(title: impl Into<String>) -> ErsError {
        ErsError::new(
            StatusCode::BAD_REQUEST,
            title,
            "Application resource validation exception",
        )
    }

    pub fn crud(title: impl Into<String>) -> ErsError {
        ErsError::new(StatusCode::BAD_REQUEST, title, "CRUD operation exception")
    }

    pub fn not_found(title: impl Into<String>) -> ErsError {
        ErsError::new(StatusCode::NOT_FOUND, title, "Resource not found exception")
    }

    pub fn unauthorized(title: impl Into<String>) -> ErsError {
        ErsError {
            challenge: true,
            ..ErsError::new(StatusCode::UNAUTHORIZED, title, "Unauthorized")
        }
    }

    pub fn internal() -> ErsError {
        ErsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not complete the request. Details are in the server log.",
            "Internal error",
        )
    }

    pub fn respond(self, operation: &str, link: &str) -> Response {
        let body = json!({"ERSResponse": {
            "operation": operation,
            "messages": [{"title": self.title, "type": "ERROR", "code": self.code}],
            "link": {"rel": "related", "href": link, "type": "application/json"},
        }});
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            body.to_string(),
        )
            .into_response();
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"Mailroom ERS\""),
            );
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, http::HeaderValue::from_static("30"));
        }
        response
    }
}

impl From<ServiceError> for ErsError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unauthenticated => ErsError::unauthorized(error.to_string()),
            ServiceError::Forbidden => ErsError::new(
                StatusCode::FORBIDDEN,
                "Your admin role does not allow this ERS operation (ERS Operator reads only; ERS Admin and Super Admin write).",
                "Forbidden",
            ),
            ServiceError::Invalid(field) => {
                let message = if field.message.contains(&field.field) {
                    field.message
                } else {
                    format!("Invalid {}: {}", field.field, field.message)
                };
                ErsError::bad(message)
            }
            ServiceError::NotFound(message) => ErsError::not_found(message),
            ServiceError::Conflict(message) => ErsError::crud(message),
            ServiceError::Throttled(message) => {
                ErsError::new(StatusCode::TOO_MANY_REQUESTS, message, "Too many requests")
            }
            ServiceError::Unavailable(message) => ErsError::crud(message),
            ServiceError::Internal => ErsError::internal(),
        }
    }
}

impl From<sqlx::Error> for ErsError {
    fn from(error: sqlx::Error) -> Self {
        ServiceError::from(error).into()
    }
}

/// ISE's operation label, e.g. `POST-create-guestuser`.
pub fn operation_name(method: &Method, segments: &[String]) -> String {
    let resource = segments.get(1).map_or("", String::as_str);
    let verb = match (method.as_str(), segments.len()) {
        ("GET", 2) => "getall",
        ("GET", _) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => "unknown",
    };
    format!("{}-{verb}-{resource}", method.as_str())
}

/// `scheme://host[:port]` as the client addressed the console.
pub fn base_url(request: &Request) -> String {
    let over_tls = request
        .extensions()
        .get::<ClientAddress>()
        .is_some_and(|c| c.over_tls);
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(request.uri().authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("{}://{host}", if over_tls { "https" } else { "http" })
}

/// JSON only: another Content-Type or an Accept that rules JSON out is a
/// 415.
pub fn check_media_types(headers: &HeaderMap) -> Result<(), ErsError> {
    let unsupported = |what: &str| {
        ErsError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("{what}: this console's ERS API speaks application/json only."),
            "Unsupported media type",
        )
    };
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let value = content_type.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = value.split(';').next().unwrap_or("").trim();
        if !essence.is_empty() && essence != "application/json" {
            return Err(unsupported(&format!("Content-Type {essence}")));
        }
    }
    if let Some(accept) = headers.get(header::ACCEPT) {
        let value = accept.to_str().unwrap_or("").to_ascii_lowercase();
        let acceptable = value.split(',').any(|part| {
            let essence = part.split(';').next().unwrap_or("").trim();
            matches!(essence, "" | "*/*" | "application/*" | "application/json")
        });
        if !acceptable {
            return Err(unsupported(&format!("Accept {value}")));
        }
    }
    Ok(())
}

/// The query's pairs, form-decoded (`+` is a space), keys repeated.
pub fn query_pairs(uri: &http::Uri) -> Result<Vec<(String, String)>, ErsError> {
    let Some(query) = uri.query() else {
        return Ok(Vec::new());
    };
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ErsError::bad("The query string is malformed."))?,
    )
    .map(|q| q.0)
    .map_err(|_| ErsError::bad("The query string is malformed."))
}

/// A collection request's paging, filters and sort.
#[derive(Debug, Clone)]
pub struct Search {
    pub page: i64,
    pub size: i64,
    /// (field, operator, value), split on the first two dots.
    pub filters: Vec<(String, crate::server::db::ers::Op, String)>,
    pub any: bool,
    /// (field, ascending)
    pub sort: Option<(String, bool)>,
}

impl Search {
    pub fn parse(query: &[(String, String)]) -> Result<Search, ErsError> {
        let mut search = Search {
            page: 1,
            size: 20,
            filters: Vec::new(),
            any: false,
            sort: None,
        };
        for (key, value) in query {
            match key.as_str() {
                "page" => {
                    search.page =
                        value
                            .trim()
                            .parse()
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or_else(|| {
                                ErsError::bad(format!(
                                    "page '{value}' must be a whole number from 1."
                                ))
                            })?;
                }
                "size" => {
                    search.size = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|s| (1..=100).contains(s))
                        .ok_or_else(|| {
                            ErsError::bad(format!(
                                "size '{value}' must be a whole number from 1 to 100."
                            ))
                        })?;
                }
                "filter" => {
                    let mut parts = value.splitn(3, '.');
                    let (Some(field), Some(op), Some(operand)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(ErsError::bad(format!(
                            "filter '{value}' must be field.OPERATOR.value, e.g. name.EQ.ada"
                        )));
                    };
                    let op = crate::server::db::ers::Op::parse(op).ok_or_else(|| {
                        ErsError::bad(format!(
                            "filter '{value}': the operator must be one of EQ, NEQ, GT, LT, STARTSW, NSTARTSW, ENDSW, NENDSW, CONTAINS, NCONTAINS."
                        ))
                    })?;
                    search
                        .filters
                        .push((field.to_string(), op, operand.to_string()));
                }
                "filterType" => {
                    search.any = match value.to_ascii_lowercase().as_str() {
                        "or" => true,
                        "and" => false,
                        _ => return Err(ErsError::bad("filterType must be and or or.")),
                    }
                }
                "sortasc" => search.sort = Some((value.clone(), true)),
                "sortdsc" => search.sort = Some((value.clone(), false)),
                _ => {}
            }
        }
        Ok(search)
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.size)
    }
}

/// A `SearchResult`: one page of `items` out of `total`, with links to the
/// pages around it that keep the caller's other parameters.
pub fn search_result(
    ctx: &Ctx,
    resource: &str,
    search: &Search,
    total: i64,
    items: Vec<Value>,
) -> Value {
    let page_link = |page: i64| {
        let mut pairs: Vec<(String, String)> = ctx
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "size")
            .cloned()
            .collect();
        pairs.push(("size".into(), search.size.to_string()));
        pairs.push(("page".into(), page.to_string()));
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        json!({"rel": if page > search.page { "next" } else { "previous" },
               "href": format!("{}?{query}", ctx.href(resource)),
               "type": "application/json"})
    };
    let mut result = Map::new();
    result.insert("total".into(), json!(total));
    result.insert("resources".into(), Value::Array(items));
    if search.page.saturating_mul(search.size) < total {
        result.insert("nextPage".into(), page_link(search.page + 1));
    }
    if search.page > 1 {
        let last = ((total + search.size - 1) / search.size).max(1);
        result.insert(
            "previousPage".into(),
            page_link((search.page - 1).min(last)),
        );
    }
    json!({"SearchResult": result})
}

/// Form-encodes a query value as `requests` does (`+` for a space).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A collection item.
pub fn summary(ctx: &Ctx, resource: &str, id: &str, name: &str, description: &str) -> Value {
    let mut item = Map::new();
    item.insert("id".into(), json!(id));
    item.insert("name".into(), json!(name));
    if !description.is_empty() {
        item.insert("description".into(), json!(description));
    }
    item.insert("link".into(), ctx.link(&format!("{resource}/{id}")));
    Value::Object(item)
}

/// Reads typed fields out of a request object by dotted path.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl Fields<'_> {
    fn at(&self, path: &str) -> Result<Option<&Value>, ErsError> {
        let mut parts = path.split('.');
        let first = parts.next().unwrap_or_default();
        let mut current = match self.0.get(first) {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v,
        };
        for part in parts {
            match current {
                Value::Object(map) => match map.get(part) {
                    None | Some(Value::Null) => return Ok(None),
                    Some(v) => current = v,
                },
                _ => {
                    return Err(ErsError::bad(format!(
                        "Invalid type for {path}: its parent must be a JSON object."
                    )));
                }
            }
        }
        Ok(Some(current))
    }

    pub fn text(&self, path: &str) -> Result<Option<String>, ErsError> {
        match self.at(path)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ErsError::bad(format!(
                "Invalid type for {path}: expected a string."
            ))),
        }
    }

    pub fn boolean(&self, path: &str) -> Result<Option<bool>, ErsError> {
        match self.at(path)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ErsError::bad(format!(
                "Invalid type for {path}: expected true or false."
            ))),
        }
    }

    /// A whole number, sent as a JSON number or as a string of digits
    /// (ERS sends ports and timeouts as strings).
    pub fn integer(&self, path: &str) -> Result<Option<i64>, ErsError> {
        let invalid = |shown: String| {
            ErsError::bad(format!(
                "Invalid value for {path}: '{shown}' is not a whole number."
            ))
        };
        match self.at(path)? {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| invalid(n.to_string())),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid(s.clone())),
            Some(other) => Err(invalid(other.to_string())),
        }
    }

    pub fn strings(&self, path: &str) -> Result<Option<Vec<String>>, ErsError> {
        match self.at(path)? {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        ErsError::bad(format!(
                            "Invalid type for {path}: expected a list of strings."
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ErsError::bad(format!(
                "Invalid type for {path}: expected a list of strings."
            ))),
        }
    }
}

/// `MM/dd/yyyy HH:mm` (UTC) as ISE writes guest access dates.
pub fn format_date(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:02}/{:02}/{:04} {:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            t.year(),
            t.hour(),
            t.minute()
        ),
        Err(_) => String::new(),
    }
}

/// Reads `MM/dd/yyyy HH:mm` (or `MM/dd/yyyy`) as UTC.
pub fn parse_date(field: &str, text: &str) -> Result<i64, ErsError> {
    let invalid = || {
        ErsError::bad(format!(
            "Invalid {field} '{text}': write MM/dd/yyyy HH:mm, e.g. 12/06/2026 14:05."
        ))
    };
    let text_trimmed = text.trim();
    let (date, clock) = text_trimmed
        .split_once(' ')
        .map_or((text_trimmed, "00:00"), |(d, c)| (d, c.trim()));
    let numbers = |s: &str, sep: char| -> Option<Vec<u32>> {
        s.split(sep).map(|p| p.parse::<u32>().ok()).collect()
    };
    let d = numbers(date, '/')
        .filter(|d| d.len() == 3)
        .ok_or_else(invalid)?;
    let c = numbers(clock, ':')
        .filter(|c| c.len() == 2)
        .ok_or_else(invalid)?;
    let month =
        time::Month::try_from(u8::try_from(d[0]).map_err(|_| invalid())?).map_err(|_| invalid())?;
    let day = time::Date::from_calendar_date(
        i32::try_from(d[2]).map_err(|_| invalid())?,
        month,
        u8::try_from(d[1]).map_err(|_| invalid())?,
    )
    .map_err(|_| invalid())?;
    let at = time::Time::from_hms(
        u8::try_from(c[0]).map_err(|_| invalid())?,
        u8::try_from(c[1]).map_err(|_| invalid())?,
        0,
    )
    .map_err(|_| invalid())?;
    Ok(time::PrimitiveDateTime::new(day, at)
        .assume_utc()
        .unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        let t = parse_date("fromDate", "12/06/2026 14:05").unwrap();
        assert_eq!(format_date(t), "12/06/2026 14:05");
        assert_eq!(
            parse_date("fromDate", "12/06/2026").unwrap(),
            t - 14 * 3600 - 5 * 60
        );
        for bad in [
            "2026-12-06",
            "13/01/2026 10:00",
            "02/30/2026 10:00",
            "12/06/2026 25:00",
            "",
            "1/1/99999999999 1:1",
        ] {
            assert!(parse_date("fromDate", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_split_on_the_first_two_dots_and_paging_is_bounded() {
        let query = vec![
            (
                "filter".to_string(),
                "emailAddress.EQ.ada.lovelace+x@example.com".to_string(),
            ),
            ("size".to_string(), "5".to_string()),
            ("page".to_string(), "3".to_string()),
        ];
        let search = Search::parse(&query).unwrap();
        assert_eq!(search.filters[0].0, "emailAddress");
        assert_eq!(search.filters[0].2, "ada.lovelace+x@example.com");
        assert_eq!(search.offset(), 10);
        for (key, value) in [
            ("size", "0"),
            ("size", "101"),
            ("page", "0"),
            ("page", "x"),
            ("filter", "name.LIKE.a"),
            ("filter", "name"),
        ] {
            assert!(
                Search::parse(&[(key.to_string(), value.to_string())]).is_err(),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn media_types_other_than_json_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/json;charset=utf-8".parse().unwrap(),
        );
        headers.insert(header::ACCEPT, "application/json".parse().unwrap());
        assert!(check_media_types(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "application/xml".parse().unwrap());
        assert_eq!(
            check_media_types(&headers).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        headers.insert(header::ACCEPT, "application/xml".parse().unwrap());
        assert_eq!(
            check_media_types(&headers).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
