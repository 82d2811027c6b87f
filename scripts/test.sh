#!/usr/bin/env bash
# Runs every check: formatting, unused dependencies, clippy on both feature sets, unit and
# integration tests (on SQLite, then again on PostgreSQL, which
# scripts/postgres.sh finds or installs), then the Playwright tests in
# Chromium against the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
# A one-shot run gains nothing from incremental caches, which are the
# largest part of target/.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo machete (no unused dependencies)"
cargo machete
echo "==> clippy (server build)"
cargo clippy --features ssr --all-targets -- -D warnings
echo "==> clippy (browser build)"
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
echo "==> unit and integration tests (SQLite)"
cargo test --features ssr
echo "==> integration tests again on PostgreSQL"
# Its own statement, so that a PostgreSQL that cannot be set up stops the run.
postgres_url="$(scripts/postgres.sh)"
MAILROOM_TEST_POSTGRES="$postgres_url" cargo test --features ssr --tests
echo "==> release build"
cargo leptos build --release --split --precompress
echo "==> Playwright in Chromium"
# The two-node spec makes its own database through this role.
(cd end2end && E2E_POSTGRES="$postgres_url" npx playwright test)
