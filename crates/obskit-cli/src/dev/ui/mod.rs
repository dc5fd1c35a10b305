//! The web UI: server-rendered pages (no script, no build step, nothing fetched from
//! elsewhere). Each handler takes a snapshot from the store, releases it, and renders.
//!
//! Pages: `/traces` (list), `/traces/{trace_id}` (waterfall), `/logs`, `/service`.

pub mod html;
pub mod logs;
pub mod service;
pub mod traces;
pub mod waterfall;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use super::model::TraceId;
use super::scrape::{self, ScrapeStatus};
use super::store::Store;
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
        .with_state(state)
}

fn footer(store: &Store) -> String {
    let counts = store.counts();
    let limits = store.limits();
    format!(
        "{} spans received, {} dropped (trace over {} spans) · {} traces kept of {} · {} log lines received, last {} kept",
        counts.spans_received.load(Ordering::Relaxed),
        counts.spans_dropped.load(Ordering::Relaxed),
        limits.spans_per_trace,
        store.trace_count(),
        limits.traces,
        counts.log_lines_received.load(Ordering::Relaxed),
        limits.log_lines,
    )
}

async fn traces_page(
    State(state): State<UiState>,
    Query(filter): Query<traces::TraceFilter>,
) -> Html<String> {
    let summaries = state.store.trace_summaries();
    let body = traces::body(&summaries, &filter);
    Html(html::page(
        "Traces",
        Nav::Traces,
        &body,
        &footer(&state.store),
        Some(5),
    ))
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
            None,
        );
        return (StatusCode::NOT_FOUND, Html(page)).into_response();
    };
    let lines: Vec<_> = state
        .store
        .logs()
        .into_iter()
        .filter(|line| line.trace_id == Some(id))
        .collect();
    let body = waterfall::body(&id, &spans, &lines);
    let title = format!("Trace {id}");
    Html(html::page(
        &title,
        Nav::Traces,
        &body,
        &footer(&state.store),
        None,
    ))
    .into_response()
}

async fn logs_page(
    State(state): State<UiState>,
    Query(filter): Query<logs::LogFilter>,
) -> Html<String> {
    let lines = state.store.logs();
    let body = logs::body(&lines, &filter);
    let refresh = filter.is_live().then_some(2);
    Html(html::page(
        "Logs",
        Nav::Logs,
        &body,
        &footer(&state.store),
        refresh,
    ))
}

async fn service_page(
    State(state): State<UiState>,
    Query(query): Query<service::ServiceQuery>,
) -> Html<String> {
    let scrapes = state.store.scrapes();
    let (last_ok, error) = state.scrape_status.get();
    let info = service::ScrapeInfo {
        url: state.scrape_url.clone(),
        since: state.since,
        last_ok,
        error,
    };
    let body = service::body(&scrapes, &query, &info, scrape::now_unix_secs());
    Html(html::page(
        "Service",
        Nav::Service,
        &body,
        &footer(&state.store),
        Some(5),
    ))
}
