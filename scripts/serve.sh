#!/usr/bin/env bash
# Installs prerequisites, builds the release console and serves it at
# https://127.0.0.1:3443 (MAILROOM_HTTPS_ADDR, a self-signed certificate on
# first start) and http://127.0.0.1:3000 (LEPTOS_SITE_ADDR) on the SQLite
# database in ./data (MAILROOM_DATA_DIR or --data-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
echo "==> building the console (release)"
cargo leptos build --release --split --precompress
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export MAILROOM_HTTPS_ADDR="${MAILROOM_HTTPS_ADDR:-127.0.0.1:3443}"
echo "==> serving on https://$MAILROOM_HTTPS_ADDR and http://$LEPTOS_SITE_ADDR"
exec target/release/mailroom serve "$@"
