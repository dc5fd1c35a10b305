#!/usr/bin/env bash
# What a request costs in units that do not depend on the CPU: instructions
# (valgrind's callgrind), syscalls and context switches (perf's kernel
# tracepoints) and heap allocations (a counting allocator), for each stack and
# route, driven in-process by the `per-request` binary (no sockets, so the
# figures are the router's and the instrumentation's: export and log writes
# included). Each count is the difference between a run of 2N and a run of N
# requests, divided by N, so start-up and shutdown cancel out. See BENCHMARKS.md.
#
#   bench/count.sh                      # N=2000 under callgrind, 20000 for perf and allocations
#
# The gRPC rows make unary calls to the test service the same way (plain
# tonic, or behind obskit's GrpcLayer). The messaging rows publish to and
# consume from the RabbitMQ broker on 127.0.0.1:5672 and the NATS JetStream
# server on 127.0.0.1:4222 with `messaging-bench` (plain lapin or async-nats,
# or through obskit::messaging::rabbitmq / ::nats): per message published
# (confirmed by the broker) and per message processed (delivered and
# acknowledged; on NATS a double ack), every thread of the process counted
# (the client's I/O, the exporter); processing is a run that publishes and
# processes minus one that only publishes. A broker that does not listen is
# skipped, with a note.
#
# Settings (environment): COUNT_STACKS ("plain obskit obskit-unsampled popular"; empty for none),
# COUNT_GRPC_STACKS ("plain obskit obskit-unsampled"; empty for none),
# COUNT_MESSAGING_STACKS ("plain obskit obskit-unsampled"; empty for none),
# COUNT_MESSAGING_BROKERS ("rabbitmq nats"),
# COUNT_MESSAGES (5000), COUNT_CALLGRIND_MESSAGES (500),
# COUNT_PATHS ("/users/42 /orders/42 traced:/users/42"; `traced:` sends a sampled traceparent), COUNT_N (20000), COUNT_CALLGRIND_N (2000),
# COUNT_RENDER_FORMATS ("prometheus openmetrics"; empty for none), COUNT_RENDER_SERIES (10000),
# COUNT_RENDERS (5), COUNT_SINK_PORT (14319), COUNT_BUILD (1), COUNT_OUT (a new directory under /tmp).
#
# The `/metrics` table renders a registry of COUNT_RENDER_SERIES sample lines (half
# histogram, half counter lines, every observed bucket and counter with an exemplar)
# with `render-count`, in each format: instructions per render (callgrind, 2N renders
# minus N) and the ratio to the Prometheus text format.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
read -r -a STACKS <<<"${COUNT_STACKS-plain obskit obskit-unsampled popular}"
read -r -a PATHS <<<"${COUNT_PATHS:-/users/42 /orders/42 traced:/users/42}"
TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
read -r -a GRPC_STACKS <<<"${COUNT_GRPC_STACKS-plain obskit obskit-unsampled}"
read -r -a MSG_STACKS <<<"${COUNT_MESSAGING_STACKS-plain obskit obskit-unsampled}"
read -r -a MSG_BROKERS <<<"${COUNT_MESSAGING_BROKERS-rabbitmq nats}"
read -r -a RENDER_FORMATS <<<"${COUNT_RENDER_FORMATS-prometheus openmetrics}"
RENDER_SERIES=${COUNT_RENDER_SERIES:-10000}
RENDERS=${COUNT_RENDERS:-5}
MN=${COUNT_MESSAGES:-5000}
MCN=${COUNT_CALLGRIND_MESSAGES:-500}
N=${COUNT_N:-20000}
CN=${COUNT_CALLGRIND_N:-2000}
SINK_PORT=${COUNT_SINK_PORT:-14319}
BUILD=${COUNT_BUILD:-1}
OUT=${COUNT_OUT:-$(mktemp -d /tmp/obskit-count.XXXXXX)}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
SINK=http://127.0.0.1:$SINK_PORT

die() { echo "bench/count.sh: $*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is missing; install it with: apt-get install -y curl"
VALGRIND=0
command -v valgrind >/dev/null && VALGRIND=1
PERF=0
if command -v perf >/dev/null && perf stat -x, -e raw_syscalls:sys_enter,context-switches true >/dev/null 2>&1; then
    PERF=1
fi
mkdir -p "$OUT"

SINK_PID=
cleanup() { [[ -n $SINK_PID ]] && kill -TERM "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null; return 0; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $BUILD == 1 ]]; then
    echo "building (cargo build --profile bench -p obskit-bench --bins) ..." >&2
    (cd "$ROOT" && cargo build --profile bench -p obskit-bench --bins) >&2
fi
[[ -x $BIN/per-request && -x $BIN/otlp-sink && -x $BIN/render-count ]] || die "no binaries in $BIN; run with COUNT_BUILD=1"
if ((${#MSG_STACKS[@]})) && [[ ! -x $BIN/messaging-bench ]]; then
    die "no messaging-bench in $BIN; run with COUNT_BUILD=1, or set COUNT_MESSAGING_STACKS= for no messaging rows"
fi
# broker_port BROKER: where it listens.
broker_port() { if [[ $1 == nats ]]; then echo 4222; else echo 5672; fi; }
BROKERS=()
for broker in "${MSG_BROKERS[@]}"; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$(broker_port "$broker")") 2>/dev/null; then
        BROKERS+=("$broker")
    elif ((${#MSG_STACKS[@]})); then
        echo "bench/count.sh: nothing listens on 127.0.0.1:$(broker_port "$broker"); no $broker rows" >&2
    fi
done

"$BIN/otlp-sink" --port "$SINK_PORT" >"$OUT/sink.out" 2>"$OUT/sink.stderr" &
SINK_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$SINK/stats" && break; sleep 0.05; done
curl -sf -o /dev/null "$SINK/stats" || die "the OTLP sink did not start on port $SINK_PORT"

# per_request STACK PATH REQUESTS [WRAPPER...]: runs the binary, its log lines
# to a file. PATH "grpc" makes unary gRPC calls instead of GETs.
# Spans are exported in full batches only (no timer, so runs of N and 2N
# requests export alike), and the queue holds every span of a run: a span
# dropped because the request thread outran the exporter would make the
# export look cheaper than it is.
per_request() {
    local stack=$1 path=$2 n=$3 target
    shift 3
    if [[ $path == grpc ]]; then target=(--protocol grpc); else target=(--path "${path#traced:}"); fi
    # A `traced:` route: each request carries a sampled traceparent, as
    # one from a caller that traces does.
    [[ $path == traced:* ]] && target+=(--traceparent "$TRACEPARENT")
    OTEL_SERVICE_NAME=count-$stack RUST_LOG=info OTEL_BSP_SCHEDULE_DELAY=600000 OTEL_BSP_MAX_QUEUE_SIZE=200000 "$@" "$BIN/per-request" --stack "$stack" "${target[@]}" \
        --requests "$n" --warmup 500 --otlp "$SINK" >"$OUT/last.stdout" 2>"$OUT/last.stderr" ||
        { cat "$OUT/last.stderr" >&2; die "per-request failed for $stack $path"; }
    # A dropped span would make the export look cheaper than it is.
    local dropped
    dropped=$(grep -ohE 'spans_dropped=[0-9]+' "$OUT/last.stderr" "$OUT/last.stdout" | head -n 1 | cut -d= -f2 || true)
    [[ -z $dropped || $dropped == 0 ]] || die "$stack $path dropped $dropped spans; the counts would leave out their export"
}
# callgrind_total RUNNER ARGS...: the instructions of a whole process, every thread
# together, under callgrind. RUNNER runs its binary behind the wrapper it is given
# after ARGS, as per_request, messaging and render do.
callgrind_total() {
    local total
    rm -f "$OUT"/callgrind.out.*
    "$@" valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$OUT/callgrind.out.%p"
    total=$(sed -nE 's/^(summary|totals): ([0-9]+).*/\2/p' "$OUT"/callgrind.out.* | head -n 1)
    rm -f "$OUT"/callgrind.out.*
    echo "$total"
}
# Instructions of a whole run under callgrind: "request-thread other-threads".
# The requests run on the main thread; export and log writing on others, where
# the count depends on how spans fall into export batches.
instructions() {
    rm -f "$OUT"/callgrind.out.*
    # Fair scheduling: by default valgrind lets the request thread run so
    # long that the export thread starves and the span queue drops spans.
    per_request "$1" "$2" "$3" valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes \
        --callgrind-out-file="$OUT/callgrind.out.%p"
    local main=0 other=0 file total
    for file in "$OUT"/callgrind.out.*; do
        total=$(sed -nE 's/^(summary|totals): ([0-9]+).*/\2/p' "$file" | head -n 1)
        if [[ $file == *-01 ]]; then main=$((main + total)); else other=$((other + total)); fi
    done
    rm -f "$OUT"/callgrind.out.*
    echo "$main $other"
}
# Syscalls and context switches of a whole run: "syscalls switches".
kernel_counts() {
    per_request "$1" "$2" "$3" perf stat -x, -e raw_syscalls:sys_enter,context-switches -o "$OUT/perf.csv" --
    awk -F, '$3 == "raw_syscalls:sys_enter" { s = $1 } $3 == "context-switches" { c = $1 } END { print s + 0, c + 0 }' "$OUT/perf.csv"
}

{
echo "| stack | route | instructions/req | on the request's thread | on other threads (export, logs) | syscalls/req | context switches/req | allocations/req | bytes allocated/req |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
# row STACK PATH: one line of the table.
row() {
    local stack=$1 path=$2 ins=n/a main=n/a other=n/a sys=n/a cs=n/a
    if ((VALGRIND)); then
        read -r m1 o1 < <(instructions "$stack" "$path" "$CN")
        read -r m2 o2 < <(instructions "$stack" "$path" $((2 * CN)))
        main=$(awk -v a="$m1" -v b="$m2" -v n="$CN" 'BEGIN { printf "%.0f", (b - a) / n }')
        other=$(awk -v a="$o1" -v b="$o2" -v n="$CN" 'BEGIN { printf "%.0f", (b - a) / n }')
        ins=$((main + other))
    fi
    if ((PERF)); then
        read -r s1 c1 < <(kernel_counts "$stack" "$path" "$N")
        read -r s2 c2 < <(kernel_counts "$stack" "$path" $((2 * N)))
        sys=$(awk -v a="$s1" -v b="$s2" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n }')
        cs=$(awk -v a="$c1" -v b="$c2" -v n="$N" 'BEGIN { printf "%.4f", (b - a) / n }')
    fi
    per_request "$stack" "$path" "$N"
    local line allocs bytes what="GET $path"
    line=$(grep '^stack=' "$OUT/last.stdout" | tail -n 1)
    allocs=$(sed -E 's/.* allocs_per_req=([0-9.]+).*/\1/' <<<"$line")
    bytes=$(sed -E 's/.* bytes_per_req=([0-9.]+).*/\1/' <<<"$line")
    [[ $path == grpc ]] && what="gRPC unary Echo/Unary"
    [[ $path == traced:* ]] && what="GET ${path#traced:}, traced"
    echo "| $stack | $what | $ins | $main | $other | $sys | $cs | $allocs | $bytes |"
}
for stack in "${STACKS[@]}"; do
    for path in "${PATHS[@]}"; do
        row "$stack" "$path"
    done
done
for stack in "${GRPC_STACKS[@]}"; do
    row "$stack" grpc
done

# messaging BROKER STACK PHASES MESSAGES [WRAPPER...]: one run of messaging-bench.
messaging() {
    local broker=$1 stack=$2 phases=$3 n=$4 mode=obskit
    shift 4
    local env=(OTEL_SERVICE_NAME=count-$stack RUST_LOG=warn OTEL_EXPORTER_OTLP_ENDPOINT="$SINK"
        OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_BSP_SCHEDULE_DELAY=600000 OTEL_BSP_MAX_QUEUE_SIZE=200000)
    [[ $stack == plain ]] && mode=plain
    [[ $stack == obskit-unsampled ]] && env+=(OTEL_TRACES_SAMPLER=always_off)
    env "${env[@]}" "$@" "$BIN/messaging-bench" --broker "$broker" --mode "$mode" --phases "$phases" \
        --messages "$n" --warmup 200 >"$OUT/last.stdout" 2>"$OUT/last.stderr" ||
        { cat "$OUT/last.stderr" >&2; die "messaging-bench failed for $broker $stack $phases"; }
}
# per_message BROKER STACK PHASES COUNTER N: what COUNTER ("instructions" or
# "syscalls switches") says of a run of 2N messages minus a run of N, over N.
per_message() {
    local broker=$1 stack=$2 phases=$3 counter=$4 n=$5 one two
    if [[ $counter == instructions ]]; then
        one=$(callgrind_total messaging "$broker" "$stack" "$phases" "$n")
        two=$(callgrind_total messaging "$broker" "$stack" "$phases" $((2 * n)))
        awk -v a="$one" -v b="$two" -v n="$n" 'BEGIN { printf "%.0f", (b - a) / n }'
    else
        local perf=(perf stat -x, -e raw_syscalls:sys_enter,context-switches -o "$OUT/perf.csv" --)
        local counts='$3 == "raw_syscalls:sys_enter" { s = $1 } $3 == "context-switches" { c = $1 } END { print s + 0, c + 0 }'
        messaging "$broker" "$stack" "$phases" "$n" "${perf[@]}"
        read -r s1 c1 < <(awk -F, "$counts" "$OUT/perf.csv")
        messaging "$broker" "$stack" "$phases" $((2 * n)) "${perf[@]}"
        read -r s2 c2 < <(awk -F, "$counts" "$OUT/perf.csv")
        awk -v a="$s1" -v b="$s2" -v c="$c1" -v d="$c2" -v n="$n" 'BEGIN { printf "%.3f %.4f\n", (b - a) / n, (d - c) / n }'
    fi
}
# messaging_rows BROKER STACK: the publish row and the process row of one stack.
messaging_rows() {
    local broker=$1 stack=$2 pub_ins=n/a both_ins proc_ins=n/a pub_sys=n/a pub_cs=n/a proc_sys=n/a proc_cs=n/a
    if ((VALGRIND)); then
        pub_ins=$(per_message "$broker" "$stack" publish instructions "$MCN")
        both_ins=$(per_message "$broker" "$stack" both instructions "$MCN")
        proc_ins=$((both_ins - pub_ins))
    fi
    if ((PERF)); then
        read -r pub_sys pub_cs < <(per_message "$broker" "$stack" publish kernel "$MN")
        read -r both_sys both_cs < <(per_message "$broker" "$stack" both kernel "$MN")
        proc_sys=$(awk -v a="$pub_sys" -v b="$both_sys" 'BEGIN { printf "%.3f", b - a }')
        proc_cs=$(awk -v a="$pub_cs" -v b="$both_cs" 'BEGIN { printf "%.4f", b - a }')
    fi
    messaging "$broker" "$stack" both "$MN"
    local line field publish process
    line=$(grep '^mode=' "$OUT/last.stdout" | tail -n 1)
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    if [[ $broker == nats ]]; then
        publish="NATS JetStream publish, acknowledged" process="NATS JetStream process: message + double ack"
    else
        publish="RabbitMQ publish, confirmed" process="RabbitMQ process: delivery + ack"
    fi
    echo "| $stack | $publish (per message) | $pub_ins | – | – | $pub_sys | $pub_cs | $(field publish_allocs) | $(field publish_bytes) |"
    echo "| $stack | $process (per message) | $proc_ins | – | – | $proc_sys | $proc_cs | $(field process_allocs) | $(field process_bytes) |"
}
for broker in "${BROKERS[@]}"; do
    for stack in "${MSG_STACKS[@]}"; do
        messaging_rows "$broker" "$stack"
    done
done

# render FORMAT RENDERS [WRAPPER...]: one run of render-count.
render() {
    local format=$1 n=$2
    shift 2
    "$@" "$BIN/render-count" --format "$format" --series "$RENDER_SERIES" --renders "$n" \
        >"$OUT/last.stdout" 2>"$OUT/last.stderr" ||
        { cat "$OUT/last.stderr" >&2; die "render-count failed for $format"; }
}
# per_render FORMAT: instructions of 2N renders minus N, over N.
per_render() {
    local one two
    one=$(callgrind_total render "$1" "$RENDERS")
    two=$(callgrind_total render "$1" $((2 * RENDERS)))
    awk -v a="$one" -v b="$two" -v n="$RENDERS" 'BEGIN { printf "%.0f", (b - a) / n }'
}
if ((${#RENDER_FORMATS[@]})) && ((VALGRIND)); then
    echo
    echo "| /metrics format | sample lines | exemplars | bytes | instructions/render | × Prometheus text |"
    echo "|---|---:|---:|---:|---:|---:|"
    text_ins=
    for format in "${RENDER_FORMATS[@]}"; do
        ins=$(per_render "$format")
        render "$format" 1
        line=$(grep '^format=' "$OUT/last.stdout" | tail -n 1)
        field() { sed -E "s/.* $1=([0-9]+).*/\1/" <<<"$line"; }
        [[ $format == prometheus ]] && text_ins=$ins
        ratio=–
        [[ -n $text_ins ]] && ratio=$(awk -v a="$ins" -v b="$text_ins" 'BEGIN { printf "%.2f", a / b }')
        echo "| $format | $RENDER_SERIES | $(field exemplars) | $(field bytes) | $ins | $ratio |"
    done
fi
} | tee "$OUT/counts.md"
echo >&2
echo "bench/count.sh: raw output in $OUT; OTLP sink at exit: $(curl -sf "$SINK/stats")" >&2
