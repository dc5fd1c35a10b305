//! The web UI: server-rendered pages with one small inline script (no build step, nothing
//! fetched from elsewhere) that keeps live pages current in place. Each handler takes a
//! snapshot from the store, releases it, and renders. Query strings are read leniently, as
//! a browser sends them: an empty field means "any", and a value that cannot be used is
//! named on the page, which still renders.
//!
//! Pages: `/traces` (list), `/traces/{trace_id}` (waterfall), `/logs`, `/service`.

pub mod html;
pub mod logs;
pub mod messaging;
pub mod service;
pub mod traces;
pub mod waterfall;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::model::TraceId;
use crate::scrape::{self, ScrapeStatus};
use crate::store::Store;
use html::Nav;

/// What the pages read.
#[derive(Debug, Clone)]
pub struct UiState {
    /// The store.
    pub store: Arc<Store>,
    /// The `/metrics` URL scraped, if any.
    pub scrape_url: Option<String>,
    /// How scraping goes.
    pub scrape_status: Arc<ScrapeStatus>,
    /// When the viewer started (seconds since the epoch).
    pub since: f64,
}

/// The UI's router.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/traces") }))
        .route("/traces", get(traces_page))
        .route("/traces/{trace_id}", get(trace_page))
        .route("/logs", get(logs_page))
        .route("/service", get(service_page))
        .fallback(not_found)
        .with_state(state)
}

/// Bytes for people, in the flags' binary units: `850 B`, `4.0 KiB`, `192.0 MiB`.
fn bytes(n: usize) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{n:.0} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    }
}

fn footer(store: &Store) -> String {
    let counts = store.counts();
    let limits = store.limits();
    let (trace_bytes, log_bytes) = store.bytes();
    let mut out = format!(
        "<span id=\"figures\">{} spans received, {} dropped (trace over {} spans or over budget) · {} traces kept of {} · \
         {} log lines received, last {} kept · memory: spans {} of {}, log lines {} of {}, {} let go to stay within it · \
         attribute values cut at {}</span>",
        counts.spans_received.load(Ordering::Relaxed),
        counts.spans_dropped.load(Ordering::Relaxed),
        limits.spans_per_trace,
        store.trace_count(),
        limits.traces,
        counts.log_lines_received.load(Ordering::Relaxed),
        limits.log_lines,
        bytes(trace_bytes),
        bytes(limits.trace_bytes()),
        bytes(log_bytes),
        bytes(limits.log_bytes()),
        counts.evicted_for_memory.load(Ordering::Relaxed),
        bytes(limits.attribute_value_bytes),
    );
    let refusals = store.refusals().all();
    if !refusals.is_empty() {
        let _ = write!(
            out,
            "<div class=\"refused\" id=\"refusals\"><b>{} export{} refused:</b><ul>",
            store.refusals().total(),
            if store.refusals().total() == 1 {
                ""
            } else {
                "s"
            }
        );
        for (cause, tally) in refusals {
            let _ = write!(
                out,
                "<li class=\"refusal\">{} × {} ({}): ",
                tally.count,
                html::escape(cause.endpoint),
                html::escape(cause.kind)
            );
            html::push_escaped(&mut out, &tally.message);
            out.push_str("</li>");
        }
        out.push_str("</ul></div>");
    }
    out
}

/// Any other path: a page that says so, with the navigation, never a bare 404.
async fn not_found(State(state): State<UiState>, uri: axum::http::Uri) -> Response {
    let mut body = String::from("<h1>Not found</h1><p>There is no page at <span class=\"mono\">");
    html::push_escaped(&mut body, uri.path());
    body.push_str(
        "</span>. The pages are <a href=\"/traces\">Traces</a>, <a href=\"/logs\">Logs</a> and \
         <a href=\"/service\">Service</a>; OTLP exports go to the receiver's ports, not this one.</p>",
    );
    let page = html::page(
        "Not found",
        Nav::Traces,
        &body,
        &footer(&state.store),
        false,
    );
    (StatusCode::NOT_FOUND, Html(page)).into_response()
}

async fn traces_page(State(state): State<UiState>, RawQuery(query): RawQuery) -> Response {
    let pairs = html::parse_query(query.as_deref().unwrap_or_default());
    let (filter, problems) = traces::TraceFilter::from_query(&pairs);
    let summaries = state.store.trace_summaries();
    // A whole trace id that is stored: straight to its waterfall.
    if let Some(id) = TraceId::parse(&filter.trace_id)
        && summaries.iter().any(|s| s.trace_id == id)
    {
        return Redirect::to(&format!("/traces/{id}")).into_response();
    }
    let mut problems = problems;
    if let Some(id) = TraceId::parse(&filter.trace_id) {
        problems.push(format!(
            "trace {id} is not stored: it has not arrived yet, or it was let go to keep the newest traces"
        ));
    }
    let body = traces::body(&summaries, &filter, &problems, html::now_unix_nanos());
    Html(html::page(
        "Traces",
        Nav::Traces,
        &body,
        &footer(&state.store),
        true,
    ))
    .into_response()
}

async fn trace_page(State(state): State<UiState>, Path(trace_id): Path<String>) -> Response {
    let spans = TraceId::parse(&trace_id).and_then(|id| Some((id, state.store.trace(&id)?)));
    let Some((id, spans)) = spans else {
        let body = waterfall::missing(&trace_id);
        let page = html::page(
            "Trace not found",
            Nav::Traces,
            &body,
            &footer(&state.store),
            false,
        );
        return (StatusCode::NOT_FOUND, Html(page)).into_response();
    };
    let lines: Vec<_> = state
        .store
        .logs()
        .into_iter()
        .filter(|line| line.trace_id == Some(id))
        .collect();
    let linked_from = state.store.links_to(&id);
    let body = waterfall::body(&id, &spans, &lines, &linked_from, html::now_unix_nanos());
    let title = format!("Trace {id}");
    Html(html::page(
        &title,
        Nav::Traces,
        &body,
        &footer(&state.store),
        true,
    ))
    .into_response()
}

async fn logs_page(State(state): State<UiState>, RawQuery(query): RawQuery) -> Html<String> {
    let pairs = html::parse_query(query.as_deref().unwrap_or_default());
    let (filter, problems) = logs::LogFilter::from_query(&pairs);
    let lines = state.store.logs();
    let body = logs::body(&lines, &filter, &problems);
    Html(html::page(
        "Logs",
        Nav::Logs,
        &body,
        &footer(&state.store),
        filter.is_live(),
    ))
}

async fn service_page(State(state): State<UiState>, RawQuery(query): RawQuery) -> Html<String> {
    let pairs = html::parse_query(query.as_deref().unwrap_or_default());
    let (query, problems) = service::ServiceQuery::from_query(&pairs);
    let scraped = state.store.scrapes();
    let otlp = scraped.is_empty() && !state.store.otlp_scrapes().is_empty();
    let scrapes = if otlp {
        state.store.otlp_scrapes()
    } else {
        scraped
    };
    let (last_ok, error) = state.scrape_status.get();
    let info = service::ScrapeInfo {
        url: state.scrape_url.clone(),
        since: state.since,
        last_ok,
        error,
        otlp,
    };
    let spans = state.store.server_span_durations();
    let messages = state.store.messages(messaging::MESSAGES_SHOWN);
    let body = service::body(
        &scrapes,
        &query,
        &info,
        scrape::now_unix_secs(),
        &problems,
        &spans,
        &messages,
    );
    Html(html::page(
        "Service",
        Nav::Service,
        &body,
        &footer(&state.store),
        true,
    ))
}
