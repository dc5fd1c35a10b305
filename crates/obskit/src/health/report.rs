//! Probe reports and their JSON bodies.

use serde::Serialize;

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy: the probe answers 200.
    Up,
    /// Unhealthy: the probe answers 503.
    Down,
}

/// The outcome of one dependency check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Whether it passed.
    pub status: Status,
    /// Whether it gates readiness.
    pub critical: bool,
    /// How long the check ran, in milliseconds.
    pub duration_ms: f64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether this result was reused from an earlier run.
    pub cached: bool,
}

/// What a probe answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The overall status.
    pub status: Status,
    /// Why the probe is down when no check says so (`starting`, `draining`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Every check that ran (readiness only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// 200 when up, 503 when down.
    pub fn http_status(&self) -> http::StatusCode {
        match self.status {
            Status::Up => http::StatusCode::OK,
            Status::Down => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"status":"down"}"#.to_owned())
    }
}
