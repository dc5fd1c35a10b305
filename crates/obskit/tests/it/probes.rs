//! Health probes over a real socket: Kubernetes semantics through start-up,
//! readiness, a failing and recovering critical check, a non-critical
//! failure, a hanging check and draining, with the JSON bodies and the
//! `obskit_health_*` gauges following every transition.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use obskit::health::Check;
use obskit::http::observability_routes;
use obskit::reqwest;
use obskit_test_support::prom;
use serde_json::Value;
use support::{Harness, config, harness};

fn service(name: &str) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]))
}

struct Probe {
    client: reqwest::Client,
    base: String,
}

impl Probe {
    async fn serve(h: &Harness) -> Self {
        let router: Router = observability_routes(&h.telemetry);
        Self {
            client: reqwest::Client::new(),
            base: support::server::spawn(router).await,
        }
    }

    /// Status code and JSON body of a probe; checks the headers every probe sends.
    async fn get(&self, probe: &str) -> (u16, Value) {
        let res = self
            .client
            .get(format!("{}/health/{probe}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{probe}: {e}"));
        let status = res.status().as_u16();
        assert_eq!(res.headers()["content-type"], "application/json", "{probe}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{probe}");
        let body = res.text().await.unwrap();
        let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{probe}: {e}: {body}"));
        (status, json)
    }

    async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {body}"))
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {body}"))
}

/// Every check entry has a name, a status and a non-negative duration.
fn assert_check_shape(body: &Value) {
    for c in body["checks"].as_array().into_iter().flatten() {
        assert!(c["name"].is_string(), "{c}");
        assert!(c["status"] == "up" || c["status"] == "down", "{c}");
        assert!(c["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{c}");
    }
}

#[tokio::test]
async fn probes_follow_start_failure_recovery_and_draining() {
    let h = service("probes");
    let db_down = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&db_down);
    let health = h.telemetry.health();
    health
        .register(
            Check::new("db", move || {
                let down = flag.load(Ordering::SeqCst);
                async move {
                    if down {
                        Err("connection refused by 10.0.0.7:5432")
                    } else {
                        Ok(())
                    }
                }
            })
            .cache_for(Duration::ZERO),
        )
        .unwrap();
    health
        .register(
            Check::new("cache", || async { Err::<(), _>("cache unreachable") })
                .critical(false)
                .cache_for(Duration::ZERO),
        )
        .unwrap();
    let p = Probe::serve(&h).await;
    let ready_gauge =
        |text: &str| prom::exact(text, "obskit_health_ready", &[("service_name", "probes")]);
    let check_gauge = |text: &str, name: &str, critical: &str| {
        prom::exact(
            text,
            "obskit_health_check_up",
            &[
                ("service_name", "probes"),
                ("check", name),
                ("critical", critical),
            ],
        )
    };

    // Starting.
    let (status, body) = p.get("startup").await;
    assert_eq!(
        (status, &body["status"], &body["reason"]),
        (503, &"down".into(), &"starting".into())
    );
    let (status, body) = p.get("ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "down");
    assert_eq!(body["reason"], "starting");
    let (status, body) = p.get("live").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &"up".into()),
        "liveness does not wait for start-up"
    );
    assert!(
        body.get("checks").is_none(),
        "liveness runs no checks: {body}"
    );
    assert_eq!(ready_gauge(&p.metrics().await), Some(0.0));

    // Started: ready, with the non-critical failure reported but not gating.
    health.mark_started();
    let (status, body) = p.get("startup").await;
    assert_eq!((status, &body["status"]), (200, &"up".into()));
    let (status, body) = p.get("ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "up");
    assert!(body.get("reason").is_none(), "{body}");
    assert_check_shape(&body);
    assert_eq!(body["checks"].as_array().unwrap().len(), 2);
    assert_eq!(check(&body, "db")["status"], "up");
    assert_eq!(check(&body, "db")["critical"], true);
    assert!(check(&body, "db").get("error").is_none());
    assert_eq!(check(&body, "cache")["status"], "down");
    assert_eq!(check(&body, "cache")["critical"], false);
    assert_eq!(check(&body, "cache")["error"], "cache unreachable");
    let text = p.metrics().await;
    assert_eq!(ready_gauge(&text), Some(1.0), "{text}");
    assert_eq!(check_gauge(&text, "db", "true"), Some(1.0), "{text}");
    assert_eq!(check_gauge(&text, "cache", "false"), Some(0.0), "{text}");

    // The critical dependency fails: not ready, still alive.
    db_down.store(true, Ordering::SeqCst);
    let (status, body) = p.get("ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "down");
    assert!(body.get("reason").is_none(), "the checks say why: {body}");
    assert_check_shape(&body);
    assert_eq!(check(&body, "db")["status"], "down");
    assert_eq!(
        check(&body, "db")["error"],
        "connection refused by 10.0.0.7:5432"
    );
    let (status, _) = p.get("live").await;
    assert_eq!(status, 200, "liveness never depends on dependencies");
    let (status, _) = p.get("startup").await;
    assert_eq!(status, 200, "start-up stays passed");
    let text = p.metrics().await;
    assert_eq!(ready_gauge(&text), Some(0.0), "{text}");
    assert_eq!(check_gauge(&text, "db", "true"), Some(0.0), "{text}");

    // Fixed: ready again.
    db_down.store(false, Ordering::SeqCst);
    let (status, body) = p.get("ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(check(&body, "db")["status"], "up");
    let text = p.metrics().await;
    assert_eq!(ready_gauge(&text), Some(1.0));
    assert_eq!(check_gauge(&text, "db", "true"), Some(1.0));

    // Draining: not ready whatever the checks say; alive.
    health.start_draining();
    assert_eq!(
        ready_gauge(&p.metrics().await),
        Some(0.0),
        "draining drops the gauge at once"
    );
    let (status, body) = p.get("ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "down");
    assert_eq!(body["reason"], "draining");
    assert_eq!(check(&body, "db")["status"], "up");
    let (status, _) = p.get("live").await;
    assert_eq!(status, 200);
    assert_eq!(ready_gauge(&p.metrics().await), Some(0.0));
}

#[tokio::test]
async fn a_hanging_check_fails_at_its_timeout() {
    let h = service("hang");
    let health = h.telemetry.health();
    health
        .register(
            Check::new("upstream", std::future::pending::<Result<(), String>>)
                .timeout(Duration::from_millis(300))
                .cache_for(Duration::ZERO),
        )
        .unwrap();
    health.mark_started();
    let p = Probe::serve(&h).await;

    for _ in 0..2 {
        let start = Instant::now();
        let (status, body) = p.get("ready").await;
        let elapsed = start.elapsed();
        assert_eq!(status, 503, "{body}");
        assert!(
            elapsed >= Duration::from_millis(300),
            "answered before the timeout: {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_secs(3),
            "the probe hung: {elapsed:?}"
        );
        let c = check(&body, "upstream");
        assert_eq!(c["status"], "down");
        assert_eq!(c["error"], "timed out after 300ms");
        let ms = c["duration_ms"].as_f64().unwrap();
        assert!((300.0..3000.0).contains(&ms), "{ms}");
        // Liveness answers at once while the check hangs.
        let start = Instant::now();
        assert_eq!(p.get("live").await.0, 200);
        assert!(start.elapsed() < Duration::from_millis(300));
    }
    let text = p.metrics().await;
    assert_eq!(
        prom::exact(
            &text,
            "obskit_health_check_up",
            &[
                ("service_name", "hang"),
                ("check", "upstream"),
                ("critical", "true")
            ]
        ),
        Some(0.0)
    );
}

#[tokio::test]
async fn concurrent_probes_share_one_cached_run() {
    let h = service("cached");
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let health = h.telemetry.health();
    health
        .register(
            Check::new("db", move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<(), String>(())
                }
            })
            .cache_for(Duration::from_secs(60)),
        )
        .unwrap();
    health.mark_started();
    let p = Arc::new(Probe::serve(&h).await);
    let probes = (0..10).map(|_| {
        let p = Arc::clone(&p);
        async move { p.get("ready").await }
    });
    let results = futures_util::future::join_all(probes).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
    }
    let cached = results
        .iter()
        .filter(|(_, b)| check(b, "db")["cached"] == true)
        .count();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "probes must not hammer the dependency"
    );
    // Ten probes, one run: either a probe ran it and nine reused it, or the
    // background refresh (started by `mark_started`) ran it and all ten did.
    assert!(cached >= 9, "{cached} cached results");
}

/// `Server::admin` serves the probes and `/metrics` on their own port; a
/// shutdown signal turns readiness to `draining` there while the main port
/// keeps serving for the drain delay, then `run` returns after the flush.
#[tokio::test]
async fn an_admin_port_serves_probes_and_metrics_through_a_drain() {
    use obskit::http::HttpLayer;

    let h = service("admin");
    let health = h.telemetry.health();
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let main_url = format!("http://{}", main.local_addr().unwrap());
    let admin_url = format!("http://{}", admin.local_addr().unwrap());
    let app = Router::new()
        .route("/work", axum::routing::get(|| async { "done" }))
        .layer(HttpLayer::new(&h.telemetry));
    let (signal_tx, signal_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        obskit::Server::new(main, app, h.telemetry)
            .admin(admin)
            .drain_delay(Duration::from_millis(400))
            .inflight_timeout(Duration::from_secs(2))
            .shutdown_signal(async {
                let _ = signal_rx.await;
            })
            .run(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await }
    };

    // Wait until both ports answer; `run` marks the service started.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(res) = get(format!("{admin_url}/health/ready")).await {
            assert_eq!(res.status(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "the admin port never answered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(health.is_started());
    assert_eq!(get(format!("{main_url}/work")).await.unwrap().status(), 200);
    let metrics = get(format!("{admin_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        prom::value(
            &metrics,
            "http_server_request_duration_seconds_count",
            &[("http_route", "/work")]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        get(format!("{main_url}/health/ready"))
            .await
            .unwrap()
            .status(),
        404,
        "the probes are on the admin port only"
    );

    let _ = signal_tx.send(());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let res = get(format!("{admin_url}/health/ready")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["reason"], "draining");
    assert_eq!(
        get(format!("{main_url}/work")).await.unwrap().status(),
        200,
        "the main port serves during the drain delay"
    );

    let report = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("run returns within drain + in-flight + shutdown")
        .unwrap()
        .expect("serve succeeded");
    assert!(!report.timed_out, "{report:?}");
    assert!(
        get(format!("{main_url}/work")).await.is_err(),
        "the main port is closed"
    );
}
