//! HTML building blocks shared by the pages: escaping (everything that came from the
//! service goes through [`escape`]), query-string encoding, the page frame and the number
//! and time formats.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
///
/// ```
/// use obskit_cli::dev::ui::html::escape;
/// assert_eq!(escape(r#"<img src=x onerror="alert('1')">&"#),
///            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends `text` escaped for HTML to `out`.
pub fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes a query-string value (everything but unreserved characters).
///
/// ```
/// use obskit_cli::dev::ui::html::query_value;
/// assert_eq!(query_value("/hello/{name} & co"), "%2Fhello%2F%7Bname%7D%20%26%20co");
/// ```
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Which page the navigation bar marks as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The traces list and waterfalls.
    Traces,
    /// The logs.
    Logs,
    /// The service's RED and SLO figures.
    Service,
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:20px;align-items:baseline}
header b{font-size:16px}header a{color:#c9d3e6;text-decoration:none}header a.on{color:#fff;font-weight:600;border-bottom:2px solid #6ea8fe}
main{padding:12px 16px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e6e8eb;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin-bottom:10px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
.error{color:#b42318;font-weight:600}.ok{color:#067647}.unset{color:#667085}.muted{color:#667085}
.WARN{color:#b54708}.ERROR{color:#b42318;font-weight:600}.DEBUG,.TRACE{color:#667085}
.bar-cell{width:45%;position:relative}.bar{position:absolute;top:6px;height:12px;background:#6ea8fe;border-radius:2px;min-width:2px}
.bar.error{background:#f04438}code,.mono{font-family:ui-monospace,monospace;font-size:12px}
details summary{cursor:pointer}dl{display:grid;grid-template-columns:max-content auto;gap:0 12px;margin:4px 0}
dt{color:#555}dd{margin:0;font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}
.fields{font-family:ui-monospace,monospace;font-size:12px;color:#344054;word-break:break-all}
h1{font-size:18px;margin:4px 0 10px}h2{font-size:15px;margin:18px 0 6px}footer{padding:8px 16px;color:#667085;font-size:12px}
";

/// A whole page: head with the title (escaped here), navigation, `body` (already HTML) and
/// a footer. `refresh_secs` reloads the page periodically (live views).
pub fn page(title: &str, nav: Nav, body: &str, footer: &str, refresh_secs: Option<u32>) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    if let Some(secs) = refresh_secs {
        let _ = write!(out, "<meta http-equiv=\"refresh\" content=\"{secs}\">");
    }
    out.push_str("<title>");
    push_escaped(&mut out, title);
    out.push_str(" · obskit dev</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><header><b>obskit dev</b>");
    for (target, href, label) in [
        (Nav::Traces, "/traces", "Traces"),
        (Nav::Logs, "/logs", "Logs"),
        (Nav::Service, "/service", "Service"),
    ] {
        let class = if target == nav { " class=\"on\"" } else { "" };
        let _ = write!(out, "<a href=\"{href}\"{class}>{label}</a>");
    }
    out.push_str("</header><main>");
    out.push_str(body);
    out.push_str("</main><footer>");
    out.push_str(footer);
    out.push_str("</footer></body></html>");
    out
}

/// A duration for people: `850 µs`, `12.3 ms`, `1.25 s`.
///
/// ```
/// use obskit_cli::dev::ui::html::duration;
/// assert_eq!(duration(850_000.0), "850 µs");
/// assert_eq!(duration(12_345_678.0), "12.3 ms");
/// assert_eq!(duration(1_250_000_000.0), "1.25 s");
/// ```
pub fn duration(nanos: f64) -> String {
    if nanos < 1_000.0 {
        format!("{nanos:.0} ns")
    } else if nanos < 1_000_000.0 {
        format!("{:.0} µs", nanos / 1_000.0)
    } else if nanos < 1_000_000_000.0 {
        format!("{:.1} ms", nanos / 1_000_000.0)
    } else {
        format!("{:.2} s", nanos / 1_000_000_000.0)
    }
}

/// Time of day in UTC with milliseconds, from nanoseconds since the epoch: `10:04:05.123`.
///
/// ```
/// use obskit_cli::dev::ui::html::time_of_day;
/// assert_eq!(time_of_day(1_733_047_445_123_000_000), "10:04:05.123");
/// ```
pub fn time_of_day(unix_nanos: u64) -> String {
    let millis = unix_nanos / 1_000_000;
    let secs = millis / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60,
        millis % 1000
    )
}

/// A ratio as a percentage with sensible precision: `0.05 %`, `12.5 %`.
pub fn percent(ratio: f64) -> String {
    let value = ratio * 100.0;
    if value == 0.0 {
        "0 %".to_owned()
    } else if value < 1.0 {
        format!("{value:.2} %")
    } else {
        format!("{value:.1} %")
    }
}
