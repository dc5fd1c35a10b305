#!/usr/bin/env bash
# The datastore rows of BENCHMARKS.md: CPU time the client process spends per
# PostgreSQL query (sqlx, `SELECT $1::int4`) and per Redis command (redis-rs,
# `GET`), plain and through obskit::db (every span exported, or none sampled),
# against the local servers. `db-ops` interleaves the modes in each round and
# prints the medians; the client is pinned to one core, the OTLP sink to the other.
#
#   bench/db.sh                                # 3 rounds of 20 000 operations per mode
#   DB_BENCH_OPS=2000 DB_BENCH_ROUNDS=1 bench/db.sh   # smoke run
#
# Settings: DB_BENCH_OPS (20000), DB_BENCH_ROUNDS (3), DB_BENCH_SYSTEMS ("postgres redis"),
# DB_BENCH_SINK_PORT (14329), DB_BENCH_CPU (0), DB_BENCH_SINK_CPU (1), DB_BENCH_BUILD (1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OPS=${DB_BENCH_OPS:-20000}
ROUNDS=${DB_BENCH_ROUNDS:-3}
read -r -a SYSTEMS <<<"${DB_BENCH_SYSTEMS:-postgres redis}"
SINK_PORT=${DB_BENCH_SINK_PORT:-14329}
CPU=${DB_BENCH_CPU:-0}
SINK_CPU=${DB_BENCH_SINK_CPU:-1}
BUILD=${DB_BENCH_BUILD:-1}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release

die() { echo "bench/db.sh: $*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is missing; install it with: apt-get install -y curl"
(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null || die "PostgreSQL is not answering on 127.0.0.1:5432"
(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || die "Redis is not answering on 127.0.0.1:6379"

if [[ $BUILD == 1 ]]; then
    echo "building (cargo build --profile bench -p obskit-bench --features db) ..." >&2
    (cd "$ROOT" && cargo build --profile bench -p obskit-bench --features db --bin db-ops --bin otlp-sink) >&2
fi
[[ -x $BIN/db-ops && -x $BIN/otlp-sink ]] || die "no binaries in $BIN; run with DB_BENCH_BUILD=1"

SINK_PID=
cleanup() { [[ -n $SINK_PID ]] && kill -TERM "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null; return 0; }
trap cleanup EXIT
trap 'exit 130' INT TERM
taskset -c "$SINK_CPU" "$BIN/otlp-sink" --port "$SINK_PORT" >/dev/null 2>&1 &
SINK_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$SINK_PORT/stats" && break; sleep 0.05; done
curl -sf -o /dev/null "http://127.0.0.1:$SINK_PORT/stats" || die "the OTLP sink did not start on port $SINK_PORT"

echo "CPU time per operation (medians of $ROUNDS interleaved rounds of $OPS operations):"
for system in "${SYSTEMS[@]}"; do
    taskset -c "$CPU" "$BIN/db-ops" --system "$system" --ops "$OPS" --rounds "$ROUNDS" \
        --otlp "http://127.0.0.1:$SINK_PORT"
done

# Instructions per operation, which a busy machine does not move: the whole
# process under callgrind, a run of 2N operations minus a run of N, over N.
command -v valgrind >/dev/null || { echo "valgrind is missing: no instruction counts (apt-get install -y valgrind)"; exit 0; }
CN=${DB_BENCH_CALLGRIND_OPS:-1000}
OUT=$(mktemp -d /tmp/obskit-db-bench.XXXXXX)
instructions() { # SYSTEM MODE OPS
    rm -f "$OUT"/callgrind.out.*
    valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$OUT/callgrind.out.%p" \
        "$BIN/db-ops" --system "$1" --modes "$2" --ops "$3" --rounds 1 --warmup 200 \
        --otlp "http://127.0.0.1:$SINK_PORT" >/dev/null 2>"$OUT/stderr" || { cat "$OUT/stderr" >&2; die "db-ops failed under callgrind"; }
    sed -nE 's/^(summary|totals): ([0-9]+).*/\2/p' "$OUT"/callgrind.out.* | head -n 1
}
echo "Instructions per operation (the client process, every thread):"
for system in "${SYSTEMS[@]}"; do
    base=
    for mode in plain obskit obskit-unsampled; do
        one=$(instructions "$system" "$mode" "$CN")
        two=$(instructions "$system" "$mode" $((2 * CN)))
        per=$(((two - one) / CN))
        [[ -z $base ]] && base=$per
        echo "system=$system mode=$mode instructions_per_op=$per added=$((per - base))"
    done
done
rm -rf "$OUT"
