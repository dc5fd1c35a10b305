//! Scraping the service's `/metrics` every few seconds, asking for OpenMetrics (for
//! exemplars) and accepting Prometheus text; the RED, SLO and messaging series are kept in
//! the store.

pub mod parse;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parse::Sample;

use crate::store::Store;

/// `Accept` header: OpenMetrics first (exemplars), Prometheus text otherwise.
pub const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

/// The series the service page reads; everything else in a scrape is not kept.
pub fn is_kept(name: &str) -> bool {
    let histogram = |base: &str| {
        name.strip_prefix(base)
            .is_some_and(|suffix| matches!(suffix, "_bucket" | "_count" | "_sum"))
    };
    histogram(obskit_names::HTTP_SERVER_REQUEST_DURATION)
        || crate::figures::messaging::HISTOGRAMS
            .into_iter()
            .any(histogram)
        || crate::figures::messaging::SERIES.contains(&name)
        || name == obskit_names::SLO_REQUESTS_TOTAL
        || name == obskit_names::SLO_OBJECTIVE_RATIO
        || name == obskit_names::SLO_LATENCY_THRESHOLD
}

/// One scrape: when, and the kept samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrape {
    /// Seconds since the epoch when the answer arrived.
    pub at_unix_secs: f64,
    /// The RED and SLO samples.
    pub samples: Vec<Sample>,
}

/// Seconds since the epoch, now.
pub fn now_unix_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Scrapes `url` every `interval` into `store` until the task is dropped.
///
/// Failures (the service is still compiling, restarting) are skipped silently; the
/// service page says when the last scrape succeeded.
pub async fn run(url: String, interval: Duration, store: Arc<Store>, status: Arc<ScrapeStatus>) {
    let client = match reqwest::Client::builder()
        .timeout(interval.max(Duration::from_secs(2)))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            status.set_error(format!("could not build an HTTP client: {err}"));
            return;
        }
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match scrape_once(&client, &url).await {
            Ok(samples) => {
                store.push_scrape(Scrape {
                    at_unix_secs: now_unix_secs(),
                    samples,
                });
                status.set_ok();
            }
            Err(err) => status.set_error(err),
        }
    }
}

async fn scrape_once(client: &reqwest::Client, url: &str) -> Result<Vec<Sample>, String> {
    let response = client
        .get(url)
        .header("accept", ACCEPT)
        .send()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url} answered {}", response.status()));
    }
    let body = response
        .text()
        .await
        .map_err(|err| format!("reading {url}: {err}"))?;
    parse::parse(&body, is_kept).map_err(|err| format!("{url}: {err}"))
}

/// The outcome of the latest scrape, for the service page.
#[derive(Debug, Default)]
pub struct ScrapeStatus {
    inner: parking_lot::Mutex<(Option<f64>, Option<String>)>,
}

impl ScrapeStatus {
    fn set_ok(&self) {
        *self.inner.lock() = (Some(now_unix_secs()), None);
    }

    fn set_error(&self, error: String) {
        self.inner.lock().1 = Some(error);
    }

    /// When the last scrape succeeded, and the error of the latest attempt if it failed.
    pub fn get(&self) -> (Option<f64>, Option<String>) {
        self.inner.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_red_and_slo_series_only() {
        assert!(is_kept("http_server_request_duration_seconds_bucket"));
        assert!(is_kept("obskit_slo_requests_total"));
        assert!(is_kept("messaging_process_duration_seconds_bucket"));
        assert!(is_kept("obskit_messaging_queue_messages"));
        assert!(!is_kept(
            "messaging_client_operation_duration_seconds_bucket"
        ));
        assert!(!is_kept("http_server_request_duration_seconds_created"));
        assert!(!is_kept("http_client_request_duration_seconds_bucket"));
        assert!(!is_kept("process_threads"));
    }
}
