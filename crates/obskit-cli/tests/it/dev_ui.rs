//! The `obskit dev` UI in a real headless Chromium, fed by the real binary: values a service
//! sends (span names, attributes, service names, log messages) are shown as text, never as
//! markup; log lines link to their trace; and Ctrl-C stops the command with SIGTERM first.

#![cfg(feature = "dev")]

use crate::dev_support;

use std::time::{Duration, Instant};

use dev_support::{Dev, chromium, get, request, screenshot_dir};

const TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";
const HOSTILE_IMG: &str = r#"<img src=x onerror="document.title='pwned'">"#;

fn otlp_json() -> String {
    let value = serde_json::Value::from(HOSTILE_IMG);
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"<b>svc</b>"}}}}]}},
        "scopeSpans":[{{"spans":[
          {{"traceId":"{TRACE_ID}","spanId":"eee19b7ec3c1b174","name":"<script>document.title='pwned'</script>","kind":2,
            "startTimeUnixNano":"1733047445000000000","endTimeUnixNano":"1733047445250000000",
            "attributes":[{{"key":"http.route","value":{{"stringValue":"/x/{{id}}"}}}},{{"key":"evil","value":{{"stringValue":{value}}}}}]}},
          {{"traceId":"{TRACE_ID}","spanId":"0102030405060708","parentSpanId":"eee19b7ec3c1b174","name":"child","kind":3,
            "startTimeUnixNano":"1733047445100000000","endTimeUnixNano":"1733047445200000000","status":{{"code":2,"message":"<i>boom</i>"}}}}
        ]}}]}}]}}"#
    )
}

#[test]
fn service_values_are_text_in_a_real_browser_and_ctrl_c_stops_the_command_first() {
    let Some(browser) = chromium() else { return };
    let log_line = format!(
        r#"{{"timestamp":"2026-12-01T10:04:05.123456Z","level":"WARN","target":"svc","message":"<b>bold</b> move","trace_id":"{TRACE_ID}","span_id":"0102030405060708","user":"<u>x</u>"}}"#
    );
    let script = format!(
        "printf '%s\\n' '{log_line}'; trap 'echo got-term; exit 0' TERM; while :; do sleep 0.1; done"
    );
    let mut dev = Dev::start(None, &["--logs", "raw", "--", "sh", "-c", &script], &[]);

    let body = otlp_json();
    let (status, answer) = request(
        dev.http_port,
        "POST",
        "/v1/traces",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!((status, answer.as_str()), (200, "{}"));
    // The log line reaches the store through the child's stdout.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !get(dev.ui_port, &format!("/logs?trace_id={TRACE_ID}"))
        .1
        .contains("bold")
    {
        assert!(Instant::now() < deadline, "the log line never showed up");
        std::thread::sleep(Duration::from_millis(50));
    }

    let ui = dev.ui_url();
    let waterfall = browser.dump_dom(&format!("{ui}/traces/{TRACE_ID}"));
    for markup in [
        "<img",
        "<script>document",
        "<b>svc",
        "<i>boom",
        "<b>bold",
        "<u>x",
    ] {
        assert!(
            !waterfall.contains(markup),
            "`{markup}` became markup:\n{waterfall}"
        );
    }
    assert!(!waterfall.contains("pwned</title>"), "{waterfall}");
    assert!(
        waterfall.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"),
        "{waterfall}"
    );
    assert!(
        waterfall.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{waterfall}"
    );
    assert!(waterfall.contains("&lt;b&gt;svc&lt;/b&gt;"), "{waterfall}");
    assert!(waterfall.contains("&lt;i&gt;boom&lt;/i&gt;"), "{waterfall}");
    // The child span is under its parent, and links to its log line.
    assert!(
        waterfall.contains(r#"id="span-0102030405060708" data-depth="1""#),
        "{waterfall}"
    );
    assert!(
        waterfall.contains(&format!(
            "/logs?trace_id={TRACE_ID}&amp;span_id=0102030405060708"
        )),
        "{waterfall}"
    );
    assert!(
        waterfall.contains("&lt;b&gt;bold&lt;/b&gt; move"),
        "{waterfall}"
    );

    let logs = browser.dump_dom(&format!("{ui}/logs?live=0"));
    assert!(logs.contains("&lt;b&gt;bold&lt;/b&gt; move"), "{logs}");
    assert!(logs.contains("user=&lt;u&gt;x&lt;/u&gt;"), "{logs}");
    assert!(
        logs.contains(&format!("href=\"/traces/{TRACE_ID}\"")),
        "{logs}"
    );
    assert!(!logs.contains("<b>bold"), "{logs}");

    let traces = browser.dump_dom(&format!("{ui}/traces?route=%2Fx%2F%7Bid%7D"));
    assert!(
        traces.contains(&format!("data-trace-id=\"{TRACE_ID}\"")),
        "{traces}"
    );
    assert!(traces.contains("1 of 1 traces"), "{traces}");
    let filtered = browser.dump_dom(&format!("{ui}/traces?status=ok"));
    assert!(filtered.contains("0 of 1 traces"), "{filtered}");

    let shots = screenshot_dir();
    browser.screenshot(
        &format!("{ui}/traces/{TRACE_ID}"),
        &shots.join("hostile-waterfall.png"),
    );

    // Ctrl-C (SIGINT to obskit dev): the command gets SIGTERM first and its last output
    // still arrives. (dev_e2e.rs sends SIGTERM instead.)
    let status = dev.signal("-INT", Duration::from_secs(20));
    assert!(status.success(), "{status}\n{}", dev.err_lines.join("\n"));
    assert!(
        dev.out_lines.iter().any(|l| l == "got-term"),
        "{:?}",
        dev.out_lines
    );
    assert!(
        dev.out_lines.iter().any(|l| l.contains("<b>bold</b>")),
        "raw pass-through: {:?}",
        dev.out_lines
    );
    assert!(
        dev.err_lines
            .iter()
            .any(|l| l.contains("exited (exit status: 0)")),
        "{}",
        dev.err_lines.join("\n")
    );
}

#[test]
fn a_busy_port_is_named_with_the_flag_to_change_it() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_obskit"))
        .args([
            "dev",
            "--grpc-port",
            &port,
            "--http-port",
            "0",
            "--ui-port",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "could not listen on 127.0.0.1:{port} for OTLP/gRPC"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--grpc-port"), "{stderr}");
}

/// Nanoseconds since the epoch, now.
fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// One OTLP/JSON span.
#[allow(clippy::too_many_arguments)]
fn span_json(
    trace: &str,
    span: &str,
    parent: &str,
    name: &str,
    kind: u8,
    start: u64,
    millis: u64,
    error: bool,
    attributes: &[(&str, serde_json::Value)],
    links: serde_json::Value,
) -> serde_json::Value {
    let attributes: Vec<serde_json::Value> = attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::Number(n) => serde_json::json!({ "intValue": n.to_string() }),
                other => serde_json::json!({ "stringValue": other.as_str().unwrap() }),
            };
            serde_json::json!({ "key": key, "value": value })
        })
        .collect();
    serde_json::json!({
        "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name, "kind": kind,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + millis * 1_000_000).to_string(),
        "status": { "code": if error { 2 } else { 0 } },
        "attributes": attributes, "links": links,
    })
}

fn post_spans(dev: &Dev, service: &str, spans: Vec<serde_json::Value>) {
    let body = serde_json::json!({ "resourceSpans": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
        "scopeSpans": [{ "spans": spans }],
    }]});
    let (status, answer) = request(
        dev.http_port,
        "POST",
        "/v1/traces",
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
}

const TRACE_A: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
const TRACE_B: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const TRACE_C: &str = "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c";
const TRACE_D: &str = "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d";

#[test]
fn every_form_works_as_a_person_uses_it_and_pages_update_in_place() {
    let Some(mut browser) = dev_support::Browser::start() else {
        return;
    };
    let dev = Dev::start(None, &[], &[]);
    let now = now_nanos() - 5_000_000_000;
    let get = |method: &str| [("http.request.method", serde_json::Value::from(method))];
    post_spans(
        &dev,
        "orders",
        vec![
            span_json(
                TRACE_A,
                "a000000000000001",
                "",
                "GET /orders/{id}",
                2,
                now,
                120,
                false,
                &[
                    get("GET")[0].clone(),
                    ("http.route", "/orders/{id}".into()),
                    ("http.response.status_code", 200.into()),
                ],
                serde_json::json!([]),
            ),
            span_json(
                TRACE_A,
                "a000000000000002",
                "a000000000000001",
                "SELECT orders",
                3,
                now + 1_000_000,
                100,
                false,
                &[("db.system", "postgresql".into())],
                serde_json::json!([]),
            ),
            span_json(
                TRACE_C,
                "c000000000000001",
                "",
                "POST /pay",
                2,
                now + 10_000_000,
                300,
                true,
                &[
                    get("POST")[0].clone(),
                    ("http.route", "/pay".into()),
                    ("http.response.status_code", 500.into()),
                ],
                serde_json::json!([{ "traceId": TRACE_A, "spanId": "a000000000000001" }]),
            ),
        ],
    );
    post_spans(
        &dev,
        "payments",
        vec![span_json(
            TRACE_B,
            "b000000000000001",
            "",
            "GET",
            2,
            now + 20_000_000,
            2,
            false,
            &[
                get("GET")[0].clone(),
                ("http.response.status_code", 404.into()),
            ],
            serde_json::json!([]),
        )],
    );
    let logs = serde_json::json!({ "resourceLogs": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "orders" } }] },
        "scopeLogs": [{ "logRecords": [
            { "timeUnixNano": now.to_string(), "severityNumber": 13, "body": { "stringValue": "card declined" },
              "traceId": TRACE_C, "spanId": "c000000000000001" },
            { "timeUnixNano": now.to_string(), "severityNumber": 9, "body": { "stringValue": "listing orders" },
              "traceId": TRACE_A, "spanId": "a000000000000001" },
        ]}],
    }]});
    let (status, answer) = request(
        dev.http_port,
        "POST",
        "/v1/logs",
        &[("content-type", "application/json")],
        logs.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let ui = dev.ui_url();

    // Traces: a status picked, every other field left empty, Filter clicked.
    browser.open(&format!("{ui}/traces"));
    browser.wait_for(
        "document.querySelector('#trace-count').textContent.startsWith('3 of 3')",
        "3 traces",
    );
    browser.pick("#trace-filters select[name=status]", "error");
    browser.click_and_load("#trace-filters button[type=submit]");
    let url = browser.url();
    assert!(
        url.contains("min_ms=&") || url.ends_with("min_ms="),
        "{url}"
    );
    assert!(url.contains("status=error"), "{url}");
    assert!(
        browser.text("#trace-count").starts_with("1 of 3"),
        "{}",
        browser.text("main")
    );
    assert!(browser.eval("!document.querySelector('#problems')") == true);
    assert!(browser.text("#trace-rows").contains("POST /pay"));
    assert!(browser.text("#trace-rows").contains("500"));

    // A minimum duration typed in.
    browser.open(&format!("{ui}/traces"));
    browser.type_into("#trace-filters input[name=min_ms]", "100");
    browser.click_and_load("#trace-filters button[type=submit]");
    assert!(
        browser.text("#trace-count").starts_with("2 of 3"),
        "{}",
        browser.text("main")
    );

    // The 404 is `GET _unmatched`, and its route filters.
    browser.open(&format!("{ui}/traces"));
    browser.pick("#trace-filters select[name=route]", "_unmatched");
    browser.click_and_load("#trace-filters button[type=submit]");
    assert!(
        browser.text("#trace-count").starts_with("1 of 3"),
        "{}",
        browser.text("main")
    );
    let rows = browser.text("#trace-rows");
    assert!(
        rows.contains("GET _unmatched") && rows.contains("404"),
        "{rows}"
    );

    // A whole trace id searched: straight to its waterfall.
    browser.open(&format!("{ui}/traces"));
    browser.type_into("#trace-filters input[name=trace_id]", TRACE_A);
    browser.click_and_load("#trace-filters button[type=submit]");
    assert!(
        browser.url().ends_with(&format!("/traces/{TRACE_A}")),
        "{}",
        browser.url()
    );
    assert_eq!(browser.text("#span-count"), "2");

    // A whole trace id that is not stored: said so.
    browser.open(&format!("{ui}/traces?trace_id={TRACE_D}"));
    assert!(
        browser.text("#problems").contains("is not stored"),
        "{}",
        browser.text("main")
    );
    // A page that does not exist: a page that says so.
    browser.open(&format!("{ui}/nowhere"));
    assert!(
        browser
            .text("main")
            .contains("There is no page at /nowhere"),
        "{}",
        browser.text("body")
    );

    // A value that cannot be used is named on the page, which still shows everything.
    browser.open(&format!("{ui}/traces?min_ms=fast&status=&window=1h"));
    assert!(
        browser
            .text("#problems")
            .contains("minimum duration `fast`"),
        "{}",
        browser.text("main")
    );
    assert!(browser.text("#trace-count").starts_with("3 of 3"));

    // New traces appear in place: what is typed and the page itself survive.
    browser.open(&format!("{ui}/traces"));
    browser.eval("window.__marker = 'still here'");
    browser.type_into("#trace-filters input[name=trace_id]", "0d");
    post_spans(
        &dev,
        "orders",
        vec![span_json(
            TRACE_D,
            "d000000000000001",
            "",
            "GET /orders/{id}",
            2,
            now + 30_000_000,
            7,
            false,
            &[get("GET")[0].clone(), ("http.route", "/orders/{id}".into())],
            serde_json::json!([]),
        )],
    );
    browser.wait_for(
        "document.querySelector('#trace-count').textContent.startsWith('4 of 4')",
        "the new trace in place",
    );
    assert_eq!(browser.eval("window.__marker"), "still here");
    assert_eq!(
        browser.eval("document.querySelector('#trace-filters input[name=trace_id]').value"),
        "0d"
    );

    // The waterfall: a span clicked shows in the detail pane, with its link to another trace.
    browser.open(&format!("{ui}/traces/{TRACE_C}"));
    browser.click("#span-c000000000000001 td.num");
    browser.wait_for(
        "document.querySelector('#detail').textContent.includes('http.response.status_code')",
        "the detail pane",
    );
    assert!(
        browser.text("#detail").contains("links to"),
        "{}",
        browser.text("#detail")
    );
    browser.click("#expand-all");
    browser.wait_for(
        "document.querySelectorAll('#waterfall details[open]').length === 1",
        "expand all",
    );
    browser.eval("window.__marker = 'waterfall'");
    // A late span of the trace arrives: shown in place, the opened and selected spans stay so.
    post_spans(
        &dev,
        "orders",
        vec![span_json(
            TRACE_C,
            "c000000000000002",
            "c000000000000001",
            "charge card",
            3,
            now + 20_000_000,
            50,
            true,
            &[("rpc.grpc.status_code", 14.into())],
            serde_json::json!([]),
        )],
    );
    browser.wait_for(
        "document.querySelector('#span-count').textContent === '2'",
        "the late span in place",
    );
    assert_eq!(browser.eval("window.__marker"), "waterfall");
    assert_eq!(
        browser.eval("document.querySelector('#span-c000000000000001 details').open"),
        true
    );
    assert_eq!(
        browser.eval(
            "document.querySelector('#span-c000000000000001').classList.contains('selected')"
        ),
        true
    );
    assert!(browser.text("#spans").contains("gRPC 14"));
    // The link, the other way: trace A's root is linked from trace C's span, and leads there.
    browser.open(&format!("{ui}/traces/{TRACE_A}"));
    // What did not change is not replaced: two rounds of updates leave the rows' elements be.
    browser.eval("document.querySelector('#span-a000000000000002').__same = true");
    browser.wait_for("!!document.body.dataset.updated", "a first update");
    browser.eval("window.__seen = document.body.dataset.updated");
    browser.wait_for(
        "document.body.dataset.updated !== window.__seen",
        "a second update",
    );
    assert_eq!(
        browser.eval("document.querySelector('#span-a000000000000002').__same === true"),
        true
    );
    browser.click("#expand-all");
    browser.click_and_load("#span-a000000000000001 a.span-link-in");
    assert!(
        browser
            .url()
            .ends_with(&format!("/traces/{TRACE_C}#span-c000000000000001")),
        "{}",
        browser.url()
    );
    browser.wait_for(
        "document.querySelector('#span-c000000000000001').classList.contains('selected')",
        "the linked span selected",
    );

    // Logs: a level picked and text typed, the other fields left empty.
    browser.open(&format!("{ui}/logs"));
    browser.pick("#log-filters select[name=level]", "warn");
    browser.type_into("#log-filters input[name=q]", "card");
    browser.click_and_load("#log-filters button[type=submit]");
    assert!(browser.url().contains("trace_id=&"), "{}", browser.url());
    assert!(
        browser.text("#log-count").starts_with("1 of 2"),
        "{}",
        browser.text("main")
    );
    assert!(browser.text("#log-rows").contains("card declined"));
    browser.pick("#log-filters select[name=live]", "0");
    browser.click_and_load("#log-filters button[type=submit]");
    assert_eq!(
        browser.eval("document.body.dataset.live === undefined"),
        true
    );
    browser.open(&format!("{ui}/logs?level=loud"));
    assert!(
        browser.text("#problems").contains("level `loud`"),
        "{}",
        browser.text("main")
    );

    // Service: a window picked and shown; one written as a duration; one that is not.
    browser.open(&format!("{ui}/service"));
    browser.pick("main form select[name=window]", "3600");
    browser.click_and_load("main form button[type=submit]");
    assert!(browser.url().contains("window=3600"), "{}", browser.url());
    browser.open(&format!("{ui}/service?window=1h"));
    assert_eq!(
        browser.eval("document.querySelector('select[name=window]').value"),
        "3600"
    );
    browser.open(&format!("{ui}/service?window=soon"));
    assert!(
        browser.text("#problems").contains("window `soon`"),
        "{}",
        browser.text("main")
    );
    // Pictures for people (CI keeps them): the list with its chart, a waterfall with a span
    // selected in the detail pane.
    if let Some(camera) = chromium() {
        let shots = screenshot_dir();
        camera.screenshot(&format!("{ui}/traces"), &shots.join("traces-list.png"));
        camera.screenshot(
            &format!("{ui}/traces/{TRACE_C}#span-c000000000000001"),
            &shots.join("waterfall-detail-pane.png"),
        );
    }
}

#[test]
fn refused_exports_are_said_once_per_cause_on_the_terminal_and_counted_on_the_footer() {
    let mut dev = Dev::start(None, &[], &[]);
    for (content_type, body) in [
        ("text/plain", "one"),
        ("text/plain", "two"),
        ("application/json", "[]"),
    ] {
        let (status, _) = request(
            dev.http_port,
            "POST",
            "/v1/traces",
            &[("content-type", content_type)],
            body.as_bytes(),
        )
        .unwrap();
        assert!(status >= 400, "{content_type} {body}: {status}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let said = |dev: &Dev, kind: &str| {
        dev.err_lines
            .iter()
            .filter(|l| {
                l.contains(&format!(
                    "refused an export on OTLP/HTTP /v1/traces ({kind})"
                ))
            })
            .count()
    };
    while said(&dev, "malformed OTLP/JSON") == 0 {
        assert!(Instant::now() < deadline, "{}", dev.err_lines.join("\n"));
        std::thread::sleep(Duration::from_millis(50));
        dev.collect();
    }
    assert_eq!(
        said(&dev, "content-type"),
        1,
        "{}",
        dev.err_lines.join("\n")
    );
    let (_, page) = get(dev.ui_port, "/traces");
    assert!(page.contains("3 exports refused"), "{page}");
    assert!(
        page.contains(
            "2 × OTLP/HTTP /v1/traces (content-type): content-type `text/plain` is not OTLP/HTTP"
        ),
        "{page}"
    );
    assert!(
        page.contains("1 × OTLP/HTTP /v1/traces (malformed OTLP/JSON)"),
        "{page}"
    );
}

/// RabbitMQ on 127.0.0.1:5672, or `None` (skip, said on stderr) outside CI.
async fn rabbitmq() -> Option<lapin::Connection> {
    let address = "amqp://guest:guest@127.0.0.1:5672/%2f";
    match lapin::Connection::connect(address, lapin::ConnectionProperties::default()).await {
        Ok(connection) => Some(connection),
        Err(err) => {
            obskit_test_support::skip(format_args!(
                "RabbitMQ is not reachable at 127.0.0.1:5672 ({err})"
            ));
            None
        }
    }
}

/// Serves `GET /metrics` (whatever the path) from `metrics` on `listener`, for `obskit dev`
/// to scrape.
fn serve_metrics(listener: std::net::TcpListener, metrics: obskit::metrics::MetricsHandle) {
    use std::io::{BufRead as _, Write as _};
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = std::io::BufReader::new(&stream);
            let mut line = String::new();
            // The request head, up to its blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = metrics.render();
            let _ = write!(
                &stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

/// A service publishing to and consuming from a real RabbitMQ queue through obskit's
/// `rabbitmq` adapter, exporting its spans to `obskit dev` and scraped by it: the service
/// page's Messaging section shows the queue's figures, and a person follows a message from
/// its CONSUMER span to the PRODUCER span that sent it, in one trace.
#[test]
fn a_real_queue_shows_in_the_messaging_section_and_a_message_leads_to_its_sender() {
    use lapin::options::{BasicCancelOptions, BasicConsumeOptions, QueueDeclareOptions};
    use lapin::types::{AMQPValue, FieldTable};
    use obskit::messaging::rabbitmq::{Consumer, Publisher, SYSTEM, queue_depth};
    use obskit::messaging::{DepthOptions, Destination, Messaging};

    let Some(mut browser) = dev_support::Browser::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let Some(connection) = runtime.block_on(rabbitmq()) else {
        return;
    };
    let metrics_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_url = format!("http://{}/metrics", metrics_listener.local_addr().unwrap());
    let dev = Dev::start(
        None,
        &["--metrics-url", &metrics_url, "--scrape-interval", "1s"],
        &[],
    );
    let endpoint = format!("http://127.0.0.1:{}", dev.http_port);
    let vars: std::collections::HashMap<&str, &str> = [
        ("OTEL_SERVICE_NAME", "shop"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]
    .into();
    let config =
        obskit::Config::from_env_with(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap();
    let (telemetry, _layer) = config
        .build_layer::<obskit::tracing_subscriber::Registry>()
        .unwrap();
    serve_metrics(metrics_listener, telemetry.metrics());

    let queue = format!("obskit-dev-test-{:016x}", now_nanos());
    let messaging = Messaging::new(&telemetry, SYSTEM);
    runtime.block_on(async {
        let channel = connection.create_channel().await.unwrap();
        let mut args = FieldTable::default();
        args.insert("x-expires".into(), AMQPValue::LongInt(60_000));
        channel
            .queue_declare(queue.clone().into(), QueueDeclareOptions::default(), args)
            .await
            .unwrap();
        let polling = connection.create_channel().await.unwrap();
        let q = queue.clone();
        let poller = messaging.poll_depth(
            &Destination::new(queue.clone()),
            DepthOptions::default().interval(Duration::from_millis(200)),
            move || {
                let (channel, q) = (polling.clone(), q.clone());
                async move { queue_depth(&channel, &q).await }
            },
        );
        std::mem::forget(poller);
        let publisher = Publisher::new(&messaging, channel.clone());
        let publish = |n: usize| {
            let (publisher, queue) = (&publisher, queue.clone());
            async move {
                for _ in 0..n {
                    publisher
                        .publish("", &queue, Default::default(), b"{}", Default::default())
                        .await
                        .unwrap();
                }
            }
        };
        publish(5).await;
        let deliveries = channel
            .basic_consume(
                queue.clone().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut consumer = Consumer::new(&messaging, &queue, deliveries);
        for n in 0..5 {
            let message = tokio::time::timeout(Duration::from_secs(60), consumer.next())
                .await
                .expect("a delivery within 60 s")
                .unwrap()
                .unwrap();
            if n == 4 {
                message.dead_letter("invalid_order").await.unwrap();
            } else {
                message.ack().await.unwrap();
            }
        }
        channel
            .basic_cancel(consumer.tag().into(), BasicCancelOptions::default())
            .await
            .unwrap();
        // Two more wait in the queue with nobody consuming: the broker's depth.
        publish(2).await;
    });

    let ui = dev.ui_url();
    browser.open(&format!("{ui}/service"));
    let row = format!("#destinations tr.destination[data-destination=\"{queue}\"]");
    let cell = |class: &str| format!("{row} td.{class}");
    // The page updates in place as scrapes arrive: wait for the figures the broker and the
    // service reported last.
    browser.wait_for(
        &format!(
            "(document.querySelector({}) || {{}}).textContent === '2' && \
             (document.querySelector({}) || {{}}).textContent === '1' && \
             ((document.querySelector({}) || {{}}).textContent || '').includes('ack 4')",
            serde_json::Value::from(cell("depth")),
            serde_json::Value::from(cell("dead-lettered")),
            serde_json::Value::from(cell("settlements")),
        ),
        "the queue's depth, dead-lettered count and settlements",
    );
    assert_eq!(browser.text(&cell("errors")), "20.0 %");
    assert!(
        browser.text(&cell("settlements")).contains("dead_letter 1"),
        "{}",
        browser.text(&row)
    );
    for class in ["published", "processed"] {
        let rate = browser.text(&cell(class));
        assert!(rate.ends_with("/s") && rate != "0.00/s", "{class}: {rate}");
    }
    for class in ["p50", "p99", "age"] {
        assert_ne!(browser.text(&cell(class)), "–", "{}", browser.text(&row));
    }

    // A message: from its CONSUMER span to the PRODUCER span that sent it.
    browser.wait_for(
        "document.querySelectorAll('#messages tr.message a.producer-link').length >= 5",
        "five messages with their sender",
    );
    let process_name = format!("process {queue}");
    let send_name = format!("send {queue}");
    assert!(
        browser.text("#messages").contains(&process_name),
        "{}",
        browser.text("#messages")
    );
    browser.click_and_load("#messages tr.message a.consumer-link");
    assert!(browser.url().contains("#span-"), "{}", browser.url());
    browser.wait_for(
        "(document.querySelector('#detail h2') || {}).textContent !== undefined && \
         document.querySelector('#detail .span-link-out') !== null",
        "the consumer span selected, with its link",
    );
    assert!(
        browser.text("#detail h2").contains(&process_name),
        "{}",
        browser.text("#detail")
    );
    assert!(
        browser.text("#waterfall").contains(&send_name),
        "one trace across the queue: {}",
        browser.text("#waterfall")
    );
    browser.click("#detail .span-link-out");
    browser.wait_for(
        &format!(
            "(document.querySelector('#detail h2') || {{}}).textContent.includes({})",
            serde_json::Value::from(send_name.as_str())
        ),
        "the producer span selected",
    );
    if let Some(shooter) = chromium() {
        shooter.screenshot(
            &format!("{ui}/service"),
            &screenshot_dir().join("messaging.png"),
        );
    }
    drop(dev);
    let _ = runtime.block_on(telemetry.shutdown());
}
