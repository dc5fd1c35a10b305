//! Tests of the health registry: probe answers, check timeouts and caching,
//! the readiness gauge.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::*;

fn health() -> Health {
    Health::new(MetricsHandle::new("test"))
}

#[tokio::test]
async fn readiness_follows_start_checks_and_draining() {
    let h = health();
    let failing = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&failing);
    h.register(
        Check::new("db", move || {
            let fail = f.load(Ordering::SeqCst);
            async move {
                if fail {
                    Err("connection refused")
                } else {
                    Ok(())
                }
            }
        })
        .cache_for(Duration::ZERO),
    )
    .unwrap();
    let r = h.readiness().await;
    assert_eq!((r.status, r.reason), (Status::Down, Some("starting")));
    assert_eq!(h.startup().status, Status::Down);
    assert_eq!(h.liveness().status, Status::Up);

    h.mark_started();
    assert_eq!(h.startup().status, Status::Up);
    assert_eq!(h.readiness().await.status, Status::Up);

    failing.store(true, Ordering::SeqCst);
    let r = h.readiness().await;
    assert_eq!(r.status, Status::Down);
    assert_eq!(r.checks[0].error.as_deref(), Some("connection refused"));
    assert_eq!(
        h.liveness().status,
        Status::Up,
        "liveness never depends on checks"
    );

    failing.store(false, Ordering::SeqCst);
    assert_eq!(h.readiness().await.status, Status::Up);

    h.start_draining();
    let r = h.readiness().await;
    assert_eq!((r.status, r.reason), (Status::Down, Some("draining")));
    assert!(
        h.inner
            .metrics
            .render()
            .contains("obskit_health_ready{service_name=\"test\"} 0")
    );
}

#[tokio::test]
async fn the_ready_gauge_is_kept_current_without_probes() {
    let h = health();
    h.register(Check::new("db", || async { Ok::<(), String>(()) }))
        .unwrap();
    let text = h.inner.metrics.render();
    assert!(
        text.contains("obskit_health_ready{service_name=\"test\"} 0"),
        "{text}"
    );
    assert!(
        !text.contains("obskit_health_check_up{"),
        "never ran: {text}"
    );
    h.mark_started();
    let mut text = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        text = h.inner.metrics.render();
        if text.contains("obskit_health_ready{service_name=\"test\"} 1") {
            break;
        }
    }
    assert!(
        text.contains("obskit_health_ready{service_name=\"test\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"obskit_health_check_up{service_name="test",check="db",critical="true"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_hanging_check_fails_at_its_timeout() {
    let h = health();
    h.mark_started();
    h.register(
        Check::new("hangs", std::future::pending::<Result<(), String>>)
            .timeout(Duration::from_millis(50)),
    )
    .unwrap();
    let r = h.readiness().await;
    assert_eq!(r.status, Status::Down);
    assert_eq!(r.checks[0].error.as_deref(), Some("timed out after 50ms"));
    assert!(r.checks[0].duration_ms >= 50.0);
}

#[tokio::test]
async fn results_are_cached_and_non_critical_failures_do_not_gate() {
    let h = health();
    h.mark_started();
    let runs = Arc::new(AtomicUsize::new(0));
    let r2 = Arc::clone(&runs);
    h.register(
        Check::new("flaky", move || {
            r2.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>("down") }
        })
        .critical(false)
        .cache_for(Duration::from_secs(60)),
    )
    .unwrap();
    for _ in 0..5 {
        let r = h.readiness().await;
        assert_eq!(r.status, Status::Up);
        assert_eq!(r.checks[0].status, Status::Down);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let json = h.readiness().await.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["status"], "up");
    assert_eq!(v["checks"][0]["name"], "flaky");
    assert_eq!(v["checks"][0]["status"], "down");
    assert_eq!(v["checks"][0]["cached"], true);
}

#[test]
fn names_are_validated_and_unique() {
    let h = health();
    let ok = || Check::new("db", || async { Ok::<(), String>(()) });
    h.register(ok()).unwrap();
    assert_eq!(
        h.register(ok()),
        Err(HealthError::DuplicateCheck("db".into()))
    );
    let bad = Check::new("has space", || async { Ok::<(), String>(()) });
    assert!(matches!(h.register(bad), Err(HealthError::InvalidName(_))));
}
