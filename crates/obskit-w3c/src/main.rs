//! The test service of the W3C Trace Context suite
//! (`tests/w3c-trace-context/test/README.md`): obskit's server layer on
//! `POST /test`, which calls every `{url, arguments}` of the JSON list it
//! receives with obskit's HTTP client, so the suite sees what obskit
//! propagates.
//!
//! Run with `cargo run -p obskit-w3c -- 127.0.0.1:5000`, then
//! `python3 test.py http://127.0.0.1:5000/test` in the suite's folder.
//! It prints `listening on http://ADDRESS` on standard output once ready;
//! its log lines go to standard error. No spans are exported unless
//! `OTEL_TRACES_EXPORTER` asks for them.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use axum::routing::post;
use axum::{Json, Router};
use obskit::config::TracesExporter;
use serde::Deserialize;

/// One instruction of the suite: POST `arguments` to `url`.
#[derive(Debug, Deserialize)]
struct Action {
    url: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let mut config = obskit::Config::from_env()?.service_name("obskit-w3c")?;
    if std::env::var_os("OTEL_TRACES_EXPORTER").is_none() {
        config = config.traces_exporter(TracesExporter::None);
    }
    let telemetry = config.install_with_writer(std::io::stderr())?;
    let client = obskit::http::HttpClientMiddleware::new(&telemetry).wrap(
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?,
    );
    let app = Router::new()
        .route(
            "/test",
            post(move |Json(actions): Json<Vec<Action>>| {
                let client = client.clone();
                async move {
                    for action in actions {
                        let body = serde_json::to_vec(&action.arguments).unwrap_or_default();
                        let sent = client
                            .post(&action.url)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        if let Err(e) = sent {
                            obskit::tracing::warn!(url = %action.url, error = %e, "callback failed");
                        }
                    }
                    Json(serde_json::json!({ "ok": true }))
                }
            }),
        )
        .layer(obskit::http::HttpLayer::new(&telemetry));
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on http://{local}")?;
    out.flush()?;
    axum::serve(listener, app).await?;
    telemetry.shutdown().await;
    Ok(())
}
