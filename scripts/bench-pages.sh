#!/usr/bin/env bash
# Load benchmark of the release console with wrk on loopback: a static asset,
# the sign-in page, the public self-registration portal and the signed-in SMTP
# Server page, at 8 and 64 connections. For each it prints requests per
# second, p50 and p99 latency, and the server's CPU time per request (user +
# system time of the server process over the run, divided by the requests
# wrk completed). Run after `cargo leptos build --release --split --precompress`.
#
#   scripts/bench-pages.sh            # 10 s per run
#   BENCH_SECONDS=30 scripts/bench-pages.sh
#   BENCH_ENCODING=br scripts/bench-pages.sh   # ask for compressed answers, as browsers do
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-console.sh
encoding=${BENCH_ENCODING:-}
base="$http"
# The stylesheet as the pages link it (under the build's content-hash prefix).
css=$(curl -fsS "$base/login" | grep -o 'href="[^"]*mailroom.css"' | head -1 | sed 's/^href="//; s/"$//')
[ -n "$css" ] || { echo "no stylesheet link on the sign-in page" >&2; exit 1; }
portal="/portal/1/self-registration"
smtp="/administration/system/settings/smtp-server"
for path in "$css" /login "$portal"; do
  curl -fsS -o /dev/null "$base$path" || { echo "$path does not answer 200" >&2; exit 1; }
done
curl -fsS -o /dev/null -H "Cookie: $cookie" "$base$smtp" || { echo "$smtp does not answer 200" >&2; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
ticks_per_second=$(getconf CLK_TCK)

run() { # name path connections [header]
  local name=$1 path=$2 connections=$3 header=${4:-}
  local args=(-t 2 -c "$connections" -d "${seconds}s" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  [ -n "$encoding" ] && args+=(-H "Accept-Encoding: $encoding")
  local before after out requests rps p50 p99 cpu_ms
  before=$(cpu_ticks)
  out=$(wrk "${args[@]}" "$base$path")
  after=$(cpu_ticks)
  requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  rps=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$name: $(echo "$out" | grep 'Non-2xx')" >&2
    exit 1
  fi
  cpu_ms=$(echo "($after - $before) * 1000 / $ticks_per_second / $requests" | bc -l)
  printf '| %s | %d | %s | %s | %s | %.3f |\n' "$name" "$connections" "$rps" "$p50" "$p99" "$cpu_ms"
}

echo "wrk ${seconds}s per row, Accept-Encoding: ${encoding:-none}, $(nproc) cores"
echo
echo '| request | connections | req/s | p50 | p99 | server CPU per request (ms) |'
echo '|---|---:|---:|---:|---:|---:|'
for connections in 8 64; do
  run "static asset ($(basename "$css"))" "$css" "$connections"
  run "sign-in page" /login "$connections"
  run "self-registration portal" "$portal" "$connections"
  run "SMTP Server page, signed in" "$smtp" "$connections" "Cookie: $cookie"
done
