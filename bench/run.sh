#!/usr/bin/env bash
# What full telemetry costs per request: plain axum, obskit (sampled and
# unsampled) and the popular-crates stack serve the same routes, one at a time,
# the server pinned to one core and wrk (plus the OTLP sink) on the other.
# Rounds are interleaved so drift on the machine hits every stack alike; each
# stack is compared with plain axum from the same round. See BENCHMARKS.md.
#
#   bench/run.sh                                    # 3 rounds of 10 s: a few minutes
#   BENCH_DURATION=3s BENCH_ROUNDS=1 bench/run.sh   # smoke run
#
# Settings (environment): BENCH_ROUNDS (3), BENCH_DURATION (10s, the /users/42 run),
# BENCH_HELLO_DURATION (3s), BENCH_WARMUP (2s), BENCH_CONNECTIONS (32),
# BENCH_ORDERS_DURATION (5s, the /orders/42 run: a #[tracing::instrument] child span),
# BENCH_THREADS (1, wrk threads), BENCH_STACKS ("plain obskit obskit-unsampled popular"),
# BENCH_PORT (18080), BENCH_SINK_PORT (14318), BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1),
# BENCH_OUT (a new directory under /tmp: raw wrk output, server stderr, results.tsv),
# BENCH_BUILD (1; 0 uses the binaries already built), BENCH_NICE (-15 as root, else none).
#
# Priority: Linux groups tasks by session (autogroups) and shares the CPUs between
# groups before nice values count, so on a machine where others compile at the same
# time the server would get a fraction of its core. As root the script raises its own
# session's autogroup priority (BENCH_NICE) for the run and restores it at exit;
# BENCH_NICE= (empty) leaves it alone. The tables show each run's load average and
# the server's CPU share, which tell whether the server had its core.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10s}
HELLO_DURATION=${BENCH_HELLO_DURATION:-3s}
ORDERS_DURATION=${BENCH_ORDERS_DURATION:-5s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
read -r -a STACKS <<<"${BENCH_STACKS:-plain obskit obskit-unsampled popular}"
PORT=${BENCH_PORT:-18080}
SINK_PORT=${BENCH_SINK_PORT:-14318}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/obskit-bench.XXXXXX)}
BUILD=${BENCH_BUILD:-1}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
if [[ -z ${BENCH_NICE+set} ]]; then
    NICE=$([[ $EUID == 0 ]] && echo -15 || true)
else
    NICE=$BENCH_NICE
fi
CLK_TCK=$(getconf CLK_TCK)
BASE=http://127.0.0.1:$PORT
SINK=http://127.0.0.1:$SINK_PORT
USER_JSON='{"id":42,"name":"user-42","email":"user-42@example.com","active":true}'

die() { echo "bench/run.sh: $*" >&2; exit 1; }
for tool in wrk taskset curl getconf; do
    command -v "$tool" >/dev/null || die "$tool is missing; install it with: apt-get install -y wrk util-linux curl"
done
mkdir -p "$OUT"

SERVER_PID=
SINK_PID=
AUTOGROUP_NICE=
cleanup() {
    [[ -n ${PERF_PID:-} ]] && kill -INT "$PERF_PID" 2>/dev/null
    [[ -n $SERVER_PID ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [[ -n $SINK_PID ]] && kill -TERM "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    [[ -n $AUTOGROUP_NICE ]] && echo "$AUTOGROUP_NICE" >/proc/self/autogroup 2>/dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $BUILD == 1 ]]; then
    echo "building (cargo build --profile bench -p obskit-bench --bins) ..." >&2
    (cd "$ROOT" && cargo build --profile bench -p obskit-bench --bins) >&2
fi
[[ -x $BIN/bench-server && -x $BIN/otlp-sink ]] || die "no binaries in $BIN; run with BENCH_BUILD=1"

# --- helpers ------------------------------------------------------------------------------
# Waits until $1 answers, while process $2 (if given) is alive.
wait_ready() {
    local url=$1 pid=${2:-}
    for _ in $(seq 200); do
        curl -sf -o /dev/null "$url" && return 0
        [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && return 1
        sleep 0.05
    done
    return 1
}
# utime + stime of a process, all threads, in clock ticks.
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# utime and stime of a process, all threads, in clock ticks: "user system".
cpu_split() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
# Whether perf can count syscalls and context switches of another process here.
PERF=0
if command -v perf >/dev/null && perf stat -x, -e raw_syscalls:sys_enter,context-switches true >/dev/null 2>&1; then
    PERF=1
fi
# Counts syscalls and context switches of process $1 (all its threads) while
# wrk runs; prints "syscalls context_switches", or "n/a n/a" without perf.
# $2 is the output file of perf stat.
perf_start() {
    if ((PERF)); then
        taskset -c "$LOAD_CPU" perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$1" -o "$2" &
        PERF_PID=$!
        sleep 0.2
    fi
}
perf_stop() {
    if ((PERF)) && [[ -n $PERF_PID ]]; then
        kill -INT "$PERF_PID" 2>/dev/null
        wait "$PERF_PID" 2>/dev/null || true
        PERF_PID=
        awk -F, '$3 == "raw_syscalls:sys_enter" { s = $1 } $3 == "context-switches" { c = $1 } END { print s + 0, c + 0 }' "$1"
    else
        echo "n/a n/a"
    fi
}
PERF_PID=
# Peak resident set size of a process in KiB.
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
sink_spans() { curl -sf "$SINK/stats" | sed -E 's/^spans=([0-9]+).*/\1/'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# Runs wrk on the load core: $1 duration, $2 path, $3 output file.
load() {
    taskset -c "$LOAD_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" --latency "$BASE$2" >"$3"
}
# From a wrk report: requests, seconds, req/s, p50 ms, p99 ms, errors (socket errors + non-2xx/3xx).
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
            if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
            return v + 0
        }
        / requests in / { requests = $1; secs = $4; sub(/s,?$/, "", secs) }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Socket errors:/ { errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $5 }
        END { printf "%d %.3f %.0f %.3f %.3f %d\n", requests, secs, rps, p50, p99, errors + 0 }
    ' "$1"
}

# --- one stack ----------------------------------------------------------------------------
# Appends one row to $OUT/results.tsv.
run_stack() {
    local round=$1 stack=$2 prefix=$OUT/round$1-$2 sampler=always_on
    [[ $stack == obskit-unsampled ]] && sampler=always_off
    curl -s -o /dev/null "$BASE/hello" && die "something already answers on port $PORT"
    local load_before spans_before
    load_before=$(load1)
    spans_before=$(sink_spans)

    OTEL_TRACES_SAMPLER=$sampler RUST_LOG=info OTEL_SERVICE_NAME=bench-$stack \
        taskset -c "$SERVER_CPU" "$BIN/bench-server" --stack "$stack" --port "$PORT" --otlp "$SINK" \
        >"$prefix.log" 2>"$prefix.stderr" &
    SERVER_PID=$!
    wait_ready "$BASE/hello" "$SERVER_PID" || { cat "$prefix.stderr" >&2; die "$stack did not start"; }
    [[ $(curl -sf "$BASE/users/42") == "$USER_JSON" ]] || die "$stack: GET /users/42 answered wrongly"
    [[ $(curl -sf -X POST --data-binary 'ping 42' "$BASE/echo") == "ping 42" ]] || die "$stack: POST /echo answered wrongly"
    local sanity_requests=3

    load "$WARMUP" /users/42 "$prefix.warmup.txt"
    local t0 t1 t2 us0 ss0 us1 ss1 syscalls switches
    perf_start "$SERVER_PID" "$prefix.perf.csv"
    read -r us0 ss0 < <(cpu_split "$SERVER_PID")
    t0=$(cpu_ticks "$SERVER_PID")
    load "$DURATION" /users/42 "$prefix.users.txt"
    t1=$(cpu_ticks "$SERVER_PID")
    read -r us1 ss1 < <(cpu_split "$SERVER_PID")
    # Not in a subshell: perf is this shell's child, and only this shell can
    # wait for it to write its counts.
    perf_stop "$prefix.perf.csv" >"$prefix.perf.counts"
    read -r syscalls switches <"$prefix.perf.counts"
    load "$HELLO_DURATION" /hello "$prefix.hello.txt"
    t2=$(cpu_ticks "$SERVER_PID")
    local rss
    rss=$(peak_rss_kib "$SERVER_PID")

    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=
    ((rc == 0)) || { cat "$prefix.stderr" >&2; die "$stack exited with status $rc"; }

    local u_req u_secs u_rps u_p50 u_p99 u_err h_req h_secs h_rps h_p50 h_p99 h_err w_req
    read -r u_req u_secs u_rps u_p50 u_p99 u_err < <(parse_wrk "$prefix.users.txt")
    read -r h_req h_secs h_rps h_p50 h_p99 h_err < <(parse_wrk "$prefix.hello.txt")
    read -r w_req _ < <(parse_wrk "$prefix.warmup.txt")
    ((u_req > 0)) || die "$stack: wrk completed no request; see $prefix.users.txt"
    local total=$((sanity_requests + w_req + u_req + h_req))
    local spans=$(($(sink_spans) - spans_before))
    local lines
    lines=$(wc -l <"$prefix.log")
    # Keep a sample of the log, not hundreds of megabytes of it.
    tail -n 3 "$prefix.log" >"$prefix.log-sample" && rm -f "$prefix.log"

    awk -v round="$round" -v stack="$stack" -v loadavg="$load_before" \
        -v u_rps="$u_rps" -v u_p50="$u_p50" -v u_p99="$u_p99" -v u_req="$u_req" -v u_secs="$u_secs" -v u_err="$u_err" \
        -v h_rps="$h_rps" -v h_p50="$h_p50" -v h_p99="$h_p99" -v h_req="$h_req" -v h_err="$h_err" \
        -v du="$((t1 - t0))" -v dh="$((t2 - t1))" -v hz="$CLK_TCK" -v rss="$rss" \
        -v spans="$spans" -v lines="$lines" -v total="$total" 'BEGIN {
            OFS = "\t"
            print round, stack, u_rps, u_p50, u_p99, \
                sprintf("%.2f", du / hz * 1e6 / u_req), sprintf("%.0f", du / hz / u_secs * 100), \
                sprintf("%.1f", rss / 1024), sprintf("%.3f", spans / total), sprintf("%.3f", lines / total), \
                u_err + h_err, h_rps, h_p50, h_p99, sprintf("%.2f", dh / hz * 1e6 / h_req), loadavg
        }' >>"$OUT/results.tsv"
    awk -v round="$round" -v stack="$stack" -v u_req="$u_req" -v hz="$CLK_TCK" \
        -v du="$((us1 - us0))" -v ds="$((ss1 - ss0))" -v sc="$syscalls" -v cs="$switches" 'BEGIN {
            OFS = "\t"
            print round, stack, sprintf("%.2f", du / hz * 1e6 / u_req), sprintf("%.2f", ds / hz * 1e6 / u_req), \
                sc == "n/a" ? "n/a" : sprintf("%.2f", sc / u_req), cs == "n/a" ? "n/a" : sprintf("%.3f", cs / u_req)
        }' >>"$OUT/split.tsv"
    echo "  round $round $stack: $u_rps req/s, p99 $u_p99 ms, $(tail -n 1 "$OUT/results.tsv" | cut -f6) µs CPU/req" \
        "($(tail -n 1 "$OUT/split.tsv" | cut -f3) user + $(tail -n 1 "$OUT/split.tsv" | cut -f4) system)" >&2
}

# --- one stack, GET /orders/42 ------------------------------------------------------------
# The same stack in a process of its own, loaded on the route whose handler
# adds a #[tracing::instrument] span, so its spans per request are exact
# (2 for sampled stacks). Appends one row to $OUT/orders.tsv.
run_orders() {
    local round=$1 stack=$2 prefix=$OUT/round$1-$2-orders sampler=always_on
    [[ $stack == obskit-unsampled ]] && sampler=always_off
    curl -s -o /dev/null "$BASE/hello" && die "something already answers on port $PORT"
    local spans_before
    spans_before=$(sink_spans)
    OTEL_TRACES_SAMPLER=$sampler RUST_LOG=info OTEL_SERVICE_NAME=bench-$stack \
        taskset -c "$SERVER_CPU" "$BIN/bench-server" --stack "$stack" --port "$PORT" --otlp "$SINK" \
        >"$prefix.log" 2>"$prefix.stderr" &
    SERVER_PID=$!
    wait_ready "$BASE/hello" "$SERVER_PID" || { cat "$prefix.stderr" >&2; die "$stack did not start"; }
    [[ $(curl -sf "$BASE/orders/42") == "$USER_JSON" ]] || die "$stack: GET /orders/42 answered wrongly"
    load "$WARMUP" /orders/42 "$prefix.warmup.txt"
    local us0 ss0 us1 ss1 syscalls switches
    perf_start "$SERVER_PID" "$prefix.perf.csv"
    read -r us0 ss0 < <(cpu_split "$SERVER_PID")
    load "$ORDERS_DURATION" /orders/42 "$prefix.orders.txt"
    read -r us1 ss1 < <(cpu_split "$SERVER_PID")
    # Not in a subshell: perf is this shell's child, and only this shell can
    # wait for it to write its counts.
    perf_stop "$prefix.perf.csv" >"$prefix.perf.counts"
    read -r syscalls switches <"$prefix.perf.counts"
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=
    ((rc == 0)) || { cat "$prefix.stderr" >&2; die "$stack exited with status $rc"; }
    local o_req o_secs o_rps o_p50 o_p99 o_err w_req
    read -r o_req o_secs o_rps o_p50 o_p99 o_err < <(parse_wrk "$prefix.orders.txt")
    read -r w_req _ < <(parse_wrk "$prefix.warmup.txt")
    ((o_req > 0)) || die "$stack: wrk completed no request; see $prefix.orders.txt"
    local spans=$(($(sink_spans) - spans_before))
    local lines
    lines=$(wc -l <"$prefix.log")
    tail -n 3 "$prefix.log" >"$prefix.log-sample" && rm -f "$prefix.log"
    awk -v round="$round" -v stack="$stack" -v rps="$o_rps" -v p99="$o_p99" -v req="$o_req" -v err="$o_err" \
        -v du="$((us1 - us0))" -v ds="$((ss1 - ss0))" -v hz="$CLK_TCK" -v sc="$syscalls" -v cs="$switches" \
        -v spans="$spans" -v lines="$lines" -v total="$((1 + w_req + o_req))" 'BEGIN {
            OFS = "\t"
            print round, stack, rps, p99, sprintf("%.2f", (du + ds) / hz * 1e6 / req), \
                sprintf("%.2f", du / hz * 1e6 / req), sprintf("%.2f", ds / hz * 1e6 / req), \
                sc == "n/a" ? "n/a" : sprintf("%.2f", sc / req), cs == "n/a" ? "n/a" : sprintf("%.3f", cs / req), \
                sprintf("%.3f", spans / total), sprintf("%.3f", lines / total), err
        }' >>"$OUT/orders.tsv"
    echo "  round $round $stack /orders: $o_rps req/s, $(tail -n 1 "$OUT/orders.tsv" | cut -f5) µs CPU/req" >&2
}

# --- tables -------------------------------------------------------------------------------
# results.tsv columns:
#  1 round  2 stack  3 req/s  4 p50  5 p99  6 cpu_us_per_req  7 cpu_pct  8 rss_mib  9 spans_per_req
# 10 log_lines_per_req  11 errors  12 hello_rps  13 hello_p50  14 hello_p99  15 hello_cpu_us  16 load1

# Per-round rows with ratios to plain from the same round, into ratios.tsv:
#  1 round 2 stack 3 rps_ratio 4 p99_ratio 5 added_cpu_us 6 hello_rps_ratio 7 hello_p99_ratio 8 cpu_ratio
ratios() {
    awk -F'\t' -v OFS='\t' '
        { row[NR] = $0; if ($2 == "plain") { rps[$1] = $3; p99[$1] = $5; cpu[$1] = $6; hrps[$1] = $12; hp99[$1] = $14 } }
        END {
            for (i = 1; i <= NR; i++) {
                split(row[i], f, "\t"); r = f[1]
                if (r in rps) print r, f[2], f[3] / rps[r], f[5] / p99[r], f[6] - cpu[r], f[12] / hrps[r], f[14] / hp99[r], f[6] / cpu[r]
                else print r, f[2], "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"
            }
        }' "$OUT/results.tsv" >"$OUT/ratios.tsv"
}

round_table() {
    local round=$1
    echo
    echo "### Round $round"
    echo
    echo "| stack | req/s | × plain | p50 ms | p99 ms | p99 × plain | server CPU µs/req | + µs vs plain | server CPU % | peak RSS MiB | spans/req | log lines/req | errors | load1 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    paste "$OUT/results.tsv" "$OUT/ratios.tsv" | awk -F'\t' -v r="$round" '
        function f(v, fmt) { return v == "n/a" ? v : sprintf(fmt, v) }
        $1 == r { printf "| %s | %d | %s | %.3f | %.3f | %s | %.2f | %s | %d | %.1f | %.3f | %.3f | %d | %s |\n",
            $2, $3, f($19, "%.2f"), $4, $5, f($20, "%.2f"), $6, f($21, "%+.2f"), $7, $8, $9, $10, $11, $16 }'
    echo
    echo "GET /hello, $HELLO_DURATION:"
    echo
    echo "| stack | req/s | × plain | p50 ms | p99 ms | p99 × plain | server CPU µs/req |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    paste "$OUT/results.tsv" "$OUT/ratios.tsv" | awk -F'\t' -v r="$round" '
        function f(v, fmt) { return v == "n/a" ? v : sprintf(fmt, v) }
        $1 == r { printf "| %s | %d | %s | %.3f | %.3f | %s | %.2f |\n", $2, $12, f($22, "%.2f"), $13, $14, f($23, "%.2f"), $15 }'
}

# Median of the numbers on standard input ("n/a" when there are none).
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0 || v[1] == "n/a") print "n/a"
        else if (NR % 2) print v[(NR + 1) / 2]
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# med FILE STACK COLUMN
med() { awk -F'\t' -v s="$2" -v c="$3" '$2 == s { print $c }' "$1" | median; }
fmt() { [[ $2 == n/a ]] && echo n/a || LC_ALL=C printf "$1" "$2"; }

summary() {
    echo
    echo "### Summary: median over $ROUNDS round(s); ratios are medians of the per-round ratios to plain axum"
    echo
    echo "| stack | req/s | × plain | p50 ms | p99 ms | p99 × plain | server CPU µs/req | + µs vs plain | peak RSS MiB | spans/req | /hello req/s | /hello × plain |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local s R=$OUT/results.tsv Q=$OUT/ratios.tsv
    for s in "${STACKS[@]}"; do
        echo "| $s | $(fmt %.0f "$(med "$R" "$s" 3)") | $(fmt %.2f "$(med "$Q" "$s" 3)") | $(fmt %.3f "$(med "$R" "$s" 4)") | $(fmt %.3f "$(med "$R" "$s" 5)") | $(fmt %.2f "$(med "$Q" "$s" 4)") | $(fmt %.2f "$(med "$R" "$s" 6)") | $(fmt %+.2f "$(med "$Q" "$s" 5)") | $(fmt %.1f "$(med "$R" "$s" 8)") | $(fmt %.3f "$(med "$R" "$s" 9)") | $(fmt %.0f "$(med "$R" "$s" 12)") | $(fmt %.2f "$(med "$Q" "$s" 6)") |"
    done
    echo
    echo "Targets, on the medians above:"
    local target
    check() { # stack column op limit label
        local v
        v=$(med "$Q" "$1" "$2")
        if [[ $v == n/a ]]; then echo "- $5: not measured"; return; fi
        if awk -v v="$v" -v l="$4" -v op="$3" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then target=met; else target="NOT met"; fi
        echo "- $5: $(fmt %.2f "$v") ($3 $4): $target"
    }
    check obskit 3 ">=" 0.75 "obskit fully on, req/s × plain"
    check obskit-unsampled 3 ">=" 0.90 "obskit unsampled, req/s × plain"
    check obskit 4 "<=" 1.5 "obskit fully on, p99 × plain"
    check obskit-unsampled 4 "<=" 1.5 "obskit unsampled, p99 × plain"
}

# Median per stack of a column of a file whose first two columns are round and stack.
# The medians of user and system CPU, syscalls and context switches per request (GET /users/42).
split_summary() {
    echo
    echo "### Where the server's CPU goes (GET /users/42, medians): user and system time, syscalls and context switches per request"
    echo
    echo "Machine-independent counts come from \`perf stat -e raw_syscalls:sys_enter,context-switches -p PID\` over the timed run (all threads of the server)."
    echo
    echo "| stack | user µs/req | system µs/req | + user vs plain | + system vs plain | syscalls/req | context switches/req |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    local s S=$OUT/split.tsv pu ps u sy
    pu=$(med "$S" plain 3)
    ps=$(med "$S" plain 4)
    for s in "${STACKS[@]}"; do
        u=$(med "$S" "$s" 3)
        sy=$(med "$S" "$s" 4)
        echo "| $s | $(fmt %.2f "$u") | $(fmt %.2f "$sy") | $(delta "$u" "$pu") | $(delta "$sy" "$ps") | $(fmt %.2f "$(med "$S" "$s" 5)") | $(fmt %.3f "$(med "$S" "$s" 6)") |"
    done
}
# delta VALUE BASE: VALUE - BASE with a sign, or n/a.
delta() { [[ $1 == n/a || $2 == n/a ]] && echo n/a || LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", a - b }'; }

orders_summary() {
    echo
    echo "### GET /orders/42: the same JSON built inside a \`#[tracing::instrument]\` function (medians, $ORDERS_DURATION per run)"
    echo
    echo "The bridged span's own cost is this route's server CPU per request minus GET /users/42's, per stack."
    echo
    echo "| stack | req/s | p99 ms | server CPU µs/req | user µs/req | system µs/req | + µs vs /users/42 | syscalls/req | context switches/req | spans/req | log lines/req | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local s O=$OUT/orders.tsv R=$OUT/results.tsv c
    for s in "${STACKS[@]}"; do
        c=$(med "$O" "$s" 5)
        echo "| $s | $(fmt %.0f "$(med "$O" "$s" 3)") | $(fmt %.3f "$(med "$O" "$s" 4)") | $(fmt %.2f "$c") | $(fmt %.2f "$(med "$O" "$s" 6)") | $(fmt %.2f "$(med "$O" "$s" 7)") | $(delta "$c" "$(med "$R" "$s" 6)") | $(fmt %.2f "$(med "$O" "$s" 8)") | $(fmt %.3f "$(med "$O" "$s" 9)") | $(fmt %.3f "$(med "$O" "$s" 10)") | $(fmt %.3f "$(med "$O" "$s" 11)") | $(fmt %.0f "$(med "$O" "$s" 12)") |"
    done
}

# --- run ----------------------------------------------------------------------------------
PRIORITY="default priority"
if [[ -n $NICE && -r /proc/self/autogroup ]]; then
    previous=$(sed -E 's/.* nice (-?[0-9]+).*/\1/' /proc/self/autogroup)
    if echo "$NICE" 2>/dev/null >/proc/self/autogroup; then
        AUTOGROUP_NICE=$previous
        PRIORITY="session autogroup nice $NICE"
    else
        echo "bench/run.sh: cannot set the autogroup priority to $NICE; running at $previous" >&2
    fi
fi

taskset -c "$LOAD_CPU" "$BIN/otlp-sink" --port "$SINK_PORT" >"$OUT/sink.out" 2>"$OUT/sink.stderr" &
SINK_PID=$!
wait_ready "$SINK/stats" "$SINK_PID" || { cat "$OUT/sink.stderr" >&2; die "the OTLP sink did not start on port $SINK_PORT"; }

: >"$OUT/results.tsv"
: >"$OUT/split.tsv"
: >"$OUT/orders.tsv"
echo "bench: $ROUNDS round(s), wrk -t$THREADS -c$CONNECTIONS -d$DURATION on /users/42 (+ -d$HELLO_DURATION on /hello, $WARMUP warm-up)," \
    "server on CPU $SERVER_CPU, wrk and sink on CPU $LOAD_CPU, $PRIORITY; raw output in $OUT" >&2
n=${#STACKS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
    # Each round starts one stack later, so no stack always runs first or last.
    for ((i = 0; i < n; i++)); do
        run_stack "$round" "${STACKS[$(((i + round - 1) % n))]}"
        [[ $ORDERS_DURATION == 0 ]] || run_orders "$round" "${STACKS[$(((i + round - 1) % n))]}"
    done
done

kill -TERM "$SINK_PID"
wait "$SINK_PID" || true
SINK_PID=

ratios
{
    echo "## Results"
    echo
    echo "$(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r);" \
        "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency on GET /users/42 (server pinned to CPU $SERVER_CPU, wrk and OTLP sink on CPU $LOAD_CPU, $PRIORITY)."
    echo "Server CPU is utime+stime of the whole server process (all threads) during the timed run, divided by the requests wrk completed."
    for ((round = 1; round <= ROUNDS; round++)); do round_table "$round"; done
    summary
    split_summary
    [[ $ORDERS_DURATION == 0 ]] || orders_summary
    echo
    echo "OTLP sink at exit: $(cat "$OUT/sink.out")"
} | tee "$OUT/report.md"
