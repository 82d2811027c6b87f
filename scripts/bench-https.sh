#!/usr/bin/env bash
# HTTPS against plain HTTP on the same release binary, side by side in one
# run (wrk on loopback): a signed-in page over keep-alive connections, and
# new connections per request (for HTTPS, a full TLS handshake each). Prints
# a Markdown table with the HTTPS/HTTP ratios for BENCHMARKS.md.
#   scripts/bench-https.sh                  # 10 s per row
#   BENCH_SECONDS=30 scripts/bench-https.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-console.sh
smtp="/administration/system/settings/smtp-server"
curl -fsSk -o /dev/null -H "Cookie: $cookie" "$https$smtp" || { echo "$smtp does not answer 200 over HTTPS" >&2; exit 1; }

rps() { # url connections [header...]
  local url=$1 connections=$2
  shift 2
  local args=(-t 2 -c "$connections" -d "${seconds}s")
  for header in "$@"; do args+=(-H "$header"); done
  local out
  out=$(wrk "${args[@]}" "$url")
  if echo "$out" | grep -q 'Non-2xx\|Socket errors'; then
    echo "$url: $(echo "$out" | grep 'Non-2xx\|Socket errors')" >&2
  fi
  echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }'
}

row() { # name path connections [header...]
  local name=$1 path=$2 connections=$3
  shift 3
  local plain secure
  plain=$(rps "$http$path" "$connections" "$@")
  secure=$(rps "$https$path" "$connections" "$@")
  printf '| %s | %d | %s | %s | %.2f |\n' "$name" "$connections" "$plain" "$secure" "$(echo "$secure / $plain" | bc -l)"
}

echo "wrk ${seconds}s per cell, HTTP/1.1, $(nproc) cores"
echo
echo '| request | connections | HTTP req/s | HTTPS req/s | HTTPS / HTTP |'
echo '|---|---:|---:|---:|---:|'
row "SMTP Server page, signed in, keep-alive" "$smtp" 8 "Cookie: $cookie"
row "sign-in page, keep-alive" /login 8
row "sign-in page, a new connection per request (TLS: a full handshake)" /login 8 "Connection: close"
