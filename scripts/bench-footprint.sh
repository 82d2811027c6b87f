#!/usr/bin/env bash
# Measures the release wasm's size (raw and gzipped) and the idle server's
# resident memory. Run after `cargo leptos build --release --split --precompress`: the main
# wasm is what every page loads; each lazy page's chunks come on first visit.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=target/site/pkg/mailroom.wasm
binary=target/release/mailroom
[ -f "$wasm" ] && [ -x "$binary" ] || { echo "build first: cargo leptos build --release --split --precompress" >&2; exit 1; }

raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)

data=$(mktemp -d)
port=${BENCH_PORT:-3390}
https_port=${BENCH_HTTPS_PORT:-3391}
MAILROOM_DATA_DIR="$data" MAILROOM_ADMIN_PASSWORD="Bench-Passw0rd-1" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  MAILROOM_HTTPS_ADDR="127.0.0.1:$https_port" \
  "$binary" serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/login" 2>/dev/null && break
  sleep 0.1
done
# One page and one sign-in, so the figure includes a warmed-up server.
curl -fsS -o /dev/null -H 'Accept: text/html' "http://127.0.0.1:$port/login"
curl -fsS -o /dev/null -X POST -d 'username=admin&password=Bench-Passw0rd-1' "http://127.0.0.1:$port/api/login"
sleep 5
rss_kb=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)

printf '| figure | value | target |\n|---|---|---|\n'
printf '| release wasm, raw | %d KB | |\n' $((raw / 1024))
printf '| release wasm, gzip -9 | %d KB | <= 350 KB |\n' $((gz / 1024))
chunks_gz=0
largest_name=none
largest_gz=0
for chunk in target/site/pkg/*.wasm; do
  [ "$chunk" = "$wasm" ] && continue
  size=$(gzip -9 -c "$chunk" | wc -c)
  chunks_gz=$((chunks_gz + size))
  case "$chunk" in
    */split_*) if [ "$size" -gt "$largest_gz" ]; then largest_gz=$size; largest_name=$(basename "$chunk"); fi ;;
  esac
done
printf '| lazy chunks, all, gzip -9 | %d KB | |\n' $((chunks_gz / 1024))
printf '| largest page chunk, gzip -9 (%s) | %d KB | |\n' "${largest_name%%_[0-9]*.wasm}" $((largest_gz / 1024))
printf '| idle server RSS (after one page and one sign-in) | %.1f MB | <= 40 MB |\n' "$(echo "$rss_kb / 1024" | bc -l)"
