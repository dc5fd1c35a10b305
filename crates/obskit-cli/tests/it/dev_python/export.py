"""Exports one request's trace, a log line inside it, and its duration histogram with the
official OpenTelemetry Python SDK, configured from the environment as any service would be
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_COMPRESSION).

Usage: export.py grpc|http SERVICE cumulative|delta
"""
import logging
import sys

from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

protocol, service, temporality = sys.argv[1:4]
if protocol == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    options = {"insecure": True}
else:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    options = {}

resource = Resource.create({"service.name": service})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(**options)))
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(**options)))
preferred = {Histogram: AggregationTemporality.DELTA} if temporality == "delta" else {}
reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(preferred_temporality=preferred, **options),
    export_interval_millis=600_000,
)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])

log = logging.getLogger("shop.orders")
log.setLevel(logging.INFO)
log.addHandler(LoggingHandler(logger_provider=logger_provider))
tracer = tracer_provider.get_tracer("shop")
duration = meter_provider.get_meter("shop").create_histogram(
    "http.server.request.duration", unit="s"
)

attributes = {"http.request.method": "GET", "http.route": "/py/{id}"}
with tracer.start_as_current_span(
    "GET /py/{id}", kind=trace.SpanKind.SERVER, attributes=attributes
) as span:
    span.set_attribute("http.response.status_code", 200)
    with tracer.start_as_current_span("SELECT items", kind=trace.SpanKind.CLIENT):
        log.warning("python says hello from %s", service)
for seconds in (0.0003, 0.0004, 0.0002):
    duration.record(seconds, attributes)

tracer_provider.shutdown()
logger_provider.shutdown()
meter_provider.shutdown()
print(trace.format_trace_id(span.get_span_context().trace_id))
