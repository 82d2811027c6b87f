#!/usr/bin/env bash
# HTTPS against plain HTTP on the same release binary, side by side in one
# run (wrk on loopback): a signed-in page over keep-alive connections, and
# new connections per request (for HTTPS, a full TLS handshake each). Prints
# a Markdown table with the HTTPS/HTTP ratios for BENCHMARKS.md.
#   scripts/bench-https.sh                  # 10 s per row
#   BENCH_SECONDS=30 scripts/bench-https.sh
set -euo pipefail
cd "$(dirname "$0")/.."
binary=target/release/mailroom
[ -x "$binary" ] || { echo "build first: cargo leptos build --release --split --precompress" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "==> installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
seconds=${BENCH_SECONDS:-10}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
https_port=$(free_port)
data=$(mktemp -d)
password="Bench-Passw0rd-1"
MAILROOM_DATA_DIR="$data" MAILROOM_ADMIN_PASSWORD="$password" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  MAILROOM_HTTPS_ADDR="127.0.0.1:$https_port" \
  LEPTOS_SITE_ROOT=target/site "$binary" serve >"$data/stdout.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
http="http://127.0.0.1:$port"
https="https://127.0.0.1:$https_port"
for _ in $(seq 200); do
  curl -fsSk -o /dev/null "$https/login" 2>/dev/null && break
  sleep 0.1
done
cookie=$(curl -fsS -D- -o /dev/null -X POST -d "username=admin&password=$password" "$http/api/login" |
  grep -io 'mailroom_session=[^;]*')
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
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
