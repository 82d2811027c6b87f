#!/usr/bin/env bash
# Makes a PostgreSQL server available to the tests and prints the URL of a
# role that may create databases (each test makes its own and drops it).
#
#   MAILROOM_TEST_POSTGRES set: that URL, as is.
#   Otherwise the role mailroom on 127.0.0.1:5432; when nothing answers
#   there, Debian's postgresql package is installed (if missing) and a
#   cluster started, and the role is created through the local superuser.
set -euo pipefail

if [ -n "${MAILROOM_TEST_POSTGRES:-}" ]; then
  echo "$MAILROOM_TEST_POSTGRES"
  exit 0
fi

readonly ROLE=mailroom
readonly PASSWORD=mailroom-tests
readonly URL="postgres://$ROLE:$PASSWORD@127.0.0.1:5432/postgres"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

can_sign_in() {
  command -v psql >/dev/null &&
    PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=3 psql "host=127.0.0.1 port=5432 user=$ROLE dbname=postgres" \
      -Atqc 'SELECT 1' >/dev/null 2>&1
}

listening() {
  (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
}

if can_sign_in; then
  echo "$URL"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing Debian's postgresql for the PostgreSQL test run"
  as_root apt-get update >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
fi

if ! listening; then
  cluster=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1 " " $2; exit }')
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    log "creating a PostgreSQL $version cluster on port 5432"
    as_root pg_createcluster "$version" main --port 5432 >&2
    cluster="$version main"
  fi
  log "starting PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086
  as_root pg_ctlcluster $cluster start >&2
  for _ in $(seq 1 50); do listening && break; sleep 0.2; done
fi

if ! can_sign_in; then
  log "creating the role $ROLE for the tests"
  as_postgres psql -v ON_ERROR_STOP=1 -qc "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
      ELSE
        ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
      END IF;
    END \$\$;" >&2
fi

if ! can_sign_in; then
  log "PostgreSQL on 127.0.0.1:5432 does not let $ROLE sign in; set MAILROOM_TEST_POSTGRES to the URL of a role that may create databases"
  exit 1
fi
echo "$URL"
