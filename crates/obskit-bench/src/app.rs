//! The routes every benchmark stack serves, so the stacks differ only in
//! their instrumentation.
//!
//! ```
//! let app: axum::Router = obskit_bench::app::routes();
//! # drop(app);
//! ```

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Serialize;

/// The text `GET /hello` answers.
pub const HELLO: &str = "hello, world";

/// The body of `GET /users/{id}`: a small JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The id from the path.
    pub id: u64,
    /// A display name derived from the id.
    pub name: String,
    /// An address derived from the id.
    pub email: String,
    /// Always `true`.
    pub active: bool,
}

/// `GET /hello` (static text), `GET /users/{id}` (path parameter, JSON
/// through serde_json), `GET /orders/{id}` (the same JSON, built inside a
/// `#[tracing::instrument]` function: one child span per request, the way
/// users instrument their own code) and `POST /echo` (returns the body it
/// was sent).
pub fn routes() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/users/{id}", get(user))
        .route("/orders/{id}", get(order))
        .route("/echo", post(echo))
}

async fn hello() -> &'static str {
    HELLO
}

async fn user(Path(id): Path<u64>) -> Json<User> {
    Json(User::new(id))
}

impl User {
    /// The user `GET /users/{id}` and `GET /orders/{id}` answer with.
    pub fn new(id: u64) -> Self {
        Self {
            id,
            name: format!("user-{id}"),
            email: format!("user-{id}@example.com"),
            active: true,
        }
    }
}

async fn order(Path(id): Path<u64>) -> Json<User> {
    Json(load_user(id))
}

/// The work of `GET /orders/{id}` in a span of its own, as
/// `#[tracing::instrument]` makes it: what a user's first own span costs.
#[tracing::instrument(level = "info")]
fn load_user(id: u64) -> User {
    User::new(id)
}

async fn echo(body: Bytes) -> Bytes {
    body
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn call(request: Request<Body>) -> (StatusCode, Option<String>, Bytes) {
        let response = routes().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        (
            status,
            content_type,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    }

    #[tokio::test]
    async fn hello_is_static_text() {
        let (status, content_type, body) =
            call(Request::get("/hello").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("text/plain; charset=utf-8"));
        assert_eq!(body, HELLO);
    }

    #[tokio::test]
    async fn user_is_json_with_the_path_id() {
        let (status, content_type, body) =
            call(Request::get("/users/42").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        assert_eq!(
            body,
            r#"{"id":42,"name":"user-42","email":"user-42@example.com","active":true}"#
        );
    }

    #[tokio::test]
    async fn order_answers_like_user() {
        let (status, content_type, body) =
            call(Request::get("/orders/42").body(Body::empty()).unwrap()).await;
        let (_, _, user) = call(Request::get("/users/42").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        assert_eq!(body, user);
    }

    #[tokio::test]
    async fn user_id_must_be_a_number() {
        let (status, ..) = call(Request::get("/users/abc").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn echo_returns_the_body() {
        let (status, _, body) =
            call(Request::post("/echo").body(Body::from("ping 123")).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "ping 123");
    }
}
