//! The example outgoing call: `/relay/{name}` asks an upstream service for a greeting.
//!
//! Calls go through a client with [`obskit::http::HttpClientMiddleware`], which sends the
//! trace context (`traceparent`) and records the `http_client_*` metrics. By default the upstream is
//! this service itself, so the example works out of the box and one trace shows both
//! sides of the call; set `UPSTREAM_URL` to point it at a real dependency.

use std::time::Duration;

use anyhow::{Context as _, bail};
use obskit::health::Check;
use obskit::http::HttpClientMiddleware;
use obskit::reqwest::Url;
use obskit::reqwest_middleware::ClientWithMiddleware;

use crate::routes::Greeting;

/// How long one outgoing call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the readiness check waits for the upstream.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// An upstream HTTP service, reached through the instrumented obskit client.
#[derive(Clone)]
pub struct Upstream {
    client: ClientWithMiddleware,
    base_url: Url,
}

impl Upstream {
    /// The upstream named by `UPSTREAM_URL`, or this service itself on `port`, called
    /// through a client instrumented with `telemetry`.
    pub fn from_env(telemetry: &obskit::Telemetry, port: u16) -> anyhow::Result<Self> {
        let base_url =
            std::env::var("UPSTREAM_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"));
        let client = obskit::reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .context("could not build the HTTP client")?;
        Self::new(HttpClientMiddleware::new(telemetry).wrap(client), &base_url)
    }

    /// An upstream at `base_url`, e.g. `http://payments:8080`, called with `client`.
    pub fn new(client: ClientWithMiddleware, base_url: &str) -> anyhow::Result<Self> {
        let parsed = Url::parse(base_url).with_context(|| {
            format!("UPSTREAM_URL `{base_url}` is not a URL; use one like http://payments:8080")
        })?;
        if parsed.cannot_be_a_base() {
            bail!(
                "UPSTREAM_URL `{base_url}` cannot hold a path; use one like http://payments:8080"
            );
        }
        Ok(Self {
            client,
            base_url: parsed,
        })
    }

    /// Asks the upstream's `/hello/{name}` for a greeting.
    ///
    /// `#[tracing::instrument]` makes a span of the call, a child of the request's span,
    /// with `name` as a field (`self` left out).
    #[tracing::instrument(skip(self))]
    pub async fn greeting(&self, name: &str) -> anyhow::Result<Greeting> {
        let url = self.url(&["hello", name]);
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()?;
        let body = response
            .text()
            .await
            .with_context(|| format!("reading {url}"))?;
        serde_json::from_str(&body)
            .with_context(|| format!("{url} answered `{body}`, not a greeting"))
    }

    /// A dependency check for `/health/ready`: the upstream's liveness probe answers 2xx.
    ///
    /// Not critical: when the upstream is down, `/relay` fails but `/hello` still works, so
    /// the pod stays in rotation and the check shows up in the readiness report and in the
    /// `obskit_health_check_up` metric. Mark a check critical when the service cannot do
    /// anything useful without the dependency (its own database, say).
    pub fn health_check(&self) -> Check {
        let upstream = self.clone();
        Check::new("upstream", move || {
            let upstream = upstream.clone();
            async move { upstream.ping().await }
        })
        .timeout(CHECK_TIMEOUT)
        .critical(false)
    }

    /// Calls the upstream's `/health/live`.
    async fn ping(&self) -> Result<(), String> {
        let url = self.url(&["health", "live"]);
        match self.client.get(url).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("upstream answered {}", response.status())),
            Err(err) => Err(err.to_string()),
        }
    }

    /// The base URL with `segments` appended, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // `new` rejected URLs that cannot hold a path, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

/// A client without telemetry, for tests that exercise the routes alone.
#[cfg(test)]
pub fn plain_client() -> ClientWithMiddleware {
    obskit::reqwest::Client::new().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_encoded_segments_to_the_base_path() {
        let upstream = Upstream::new(plain_client(), "http://payments:8080/api/").unwrap();
        assert_eq!(
            upstream.url(&["hello", "ada lovelace/x"]).as_str(),
            "http://payments:8080/api/hello/ada%20lovelace%2Fx"
        );
    }

    #[test]
    fn rejects_a_base_url_that_is_not_one() {
        for bad in ["payments", "mailto:ops@example.com"] {
            let message = format!("{:#}", Upstream::new(plain_client(), bad).err().unwrap());
            assert!(message.contains("UPSTREAM_URL"), "{message}");
        }
    }
}
