//! The hold/release switch of a consumer, one for RabbitMQ's and NATS's alike: `GET
//! /consumer/{stall,release}` (under the prefix the caller nests it at) stops and resumes
//! taking messages, as a consumer blocked in its processing would; the broker keeps the
//! messages it already handed over unacknowledged meanwhile.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::watch;

/// The switch: `true` while the consumer is stalled.
pub(crate) struct Gate {
    stalled: watch::Sender<bool>,
}

/// What a consumer waits on before taking each message.
pub(crate) struct Waiter(watch::Receiver<bool>);

impl Gate {
    /// An open gate: the consumer takes messages until a stall.
    pub(crate) fn new() -> Self {
        Self {
            stalled: watch::channel(false).0,
        }
    }

    /// A waiter for the consumer this gate holds.
    pub(crate) fn waiter(&self) -> Waiter {
        Waiter(self.stalled.subscribe())
    }

    /// `GET /consumer/{stall,release}`, which keep the gate alive.
    pub(crate) fn routes(self) -> Router {
        Router::new()
            .route("/consumer/{state}", get(switch))
            .with_state(Arc::new(self))
    }
}

impl Waiter {
    /// Waits until the gate is open; `false` once the gate is gone (the service stops).
    pub(crate) async fn open(&mut self) -> bool {
        self.0.wait_for(|stalled| !*stalled).await.is_ok()
    }
}

/// `GET /consumer/{stall,release}`.
async fn switch(
    State(gate): State<Arc<Gate>>,
    Path(state): Path<String>,
) -> Result<&'static str, (StatusCode, String)> {
    let stalled = match state.as_str() {
        "stall" => true,
        "release" => false,
        other => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no consumer state {other:?}; use stall or release"),
            ));
        }
    };
    gate.stalled.send_replace(stalled);
    Ok(if stalled { "stalled" } else { "released" })
}
