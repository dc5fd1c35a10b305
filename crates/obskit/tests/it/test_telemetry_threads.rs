//! A log line reached first on a thread without a subscriber still reaches
//! the `TestTelemetry` of another thread (`tracing` caches whether a
//! callsite is enabled, and with a single dispatcher registered it asks
//! only the current thread's subscriber). Its own process: nothing else may
//! have registered a dispatcher before.

use obskit::testing::TestTelemetry;

/// One callsite, reached from both threads.
fn shared_line() {
    tracing::info!("the shared line");
}

#[test]
fn a_line_first_logged_without_a_subscriber_still_reaches_test_telemetry() {
    let telemetry = TestTelemetry::new();
    // A route tested bare, on another thread, reaches the line first.
    std::thread::spawn(shared_line)
        .join()
        .expect("the bare thread");
    shared_line();
    assert!(
        telemetry
            .logs()
            .iter()
            .any(|line| line["message"] == "the shared line"),
        "{:#?}",
        telemetry.log_lines()
    );
}
