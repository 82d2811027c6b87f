#!/usr/bin/env bash
# Runs every check: formatting, unused dependencies, clippy on both feature sets, unit and
# integration tests (on SQLite, then again on PostgreSQL, which
# scripts/postgres.sh finds or installs), then the Playwright tests in
# Chromium against the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-shot run gains nothing from incremental caches, which are the
# largest part of target/.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Each stage's duration, printed at the end, so a slow run says where its
# time went.
stage_name="set-up"
stage_started=$SECONDS
durations=""
stage() {
  durations+="$(printf '%6d s  %s' $((SECONDS - stage_started)) "$stage_name")"$'\n'
  stage_name="$1"
  stage_started=$SECONDS
  echo "==> $1"
}
report() {
  stage "done"
  printf '\n==> time per stage\n%s%6d s  in all\n' "$durations" "$SECONDS"
}
trap report EXIT

scripts/setup.sh
source scripts/env.sh

stage "cargo fmt --check"
cargo fmt --all -- --check
stage "cargo machete (no unused dependencies)"
cargo machete
stage "clippy (server build)"
cargo clippy --features ssr --all-targets -- -D warnings
stage "clippy (browser build)"
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
stage "unit and integration tests (SQLite)"
cargo test --features ssr
stage "integration tests again on PostgreSQL"
# Its own statement, so that a PostgreSQL that cannot be set up stops the run.
postgres_url="$(scripts/postgres.sh)"
MAILROOM_TEST_POSTGRES="$postgres_url" cargo test --features ssr --tests
stage "release build"
cargo leptos build --release --split --precompress
stage "Playwright in Chromium"
# The two-node spec makes its own database through this role.
(cd end2end && E2E_POSTGRES="$postgres_url" npx playwright test)
