"""The official OpenTelemetry Python propagators as a peer for obskit's tests.

Reads one JSON request on standard input and prints one JSON answer:

  {"op": "inject", "format": F, "trace_id": HEX32, "span_id": HEX16,
   "sampled": BOOL, "baggage": {K: V}}
      -> the headers the propagator writes for that remote parent
  {"op": "extract", "format": F, "headers": {NAME: VALUE}}
      -> {"valid": BOOL, "trace_id": HEX32, "span_id": HEX16,
          "sampled": BOOL, "baggage": {K: V}}

F is an OTEL_PROPAGATORS name: b3 (single header), b3multi or jaeger.
Exit status 3 when the propagator packages are not installed.
"""

import json
import sys

try:
    from opentelemetry import baggage, trace
    from opentelemetry.context import Context
    from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
    from opentelemetry.propagators.jaeger import JaegerPropagator
except ImportError as e:  # pragma: no cover - reported by the Rust test
    print(f"missing: {e}", file=sys.stderr)
    sys.exit(3)

PROPAGATORS = {
    "b3": B3SingleFormat,
    "b3multi": B3MultiFormat,
    "jaeger": JaegerPropagator,
}


def inject(req):
    context = trace.set_span_in_context(
        trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=int(req["trace_id"], 16),
                span_id=int(req["span_id"], 16),
                is_remote=False,
                trace_flags=trace.TraceFlags(
                    trace.TraceFlags.SAMPLED if req["sampled"] else trace.TraceFlags.DEFAULT
                ),
            )
        ),
        Context(),
    )
    for key, value in req.get("baggage", {}).items():
        context = baggage.set_baggage(key, value, context=context)
    carrier = {}
    PROPAGATORS[req["format"]]().inject(carrier, context=context)
    return carrier


def extract(req):
    # HTTP/2 and gRPC metadata names arrive lowercase, as the propagators
    # look them up.
    carrier = {k.lower(): v for k, v in req["headers"].items()}
    context = PROPAGATORS[req["format"]]().extract(carrier, context=Context())
    span_context = trace.get_current_span(context).get_span_context()
    return {
        "valid": span_context.is_valid,
        "trace_id": trace.format_trace_id(span_context.trace_id),
        "span_id": trace.format_span_id(span_context.span_id),
        "sampled": span_context.trace_flags.sampled,
        "baggage": {k: str(v) for k, v in baggage.get_all(context).items()},
    }


def main():
    req = json.load(sys.stdin)
    answer = inject(req) if req["op"] == "inject" else extract(req)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
