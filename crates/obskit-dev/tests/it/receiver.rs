//! The `obskit dev` receiver against real OTLP exports over real sockets: obskit's own
//! exporter (a real `Telemetry`) over gRPC, HTTP/protobuf and HTTP/JSON; and malformed
//! exports, which are refused with a message and change nothing.

use std::collections::HashMap;
use std::sync::Arc;

use obskit::opentelemetry::KeyValue;
use obskit::opentelemetry::trace::{Span as _, Status, TraceContextExt as _, Tracer as _};
use obskit_dev::model::{SpanKind, StatusCode};
use obskit_dev::receiver::http::MAX_BODY_BYTES;
use obskit_dev::scrape::ScrapeStatus;
use obskit_dev::servers::{Ports, Servers};
use obskit_dev::store::{Limits, Store};
use obskit_dev::ui::UiState;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};
use prost::Message as _;

/// A store and the three listeners on free loopback ports.
async fn start() -> (Arc<Store>, Servers) {
    let store = Arc::new(Store::new(Limits::default()));
    let ui = UiState {
        store: Arc::clone(&store),
        scrape_url: None,
        scrape_status: Arc::new(ScrapeStatus::default()),
        since: 0.0,
    };
    let ports = Ports {
        address: [127, 0, 0, 1].into(),
        grpc: 0,
        http: 0,
        ui: 0,
    };
    let servers = Servers::start(ports, Arc::clone(&store), ui).await.unwrap();
    (store, servers)
}

/// Exports a parent span and a failed child with obskit's own exporter over `protocol`.
async fn export_with_obskit(protocol: &str, endpoint: &str) {
    let vars: HashMap<&str, &str> = [
        ("OTEL_SERVICE_NAME", "checkout"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
    ]
    .into();
    let config =
        obskit::Config::from_env_with(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap();
    let (telemetry, _layer) = config
        .build_layer::<obskit::tracing_subscriber::Registry>()
        .unwrap();
    let tracer = telemetry.tracer();
    tracer.in_span("place order", |cx| {
        cx.span().set_attribute(KeyValue::new("order.id", 42));
        cx.span()
            .set_attribute(KeyValue::new("note", "<script>alert(1)</script>"));
        let mut child = tracer.start_with_context("charge card", &cx);
        child.add_event("declined", vec![KeyValue::new("code", "card_declined")]);
        child.set_status(Status::error("the card was declined"));
        child.end();
    });
    let report = telemetry.shutdown().await;
    assert_eq!(
        (report.spans_exported, report.spans_dropped),
        (2, 0),
        "{report:?}"
    );
}

async fn obskit_spans_arrive(protocol: &str, endpoint_of: fn(&Servers) -> String) {
    let (store, servers) = start().await;
    export_with_obskit(protocol, &endpoint_of(&servers)).await;
    let summaries = store.trace_summaries();
    assert_eq!(summaries.len(), 1, "{summaries:#?}");
    let summary = &summaries[0];
    assert_eq!(summary.span_count, 2);
    assert_eq!(summary.head().name, "place order");
    assert_eq!(summary.status(), StatusCode::Error);
    assert_eq!(&*summary.services[0], "checkout");
    let spans = store.trace(&summary.trace_id).unwrap();
    let parent = spans.iter().find(|s| s.name == "place order").unwrap();
    let child = spans.iter().find(|s| s.name == "charge card").unwrap();
    assert_eq!(child.parent_span_id, Some(parent.span_id));
    assert_eq!(parent.parent_span_id, None);
    assert_eq!(parent.attribute("order.id"), Some("42"));
    assert_eq!(parent.kind, SpanKind::Internal);
    assert_eq!(child.status_message, "the card was declined");
    assert_eq!(child.events[0].name, "declined");
    assert_eq!(child.events[0].attributes[0].value, "card_declined");
    assert!(child.start_unix_nanos >= parent.start_unix_nanos);
    assert!(child.end_unix_nanos <= parent.end_unix_nanos);
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obskit_exports_over_grpc_arrive() {
    obskit_spans_arrive("grpc", |s| format!("http://{}", s.grpc)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obskit_exports_over_http_protobuf_arrive() {
    obskit_spans_arrive("http/protobuf", |s| format!("http://{}", s.http)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obskit_exports_over_http_json_arrive() {
    obskit_spans_arrive("http/json", |s| format!("http://{}", s.http)).await;
}

fn one_span_request(trace_id: Vec<u8>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![ProtoSpan {
                    trace_id,
                    span_id: vec![2; 8],
                    name: "s".to_owned(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn post(servers: &Servers, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", servers.http))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// `google.rpc.Status` as OTLP/HTTP error bodies carry it.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_exports_get_400_with_a_message_and_change_nothing() {
    let (store, servers) = start().await;
    let good = one_span_request(vec![1; 16]).encode_to_vec();
    assert_eq!(post(&servers, "application/x-protobuf", good).await.0, 200);
    assert_eq!(
        store
            .counts()
            .spans_received
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    // Not protobuf at all.
    let (status, content_type, body) = post(
        &servers,
        "application/x-protobuf",
        b"\xff\xff\xff not protobuf".to_vec(),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/x-protobuf")
    );
    let rpc = RpcStatus::decode(body.as_slice()).unwrap();
    assert_eq!(rpc.code, 3);
    assert!(
        rpc.message
            .contains("not an OTLP export request in protobuf"),
        "{}",
        rpc.message
    );

    // Valid protobuf with a 3-byte trace id, after a valid resource: nothing of it is kept.
    let mut mixed = one_span_request(vec![5; 16]);
    mixed
        .resource_spans
        .extend(one_span_request(vec![1, 2, 3]).resource_spans);
    let (status, _, body) = post(&servers, "application/x-protobuf", mixed.encode_to_vec()).await;
    assert_eq!(status, 400);
    let rpc = RpcStatus::decode(body.as_slice()).unwrap();
    assert!(
        rpc.message.contains("trace id of 3 bytes"),
        "{}",
        rpc.message
    );

    // OTLP/JSON with base64 ids (the generic protobuf JSON mapping), and broken JSON.
    let base64 = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AQEBAQEBAQEBAQEBAQEBAQ==","spanId":"AgICAgICAgI=","name":"s"}]}]}]}"#;
    for body in [base64.to_vec(), b"{\"resourceSpans\":[".to_vec()] {
        let (status, content_type, body) = post(&servers, "application/json", body).await;
        assert_eq!((status, content_type.as_str()), (400, "application/json"));
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], 3);
        assert!(
            json["message"].as_str().unwrap().contains("OTLP/JSON"),
            "{json}"
        );
    }

    // Neither protobuf nor JSON.
    let (status, _, body) = post(&servers, "text/plain", b"hello".to_vec()).await;
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&body).contains("application/x-protobuf"));

    assert_eq!(store.trace_count(), 1);
    assert_eq!(
        store
            .counts()
            .spans_received
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_grpc_exports_get_invalid_argument_and_change_nothing() {
    let (store, servers) = start().await;
    let mut client = TraceServiceClient::connect(format!("http://{}", servers.grpc))
        .await
        .unwrap();
    client.export(one_span_request(vec![1; 16])).await.unwrap();
    let status = client
        .export(one_span_request(vec![9; 20]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("trace id of 20 bytes"),
        "{}",
        status.message()
    );
    assert_eq!(store.trace_count(), 1);
    servers.stop().await;
}

/// Sends raw bytes as the `Export` message, as a broken exporter would.
#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let remaining = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, remaining).to_vec()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_grpc_exports_get_invalid_argument_too() {
    let (store, servers) = start().await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", servers.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    let path = |p: &'static str| http::uri::PathAndQuery::from_static(p);
    client.ready().await.unwrap();
    let status = client
        .unary(
            tonic::Request::new(b"\xff\xff\xff not protobuf".to_vec()),
            path("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
            RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("not an OTLP export request"),
        "{}",
        status.message()
    );

    // A valid export, raw: accepted.
    client.ready().await.unwrap();
    let good = one_span_request(vec![1; 16]).encode_to_vec();
    client
        .unary(
            tonic::Request::new(good),
            path("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
            RawCodec,
        )
        .await
        .unwrap();
    // An unknown method: UNIMPLEMENTED, with a message naming the methods there are.
    client.ready().await.unwrap();
    let status = client
        .unary(
            tonic::Request::new(Vec::new()),
            path("/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"),
            RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    assert!(
        status
            .message()
            .contains("/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
        "{status:?}"
    );

    // Larger than the limit: RESOURCE_EXHAUSTED (exporters do not retry it), not OUT_OF_RANGE.
    client.ready().await.unwrap();
    let status = client
        .unary(
            tonic::Request::new(vec![0u8; MAX_BODY_BYTES + 1]),
            path("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
            RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert_eq!(store.trace_count(), 1);
    let kinds: Vec<&str> = store.refusals().all().iter().map(|(c, _)| c.kind).collect();
    assert!(
        kinds.contains(&"too large") && kinds.contains(&"unknown method"),
        "{kinds:?}"
    );
    servers.stop().await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post_to(
    servers: &Servers,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut request = reqwest::Client::new().post(format!("http://{}{path}", servers.http));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_accepted_on_every_endpoint_and_bounded_when_inflated() {
    let (store, servers) = start().await;
    // HTTP protobuf and HTTP JSON, gzip.
    let proto = gzip(&one_span_request(vec![1; 16]).encode_to_vec());
    let headers = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "gzip"),
    ];
    assert_eq!(
        post_to(&servers, "/v1/traces", &headers, proto).await.0,
        200
    );
    let json = gzip(
        serde_json::to_string(&one_span_request(vec![2; 16]))
            .unwrap()
            .as_bytes(),
    );
    let headers = [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    assert_eq!(post_to(&servers, "/v1/traces", &headers, json).await.0, 200);
    // gRPC, gzip.
    let mut client = TraceServiceClient::connect(format!("http://{}", servers.grpc))
        .await
        .unwrap()
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    client.export(one_span_request(vec![3; 16])).await.unwrap();
    assert_eq!(store.trace_count(), 3);

    // A body that inflates past the limit: 413 with RESOURCE_EXHAUSTED, nothing stored.
    let bomb = gzip(&vec![0u8; MAX_BODY_BYTES + 1024]);
    let headers = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "gzip"),
    ];
    let (status, body) = post_to(&servers, "/v1/traces", &headers, bomb.clone()).await;
    assert_eq!(status, 413);
    let rpc = RpcStatus::decode(body.as_slice()).unwrap();
    assert_eq!(rpc.code, 8, "{}", rpc.message);
    assert!(
        rpc.message.contains("inflates to more than"),
        "{}",
        rpc.message
    );
    // The same over gRPC.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", servers.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut raw = tonic::client::Grpc::new(channel)
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .max_encoding_message_size(usize::MAX);
    raw.ready().await.unwrap();
    let status = raw
        .unary(
            tonic::Request::new(vec![0u8; MAX_BODY_BYTES + 1024]),
            http::uri::PathAndQuery::from_static(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            ),
            RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");

    // Not gzip at all, and an encoding the viewer does not take.
    let (status, body) = post_to(&servers, "/v1/traces", &headers, b"plain".to_vec()).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let headers = [
        ("content-type", "application/json"),
        ("content-encoding", "zstd"),
    ];
    let (status, body) = post_to(&servers, "/v1/traces", &headers, b"{}".to_vec()).await;
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&body).contains("OTEL_EXPORTER_OTLP_COMPRESSION"));

    assert_eq!(store.trace_count(), 3);
    let refusals = store.refusals().all();
    let count = |kind: &str| -> u64 {
        refusals
            .iter()
            .filter(|(c, _)| c.kind == kind)
            .map(|(_, t)| t.count)
            .sum()
    };
    assert_eq!(count("compression"), 2, "{refusals:?}");
    assert_eq!(count("too large"), 1, "{refusals:?}");
    assert_eq!(count("content-encoding"), 1, "{refusals:?}");
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_otlp_json_refuses_arrays_typos_and_zero_ids_and_takes_proto_names() {
    let (store, servers) = start().await;
    let json = [("content-type", "application/json")];
    for (body, expected) in [
        (r#"[]"#, "a JSON array"),
        (r#"[{"resourceSpans":[]}]"#, "a JSON array"),
        (
            r#"{"resourceSpans":[["x"]]}"#,
            "`resourceSpans[0]` is an array",
        ),
        (r#"{"resource_spanz":[]}"#, "unknown field `resource_spanz`"),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0102030405060708","name":"z"}]}]}]}"#,
            "all-zero trace id",
        ),
    ] {
        let (status, answer) =
            post_to(&servers, "/v1/traces", &json, body.as_bytes().to_vec()).await;
        let answer = String::from_utf8_lossy(&answer);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains(expected), "{body}: {answer}");
    }
    let snake = r#"{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","name":"snake","start_time_unix_nano":"1","end_time_unix_nano":"2"}]}]}]}"#;
    assert_eq!(
        post_to(&servers, "/v1/traces", &json, snake.as_bytes().to_vec())
            .await
            .0,
        200
    );
    assert_eq!(store.trace_summaries()[0].head().name, "snake");
    assert_eq!(store.trace_count(), 1);
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_attribute_values_are_cut_and_memory_stays_within_the_budget() {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    let (store, servers) = start().await;
    let headers = [("content-type", "application/x-protobuf")];
    // Ten spans with a 2 MB attribute each: 20 MB sent, about 40 kB kept.
    for trace in 1..=10u8 {
        let mut request = one_span_request(vec![trace; 16]);
        request.resource_spans[0].scope_spans[0].spans[0].attributes = vec![KeyValue {
            key: "blob".to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("é".repeat(1024 * 1024))),
            }),
            ..Default::default()
        }];
        let body = gzip(&request.encode_to_vec());
        let headers = [headers[0], ("content-encoding", "gzip")];
        assert_eq!(post_to(&servers, "/v1/traces", &headers, body).await.0, 200);
    }
    assert_eq!(store.trace_count(), 10);
    let span = &store.trace(&obskit_dev::model::TraceId([3; 16])).unwrap()[0];
    let blob = &span.attributes[0];
    assert_eq!(blob.value.len(), Limits::default().attribute_value_bytes);
    assert_eq!(blob.truncated_from, Some(2 * 1024 * 1024));
    let (trace_bytes, _) = store.bytes();
    assert!(trace_bytes < 100 * 1024, "{trace_bytes}");
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_http_paths_and_methods_answer_a_message_not_a_bare_404() {
    let (store, servers) = start().await;
    let (status, body) = post_to(
        &servers,
        "/v1/profiles",
        &[("content-type", "application/json")],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["message"].as_str().unwrap().contains("/v1/logs"),
        "{json}"
    );
    let response = reqwest::get(format!("http://{}/v1/traces", servers.http))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(response.text().await.unwrap().contains("POST"));
    assert_eq!(store.refusals().total(), 2);
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_logs_and_metrics_arrive_over_grpc_and_http() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics, metric,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    let (store, servers) = start().await;
    let text = |s: &str| AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    };
    let kv = |k: &str, v: &str| KeyValue {
        key: k.to_owned(),
        value: Some(text(v)),
        ..Default::default()
    };
    let resource = Some(Resource {
        attributes: vec![kv("service.name", "pyshop")],
        ..Default::default()
    });
    let logs = |message: &str| ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource.clone(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_733_047_445_000_000_000,
                    severity_number: 13,
                    body: Some(text(message)),
                    trace_id: vec![4; 16],
                    span_id: vec![5; 8],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut client = LogsServiceClient::connect(format!("http://{}", servers.grpc))
        .await
        .unwrap();
    client.export(logs("over grpc")).await.unwrap();
    let headers = [("content-type", "application/json")];
    let body = serde_json::to_vec(&logs("over http json")).unwrap();
    assert_eq!(post_to(&servers, "/v1/logs", &headers, body).await.0, 200);
    let lines = store.logs();
    let messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["over grpc", "over http json"]);
    assert_eq!(lines[0].trace_id.unwrap().to_string(), "04".repeat(16));
    assert_eq!(lines[0].level, obskit_dev::log_line::Level::Warn);

    // A delta histogram twice: the service page's figures add them up.
    let metrics = |count: u64| ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource.clone(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "http.server.request.duration".to_owned(),
                    unit: "s".to_owned(),
                    data: Some(metric::Data::Histogram(Histogram {
                        aggregation_temporality: 1,
                        data_points: vec![HistogramDataPoint {
                            attributes: vec![
                                kv("http.request.method", "GET"),
                                kv("http.route", "/items"),
                            ],
                            count,
                            sum: Some(0.001 * count as f64),
                            bucket_counts: vec![count, 0],
                            explicit_bounds: vec![0.005],
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let headers = [("content-type", "application/x-protobuf")];
    for count in [3, 4] {
        let body = metrics(count).encode_to_vec();
        assert_eq!(
            post_to(&servers, "/v1/metrics", &headers, body).await.0,
            200
        );
    }
    let scrapes = store.otlp_scrapes();
    let (routes, _) = obskit_dev::figures::red(&scrapes, std::time::Duration::from_secs(300), 0.0);
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(
        (routes[0].service.as_str(), routes[0].route.as_str()),
        ("pyshop", "/items")
    );
    assert_eq!(routes[0].requests, 7.0);
    assert_eq!(routes[0].below_first_bucket[2], Some(0.005));
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obskit_metrics_over_otlp_feed_the_service_figures() {
    let (store, servers) = start().await;
    let endpoint = format!("http://{}", servers.http);
    let vars: HashMap<&str, &str> = [
        ("OTEL_SERVICE_NAME", "checkout"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ]
    .into();
    let config =
        obskit::Config::from_env_with(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap();
    let (telemetry, _layer) = config
        .build_layer::<obskit::tracing_subscriber::Registry>()
        .unwrap();
    let mut app = axum::Router::new()
        .route("/items/{id}", axum::routing::get(|| async { "item" }))
        .layer(obskit::http::HttpLayer::new(&telemetry));
    for _ in 0..3 {
        let request = http::Request::get("/items/7")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower_service::Service::call(&mut app, request)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        // The body read to its end: where the layer records the request.
        let _ = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
    }
    // Shutdown pushes the last interval.
    let _ = telemetry.shutdown().await;
    let scrapes = store.otlp_scrapes();
    let (routes, _) = obskit_dev::figures::red(&scrapes, std::time::Duration::from_secs(300), 0.0);
    let route = routes
        .iter()
        .find(|r| r.route == "/items/{id}")
        .unwrap_or_else(|| panic!("{routes:?}\n{:?}", scrapes.last()));
    assert_eq!(
        (route.service.as_str(), route.method.as_str()),
        ("checkout", "GET")
    );
    assert_eq!(route.requests, 3.0);
    assert_eq!(store.refusals().total(), 0, "{:?}", store.refusals().all());
    servers.stop().await;
}
