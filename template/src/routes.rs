//! The service's own routes: a greeting answered locally, and one relayed from an
//! upstream service to show an outgoing call inside the same trace.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::upstream::Upstream;

/// A greeting, as this service and its upstream return it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Greeting {
    /// The text of the greeting.
    pub message: String,
}

/// The example routes; [`app`](crate::app) adds the probes, `/metrics` and the obskit layer.
pub fn router(upstream: Upstream) -> Router {
    Router::new()
        .route("/hello/{name}", get(hello))
        .route("/relay/{name}", get(relay))
        .with_state(upstream)
}

/// `GET /hello/{name}`: answers locally.
async fn hello(Path(name): Path<String>) -> Json<Greeting> {
    // Logged inside the request span, so the JSON line carries its trace_id and span_id.
    tracing::info!(%name, "saying hello");
    Json(Greeting {
        message: format!("hello, {name}"),
    })
}

/// `GET /relay/{name}`: asks the upstream for the greeting; 502 when the upstream fails.
async fn relay(
    State(upstream): State<Upstream>,
    Path(name): Path<String>,
) -> Result<Json<Greeting>, (StatusCode, String)> {
    match upstream.greeting(&name).await {
        Ok(greeting) => Ok(Json(greeting)),
        Err(err) => {
            let reason = format!("{err:#}");
            tracing::warn!(error = %reason, "upstream call failed");
            Err((
                StatusCode::BAD_GATEWAY,
                format!("upstream call failed: {reason}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{closed_port_url, get};
    use crate::upstream::plain_client;

    #[tokio::test]
    async fn hello_greets_by_name() {
        let upstream = Upstream::new(plain_client(), &closed_port_url()).unwrap();
        let (status, body) = get(router(upstream), "/hello/ada").await;
        assert_eq!(status, StatusCode::OK);
        let greeting: Greeting = serde_json::from_str(&body).unwrap();
        assert_eq!(greeting.message, "hello, ada");
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        let upstream = Upstream::new(plain_client(), &closed_port_url()).unwrap();
        let (status, _) = get(router(upstream), "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn relay_answers_502_when_the_upstream_is_down() {
        let upstream = Upstream::new(plain_client(), &closed_port_url()).unwrap();
        let (status, body) = get(router(upstream), "/relay/ada").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(body.starts_with("upstream call failed: "), "{body}");
    }

    #[tokio::test]
    async fn relay_returns_the_upstream_greeting() {
        // A real upstream on a real socket: these same routes, served on 127.0.0.1.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_url = format!("http://{}", listener.local_addr().unwrap());
        let upstream_app = router(Upstream::new(plain_client(), &closed_port_url()).unwrap());
        tokio::spawn(async move { axum::serve(listener, upstream_app).await });

        let upstream = Upstream::new(plain_client(), &upstream_url).unwrap();
        let (status, body) = get(router(upstream), "/relay/grace%20hopper").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let greeting: Greeting = serde_json::from_str(&body).unwrap();
        assert_eq!(greeting.message, "hello, grace hopper");
    }
}
