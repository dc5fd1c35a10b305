//! SLO counters: each request classified good or bad for each declared
//! objective, and the objectives and thresholds exported beside them.

use std::time::Duration;

use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit::slo::Slo;

use super::common::{app, call, metrics_only, status_of};
use crate::support;
use obskit_test_support::prom;

#[tokio::test]
async fn slo_counters_classify_both_sides_of_the_threshold() {
    let h = metrics_only("slo");
    let layer = HttpLayer::new(&h.telemetry)
        .slos([
            Slo::availability("availability", 0.99).unwrap(),
            Slo::latency("latency", Duration::from_millis(50), 0.95).unwrap(),
            Slo::availability("users", 0.9)
                .unwrap()
                .routes(["/users/{id}"]),
            Slo::availability("writes", 0.999)
                .unwrap()
                .methods(["post"]),
        ])
        .unwrap();
    let base = support::server::spawn(app(&h, layer)).await;
    let client = reqwest::Client::new();

    let text = h.telemetry.metrics().render();
    let slo = |text: &str, name: &str, result: &str| {
        prom::exact(
            text,
            "obskit_slo_requests_total",
            &[("service_name", "slo"), ("slo", name), ("result", result)],
        )
    };
    for name in ["availability", "latency", "users", "writes"] {
        assert_eq!(
            slo(&text, name, "good"),
            Some(0.0),
            "both series exist before traffic"
        );
        assert_eq!(slo(&text, name, "bad"), Some(0.0));
    }

    for _ in 0..4 {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}/fast")).await,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}/slow")).await,
            200
        );
    }
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/boom")).await,
        500
    );
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/users/9")).await,
        200
    );
    assert_eq!(
        status_of(&client, "POST", &format!("{base}/users")).await,
        201
    );
    // Excluded paths count for nothing.
    for path in [
        "/health/live",
        "/health/ready",
        "/health/startup",
        "/metrics",
    ] {
        call(&client, "GET", &format!("{base}{path}"), &[]).await;
    }

    let text = h.telemetry.metrics().render();
    // 9 requests: /boom is the only 5xx; /slow ×2 are the only slow ones.
    assert_eq!(slo(&text, "availability", "good"), Some(8.0), "{text}");
    assert_eq!(slo(&text, "availability", "bad"), Some(1.0));
    assert_eq!(slo(&text, "latency", "good"), Some(7.0));
    assert_eq!(slo(&text, "latency", "bad"), Some(2.0));
    assert_eq!(slo(&text, "users", "good"), Some(1.0));
    assert_eq!(slo(&text, "users", "bad"), Some(0.0));
    assert_eq!(slo(&text, "writes", "good"), Some(1.0));
    assert_eq!(slo(&text, "writes", "bad"), Some(0.0));

    let objective = |name: &str| {
        prom::exact(
            &text,
            "obskit_slo_objective_ratio",
            &[("service_name", "slo"), ("slo", name)],
        )
    };
    assert_eq!(objective("availability"), Some(0.99));
    assert_eq!(objective("latency"), Some(0.95));
    assert_eq!(objective("users"), Some(0.9));
    assert_eq!(objective("writes"), Some(0.999));
    assert_eq!(
        prom::exact(
            &text,
            "obskit_slo_latency_threshold_seconds",
            &[("service_name", "slo"), ("slo", "latency")]
        ),
        Some(0.05)
    );
    assert_eq!(
        prom::matching(&text, "obskit_slo_latency_threshold_seconds", &[]).len(),
        1,
        "only latency SLOs publish a threshold"
    );
}
