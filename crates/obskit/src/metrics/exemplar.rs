//! Exemplars: the trace behind a number. When a histogram observation or a
//! counter increment happens while a **sampled** OpenTelemetry span is the
//! current context (`opentelemetry::Context::current()`: obskit's HTTP
//! layers attach the request's context while they record, and while the
//! handler runs), the series keeps that span's `trace_id` and `span_id`
//! with the value and the time, and OpenMetrics scrapes show them as
//! `# {trace_id="…",span_id="…"} value timestamp`.
//!
//! - **Sampled only.** An unsampled or invalid span context is not kept:
//!   its trace was never exported, so its id would lead nowhere.
//! - **Bounded.** One exemplar per histogram bucket and one per counter
//!   series, stored inline in the series (no allocation, ever, on the
//!   recording path).
//! - **Newest wins.** A new observation replaces the bucket's exemplar.
//!   When two threads record into the same bucket at the same instant, the
//!   one that finds the cell busy keeps going without waiting and its
//!   exemplar is dropped (the other one is as new), so recording never
//!   blocks; a scrape copying the cell out makes a writer skip the same way.
//! - **Cost.** Outside a sampled span: one thread-local read. Inside one:
//!   that, the coarse wall clock (vDSO, see `unix_millis_now`), and a
//!   `try_lock` on a 48-byte cell.
//!
//! The exemplar's label set is `trace_id` (32 hex digits) and `span_id`
//! (16): 63 characters, within OpenMetrics' limit of 128.

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// One exemplar: the ids of a sampled span, the value recorded inside it,
/// and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Exemplar {
    /// The trace id, big-endian as in W3C `traceparent`.
    pub(super) trace_id: [u8; 16],
    /// The span id, big-endian.
    pub(super) span_id: [u8; 8],
    /// The observed value (a counter's increment).
    pub(super) value: f64,
    /// Milliseconds since the Unix epoch; 0 means "no exemplar yet".
    pub(super) unix_millis: u64,
}

impl Exemplar {
    const EMPTY: Self = Self {
        trace_id: [0; 16],
        span_id: [0; 8],
        value: 0.0,
        unix_millis: 0,
    };
}

/// The ids of the current context's span when it is valid and sampled.
#[inline]
pub(super) fn current_sampled_span() -> Option<([u8; 16], [u8; 8])> {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        (sc.is_sampled() && sc.is_valid())
            .then(|| (sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
    })
}

/// Where one exemplar lives: a bucket of a histogram series, or a counter
/// series. Most cells stay empty (no sampled request ever landed in that
/// bucket), so a flag set once the first exemplar is stored lets a render
/// pass them by without taking their lock.
#[derive(Debug)]
pub(super) struct ExemplarCell {
    exemplar: Mutex<Exemplar>,
    filled: AtomicBool,
}

impl Default for ExemplarCell {
    fn default() -> Self {
        Self {
            exemplar: Mutex::new(Exemplar::EMPTY),
            filled: AtomicBool::new(false),
        }
    }
}

impl ExemplarCell {
    /// Keeps `value` with the current span's ids if that span is sampled;
    /// does nothing otherwise (and for NaN, which lies in no bucket).
    #[inline]
    pub(super) fn offer(&self, value: f64) {
        if let Some((trace_id, span_id)) = current_sampled_span()
            && !value.is_nan()
        {
            self.store(trace_id, span_id, value, unix_millis_now());
        }
    }

    /// Replaces the exemplar unless another thread holds the cell right now.
    #[inline]
    pub(super) fn store(&self, trace_id: [u8; 16], span_id: [u8; 8], value: f64, unix_millis: u64) {
        if let Some(mut cell) = self.exemplar.try_lock() {
            *cell = Exemplar {
                trace_id,
                span_id,
                value,
                unix_millis,
            };
            // Set while the lock is held, so a reader that sees the flag
            // then takes the lock finds the exemplar; set once, then only
            // read (no write to a shared cache line on every store).
            if !self.filled.load(Ordering::Relaxed) {
                self.filled.store(true, Ordering::Release);
            }
        }
    }

    /// The exemplar kept, if any. An empty cell is answered without its lock.
    pub(super) fn get(&self) -> Option<Exemplar> {
        if !self.filled.load(Ordering::Acquire) {
            return None;
        }
        let e = *self.exemplar.lock();
        (e.unix_millis != 0).then_some(e)
    }
}

/// Now, in milliseconds since the Unix epoch (at least 1, so that a clock
/// set before 1970 still marks the cell as filled).
///
/// On Linux from `CLOCK_REALTIME_COARSE`: the wall clock as of the last
/// timer tick (1–4 ms old), read from the vDSO page in about 6 ns where the
/// precise clock takes 30–50 ns on a VM. An exemplar's time only places it
/// on a graph, so a few milliseconds do not matter; the hot path does.
#[cfg(target_os = "linux")]
#[inline]
fn unix_millis_now() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
    secs.saturating_mul(1000).saturating_add(millis).max(1)
}

/// Now, in milliseconds since the Unix epoch (at least 1, so that a clock
/// set before 1970 still marks the cell as filled).
#[cfg(not(target_os = "linux"))]
#[inline]
fn unix_millis_now() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    })
}

/// A context whose current span has these ids and sampling flag, for tests.
#[cfg(test)]
pub(super) fn context(trace: u128, span: u64, sampled: bool) -> Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        flags,
        false,
        TraceState::default(),
    ))
}

/// `text` with the timestamp of every exemplar replaced by `T`, after
/// checking that each lies between `from` and `to` (milliseconds since the
/// epoch), for exact-text tests of recordings made with the real clock.
#[cfg(test)]
pub(super) fn fix_exemplar_times(text: &str, from: u64, to: u64) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.rsplit_once(' ') {
            Some((rest, ts)) if line.contains(" # {") => {
                let secs: f64 = ts.parse().unwrap_or_else(|_| panic!("timestamp in {line}"));
                let millis = (secs * 1000.0).round() as u64;
                assert!(
                    (from..=to).contains(&millis),
                    "exemplar time {ts} outside [{from}, {to}] ms: {line}"
                );
                out.push_str(rest);
                out.push_str(" T");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Now in milliseconds since the epoch, for tests.
#[cfg(test)]
pub(super) fn now_millis() -> u64 {
    unix_millis_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sampled_valid_span_gives_an_exemplar() {
        let cell = ExemplarCell::default();
        cell.offer(1.0);
        assert_eq!(cell.get(), None, "no span: no exemplar");
        {
            let _cx = context(7, 9, false).attach();
            cell.offer(2.0);
        }
        assert_eq!(cell.get(), None, "unsampled: no exemplar");
        {
            let _cx = context(0, 0, true).attach();
            cell.offer(3.0);
        }
        assert_eq!(cell.get(), None, "invalid ids: no exemplar");
        let before = unix_millis_now();
        {
            let _cx = context(0xabc, 0x12, true).attach();
            cell.offer(f64::NAN);
            assert_eq!(cell.get(), None, "NaN lies in no bucket");
            cell.offer(4.0);
        }
        let e = cell.get().expect("a sampled span leaves an exemplar");
        assert_eq!(e.trace_id, 0xabc_u128.to_be_bytes());
        assert_eq!(e.span_id, 0x12_u64.to_be_bytes());
        assert_eq!(e.value, 4.0);
        assert!(e.unix_millis >= before && e.unix_millis <= unix_millis_now());
    }

    #[test]
    fn the_newest_exemplar_wins() {
        let cell = ExemplarCell::default();
        for (trace, value) in [(1_u128, 0.1), (2, 0.2), (3, 0.3)] {
            let _cx = context(trace, 5, true).attach();
            cell.offer(value);
        }
        let e = cell.get().unwrap();
        assert_eq!((e.trace_id, e.value), (3_u128.to_be_bytes(), 0.3));
    }

    #[test]
    fn an_empty_cell_is_read_without_its_lock() {
        let cell = std::sync::Arc::new(ExemplarCell::default());
        let held = cell.exemplar.lock();
        // A reader that took the lock would wait for `held`.
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::sync::Arc::clone(&cell);
        let t = std::thread::spawn(move || tx.send(reader.get()).ok());
        let read = rx.recv_timeout(std::time::Duration::from_secs(60));
        drop(held);
        t.join().expect("the reader thread");
        assert_eq!(read, Ok(None), "an empty cell was locked to be read");
        cell.store([3; 16], [4; 8], 0.5, 30);
        assert_eq!(
            cell.get().map(|e| (e.trace_id, e.value)),
            Some(([3; 16], 0.5))
        );
    }

    #[test]
    fn a_busy_cell_is_skipped_not_waited_for() {
        let cell = ExemplarCell::default();
        cell.store([1; 16], [1; 8], 1.0, 10);
        let held = cell.exemplar.lock();
        cell.store([2; 16], [2; 8], 2.0, 20);
        drop(held);
        assert_eq!(cell.get().unwrap().unix_millis, 10);
    }
}
