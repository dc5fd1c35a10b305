//! Scraping a real `/metrics` endpoint over a socket: OpenMetrics is asked for first, its
//! exemplars are kept and linked from the service page; plain Prometheus text still works.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use axum::routing::get;
use obskit_dev::scrape::{self, ScrapeStatus};
use obskit_dev::store::{Limits, Store};
use obskit_dev::ui::service::{self, ScrapeInfo, ServiceQuery};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

const SERIES: &str = r#"service_name="svc",http_request_method="GET",http_route="/orders/{id}""#;

/// Answers OpenMetrics with an exemplar when asked for it, Prometheus text otherwise.
async fn metrics(headers: HeaderMap) -> ([(header::HeaderName, &'static str); 1], String) {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let openmetrics = accept.contains("application/openmetrics-text");
    let exemplar = if openmetrics {
        format!(r#" # {{trace_id="{TRACE_ID}",span_id="00f067aa0ba902b7"}} 0.042 1733000000.5"#)
    } else {
        String::new()
    };
    let body = format!(
        "# TYPE http_server_request_duration_seconds histogram\n\
         http_server_request_duration_seconds_bucket{{{SERIES},le=\"0.05\"}} 3{exemplar}\n\
         http_server_request_duration_seconds_bucket{{{SERIES},le=\"+Inf\"}} 3\n\
         http_server_request_duration_seconds_count{{{SERIES},http_response_status_code=\"200\"}} 3\n\
         process_threads 4\n{}",
        if openmetrics { "# EOF\n" } else { "" }
    );
    let content_type = if openmetrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4"
    };
    ([(header::CONTENT_TYPE, content_type)], body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_exemplars_link_the_red_figures_to_a_trace() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().route("/metrics", get(metrics)),
        )
        .await
    });
    let store = Arc::new(Store::new(Limits::default()));
    let status = Arc::new(ScrapeStatus::default());
    let since = scrape::now_unix_secs();
    let scraper = tokio::spawn(scrape::run(
        url.clone(),
        Duration::from_millis(50),
        Arc::clone(&store),
        Arc::clone(&status),
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.scrapes().len() < 2 {
        assert!(Instant::now() < deadline, "no scrapes: {:?}", status.get());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    scraper.abort();
    server.abort();

    let scrapes = store.scrapes();
    let bucket = &scrapes[0].samples[0];
    assert_eq!(bucket.name, "http_server_request_duration_seconds_bucket");
    let exemplar = bucket.exemplar.as_ref().expect("OpenMetrics was asked for");
    assert_eq!(exemplar.label("trace_id"), Some(TRACE_ID));
    // Only the RED and SLO series are kept.
    assert!(
        scrapes[0]
            .samples
            .iter()
            .all(|s| s.name != "process_threads")
    );

    let (last_ok, error) = status.get();
    let info = ScrapeInfo {
        url: Some(url),
        since,
        last_ok,
        error,
        otlp: false,
    };
    let page = service::body(
        &scrapes,
        &ServiceQuery::default(),
        &info,
        scrape::now_unix_secs(),
        &[],
        &Default::default(),
        &[],
    );
    let row = page
        .split("<tr class=\"route\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no route row:\n{page}"));
    assert!(row.contains("/orders/{id}"), "{row}");
    assert!(
        row.contains(&format!(
            "class=\"exemplar mono\" href=\"/traces/{TRACE_ID}\""
        )),
        "{row}"
    );
    assert!(row.contains("42.0 ms"), "{row}");
}

#[test]
fn prometheus_text_is_read_when_openmetrics_is_not_offered() {
    let text = "http_server_request_duration_seconds_count{http_route=\"/a\"} 7\n";
    let samples = scrape::parse::parse(text, scrape::is_kept).unwrap();
    assert_eq!(samples[0].value, 7.0);
    assert!(samples[0].exemplar.is_none());
    assert!(scrape::ACCEPT.starts_with("application/openmetrics-text"));
    assert!(scrape::ACCEPT.contains("text/plain;version=0.0.4"));
}
