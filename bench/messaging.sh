#!/usr/bin/env bash
# CPU per message that obskit adds to RabbitMQ publishing (with publisher confirms) and
# processing (consume + ack), against plain lapin, on the broker at 127.0.0.1:5672; or, with
# `nats` as the third argument, to NATS JetStream's (publish acknowledged by the stream,
# consume + double ack), against plain async-nats, on the server at 127.0.0.1:4222.
# Each mode runs in a process of its own, pinned to one core; spans go over OTLP/HTTP to
# an otlp-sink on the other core. Prints one line per run: CPU microseconds per message.
#
#   bench/messaging.sh [messages] [rounds] [broker]    (defaults 20000, 3 and rabbitmq)
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES="${1:-20000}"
ROUNDS="${2:-3}"
BROKER="${3:-rabbitmq}"
BIN=target/release
cargo build --release -q -p obskit-bench --bin messaging-bench --bin otlp-sink
SINK_PORT=14319
taskset -c 1 "$BIN/otlp-sink" --port "$SINK_PORT" >/dev/null 2>&1 &
SINK=$!
trap 'kill "$SINK" 2>/dev/null || true' EXIT
sleep 0.5
for _ in $(seq 1 "$ROUNDS"); do
    taskset -c 0 "$BIN/messaging-bench" --broker "$BROKER" --mode plain --messages "$MESSAGES"
    # A queue that holds every span: the exporter shares the pinned core, and a dropped
    # span would be export work left out of the figure.
    OTEL_SERVICE_NAME=bench OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_BSP_MAX_QUEUE_SIZE=100000 \
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" RUST_LOG=warn \
        taskset -c 0 "$BIN/messaging-bench" --broker "$BROKER" --mode obskit --messages "$MESSAGES"
    OTEL_SERVICE_NAME=bench OTEL_TRACES_SAMPLER=always_off RUST_LOG=warn \
        taskset -c 0 "$BIN/messaging-bench" --broker "$BROKER" --mode obskit --messages "$MESSAGES" | sed 's/mode=Obskit/mode=ObskitUnsampled/'
done
