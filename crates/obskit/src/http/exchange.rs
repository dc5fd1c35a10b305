//! What the HTTP layer records at the end of one request: its RED series,
//! its status attribute and its access line (the [`Protocol`] of HTTP).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use opentelemetry::KeyValue;

use super::labels;
use super::red::Ended;
use super::state::HttpShared;
use crate::instrument::{Outcome, Protocol};
use crate::logs::{LineKey, LineValue, log_millis};
use crate::metrics::names::ROUTE_UNMATCHED;
use crate::slo::SloSet;

/// One HTTP request as the end of it needs it.
pub(crate) struct Exchange {
    pub(crate) method: &'static str,
    pub(crate) route: Option<MatchedPath>,
    pub(crate) shared: Arc<HttpShared>,
}

impl Exchange {
    fn route(&self) -> &str {
        self.route
            .as_ref()
            .map_or(ROUTE_UNMATCHED, MatchedPath::as_str)
    }
}

impl Protocol for Exchange {
    type Status = u16;

    fn slo_key(&self) -> (&str, &str) {
        (self.method, self.route())
    }

    fn slos(&self) -> &SloSet {
        &self.shared.core.slos
    }

    fn error_type(&self, status: u16) -> Option<&'static str> {
        labels::server_error_type(status)
    }

    fn status_attribute(&self, status: u16) -> Option<KeyValue> {
        Some(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ))
    }

    fn record_duration(&self, status: Option<u16>, failed: bool, elapsed: Duration) {
        // A handler that failed sent nothing; its series says 500 with
        // `error_type="_OTHER"`, as a server error it is.
        let ended = if failed {
            Ended::Failed
        } else {
            Ended::Answered
        };
        self.shared
            .metrics
            .duration(
                self.method,
                self.route(),
                Some(status.unwrap_or(500)),
                ended,
            )
            .record(elapsed.as_secs_f64());
    }

    fn record_cancelled(&self, status: Option<u16>, elapsed: Duration) {
        self.shared
            .metrics
            .duration(self.method, self.route(), status, Ended::Cancelled)
            .record(elapsed.as_secs_f64());
    }

    fn access_line(
        &self,
        outcome: Outcome<u16>,
        error_type: Option<&'static str>,
        elapsed: Duration,
    ) {
        let access_log = &self.shared.core.access_log;
        if !access_log.keeps(outcome.status(), error_type.is_some(), elapsed) {
            return;
        }
        let route = self.route();
        let method = self.method;
        let status = outcome.status();
        // `GET /users/{id} 200`; a request that did not complete says how
        // it ended: `GET /feed 200 cancelled`, `GET /panic failed`.
        let status_text = status.map_or("", labels::status_str);
        let space = if status.is_some() { " " } else { "" };
        let (end, ended) = match outcome {
            Outcome::Completed(_) => ("", 0),
            Outcome::Failed(_) => (" failed", 1),
            Outcome::Cancelled(_) => (" cancelled", 2),
        };
        // Everything but the duration follows from these.
        let key = LineKey {
            protocol: "http",
            text: [method, route],
            number: status.map_or(0, |s| 0x1_0000 | u32::from(s)) | ended << 20,
            error_type,
        };
        let message = [method, " ", route, space, status_text, end];
        let fields = [
            ("http.request.method", Some(LineValue::Str(method))),
            ("http.route", Some(LineValue::Str(route))),
            (
                "http.response.status_code",
                status.map(|s| LineValue::U64(u64::from(s))),
            ),
            ("error.type", error_type.map(LineValue::Str)),
            ("duration_ms", Some(LineValue::Millis(elapsed))),
        ];
        access_log.write(Some(key), &message, &fields, |level, message| {
            let duration_ms = log_millis(elapsed);
            crate::logs::access_event!(
                level,
                http.request.method = method,
                http.route = route,
                http.response.status_code = status,
                error.type = error_type,
                duration_ms,
                message
            );
        });
    }
}
