#!/usr/bin/env bash
# The ERS API under load, through Cisco's ciscoisesdk (target/ers-venv, from
# scripts/setup.sh): guest creations per second with their credentials
# emails queued, and the SDK's generator paging through 10,000 guests.
# Run after `cargo leptos build --release --split --precompress`.
#
#   scripts/bench-ers.sh                 # 10,000 guests
#   BENCH_GUESTS=2000 scripts/bench-ers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MAILROOM_ERS=on
source scripts/bench-console.sh
echo "$(nproc) cores, release build, SQLite"
echo
echo '| what | count | result | |'
echo '|---|---:|---|---|'
target/ers-venv/bin/python scripts/bench_ers.py "$http" "$password" "$data"
