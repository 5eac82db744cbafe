#!/usr/bin/env bash
# Runs a PostgreSQL cluster for kcc's store tests on a Debian host (as root),
# without systemd: Debian's postgresql-common tools (pg_createcluster,
# pg_ctlcluster) create and start a cluster named "kcc" that listens only on
# 127.0.0.1, with a role and a database "kcc" whose password is a test-only
# value. Every command is idempotent: an existing cluster, role and database
# are reused.
#
#   scripts/postgres.sh start   create the cluster if needed, start it, wait
#                               until it accepts connections, create the role
#                               and database if needed, print the URL
#   scripts/postgres.sh stop    stop the cluster (its data stays)
#   scripts/postgres.sh url     print the connection URL (for
#                               KCCTEST_POSTGRES_URL)
#   scripts/postgres.sh status  say whether the cluster accepts connections
#                               (exit 0) or not (1)
#
# Parameters (environment, with defaults):
#   KCCTEST_POSTGRES_PORT     5499   port on 127.0.0.1
#   KCCTEST_POSTGRES_VERSION  the highest installed major version
#
# Needs the Debian package "postgresql" (which brings postgresql-common).
set -euo pipefail

PORT=${KCCTEST_POSTGRES_PORT:-5499}
CLUSTER=kcc
ROLE=kcc
DB=kcc
PASSWORD=kccpw # test-only value (PEERS.md §3); never a production secret
HOST=127.0.0.1

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

url() { echo "postgres://$ROLE:$PASSWORD@$HOST:$PORT/$DB?sslmode=disable"; }

need_tools() {
  if ! command -v pg_createcluster >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
    die "pg_createcluster/pg_ctlcluster not found: install the Debian package postgresql (apt-get install -y postgresql)"
  fi
  command -v pg_isready >/dev/null || die "pg_isready not found: install the Debian package postgresql-client"
  [ "$(id -u)" -eq 0 ] || die "must run as root (it creates a cluster and switches to the postgres user)"
}

version() {
  if [ -n "${KCCTEST_POSTGRES_VERSION:-}" ]; then echo "$KCCTEST_POSTGRES_VERSION"; return; fi
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  [ -n "$v" ] || die "no PostgreSQL server under /usr/lib/postgresql: install the Debian package postgresql"
  echo "$v"
}

# cluster_field FIELD prints a pg_lsclusters column of our cluster (empty if
# it does not exist). Columns: Ver Cluster Port Status Owner Data Log.
cluster_field() {
  local v=$1 col=$2
  pg_lsclusters --no-header 2>/dev/null | awk -v v="$v" -v c="$CLUSTER" -v col="$col" '$1 == v && $2 == c { print $col }'
}

ready() { pg_isready -q -h "$HOST" -p "$PORT"; }

psql_admin() { su postgres -c "psql -X -q -p $PORT -v ON_ERROR_STOP=1 -Atc \"$1\""; }

start() {
  need_tools
  local v port
  v=$(version)
  port=$(cluster_field "$v" 3)
  if [ -z "$port" ]; then
    log "creating cluster $v/$CLUSTER on $HOST:$PORT"
    pg_createcluster "$v" "$CLUSTER" -p "$PORT" >/dev/null
  elif [ "$port" != "$PORT" ]; then
    die "cluster $v/$CLUSTER exists on port $port, not $PORT: use KCCTEST_POSTGRES_PORT=$port or drop it (pg_dropcluster --stop $v $CLUSTER)"
  fi
  if [ "$(cluster_field "$v" 4)" != online ]; then
    # Written on every start (not only at creation), so a cluster left by an
    # interrupted run is repaired. A conf.d file (included by Debian's
    # postgresql.conf) rather than pg_conftool, whose quoting of values with
    # dots is unreliable.
    printf "listen_addresses = '%s'\n" "$HOST" >"/etc/postgresql/$v/$CLUSTER/conf.d/kcc.conf"
    pg_ctlcluster "$v" "$CLUSTER" start
  fi
  local i
  for i in $(seq 1 300); do ready && break; sleep 0.1; done
  ready || die "cluster $v/$CLUSTER does not accept connections on $HOST:$PORT (see /var/log/postgresql/postgresql-$v-$CLUSTER.log)"
  if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_admin "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
  fi
  if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    psql_admin "CREATE DATABASE $DB OWNER $ROLE"
  fi
  url
}

stop() {
  need_tools
  local v
  v=$(version)
  if [ "$(cluster_field "$v" 4)" = online ]; then
    pg_ctlcluster "$v" "$CLUSTER" stop
  fi
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  url) url ;;
  status) if ready; then echo "postgres on $HOST:$PORT accepts connections"; else echo "postgres on $HOST:$PORT is down"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
