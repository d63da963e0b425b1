#!/usr/bin/env bash
# Make Redis, PostgreSQL 15 with pgvector, and Node/npm available on this host.
#
#   bash scripts/setup-host.sh [--quiet]
#
# For Debian 12 (bookworm), run as root. Idempotent: when everything already runs it only checks (< 1 s).
# --quiet prints only problems. Each failure prints "setup-host: ERROR: <what to fix>" and exits non-zero.
# Elsewhere (not Debian): docker compose up -d redis postgres
set -euo pipefail

QUIET=0
for arg in "$@"; do
  case "$arg" in
    -q|--quiet) QUIET=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-host: ERROR: unknown argument '$arg' (use --quiet)" >&2; exit 2 ;;
  esac
done

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
VECTOR_CONTROL=/usr/share/postgresql/$PG_MAJOR/extension/vector.control
VECTOR_SO=/usr/lib/postgresql/$PG_MAJOR/lib/vector.so
TRIXIE_SRC=/etc/apt/sources.list.d/blog-poster-trixie-src.sources
export DEBIAN_FRONTEND=noninteractive PGCONNECT_TIMEOUT=3

LOG=""          # in --quiet mode, output of noisy commands goes here and is shown only on failure
APT_UPDATED=0
WORKDIR=""
cleanup() { [[ -n "$WORKDIR" ]] && rm -rf "$WORKDIR"; [[ -n "$LOG" ]] && rm -f "$LOG"; return 0; }
trap cleanup EXIT

say() { if [[ $QUIET == 0 ]]; then echo "setup-host: $*"; fi; }
die() {
  if [[ -n "$LOG" && -s "$LOG" ]]; then tail -n 40 "$LOG" >&2; fi
  echo "setup-host: ERROR: $*" >&2
  exit 1
}
# run CMD...: stream output, or in --quiet mode keep it in $LOG
run() {
  if [[ $QUIET == 0 ]]; then "$@"; else "$@" >>"$LOG" 2>&1; fi
}
apt_update() { run apt-get update && APT_UPDATED=1; }
# apt_install PKG...: install from the configured (bookworm) archives; refresh the lists once if that fails
apt_install() {
  say "installing $*"
  run apt-get install -y --no-install-recommends "$@" && return 0
  [[ $APT_UPDATED == 1 ]] && return 1
  apt_update || return 1
  run apt-get install -y --no-install-recommends "$@"
}
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

if [[ $QUIET == 1 ]]; then LOG=$(mktemp /tmp/setup-host.XXXXXX.log); fi
[[ $(id -u) == 0 ]] || die "run this script as root (sudo bash scripts/setup-host.sh)"
command -v apt-get >/dev/null || die "not a Debian host: start the services with 'docker compose up -d redis postgres' instead"

# --- Redis -------------------------------------------------------------------------------------------------
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]]; }
if ! { command -v redis-cli >/dev/null && redis_ping; }; then
  # redis-cli (redis-tools) also forms the test suite's Redis Cluster (redis-cli --cluster create).
  if ! command -v redis-cli >/dev/null && command -v redis-server >/dev/null; then
    apt_install redis-tools || die "could not install redis-tools: check 'apt-get install redis-tools'"
  fi
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server || die "could not install redis-server: check 'apt-get install redis-server'"
    # a packaged service may already have come up on its own
  fi
  if ! redis_ping; then
    say "starting redis-server"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null \
      || die "redis-server did not start: see /var/log/redis/ci.log"
  fi
  wait_for 20 redis_ping || die "Redis does not answer on 127.0.0.1:6379 after 20 s: see /var/log/redis/ci.log"
fi

# --- PostgreSQL 15 -----------------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
pg_start() {
  say "starting PostgreSQL $PG_MAJOR"
  run pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start && return 0
  pg_ready && return 0
  if pg_ctlcluster "$PG_MAJOR" main status >/dev/null 2>&1; then
    die "PostgreSQL $PG_MAJOR/main runs but does not accept connections on 127.0.0.1:5432: check listen_addresses and port in /etc/postgresql/$PG_MAJOR/main/postgresql.conf"
  fi
  die "PostgreSQL did not start: see /var/log/postgresql/postgresql-$PG_MAJOR-main.log"
}
psql_su() { psql -X -q -w -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 "$@"; }
if ! { command -v pg_isready >/dev/null && pg_ready; }; then
  fresh=0
  if [[ ! -d /etc/postgresql/$PG_MAJOR/main ]]; then
    apt_install "postgresql-$PG_MAJOR" || die "could not install postgresql-$PG_MAJOR: check 'apt-get install postgresql-$PG_MAJOR'"
    fresh=1
    [[ -d /etc/postgresql/$PG_MAJOR/main ]] || run pg_createcluster "$PG_MAJOR" main \
      || die "no PostgreSQL $PG_MAJOR cluster 'main': create it with 'pg_createcluster $PG_MAJOR main'"
  fi
  pg_ready || pg_start
  wait_for 30 pg_ready || die "PostgreSQL does not accept connections on 127.0.0.1:5432 after 30 s: see /var/log/postgresql/"
  if [[ $fresh == 1 ]] && ! psql_su -c 'SELECT 1' >/dev/null 2>&1; then
    # A fresh Debian cluster asks for a password on TCP; this project's hosts trust local TCP, like the CI machines.
    say "allowing trust auth on 127.0.0.1 and ::1 in pg_hba.conf"
    hba=/etc/postgresql/$PG_MAJOR/main/pg_hba.conf
    sed -i '1i # blog-poster setup-host: local development and CI trust loopback TCP\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    run pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main reload || die "could not reload PostgreSQL after editing $hba"
    wait_for 10 psql_su -c 'SELECT 1' || die "psql -h 127.0.0.1 -U postgres still fails: fix $hba"
  fi
fi

# --- pgvector ----------------------------------------------------------------------------------------------
# Bookworm's packages lack a recent pgvector (HNSW needs >= 0.5), so build Debian's source package of the newer
# release against the bookworm PostgreSQL 15 headers. Only a deb-src entry for trixie is added: no trixie binaries.
if [[ ! -f $VECTOR_CONTROL || ! -f $VECTOR_SO ]]; then
  say "building pgvector from Debian trixie's source package (about 30 s)"
  build_start=$SECONDS
  if [[ ! -f $TRIXIE_SRC ]]; then
    cat >"$TRIXIE_SRC" <<'EOF'
# Added by blog-poster scripts/setup-host.sh: source packages only (apt-get source pgvector), never binaries.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  apt_update || die "apt-get update failed (with the deb-src entry $TRIXIE_SRC)"
  apt_install "postgresql-server-dev-$PG_MAJOR" dpkg-dev make gcc \
    || die "could not install the build tools: check 'apt-get install postgresql-server-dev-$PG_MAJOR dpkg-dev make gcc'"
  WORKDIR=$(mktemp -d /tmp/setup-host-pgvector.XXXXXX)
  # apt downloads as the unprivileged _apt user where it can write; otherwise it warns and downloads as root.
  if id _apt >/dev/null 2>&1; then chown _apt "$WORKDIR"; fi
  (cd "$WORKDIR" && run apt-get source pgvector) || die "'apt-get source pgvector' failed: check $TRIXIE_SRC and 'apt-get update'"
  src=$(find "$WORKDIR" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  [[ -n "$src" ]] || die "apt-get source pgvector unpacked nothing in $WORKDIR"
  # OPTFLAGS="": no -march=native, so the module also loads on another CPU; with_llvm=no: no JIT bitcode.
  run make -C "$src" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no \
    || die "building pgvector failed (in $src)"
  run make -C "$src" install PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no \
    || die "installing pgvector failed (in $src)"
  # Check that the server really loads it, in a scratch database.
  scratch="setup_host_vector_check_$$"
  psql_su -d postgres -c "CREATE DATABASE $scratch" >/dev/null || die "psql -h 127.0.0.1 -U postgres cannot create a database"
  check_ok=0
  psql_su -d "$scratch" -c "CREATE EXTENSION vector;
    CREATE TABLE t (v vector(3)); INSERT INTO t VALUES ('[1,2,3]'), ('[3,2,1]');
    CREATE INDEX ON t USING hnsw (v vector_cosine_ops);
    SELECT v FROM t ORDER BY v <=> '[1,2,4]' LIMIT 1;" >/dev/null && check_ok=1
  psql_su -d postgres -c "DROP DATABASE IF EXISTS $scratch" >/dev/null || true
  [[ $check_ok == 1 ]] || die "pgvector was installed but CREATE EXTENSION vector / an HNSW index fails"
  say "pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$VECTOR_CONTROL") built and installed in $((SECONDS - build_start)) s"
fi

# --- Node.js and npm ---------------------------------------------------------------------------------------
# The project's own Node 24 comes from the npm package node@24 (a devDependency); this only needs a node and npm.
if ! command -v node >/dev/null; then
  apt_install nodejs || die "could not install Node.js: check 'apt-get install nodejs npm'"
fi
if ! command -v npm >/dev/null; then
  apt_install npm || die "could not install npm: check 'apt-get install npm'"
fi

# --- Summary -----------------------------------------------------------------------------------------------
if [[ $QUIET == 0 ]]; then
  redis_ver=$(redis-cli -h 127.0.0.1 -p 6379 info server 2>/dev/null | sed -n 's/^redis_version:\([^\r]*\).*/\1/p')
  pg_ver=$(psql_su -d postgres -tAc 'SHOW server_version' 2>/dev/null | cut -d' ' -f1 || true)
  vector_ver=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$VECTOR_CONTROL")
  printf '%-10s %s\n' \
    redis "running on 127.0.0.1:6379 (Redis ${redis_ver:-?})" \
    postgres "running on 127.0.0.1:5432 (PostgreSQL ${pg_ver:-?})" \
    pgvector "installed for PostgreSQL $PG_MAJOR (vector $vector_ver)" \
    node "$(command -v node) $(node --version)" \
    npm "$(command -v npm) $(npm --version 2>/dev/null)"
  echo "Elsewhere (not Debian): docker compose up -d redis postgres"
fi
