//! Both span bridges, as a service uses them: obskit's own (the default)
//! and tracing-opentelemetry's, kept for code written against its
//! `OpenTelemetrySpanExt`.

use obskit::config::SpanBridge;
use obskit::testing::TestTelemetry;

#[tracing::instrument]
fn load_user(id: u64) -> u64 {
    tracing::info!(id, "loaded");
    id
}

/// A request's own span and the user's `#[instrument]` span inside it.
fn request_with_a_child(telemetry: &TestTelemetry) {
    let tracer = telemetry.tracer();
    let request = opentelemetry::trace::Tracer::start(&tracer, "GET /users/{id}");
    let cx = <opentelemetry::Context as opentelemetry::trace::TraceContextExt>::current_with_span(
        request,
    );
    let _attached = cx.attach();
    load_user(42);
}

fn check_parenting(telemetry: &TestTelemetry) {
    let request = telemetry.span("GET /users/{id}").expect("the request span");
    let child = telemetry.span("load_user").expect("the instrumented span");
    assert_eq!(child.trace_id(), request.trace_id());
    assert_eq!(child.parent_span_id(), Some(request.span_id()));
    assert_eq!(child.attribute("id").as_deref(), Some("42"));
    let line = telemetry
        .logs()
        .into_iter()
        .find(|l| l["message"] == "loaded")
        .expect("the log line");
    assert_eq!(line["trace_id"], child.trace_id().as_str());
    assert_eq!(line["span_id"], child.span_id().as_str());
}

#[test]
fn obskit_bridges_spans_by_default() {
    let telemetry = TestTelemetry::new();
    request_with_a_child(&telemetry);
    check_parenting(&telemetry);
}

#[test]
fn tracing_opentelemetry_bridges_them_when_asked() {
    use obskit::tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use opentelemetry::trace::TraceContextExt as _;

    let config = obskit::Config::default().span_bridge(SpanBridge::TracingOpentelemetry);
    let telemetry = TestTelemetry::from_config(config).expect("test telemetry");
    request_with_a_child(&telemetry);
    check_parenting(&telemetry);

    // Its extension trait finds its layer.
    let span = tracing::info_span!("ext");
    let cx = span.context();
    assert!(cx.span().span_context().is_valid());
}

#[test]
fn the_bridge_is_chosen_by_obskit_span_bridge() {
    let config = obskit::Config::from_env_with(|name| {
        (name == "OBSKIT_SPAN_BRIDGE").then(|| "tracing-opentelemetry".to_owned())
    });
    let config = config.expect("a valid setting");
    assert!(format!("{config:?}").contains("TracingOpentelemetry"));
    let err = obskit::Config::from_env_with(|name| {
        (name == "OBSKIT_SPAN_BRIDGE").then(|| "otel".to_owned())
    })
    .expect_err("an unknown bridge");
    let text = err.to_string();
    assert!(
        text.contains("OBSKIT_SPAN_BRIDGE") && text.contains("obskit, tracing-opentelemetry"),
        "{text}"
    );
}
