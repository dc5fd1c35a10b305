//! Serving a router on a real `127.0.0.1` socket from inside a test, with
//! the peer address available to the layer (`client.address`).

use std::future::IntoFuture;
use std::net::SocketAddr;

use axum::Router;

/// Binds `127.0.0.1:0`, serves `router` on a task of the current runtime
/// and returns the base URL (`http://127.0.0.1:<port>`). On a
/// current-thread runtime every connection task runs on the test's thread,
/// so the test's default subscriber sees every log line.
pub(crate) async fn spawn(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
    );
    format!("http://{addr}")
}
