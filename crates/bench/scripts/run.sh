#!/usr/bin/env bash
# `just bench`: the release gateway under wrk, on SQLite and on PostgreSQL, every figure next
# to what it is compared with in the same run, then one table (summary.py):
# - the rejected path: each flavour's cheapest refusal (an empty JSON object: every required
#   field missing) against a bare Actix handler, and Conductor's every-field-invalid body;
# - sign-ups/s against the raw argon2 rate of this machine (same parameters, in alternating
#   rounds), with all hashing workers and with one, so the capacity rule is a measured figure;
# - Timbu logins/s against the same raw rate;
# - 3x overload: accepted p99 against hashing.max_wait + 2 hash times, refusals' p99, memory;
# - PostgreSQL: its processes' CPU time per sign-up (in the sign-up run and in a
#   database-bound run with cheap hashing, there with transactions per sign-up), and the rows
#   each sign-up reads at 1,000 and at 100,000 accounts.
#
# Knobs: BENCH_SECONDS (15: logins, overload, database-bound run), BENCH_REJECT_SECONDS (8), BENCH_CONCURRENCY (16),
# BENCH_REJECT_CONCURRENCY (32), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_BACKENDS ("sqlite postgres").
set -euo pipefail
# Run from the workspace root (cargo, migrations); this script's folder holds the wrk scripts.
cd "$(dirname "$0")/../../.."
SCRIPTS=crates/bench/scripts

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
REJECT_SECONDS=${BENCH_REJECT_SECONDS:-8}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
REJECT_CONCURRENCY=${BENCH_REJECT_CONCURRENCY:-32}
PG_ADMIN_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
LOGIN_ACCOUNTS=16
PORT=18080
BARE_PORT=18081
OUT=crates/bench/out
mkdir -p "$OUT"
rm -f "$OUT"/*.txt

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "wrk is missing: install it (Debian: apt-get install wrk)" >&2
    exit 1
  fi
fi

echo "building release binaries..."
cargo build --release -q -p gateway -p signup-bench
# Where cargo put them: honours CARGO_TARGET_DIR and .cargo/config.toml.
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
GATEWAY=$TARGET_DIR/release/gateway
HELPER=$TARGET_DIR/release/signup-bench
WORKDIR=$(mktemp -d)
GATEWAY_PID=""
BARE_PID=""
PG_DATABASES=()
cleanup() {
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null || true
  [ -n "$BARE_PID" ] && kill "$BARE_PID" 2>/dev/null || true
  for db in "${PG_DATABASES[@]}"; do
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORKDIR"
}
trap cleanup EXIT

kv() { grep "^$1=" "$2" | tail -n1 | cut -d= -f2; }

wait_http() {
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$1" -X "${2:-GET}" 2>/dev/null && return 0
    [ "${2:-GET}" = POST ] && curl -s -o /dev/null -w '%{http_code}' -X POST "$1" 2>/dev/null | grep -q 400 && return 0
    sleep 0.1
  done
  echo "nothing answered at $1" >&2
  exit 1
}

# start_gateway DATABASE_URL [VAR=VALUE ...]
# Mail goes to the log transport, filtered out by RUST_LOG=warn: the outbox still claims and
# marks every row, but no file is written per mail (the file transport is for development;
# creating thousands of small files costs more kernel time than the sign-up itself).
start_gateway() {
  local url=$1
  shift
  env RUST_LOG=warn \
    SIGNUP__SERVER__LISTEN="127.0.0.1:$PORT" \
    SIGNUP__DATABASE__URL="$url" \
    SIGNUP__RATE_LIMIT__PER_IP_PER_MINUTE=0 \
    SIGNUP__MAIL__TRANSPORT=log \
    "$@" "$GATEWAY" serve >>"$WORKDIR/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  wait_http "http://127.0.0.1:$PORT/healthz"
}

peak_rss_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$GATEWAY_PID/status"; }

stop_gateway() {
  kill -TERM "$GATEWAY_PID"
  wait "$GATEWAY_PID" 2>/dev/null || true
  GATEWAY_PID=""
}

# The capacity runs keep every connection's sign-up: no time budget refuses any (the
# overload phase measures that budget).
CAPACITY=(SIGNUP__HASHING__QUEUE=1024 SIGNUP__HASHING__MAX_WAIT_MS=600000)

# wrk_signups OUTFILE [CONNECTIONS [SECONDS]]: unique sign-ups on Conductor.
wrk_signups() {
  wrk -t1 -c"${2:-$CONCURRENCY}" -d"${3:-$SECONDS_PER_RUN}s" --latency -s "$SCRIPTS"/signup.lua \
    "http://127.0.0.1:$PORT/conductor/auth/signup" >"$1"
}

# The CPU time (ms) every PostgreSQL process on this machine has used so far.
pg_cpu_ms() {
  local tick
  tick=$(getconf CLK_TCK)
  for pid in $(pgrep -x postgres || true); do
    # Fields 14 and 15 (utime, stime) of /proc/PID/stat; the name field holds no space here.
    awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true
  done | awk -v tick="$tick" '{ s += $1 } END { printf "%.0f", 1000 * s / tick }'
}

# pg_reads DATABASE: rows read (sequential + fetched by index), index entries read and
# transactions, so far, in one database (counters of backends that have exited included).
pg_reads() {
  psql "${PG_ADMIN_URL%/*}/$1" -Atqc "SELECT
      (SELECT COALESCE(SUM(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0) FROM pg_stat_user_tables),
      (SELECT COALESCE(SUM(idx_tup_read), 0) FROM pg_stat_user_indexes),
      (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())" |
    tr '|' ' '
}

new_pg_database() {
  local db="signup_bench_${1}_$$"
  psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  PG_DATABASES+=("$db")
  echo "$db"
}

# pg_reads_by_table DATABASE: "table rows_read" lines, as pg_reads counts them.
pg_reads_by_table() {
  psql "${PG_ADMIN_URL%/*}/$1" -Atqc "SELECT relname, seq_tup_read + COALESCE(idx_tup_fetch, 0)
      FROM pg_stat_user_tables ORDER BY relname COLLATE \"C\"" | tr '|' ' '
}

# fill_accounts DATABASE FROM TO: Conductor accounts FROM..TO (with their delivered welcome
# mail), as a long-running service would have; no ANALYZE, whatever autovacuum does.
fill_accounts() {
  psql "${PG_ADMIN_URL%/*}/$1" -qc "
    INSERT INTO accounts (id, realm, email, email_key, username, username_key, password_hash,
                          profile, status, created_at, updated_at)
      SELECT md5('fill' || g), 'conductor', 'fill' || g || '@example.com', 'fill' || g || '@example.com',
             'fill' || g, 'fill' || g, NULL, '{}', 'active', 0, 0
      FROM generate_series($2, $3) g;
    INSERT INTO outbox (id, account_id, kind, payload, status, attempts, next_attempt_at,
                        created_at, delivered_at)
      SELECT md5('mail' || g), md5('fill' || g), 'mail', '{}', 'delivered', 1, 0, 0, 0
      FROM generate_series($2, $3) g;" >/dev/null
}

# check_answer NAME PATH BODY: one request before the run, its status and body recorded, so
# the report shows which refusal was measured.
check_answer() {
  local answer
  answer=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d "$3" "http://127.0.0.1:$PORT$2")
  echo "status=${answer##* }" >"$OUT/reject-$1.txt"
  echo "body=${answer% *}" >>"$OUT/reject-$1.txt"
}

bare_run() {
  "$HELPER" bare "127.0.0.1:$BARE_PORT" >/dev/null 2>&1 &
  BARE_PID=$!
  wait_http "http://127.0.0.1:$BARE_PORT/conductor/auth/signup" POST
  wrk -t2 -c"$REJECT_CONCURRENCY" -d"${REJECT_SECONDS}s" -s "$SCRIPTS"/reject.lua \
    "http://127.0.0.1:$BARE_PORT/conductor/auth/signup" >"$OUT/bare-$1.txt"
  kill "$BARE_PID"
  wait "$BARE_PID" 2>/dev/null || true
  BARE_PID=""
}

# --- The rejected path: the bare handler before and after the five flavours' refusals. ---
echo "rejected path: a bare Actix handler, each flavour's cheapest refusal, the bare handler again (${REJECT_SECONDS} s each)..."
bare_run before
start_gateway "sqlite://$WORKDIR/reject.db"
while read -r name path body; do
  check_answer "$name" "$path" "$body"
  BENCH_BODY=$body wrk -t2 -c"$REJECT_CONCURRENCY" -d"${REJECT_SECONDS}s" -s "$SCRIPTS"/reject.lua \
    "http://127.0.0.1:$PORT$path" >>"$OUT/reject-$name.txt"
done <<'EOF'
conductor /conductor/auth/signup {}
conductor-invalid /conductor/auth/signup {"username":"","password":"short","email":"not-an-address","first_name":"","last_name":""}
infera /infera/signup_user {}
timbu /timbu/auth/signup {}
cloudreve /cloudreve/api/v4/user {}
zato /zato/sso/user/signup {}
EOF
stop_gateway
bare_run after

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite://$WORKDIR/bench.db" ;;
    postgres)
      if ! command -v psql >/dev/null 2>&1 || ! psql "$PG_ADMIN_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
        echo "PostgreSQL not reachable at $PG_ADMIN_URL: skipping the postgres run"
        continue
      fi
      db=$(new_pg_database run)
      url="${PG_ADMIN_URL%/*}/$db"
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac

  # signup_rounds PREFIX THREADS [VAR=VALUE ...]: the gateway started once, warmed up, then
  # three rounds of the raw argon2 rate (4 s on THREADS threads, the gateway idle) followed by
  # sign-ups (5 s). The ratio sums the rounds, so this VM's drifting speed weighs on both
  # sides alike.
  signup_rounds() {
    local prefix=$1 threads=$2 cpu=0 before after
    shift 2
    start_gateway "$url" "${CAPACITY[@]}" "$@"
    wrk_signups "$WORKDIR/warm-up.txt" "$CONCURRENCY" 2
    : >"$prefix-argon2.txt"
    : >"$prefix-signup.txt"
    for _ in 1 2 3; do
      "$HELPER" argon2 4 "$threads" >>"$prefix-argon2.txt"
      before=$(pg_cpu_ms)
      wrk_signups "$WORKDIR/round.txt" "$CONCURRENCY" 5
      after=$(pg_cpu_ms)
      cat "$WORKDIR/round.txt" >>"$prefix-signup.txt"
      cpu=$((cpu + after - before))
    done
    echo "peak_rss_mib=$(peak_rss_mib)" >>"$prefix-signup.txt"
    echo "pg_cpu_ms=$cpu" >>"$prefix-signup.txt"
    stop_gateway
  }

  echo "[$backend] raw argon2id on all cores and sign-ups at concurrency $CONCURRENCY, all hashing workers (3 x (4 + 5) s)..."
  signup_rounds "$OUT/$backend" "$(nproc)"
  PERMITS=$(kv argon2_threads "$OUT/$backend-argon2.txt")
  HASH_MS=$(kv argon2_ms_per_hash "$OUT/$backend-argon2.txt")
  echo "[$backend] the same with one hashing worker and one argon2 thread (3 x (4 + 5) s)..."
  signup_rounds "$OUT/$backend-1" 1 SIGNUP__HASHING__WORKERS=1

  echo "[$backend] Timbu logins at concurrency $CONCURRENCY (${SECONDS_PER_RUN} s)..."
  start_gateway "$url" "${CAPACITY[@]}"
  for n in $(seq 0 $((LOGIN_ACCOUNTS - 1))); do
    curl -fs -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"email\":\"bench-login-$n@example.com\",\"password\":\"correct horse battery\"}" \
      "http://127.0.0.1:$PORT/timbu/auth/signup"
  done
  BENCH_ACCOUNTS=$LOGIN_ACCOUNTS wrk -t1 -c"$CONCURRENCY" -d"${SECONDS_PER_RUN}s" --latency -s "$SCRIPTS"/login.lua \
    "http://127.0.0.1:$PORT/timbu/auth/login" >"$OUT/$backend-login.txt"
  stop_gateway

  # 3x overload, admission bounded by time (hashing.max_wait_ms set to four raw hash times,
  # its default's order) with a queue too long to matter. About permits x 5 sign-ups are inside the gateway
  # at once; the other connections get instant 503s, so their pace is their delay.
  inside=$((PERMITS * 5))
  overload_conc=$((3 * inside))
  offered=$(awk -v r="$(kv argon2_hashes_per_sec "$OUT/$backend-argon2.txt")" 'BEGIN { printf "%.0f", 3 * r }')
  delay_ms=$(awk -v c="$overload_conc" -v b="$inside" -v o="$offered" 'BEGIN { printf "%.0f", 1000 * (c - b) / o }')
  echo "[$backend] 3x overload: ~$offered req/s offered, $PERMITS workers, $overload_conc connections (${SECONDS_PER_RUN} s)..."
  max_wait_ms=$(awk -v h="$HASH_MS" 'BEGIN { printf "%.0f", 4 * h }')
  start_gateway "$url" SIGNUP__HASHING__QUEUE=1024 SIGNUP__HASHING__MAX_WAIT_MS="$max_wait_ms"
  BENCH_DELAY_MS=$delay_ms wrk_signups "$OUT/$backend-overload.txt" "$overload_conc"
  curl -fs "http://127.0.0.1:$PORT/metrics" >"$OUT/$backend-overload-metrics.txt"
  echo "peak_rss_mib=$(peak_rss_mib)" >>"$OUT/$backend-overload.txt"
  echo "max_wait_ms=$max_wait_ms" >>"$OUT/$backend-overload.txt"
  stop_gateway

  if [ "$backend" = postgres ]; then
    # The database's own cost per sign-up, with hashing made cheap (argon2 m=256 KiB, t=1)
    # so that PostgreSQL, not argon2, sets the pace and argon2's 19 MiB per hash does not
    # evict PostgreSQL's caches: what one database core spends per sign-up when it serves
    # many gateways. After a 3 s warm-up.
    echo "[postgres] database-bound sign-ups, cheap hashing (3 + ${SECONDS_PER_RUN} s)..."
    start_gateway "$url" "${CAPACITY[@]}" SIGNUP__HASHING__MEMORY_KIB=256 SIGNUP__HASHING__ITERATIONS=1
    wrk_signups "$WORKDIR/warm-up.txt" "$CONCURRENCY" 3
    read -r rows_a entries_a xacts_a <<<"$(pg_reads "$db")"
    cpu_a=$(pg_cpu_ms)
    wrk_signups "$OUT/postgres-dbbound.txt"
    cpu_b=$(pg_cpu_ms)
    stop_gateway
    read -r rows_b entries_b xacts_b <<<"$(pg_reads "$db")"
    {
      echo "pg_cpu_ms=$((cpu_b - cpu_a))"
      echo "pg_transactions=$((xacts_b - xacts_a))"
    } >>"$OUT/postgres-dbbound.txt"

    # Rows read per sign-up on a table of 1,000 and of 100,000 accounts: the same if every
    # statement reads O(1) rows.
    sized=$(new_pg_database sized)
    sized_url="${PG_ADMIN_URL%/*}/$sized"
    start_gateway "$sized_url"
    stop_gateway
    filled=0
    for size in 1000 100000; do
      echo "[postgres] rows read per sign-up at $size accounts (5 s)..."
      fill_accounts "$sized" $((filled + 1)) "$size"
      filled=$size
      read -r rows_a entries_a xacts_a <<<"$(pg_reads "$sized")"
      pg_reads_by_table "$sized" >"$WORKDIR/tables-before"
      start_gateway "$sized_url" "${CAPACITY[@]}"
      wrk_signups "$OUT/postgres-sized-$size.txt" "$CONCURRENCY" 5
      stop_gateway
      read -r rows_b entries_b xacts_b <<<"$(pg_reads "$sized")"
      {
        echo "pg_rows_read=$((rows_b - rows_a))"
        echo "pg_index_entries_read=$((entries_b - entries_a))"
        echo "pg_transactions=$((xacts_b - xacts_a))"
        pg_reads_by_table "$sized" | LC_ALL=C join "$WORKDIR/tables-before" - |
          awk '$3 > $2 { printf "pg_rows_read_%s=%d\n", $1, $3 - $2 }'
      } >>"$OUT/postgres-sized-$size.txt"
      filled=$(psql "$sized_url" -Atqc 'SELECT COUNT(*) FROM accounts')
    done
  fi
done

python3 "$SCRIPTS"/summary.py "$OUT" "$BACKENDS"
