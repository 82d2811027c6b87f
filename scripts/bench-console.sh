# Sourced by the wrk benchmarks (bench-pages.sh, bench-https.sh): checks the
# release binary and wrk, starts a console on free ports with a fresh data
# directory (stopped and removed on exit), waits for it, and signs in.
# Sets: binary, seconds, port, https_port, data, pid, http, https, password, cookie.
# BENCH_BINARY and BENCH_SITE_ROOT point at another build (a before/after
# comparison in one session).
binary=${BENCH_BINARY:-target/release/mailroom}
site_root=${BENCH_SITE_ROOT:-target/site}
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
  LEPTOS_SITE_ROOT="$site_root" "$binary" serve >"$data/stdout.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
http="http://127.0.0.1:$port"
https="https://127.0.0.1:$https_port"
for _ in $(seq 200); do
  curl -fsS -o /dev/null "$http/login" 2>/dev/null && break
  sleep 0.1
done
cookie=$(curl -fsS -D- -o /dev/null -X POST -d "username=admin&password=$password" "$http/api/login" |
  grep -io 'mailroom_session=[^;]*')
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
