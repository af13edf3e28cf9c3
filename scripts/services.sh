#!/usr/bin/env bash
# Makes the PostgreSQL and Redis servers the integration tests use ready,
# on a machine with Debian's packages (apt-get install postgresql
# redis-server): starts them when they are not running, creates the
# database `test`, and lets the user postgres reach it from loopback
# without a password, as internal/testenv expects
# (postgres://postgres@127.0.0.1:5432/test). Idempotent: run it as often as
# you like; it changes only what is missing.
#
# Skipped for a server named by SWITCHYARD_TEST_POSTGRES or
# SWITCHYARD_TEST_REDIS (a URL of your own, or "off"). PGPORT picks another
# local port for PostgreSQL (default 5432). Run as root, as postgres, or as
# a user who may sudo.
set -euo pipefail

port=${PGPORT:-5432}
url="postgresql://postgres@127.0.0.1:$port/test?sslmode=disable"

# as_postgres runs a command as the cluster's owner, who may administer it
# through the local socket (Debian's "peer" authentication).
as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    "$@"
  elif [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres "$@"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

postgres_ready() {
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    echo "PostgreSQL is not running on 127.0.0.1:$port and is not installed (apt-get install postgresql)" >&2
    exit 1
  fi
  # The cluster on our port; Debian's package creates one called main,
  # but an image may have removed it.
  cluster=$(pg_lsclusters -h | awk -v p="$port" '$3 == p {print $1, $2; exit}')
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    name=main
    if pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {found=1} END {exit !found}'; then
      name=switchyard # main is taken, on another port
    fi
    echo "services.sh: creating PostgreSQL cluster $version/$name on port $port"
    as_root pg_createcluster --port "$port" "$version" "$name" >/dev/null
    cluster="$version $name"
  fi
  if ! pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
    echo "services.sh: starting PostgreSQL cluster ${cluster/ //}"
    # shellcheck disable=SC2086 # version and name are two words
    as_root pg_ctlcluster --skip-systemctl-redirect $cluster start
    for _ in $(seq 1 60); do
      pg_isready -h 127.0.0.1 -p "$port" -q && break
      sleep 0.5
    done
    pg_isready -h 127.0.0.1 -p "$port" -q || { echo "PostgreSQL did not become ready" >&2; exit 1; }
  fi
  if psql "$url" -Atqc 'select 1' >/dev/null 2>&1; then
    return
  fi
  # The tests' database, and access to it from loopback without a
  # password: a line before Debian's own "host all all ... scram-sha-256",
  # as the first matching line decides. Only the database test, only the
  # user postgres, only from 127.0.0.1 and ::1.
  psql_admin=(as_postgres psql -p "$port" -Atq)
  if [ -z "$("${psql_admin[@]}" -c "select 1 from pg_database where datname = 'test'")" ]; then
    echo "services.sh: creating database test"
    "${psql_admin[@]}" -c 'create database test'
  fi
  hba=$("${psql_admin[@]}" -c 'show hba_file')
  if ! as_postgres grep -q '^# switchyard tests' "$hba"; then
    echo "services.sh: letting postgres reach database test from loopback without a password ($hba)"
    as_postgres sh -c 'f=$1; { printf "%s\n" "# switchyard tests (scripts/services.sh): database test, user postgres, loopback only" \
        "host test postgres 127.0.0.1/32 trust" "host test postgres ::1/128 trust"; cat "$f"; } > "$f.new" && cat "$f.new" > "$f" && rm "$f.new"' sh "$hba"
    "${psql_admin[@]}" -c 'select pg_reload_conf()' >/dev/null
  fi
  if ! psql "$url" -Atqc 'select 1' >/dev/null; then
    echo "services.sh: still cannot reach $url; set SWITCHYARD_TEST_POSTGRES to a URL that works, or to off" >&2
    exit 1
  fi
}

redis_ready() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not running on 127.0.0.1:6379 and is not installed (apt-get install redis-server)" >&2
    exit 1
  fi
  echo "services.sh: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 40); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
    sleep 0.25
  done
  echo "Redis did not become ready" >&2
  exit 1
}

[ -n "${SWITCHYARD_TEST_POSTGRES:-}" ] || postgres_ready
[ -n "${SWITCHYARD_TEST_REDIS:-}" ] || redis_ready
