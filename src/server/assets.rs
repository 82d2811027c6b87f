//! The build's static files (wasm, JS, CSS, icons): served precompressed
//! (brotli, gzip) when the build made `.br`/`.gz` siblings
//! (`cargo leptos build --precompress`), and cached by the browser.
//!
//! The pages link every file under `/assets/<version>/`, where the version
//! is a hash of the site's contents. Such a URL always names the same bytes,
//! so it is cached for a year without revalidation; a new build has a new
//! version and new URLs. Nodes running the same build link the same URLs.
//! Anything else from the site folder (`/pkg/…`, `/favicon.svg`) is served
//! with `no-cache`: revalidated every time, answered 304 when unchanged.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode, header};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The URL path every versioned asset URL starts with.
pub const PREFIX: &str = "/assets/";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The site folder and its content version.
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: PathBuf,
    version: String,
}

/// The first site this process opened (see [`root`]).
static FIRST: OnceLock<(StaticFiles, String)> = OnceLock::new();

impl StaticFiles {
    /// Hashes the site folder (blocking: call once at start). The hydration
    /// scripts remember the first root they are given for the whole
    /// process, so the link root is fixed here once as well.
    pub fn open(root: &Path, pkg_dir: &str) -> Self {
        if let Some((first, _)) = FIRST.get()
            && first.root == root
        {
            return first.clone();
        }
        let files = StaticFiles {
            root: root.to_path_buf(),
            version: content_version(root, pkg_dir),
        };
        let _ = FIRST.set((files.clone(), files.link_root()));
        files
    }

    /// `/assets/<version>`: what the pages put before `/pkg/…`.
    pub fn link_root(&self) -> String {
        format!("{PREFIX}{}", self.version)
    }

    /// Answers `/assets/<version>/<path>`: the file, immutable, if the
    /// version is this build's; 404 for another build's (its bytes are not
    /// here, and this build's would not fit the page that asked).
    pub async fn versioned(&self, request: Request<Body>) -> Response {
        let path = request.uri().path();
        let rest = path.strip_prefix(PREFIX).unwrap_or_default();
        let Some((version, file)) = rest.split_once('/') else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if version != self.version {
            return StatusCode::NOT_FOUND.into_response();
        }
        let file = format!("/{file}");
        let (mut parts, body) = request.into_parts();
        parts.uri = match file.parse() {
            Ok(uri) => uri,
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        };
        match self
            .serve(Request::from_parts(parts, body), IMMUTABLE)
            .await
        {
            Some(response) => response,
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }

    /// Serves the file the request names from the site folder with the
    /// given cache policy, or None when there is no such file (or the
    /// method is not GET/HEAD): the caller answers with its own page then.
    pub async fn serve(&self, request: Request<Body>, cache: &'static str) -> Option<Response> {
        let response = ServeDir::new(&self.root)
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(request)
            .await
            .ok()?;
        let status = response.status();
        let served = status.is_success()
            || status == StatusCode::NOT_MODIFIED
            || status == StatusCode::RANGE_NOT_SATISFIABLE;
        if !served {
            return None;
        }
        let mut response = response.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if cache == IMMUTABLE {
            // Never revalidated: the date would only add bytes to each of
            // the hundreds of small wasm chunks a page loads.
            headers.remove(header::LAST_MODIFIED);
        }
        // The same URL answers brotli, gzip or plain bytes by Accept-Encoding.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        Some(response)
    }

    /// Serves an unversioned site file (revalidated on every use).
    pub async fn unversioned(&self, request: Request<Body>) -> Option<Response> {
        self.serve(request, REVALIDATE).await
    }
}

/// The link root of the site this process serves: `/assets/<version>`,
/// or "" before a router was built (the files are then linked unversioned).
pub fn root() -> &'static str {
    FIRST.get().map(|(_, root)| root.as_str()).unwrap_or("")
}

/// A short hash of the path and bytes of every file the pages link: those
/// directly in `root` (icons) and those anywhere under `root/pkg_dir` (the
/// build's output), not their `.br`/`.gz` copies, which follow from the
/// originals. Other folders are not read: the site root may be a working
/// directory. A missing folder hashes as empty.
fn content_version(root: &Path, pkg_dir: &str) -> String {
    let mut files = Vec::new();
    collect_files(root, root, false, &mut files);
    collect_files(root, &root.join(pkg_dir), true, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for relative in files {
        let Ok(bytes) = std::fs::read(root.join(&relative)) else {
            continue;
        };
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hex::encode(&hasher.finalize()[..8])
}

fn collect_files(root: &Path, dir: &Path, recurse: bool, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if recurse {
                collect_files(root, &path, true, files);
            }
        } else if kind.is_file()
            && !matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz"))
            && let Ok(relative) = path.strip_prefix(root)
        {
            files.push(relative.to_path_buf());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_follows_the_linked_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let version = || content_version(dir.path(), "pkg");
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/app.js"), "one").unwrap();
        let first = version();
        assert_eq!(first.len(), 16);
        std::fs::write(dir.path().join("pkg/app.js.br"), "compressed").unwrap();
        assert_eq!(version(), first);
        // Folders beside the build's are not the site's.
        std::fs::create_dir(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/big.bin"), "unrelated").unwrap();
        assert_eq!(version(), first);
        std::fs::write(dir.path().join("pkg/app.js"), "two").unwrap();
        let second = version();
        assert_ne!(second, first);
        let (from, to) = (
            dir.path().join("pkg/app.js"),
            dir.path().join("pkg/other.js"),
        );
        std::fs::rename(from, to).unwrap();
        let third = version();
        assert_ne!(third, second);
        std::fs::write(dir.path().join("favicon.svg"), "<svg/>").unwrap();
        assert_ne!(version(), third);
    }
}
