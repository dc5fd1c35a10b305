//! HTML building blocks shared by the pages: escaping (everything that came from the
//! service goes through [`escape`]), query-string encoding and decoding, the page frame
//! (with the one small script that keeps live pages current in place), and the number,
//! time and colour formats.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
///
/// ```
/// use obskit_dev::ui::html::escape;
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
/// use obskit_dev::ui::html::query_value;
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

/// Decodes a query string into its pairs, in order (`+` is a space; bad escapes and bytes
/// that are not UTF-8 are kept, replaced, never an error).
///
/// ```
/// use obskit_dev::ui::html::parse_query;
/// assert_eq!(parse_query("a=1&b=x+y%2Fz&c&d=%ZZ"),
///            [("a".into(), "1".into()), ("b".into(), "x y/z".into()), ("c".into(), String::new()), ("d".into(), "%ZZ".into())]);
/// ```
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of query parameter `name` (the last one given), trimmed; empty when absent.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.trim())
}

/// Whether a `live` parameter asks for a paused page (`0`, `off`, `no`, `false`, `paused`).
pub fn is_paused(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "0" | "off" | "no" | "false" | "paused"
    )
}

/// Problems with the query, shown above the page's content (the page still renders).
pub fn problems(out: &mut String, problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    out.push_str("<div class=\"problems\" id=\"problems\" role=\"alert\">");
    for problem in problems {
        out.push_str("<p>");
        push_escaped(out, problem);
        out.push_str("</p>");
    }
    out.push_str("</div>");
}

/// A colour per service, the same for a name on every page: `hsl(…)`.
///
/// ```
/// use obskit_dev::ui::html::service_colour;
/// assert_eq!(service_colour("orders"), service_colour("orders"));
/// assert_ne!(service_colour("orders"), service_colour("payments"));
/// ```
pub fn service_colour(name: &str) -> String {
    // FNV-1a: stable across runs and platforms.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("hsl({},62%,52%)", hash % 360)
}

/// How long ago `unix_nanos` was, from `now_nanos`: `4 s ago`, `3 min ago`, `2 h ago`.
///
/// ```
/// use obskit_dev::ui::html::ago;
/// assert_eq!(ago(10_000_000_000, 14_000_000_000), "4 s ago");
/// assert_eq!(ago(0, 7_200_000_000_000), "2 h ago");
/// assert_eq!(ago(5_000_000_000, 1), "just now");
/// ```
pub fn ago(unix_nanos: u64, now_nanos: u64) -> String {
    let secs = now_nanos.saturating_sub(unix_nanos) / 1_000_000_000;
    match secs {
        0 => "just now".to_owned(),
        1..=119 => format!("{secs} s ago"),
        120..=7_199 => format!("{} min ago", secs / 60),
        7_200..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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
.problems{background:#fef3f2;border:1px solid #fda29b;color:#b42318;padding:4px 12px;margin-bottom:10px;border-radius:4px}
footer .refused{color:#b42318}.truncated{color:#b54708;font-style:italic}
.trace-layout{display:grid;grid-template-columns:minmax(0,1fr) 380px;gap:12px;align-items:start}
#detail{position:sticky;top:8px;max-height:92vh;overflow:auto;background:#fff;border:1px solid #e6e8eb;padding:8px;font-size:13px}
tr.span{cursor:pointer}tr.span.selected{background:#eef4ff}.axis{position:relative;height:16px;font-size:11px;color:#667085;font-weight:400}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}.axis span:first-child{transform:none}.axis span:last-child{transform:translateX(-100%)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:baseline}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;margin:4px 0}svg.chart{width:100%;height:110px;background:#fff;border:1px solid #e6e8eb;margin-bottom:8px}
svg.chart rect.ok{fill:#6ea8fe}svg.chart rect.error{fill:#f04438}svg.chart text{font-size:11px;fill:#667085}
";

/// The page's script, inline (no build step, nothing fetched from elsewhere): on a live
/// page (`data-live` on `<body>`) it fetches the same URL every two seconds and swaps the
/// elements marked `data-live` whose content the server changed (compared with what it sent
/// last, not with the DOM the user opened things in), so what the user types in a form, the
/// scroll position, opened spans and the selected span survive; on a waterfall, clicking a span
/// shows it in the detail pane, and "expand all" opens every span.
const SCRIPT: &str = r#"(()=>{const d=document;const last=new Map();d.querySelectorAll('[data-live]').forEach(el=>{if(el.id)last.set(el.id,el.innerHTML);});
function pane(row){const p=d.getElementById('detail');if(!row||!p)return;d.querySelectorAll('tr.span.selected').forEach(r=>r.classList.remove('selected'));row.classList.add('selected');const src=row.querySelector('.span-detail');p.innerHTML='<h2>'+row.querySelector('.name').outerHTML+'</h2>'+(src?src.innerHTML:'');p.dataset.span=row.id;}
function fromHash(){if(location.hash.startsWith('#span-'))pane(d.getElementById(location.hash.slice(1)));}
d.addEventListener('click',e=>{const t=e.target;if(t.id==='expand-all'){const open=t.dataset.open!=='1';d.querySelectorAll('#waterfall details').forEach(x=>x.open=open);t.dataset.open=open?'1':'0';t.textContent=open?'collapse all':'expand all';return;}
if(t.closest('a,button,input,select,label'))return;const row=t.closest('tr.span');if(row){pane(row);history.replaceState(null,'','#'+row.id);}});
window.addEventListener('hashchange',fromHash);fromHash();
if(!d.body.dataset.live)return;
async function tick(){try{if(!d.hidden){const r=await fetch(location.href,{headers:{'x-obskit-live':'1'}});if(r.ok){const doc=new DOMParser().parseFromString(await r.text(),'text/html');
const open=new Set([...d.querySelectorAll('details[open]')].map(x=>x.closest('[id]')&&x.closest('[id]').id));const sel=d.querySelector('tr.span.selected');const selId=sel&&sel.id;
d.querySelectorAll('[data-live]').forEach(el=>{if(el===d.body||!el.id)return;const fresh=doc.getElementById(el.id);if(fresh&&fresh.innerHTML!==last.get(el.id)){last.set(el.id,fresh.innerHTML);el.innerHTML=fresh.innerHTML;}});
d.querySelectorAll('details').forEach(x=>{const o=x.closest('[id]');if(o&&open.has(o.id))x.open=true;});if(selId){const row=d.getElementById(selId);if(row)row.classList.add('selected');}
d.body.dataset.updated=String(Date.now());}}}catch(e){}setTimeout(tick,2000);}setTimeout(tick,2000);})();"#;

/// A whole page: head with the title (escaped here), navigation, `body` (already HTML) and
/// a footer. A `live` page keeps its `data-live` elements (and the footer) current in place.
pub fn page(title: &str, nav: Nav, body: &str, footer: &str, live: bool) -> String {
    let mut out = String::with_capacity(body.len() + 8192);
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<title>");
    push_escaped(&mut out, title);
    out.push_str(" · obskit dev</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head>");
    out.push_str(if live {
        "<body data-live=\"1\">"
    } else {
        "<body>"
    });
    out.push_str("<header><b>obskit dev</b>");
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
    out.push_str("</main><footer id=\"footer\" data-live=\"1\">");
    out.push_str(footer);
    out.push_str("</footer><script>");
    out.push_str(SCRIPT);
    out.push_str("</script></body></html>");
    out
}

/// A duration for people: `850 µs`, `12.3 ms`, `1.25 s`.
///
/// ```
/// use obskit_dev::ui::html::duration;
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

/// A duration read from a histogram, in seconds: `< bound` when it falls in the lowest
/// bucket (`below`, where interpolation says nothing), `–` when there were no observations.
///
/// ```
/// use obskit_dev::ui::html::histogram_duration;
/// assert_eq!(histogram_duration(Some(0.005), Some(0.004)), "&lt; 5.0 ms");
/// assert_eq!(histogram_duration(None, Some(0.25)), "250.0 ms");
/// assert_eq!(histogram_duration(None, None), "–");
/// ```
pub fn histogram_duration(below: Option<f64>, seconds: Option<f64>) -> String {
    match (below, seconds) {
        (Some(bound), _) => format!("&lt; {}", duration(bound * 1e9)),
        (None, Some(secs)) => duration(secs * 1e9),
        (None, None) => "–".to_owned(),
    }
}

/// Time of day in UTC with milliseconds, from nanoseconds since the epoch: `10:04:05.123`.
///
/// ```
/// use obskit_dev::ui::html::time_of_day;
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
