#!/usr/bin/env bash
# `just bench`: the release gateway under wrk, on SQLite and on PostgreSQL.
# Prints sign-ups/s, p50/p99, peak RSS, the raw argon2 rate of this machine (same parameters,
# all cores, same run) and the ratio; the rejected-request (400) rate next to a bare Actix
# handler's; and, under 3x overload, the p99 of accepted sign-ups and the peak RSS, each
# against its target.
#
# Knobs: BENCH_SECONDS (15), BENCH_CONCURRENCY (16), BENCH_QUEUE (8, the overload phase's
# hashing queue), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_BACKENDS ("sqlite postgres").
set -euo pipefail
# Run from the workspace root (cargo, migrations); this script's folder holds the wrk scripts.
cd "$(dirname "$0")/../../.."
SCRIPTS=crates/bench/scripts

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
QUEUE=${BENCH_QUEUE:-8}
PG_ADMIN_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
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
cleanup() {
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null || true
  [ -n "${BARE_PID:-}" ] && kill "$BARE_PID" 2>/dev/null || true
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
    "$@" "$GATEWAY" serve >"$WORKDIR/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  wait_http "http://127.0.0.1:$PORT/healthz"
}

peak_rss_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$GATEWAY_PID/status"; }

stop_gateway() {
  kill -TERM "$GATEWAY_PID"
  wait "$GATEWAY_PID" 2>/dev/null || true
  GATEWAY_PID=""
}

echo "measuring a bare Actix handler (${SECONDS_PER_RUN} s)..."
"$HELPER" bare "127.0.0.1:$BARE_PORT" >/dev/null 2>&1 &
BARE_PID=$!
wait_http "http://127.0.0.1:$BARE_PORT/conductor/auth/signup" POST
wrk -t1 -c"$CONCURRENCY" -d"${SECONDS_PER_RUN}s" -s "$SCRIPTS"/reject.lua \
  "http://127.0.0.1:$BARE_PORT/conductor/auth/signup" >"$OUT/bare.txt"
kill "$BARE_PID"
wait "$BARE_PID" 2>/dev/null || true
BARE_PID=""

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite://$WORKDIR/bench.db" ;;
    postgres)
      if ! command -v psql >/dev/null 2>&1 || ! psql "$PG_ADMIN_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
        echo "PostgreSQL not reachable at $PG_ADMIN_URL: skipping the postgres run"
        continue
      fi
      db="signup_bench_$$"
      psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      url="${PG_ADMIN_URL%/*}/$db"
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac

  # The raw rate is measured right before the run it is compared with (VMs drift).
  echo "[$backend] raw argon2id on all cores (5 s)..."
  "$HELPER" argon2 5 >"$OUT/$backend-argon2.txt"
  ARGON2_RATE=$(kv argon2_hashes_per_sec "$OUT/$backend-argon2.txt")
  PERMITS=$(kv argon2_threads "$OUT/$backend-argon2.txt")

  echo "[$backend] sign-ups at concurrency $CONCURRENCY (${SECONDS_PER_RUN} s)..."
  start_gateway "$url" SIGNUP__HASHING__QUEUE=1024
  wrk -t1 -c"$CONCURRENCY" -d"${SECONDS_PER_RUN}s" --latency -s "$SCRIPTS"/signup.lua \
    "http://127.0.0.1:$PORT/conductor/auth/signup" >"$OUT/$backend-signup.txt"
  echo "[$backend] rejected requests (400) (${SECONDS_PER_RUN} s)..."
  wrk -t1 -c"$CONCURRENCY" -d"${SECONDS_PER_RUN}s" -s "$SCRIPTS"/reject.lua \
    "http://127.0.0.1:$PORT/conductor/auth/signup" >"$OUT/$backend-reject.txt"
  echo "peak_rss_mib=$(peak_rss_mib)" >>"$OUT/$backend-signup.txt"
  stop_gateway

  # 3x overload: offer three times the raw argon2 capacity over 3 x (permits + queue)
  # connections. About permits + queue of them are always inside the gateway; the others get
  # instant 503s, so their pace is their delay.
  overload_conc=$((3 * (PERMITS + QUEUE)))
  offered=$(awk -v r="$ARGON2_RATE" 'BEGIN { printf "%.0f", 3 * r }')
  delay_ms=$(awk -v c="$overload_conc" -v b="$((PERMITS + QUEUE))" -v o="$offered" \
    'BEGIN { printf "%.0f", 1000 * (c - b) / o }')
  echo "[$backend] 3x overload: ~$offered req/s offered, queue $QUEUE, $PERMITS permits, $overload_conc connections (${SECONDS_PER_RUN} s)..."
  start_gateway "$url" SIGNUP__HASHING__QUEUE="$QUEUE"
  BENCH_DELAY_MS=$delay_ms wrk -t1 -c"$overload_conc" -d"${SECONDS_PER_RUN}s" --latency -s "$SCRIPTS"/signup.lua \
    "http://127.0.0.1:$PORT/conductor/auth/signup" >"$OUT/$backend-overload.txt"
  curl -fs "http://127.0.0.1:$PORT/metrics" >"$OUT/$backend-overload-metrics.txt"
  echo "peak_rss_mib=$(peak_rss_mib)" >>"$OUT/$backend-overload.txt"
  stop_gateway
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  fi
done

python3 "$SCRIPTS"/summary.py "$OUT" "$QUEUE" "$BACKENDS"
