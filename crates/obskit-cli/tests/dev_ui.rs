//! The `obskit dev` UI in a real headless Chromium, fed by the real binary: values a service
//! sends (span names, attributes, service names, log messages) are shown as text, never as
//! markup; log lines link to their trace; and Ctrl-C stops the command with SIGTERM first.

#![cfg(feature = "dev")]

mod dev_support;

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
