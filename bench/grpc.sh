#!/usr/bin/env bash
# The unary gRPC row of BENCHMARKS.md: server CPU per call of plain tonic and of
# tonic behind obskit's GrpcLayer (every span exported, or none sampled), serving
# obskit.test.v1.Echo/Unary. The server is pinned to one core; the load generator
# (`grpc-bench load`, a tonic client loop on one thread: `ghz` is not in Debian) and
# the OTLP sink to the other. Rounds are interleaved so drift hits every stack alike.
#
#   bench/grpc.sh                                   # 3 rounds of 10 s
#   BENCH_DURATION=3 BENCH_ROUNDS=1 bench/grpc.sh   # smoke run
#
# Settings: BENCH_ROUNDS (3), BENCH_DURATION (10, seconds), BENCH_WARMUP (2),
# BENCH_CONCURRENCY (32), BENCH_STACKS ("plain obskit obskit-unsampled"),
# BENCH_PORT (18081), BENCH_SINK_PORT (14319), BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1),
# BENCH_OUT (a new directory under /tmp), BENCH_BUILD (1; 0 uses the built binaries).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
read -r -a STACKS <<<"${BENCH_STACKS:-plain obskit obskit-unsampled}"
PORT=${BENCH_PORT:-18081}
SINK_PORT=${BENCH_SINK_PORT:-14319}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/obskit-grpc-bench.XXXXXX)}
BUILD=${BENCH_BUILD:-1}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
CLK_TCK=$(getconf CLK_TCK)
SINK=http://127.0.0.1:$SINK_PORT

die() { echo "bench/grpc.sh: $*" >&2; exit 1; }
for tool in taskset curl getconf; do
    command -v "$tool" >/dev/null || die "$tool is missing; install it with: apt-get install -y util-linux curl"
done
mkdir -p "$OUT"

SERVER_PID=
SINK_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [[ -n $SINK_PID ]] && kill -TERM "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    true
}
trap cleanup EXIT

if [[ $BUILD == 1 ]]; then
    echo "building (cargo build --profile bench -p obskit-bench --bin grpc-bench --bin otlp-sink) ..." >&2
    (cd "$ROOT" && cargo build --profile bench -p obskit-bench --bin grpc-bench --bin otlp-sink) >&2
fi
[[ -x $BIN/grpc-bench && -x $BIN/otlp-sink ]] || die "no binaries in $BIN; run with BENCH_BUILD=1"

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One measurement: prints "stack calls seconds errors cpu_seconds".
measure() {
    local stack=$1 round=$2
    RUST_LOG=info OTEL_SERVICE_NAME=grpc-bench-$stack \
        taskset -c "$SERVER_CPU" "$BIN/grpc-bench" serve --stack "$stack" --port "$PORT" --otlp "$SINK" \
        >"$OUT/$stack-$round.stdout" 2>"$OUT/$stack-$round.stderr" &
    SERVER_PID=$!
    local ok=
    for _ in $(seq 100); do
        if taskset -c "$LOAD_CPU" "$BIN/grpc-bench" load --addr "127.0.0.1:$PORT" --seconds 0.05 --concurrency 1 >/dev/null 2>&1; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [[ -n $ok ]] || die "$stack did not start; see $OUT/$stack-$round.stderr"
    taskset -c "$LOAD_CPU" "$BIN/grpc-bench" load --addr "127.0.0.1:$PORT" --seconds "$WARMUP" --concurrency "$CONCURRENCY" >/dev/null
    local before after line
    before=$(cpu_ticks "$SERVER_PID")
    line=$(taskset -c "$LOAD_CPU" "$BIN/grpc-bench" load --addr "127.0.0.1:$PORT" --seconds "$DURATION" --concurrency "$CONCURRENCY")
    after=$(cpu_ticks "$SERVER_PID")
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=
    local calls seconds errors
    calls=$(sed -E 's/.*calls=([0-9]+).*/\1/' <<<"$line")
    seconds=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$line")
    errors=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
    echo "$stack $calls $seconds $errors $(awk -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN { print t / hz }')"
}

taskset -c "$LOAD_CPU" "$BIN/otlp-sink" --port "$SINK_PORT" >"$OUT/sink.out" 2>"$OUT/sink.stderr" &
SINK_PID=$!
sleep 0.5

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$OUT/results.tsv"
for round in $(seq "$ROUNDS"); do
    for stack in "${STACKS[@]}"; do
        measure "$stack" "$round" | tee -a "$OUT/results.tsv" >&2
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Per stack: median over rounds of calls/s and of server CPU µs per call.
echo
echo "| stack | calls/s (median) | server CPU µs/call (median) | extra µs/call vs plain |"
echo "|---|---:|---:|---:|"
plain_us=
for stack in "${STACKS[@]}"; do
    rates=$(awk -v s="$stack" '$1 == s { printf "%.0f\n", $2 / $3 }' "$OUT/results.tsv" | sort -n)
    us=$(awk -v s="$stack" '$1 == s && $2 > 0 { printf "%.2f\n", $5 / $2 * 1e6 }' "$OUT/results.tsv" | sort -n)
    median() { awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
    rate=$(median <<<"$rates")
    cpu=$(median <<<"$us")
    [[ $stack == plain ]] && plain_us=$cpu
    extra=$([[ -n $plain_us ]] && awk -v a="$cpu" -v b="$plain_us" 'BEGIN { printf "%+.2f", a - b }' || echo "")
    echo "| $stack | $rate | $cpu | $extra |"
done
echo
echo "raw results in $OUT/results.tsv (stack calls seconds errors server_cpu_seconds)"
