//! Server spans: the semantic-convention attributes, and credentials and
//! query strings never recorded.

use obskit::http::{HeaderError, HttpLayer};
use obskit::reqwest;
use obskit_test_receiver::{Receiver, SpanKind, StatusCode as SpanStatus};

use super::common::{SPAN_WAIT, app, call, span_with_request_id, traced};
use crate::support;

#[tokio::test]
async fn credentials_and_query_strings_are_never_recorded() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("redact", &rx);
    for sensitive in [
        "authorization",
        "Authorization",
        "cookie",
        "Set-Cookie",
        "proxy-authorization",
    ] {
        let err = HttpLayer::new(&h.telemetry)
            .record_header(sensitive)
            .expect_err(sensitive);
        assert_eq!(err, HeaderError::Sensitive(sensitive.to_owned()));
        assert!(err.to_string().contains("never recorded"), "{err}");
    }
    assert!(matches!(
        HttpLayer::new(&h.telemetry).record_header("bad header"),
        Err(HeaderError::Invalid(_))
    ));
    let layer = HttpLayer::new(&h.telemetry)
        .record_header("X-Tenant")
        .unwrap();
    let base = support::server::spawn(app(&h, layer)).await;
    let client = reqwest::Client::new();
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/1?token=secret-query-789&x=1"),
        &[
            ("authorization", "Bearer secret-token-123"),
            ("cookie", "session=secret-cookie-456"),
            ("proxy-authorization", "Basic secret-proxy-000"),
            ("x-tenant", "acme"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let logs = h.logs.clone();
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = &spans[0];
    assert_eq!(span.attributes["http.request.header.x-tenant"], "acme");
    assert_eq!(span.attributes["url.path"], "/users/1");
    let everything = format!("{:?}{:?}", span.attributes, span.raw);
    let log_text = serde_json::to_string(&logs.lines()).unwrap();
    for secret in [
        "secret-token-123",
        "secret-cookie-456",
        "secret-proxy-000",
        "secret-query-789",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} on the span: {everything}"
        );
        assert!(!log_text.contains(secret), "{secret} in the logs");
    }
    for key in span.attributes.keys() {
        let k = key.to_ascii_lowercase();
        assert!(
            !k.contains("authorization") && !k.contains("cookie"),
            "{key}"
        );
    }
}

#[tokio::test]
async fn server_spans_carry_the_semantic_convention_attributes() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("attrs", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::builder()
        .user_agent("obskit-test/1.0")
        .build()
        .unwrap();
    let ok = call(
        &client,
        "GET",
        &format!("{base}/users/42"),
        &[("x-request-id", "ok-1")],
    )
    .await;
    assert_eq!(ok.status(), 200);
    let boom = call(
        &client,
        "GET",
        &format!("{base}/boom"),
        &[("x-request-id", "boom-1")],
    )
    .await;
    assert_eq!(boom.status(), 500);
    let spans = rx.wait_for_spans(2, SPAN_WAIT).await;

    let span = span_with_request_id(&spans, "ok-1");
    assert_eq!(span.name, "GET /users/{id}");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.scope_name, "obskit");
    assert_eq!(span.service_name(), Some("attrs"));
    let a = &span.attributes;
    assert_eq!(a["http.request.method"], "GET");
    assert_eq!(a["http.route"], "/users/{id}");
    assert_eq!(a["url.scheme"], "http");
    assert_eq!(a["url.path"], "/users/42");
    assert_eq!(a["http.response.status_code"], 200);
    assert_eq!(a["user_agent.original"], "obskit-test/1.0");
    assert_eq!(a["client.address"], "127.0.0.1");
    assert!(a["client.port"].as_i64().is_some_and(|p| p > 0));
    assert!(!a.contains_key("error.type"));
    assert_eq!(span.status_code, SpanStatus::Unset);
    assert_eq!(span.parent_span_id, None);

    let failed = span_with_request_id(&spans, "boom-1");
    assert_eq!(failed.name, "GET /boom");
    assert_eq!(failed.attributes["http.response.status_code"], 500);
    assert_eq!(failed.attributes["error.type"], "500");
    assert_eq!(failed.status_code, SpanStatus::Error);
}
