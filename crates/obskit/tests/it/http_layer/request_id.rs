//! Request ids: a valid one is kept in the response, the span and every log
//! line; an invalid one is replaced; a handler can read the current one.

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit_test_receiver::Receiver;

use super::common::{
    LOG_WAIT, SPAN_WAIT, app, call, is_hex32, metrics_only, span_with_request_id, traced,
};
use crate::support;

#[tokio::test]
async fn a_valid_request_id_is_kept_everywhere() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("reqid", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let id = "req-7f3a.b_c:d+e=f/g";
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/5"),
        &[("x-request-id", id)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], id, "a valid id is echoed");

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_with_request_id(&spans, id);
    let access = h
        .logs
        .wait_for(LOG_WAIT, |l| l["target"] == "obskit::access")
        .expect("an access line");
    assert_eq!(access["request_id"], id);
    assert_eq!(access["trace_id"], span.trace_id.as_str());
    assert_eq!(access["span_id"], span.span_id.as_str());
    assert_eq!(access["http.request.method"], "GET");
    assert_eq!(access["http.route"], "/users/{id}");
    assert_eq!(access["http.response.status_code"], 200);
    assert!(
        access["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{access}"
    );
    assert_eq!(access["message"], "GET /users/{id} 200");
    // The handler's own line carries the same request and trace.
    let own = h
        .logs
        .wait_for(LOG_WAIT, |l| l["message"] == "loading user")
        .expect("the handler's line");
    assert_eq!(own["request_id"], id);
    assert_eq!(own["trace_id"], span.trace_id.as_str());

    // Without an incoming id, one is generated and returned.
    let res = call(&client, "GET", &format!("{base}/users/6"), &[]).await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(is_hex32(&generated), "{generated}");
}

#[tokio::test]
async fn the_request_id_is_current_in_handlers_and_in_their_extension() {
    use obskit::request_id::RequestId;

    let h = metrics_only("reqid-current");
    let app = Router::new()
        .route(
            "/id",
            get(
                |axum::Extension(ext): axum::Extension<RequestId>| async move {
                    let before = RequestId::current();
                    // Still the request's after the handler has yielded.
                    tokio::task::yield_now().await;
                    let after = RequestId::current();
                    let text = |id: Option<RequestId>| id.map_or("none".into(), |i| i.to_string());
                    format!("{} {} {}", text(before), text(after), ext)
                },
            ),
        )
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(app).await;
    let client = reqwest::Client::new();
    let res = call(
        &client,
        "GET",
        &format!("{base}/id"),
        &[("x-request-id", "abc-1")],
    )
    .await;
    assert_eq!(res.text().await.unwrap(), "abc-1 abc-1 abc-1");
    let res = call(&client, "GET", &format!("{base}/id"), &[]).await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        res.text().await.unwrap(),
        format!("{generated} {generated} {generated}")
    );
    assert_eq!(RequestId::current(), None, "no request outside handlers");
}

#[tokio::test]
async fn an_invalid_request_id_is_replaced_and_never_echoed() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("badreqid", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let oversized = "a".repeat(500);
    let just_over = "a".repeat(129);
    let bad = [
        oversized.as_str(),
        "<script>alert(1)</script>",
        "has space",
        "quote\"d",
        just_over.as_str(),
    ];
    let mut generated = Vec::new();
    for value in bad {
        let res = call(
            &client,
            "GET",
            &format!("{base}/users/1"),
            &[("x-request-id", value)],
        )
        .await;
        assert_eq!(res.status(), 200);
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(echoed, value);
        assert!(
            is_hex32(&echoed),
            "replaced by a generated id, got {echoed:?}"
        );
        generated.push(echoed);
    }
    let logs = h.logs.clone();
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(bad.len(), SPAN_WAIT).await;
    let text = String::from_utf8(serde_json::to_vec(&logs.lines()).unwrap()).unwrap();
    for (value, id) in bad.iter().zip(&generated) {
        let span = span_with_request_id(&spans, id);
        let attrs = format!("{:?}", span.attributes);
        assert!(!attrs.contains(*value), "{value} recorded on the span");
        assert!(!text.contains(*value), "{value} in the logs");
        assert!(
            logs.lines()
                .iter()
                .any(|l| l["target"] == "obskit::access" && l["request_id"] == id.as_str()),
            "the access line carries the generated id {id}"
        );
    }
    assert!(!text.contains("<script>"));
}
