//! The build's static files and the pages' bytes on the wire: versioned
//! URLs cached for good, precompressed variants by Accept-Encoding,
//! revalidation (304) for unversioned files, compressed pages, and one
//! load of each piece of data per page render.
//!
//! One test function: the pages link the first site folder a process
//! opens, so this binary opens exactly one.

mod common;

use axum::Router;
use axum::body::Body;
use common::app::build_state;
use http::{HeaderMap, Request, StatusCode, header};
use leptos::config::LeptosOptions;
use mailroom::server::http::{router, system_clock};
use std::io::Read;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(app: &Router, path: &str, headers: &[(header::HeaderName, &str)]) -> Answer {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip body");
    text
}

/// `href="…"` / `src="…"` values in `html` that name `file`.
fn links_to(html: &str, file: &str) -> Vec<String> {
    html.split('"')
        .filter(|part| part.ends_with(file) && part.starts_with('/'))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn static_files_are_versioned_precompressed_cached_and_pages_compressed() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let css = "body { color: #333; }\n".repeat(200);
    std::fs::write(pkg.join("mailroom.css"), &css).unwrap();
    std::fs::write(pkg.join("mailroom.css.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("mailroom.css.gz"), b"gzip bytes").unwrap();
    std::fs::write(site.path().join("favicon.svg"), "<svg/>").unwrap();

    let data = tempfile::tempdir().unwrap();
    let state = build_state(data.path(), system_clock()).await.unwrap();
    common::app::seed_admins(&state).await;
    let options = LeptosOptions::builder()
        .output_name("mailroom")
        .site_root(site.path().to_string_lossy().to_string())
        .build();
    let app = router(state, options);

    // The sign-in page links the stylesheet and the scripts under the
    // build's version, and is compressed for a client that accepts gzip.
    let login = get(&app, "/login", &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.header(header::CONTENT_ENCODING), "gzip");
    let html = gunzip(&login.body);
    assert!(html.contains("<form"), "{html}");
    let stylesheets = links_to(&html, "/pkg/mailroom.css");
    assert_eq!(stylesheets.len(), 1, "{html}");
    let stylesheet = &stylesheets[0];
    let version = stylesheet
        .strip_prefix("/assets/")
        .and_then(|rest| rest.strip_suffix("/pkg/mailroom.css"))
        .expect("a versioned stylesheet link");
    assert_eq!(version.len(), 16, "{stylesheet}");
    assert!(version.chars().all(|c| c.is_ascii_hexdigit()), "{version}");
    assert_eq!(
        links_to(&html, "/pkg/mailroom.js"),
        vec![format!("/assets/{version}/pkg/mailroom.js")],
        "{html}"
    );
    assert_eq!(
        links_to(&html, "/favicon.svg"),
        vec![format!("/assets/{version}/favicon.svg")]
    );
    // Without Accept-Encoding the page is plain.
    let plain = get(&app, "/login", &[]).await;
    assert_eq!(plain.header(header::CONTENT_ENCODING), "");
    assert!(plain.text().contains("<form"));

    // A versioned file: the precompressed variant the client prefers, with
    // the headers that let the browser keep it for a year.
    for (accept, expected, encoding) in [
        ("br, gzip", b"brotli bytes".to_vec(), "br"),
        ("gzip", b"gzip bytes".to_vec(), "gzip"),
        ("", css.clone().into_bytes(), ""),
    ] {
        let answer = get(&app, stylesheet, &[(header::ACCEPT_ENCODING, accept)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{accept}");
        assert_eq!(answer.body, expected, "{accept}");
        assert_eq!(
            answer.header(header::CONTENT_ENCODING),
            encoding,
            "{accept}"
        );
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(answer.header(header::VARY), "accept-encoding");
        assert!(answer.header(header::CONTENT_TYPE).starts_with("text/css"));
    }
    // Another build's version is not served as this one's.
    let stale = get(&app, "/assets/0123456789abcdef/pkg/mailroom.css", &[]).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
    let traversal = get(&app, &format!("/assets/{version}/../Cargo.toml"), &[]).await;
    assert_ne!(traversal.status, StatusCode::OK);

    // The unversioned path is revalidated each time: 304 when unchanged.
    let unversioned = get(&app, "/pkg/mailroom.css", &[]).await;
    assert_eq!(unversioned.status, StatusCode::OK);
    assert_eq!(unversioned.header(header::CACHE_CONTROL), "no-cache");
    let last_modified = unversioned.header(header::LAST_MODIFIED).to_string();
    assert!(!last_modified.is_empty());
    let again = get(
        &app,
        "/pkg/mailroom.css",
        &[(header::IF_MODIFIED_SINCE, last_modified.as_str())],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());

    // A path that is neither a page nor a file is the console's 404 page.
    let missing = get(&app, "/pkg/no-such-file.js", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // A signed-in page: each piece of data loaded once per render (a
    // Suspense around the page would build it, and load its data, again
    // at each of its passes).
    let cookie = common::app::sign_in(&app, "root").await;
    let smtp = get(
        &app,
        "/administration/system/settings/smtp-server",
        &[(header::COOKIE, cookie.as_str())],
    )
    .await;
    assert_eq!(smtp.status, StatusCode::OK);
    let html = smtp.text();
    let resources = html.matches("__RESOLVED_RESOURCES[").count();
    // The signed-in admin, the SMTP settings, the sending limits.
    assert_eq!(resources, 3, "{html}");
}
