//! `POST /tasks`: publishes the request body as a task for the worker (`src/worker.rs`),
//! in the request's trace, and answers 202 once the broker has taken it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use crate::broker::Broker;

/// The route that publishes tasks.
pub fn router(broker: Broker) -> Router {
    Router::new()
        .route("/tasks", post(publish))
        .with_state(broker)
}

/// Publishes the body; 503 when the broker does not take it.
async fn publish(State(broker): State<Broker>, body: Bytes) -> (StatusCode, String) {
    match broker.publish(body.to_vec()).await {
        Ok(()) => (StatusCode::ACCEPTED, "accepted\n".to_owned()),
        Err(err) => {
            tracing::warn!(error = %err, "could not publish a task");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the broker did not take the task; try again\n".to_owned(),
            )
        }
    }
}
