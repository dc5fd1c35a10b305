//! The bounded in-memory store: the last N traces, the last N log lines and a thinned
//! history of metric scrapes (and of the metrics received over OTLP), bounded in bytes as
//! well as in counts: the oldest traces and lines go first when the budget is spent.
//!
//! Writers (the receivers, the log reader, the scraper) hold a lock only to push what they
//! already converted; readers (the pages) take a snapshot of `Arc`s under the lock and do
//! all filtering and rendering after releasing it, so a slow page never holds up ingestion.
//! Traces, logs and scrapes have separate locks.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::log_line::LogLine;
use crate::model::{Span, SpanId, SpanKind, StatusCode, TraceId};
use crate::receiver::metrics::{Point, Series};
use crate::refusals::Refusals;
use crate::scrape::Scrape;

/// How much the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Traces kept; the oldest (by first arrival) is dropped for a new one.
    pub traces: usize,
    /// Spans kept per trace; further spans of that trace are counted and dropped.
    pub spans_per_trace: usize,
    /// Log lines kept; the oldest is dropped for a new one.
    pub log_lines: usize,
    /// Scrapes kept at full resolution (the most recent ones).
    pub recent_scrapes: usize,
    /// Older scrapes kept, thinned to one per `old_scrape_spacing_secs`.
    pub old_scrapes: usize,
    /// Spacing of the thinned older scrapes, in seconds.
    pub old_scrape_spacing_secs: u64,
    /// Bytes the spans and log lines may take together: three quarters for spans, one
    /// quarter for log lines; the oldest go first beyond them.
    pub memory_bytes: usize,
    /// Longest attribute value kept, in bytes (longer ones are cut and marked as cut).
    pub attribute_value_bytes: usize,
}

impl Default for Limits {
    /// 1 000 traces of up to 10 000 spans, 10 000 log lines, 256 MiB for both, attribute
    /// values of up to 4 KiB, one hour of 5-second scrapes and three and a half days of one
    /// scrape per 10 minutes.
    fn default() -> Self {
        Self {
            traces: 1_000,
            spans_per_trace: 10_000,
            log_lines: 10_000,
            recent_scrapes: 720,
            old_scrapes: 504,
            old_scrape_spacing_secs: 600,
            memory_bytes: 256 * 1024 * 1024,
            attribute_value_bytes: crate::receiver::DEFAULT_MAX_ATTRIBUTE_BYTES,
        }
    }
}

impl Limits {
    /// The bytes spans may take.
    pub fn trace_bytes(&self) -> usize {
        self.memory_bytes / 4 * 3
    }

    /// The bytes log lines may take.
    pub fn log_bytes(&self) -> usize {
        self.memory_bytes / 4
    }
}

/// A trace as the list shows it, kept up to date as spans arrive.
#[derive(Debug, Clone)]
pub struct TraceSummary {
    /// The trace.
    pub trace_id: TraceId,
    /// The root span (no parent), once it arrived.
    pub root: Option<Arc<Span>>,
    /// The earliest-starting span so far (stands in for a root that has not arrived).
    pub first: Arc<Span>,
    /// Earliest start of any span, ns since the epoch.
    pub start_unix_nanos: u64,
    /// Latest end of any span, ns since the epoch.
    pub end_unix_nanos: u64,
    /// Spans stored.
    pub span_count: usize,
    /// Spans with status `error`.
    pub error_count: usize,
    /// Services that sent spans of this trace, in order of arrival.
    pub services: Vec<Arc<str>>,
}

impl TraceSummary {
    fn new(span: &Arc<Span>) -> Self {
        Self {
            trace_id: span.trace_id,
            root: None,
            first: Arc::clone(span),
            start_unix_nanos: span.start_unix_nanos,
            end_unix_nanos: span.end_unix_nanos,
            span_count: 0,
            error_count: 0,
            services: Vec::new(),
        }
    }

    fn add(&mut self, span: &Arc<Span>) {
        if span.parent_span_id.is_none() && self.root.is_none() {
            self.root = Some(Arc::clone(span));
        }
        if span.start_unix_nanos < self.first.start_unix_nanos {
            self.first = Arc::clone(span);
        }
        self.start_unix_nanos = self.start_unix_nanos.min(span.start_unix_nanos);
        self.end_unix_nanos = self.end_unix_nanos.max(span.end_unix_nanos);
        self.span_count += 1;
        if span.status == StatusCode::Error {
            self.error_count += 1;
        }
        if !self.services.contains(&span.service) {
            self.services.push(Arc::clone(&span.service));
        }
    }

    /// The root span, or the earliest span while the root is missing.
    pub fn head(&self) -> &Span {
        self.root.as_deref().unwrap_or(&self.first)
    }

    /// End of the latest span minus start of the earliest, in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// `error` when any span failed, else the head span's status.
    pub fn status(&self) -> StatusCode {
        if self.error_count > 0 {
            StatusCode::Error
        } else {
            self.head().status
        }
    }

    /// The route of the head span (`_unmatched` for an HTTP server span without one), if any.
    pub fn route(&self) -> Option<&str> {
        self.head().route()
    }
}

/// One trace's spans and summary.
#[derive(Debug)]
struct TraceEntry {
    spans: Vec<Arc<Span>>,
    summary: TraceSummary,
    bytes: usize,
}

/// Traces by id, with their order of first arrival for eviction.
#[derive(Debug, Default)]
struct Traces {
    by_id: HashMap<TraceId, TraceEntry>,
    order: VecDeque<TraceId>,
    bytes: usize,
}

impl Traces {
    /// Drops the oldest trace other than `keep`; false when there is none.
    fn evict_oldest(&mut self, keep: &TraceId) -> bool {
        let Some(position) = self.order.iter().position(|id| id != keep) else {
            return false;
        };
        if let Some(old) = self.order.remove(position)
            && let Some(entry) = self.by_id.remove(&old)
        {
            self.bytes -= entry.bytes;
        }
        true
    }
}

/// Log lines, their bytes, and the sequence number of the next one.
#[derive(Debug, Default)]
struct Logs {
    lines: VecDeque<Arc<LogLine>>,
    next_seq: u64,
    bytes: usize,
}

/// Recent scrapes at full resolution and older ones thinned.
#[derive(Debug, Default)]
struct Scrapes {
    recent: VecDeque<Arc<Scrape>>,
    old: VecDeque<Arc<Scrape>>,
}

/// Counters of what the store received and let go.
#[derive(Debug, Default)]
pub struct Counts {
    /// Spans stored.
    pub spans_received: AtomicU64,
    /// Spans dropped because their trace was full.
    pub spans_dropped: AtomicU64,
    /// Traces evicted to make room.
    pub traces_evicted: AtomicU64,
    /// Log lines stored.
    pub log_lines_received: AtomicU64,
    /// Spans and lines let go to stay within the byte budget.
    pub evicted_for_memory: AtomicU64,
}

/// A message processed: its CONSUMER span and, when stored, the PRODUCER span that sent it.
#[derive(Debug, Clone)]
pub struct MessageHop {
    /// The span that processed the message.
    pub consumer: Arc<Span>,
    /// The span that sent it, if the store holds it.
    pub producer: Option<Arc<Span>>,
}

impl MessageHop {
    /// The destination the message went through (`messaging.destination.name`).
    pub fn destination(&self) -> &str {
        self.consumer
            .attribute("messaging.destination.name")
            .or_else(|| {
                self.producer
                    .as_ref()?
                    .attribute("messaging.destination.name")
            })
            .unwrap_or_default()
    }

    /// Nanoseconds from the send's start to the processing's start, when both are known.
    pub fn queued_nanos(&self) -> Option<u64> {
        let producer = self.producer.as_ref()?;
        self.consumer
            .start_unix_nanos
            .checked_sub(producer.start_unix_nanos)
    }
}

/// The dev viewer's memory: shared by the receivers, the log reader, the scraper and the pages.
#[derive(Debug)]
pub struct Store {
    limits: Limits,
    traces: Mutex<Traces>,
    logs: Mutex<Logs>,
    scrapes: Mutex<Scrapes>,
    otlp_series: Mutex<Series>,
    otlp_scrapes: Mutex<Scrapes>,
    counts: Counts,
    refusals: Refusals,
}

impl Store {
    /// An empty store with `limits` (each at least 1).
    ///
    /// ```
    /// use obskit_dev::store::{Limits, Store};
    /// let store = Store::new(Limits::default());
    /// assert!(store.trace_summaries().is_empty());
    /// ```
    pub fn new(limits: Limits) -> Self {
        Self::with_refusals(limits, Refusals::quiet())
    }

    /// An empty store whose refused exports are counted in `refusals` (which may print).
    pub fn with_refusals(limits: Limits, refusals: Refusals) -> Self {
        let limits = Limits {
            traces: limits.traces.max(1),
            spans_per_trace: limits.spans_per_trace.max(1),
            log_lines: limits.log_lines.max(1),
            recent_scrapes: limits.recent_scrapes.max(2),
            old_scrapes: limits.old_scrapes,
            old_scrape_spacing_secs: limits.old_scrape_spacing_secs.max(1),
            memory_bytes: limits.memory_bytes.max(64 * 1024),
            attribute_value_bytes: limits.attribute_value_bytes.max(16),
        };
        Self {
            limits,
            traces: Mutex::default(),
            logs: Mutex::default(),
            scrapes: Mutex::default(),
            otlp_series: Mutex::default(),
            otlp_scrapes: Mutex::default(),
            counts: Counts::default(),
            refusals,
        }
    }

    /// The exports refused so far.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// Bytes taken by spans and by log lines, roughly.
    pub fn bytes(&self) -> (usize, usize) {
        (self.traces.lock().bytes, self.logs.lock().bytes)
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What was received and dropped so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Stores spans (one export's worth), evicting the oldest traces beyond the limit.
    pub fn insert_spans(&self, spans: Vec<Span>) {
        // Grouped and wrapped before taking the lock.
        let mut groups: Vec<(TraceId, Vec<Arc<Span>>)> = Vec::new();
        let mut group_of: HashMap<TraceId, usize> = HashMap::new();
        for span in spans {
            let span = Arc::new(span);
            match group_of.get(&span.trace_id) {
                Some(&index) => groups[index].1.push(span),
                None => {
                    group_of.insert(span.trace_id, groups.len());
                    groups.push((span.trace_id, vec![span]));
                }
            }
        }
        let mut received = 0u64;
        let mut dropped = 0u64;
        let mut evicted = 0u64;
        let mut for_memory = 0u64;
        let budget = self.limits.trace_bytes();
        {
            let mut traces = self.traces.lock();
            for (trace_id, group) in groups {
                if !traces.by_id.contains_key(&trace_id) {
                    while traces.order.len() >= self.limits.traces {
                        if let Some(old) = traces.order.pop_front()
                            && let Some(entry) = traces.by_id.remove(&old)
                        {
                            traces.bytes -= entry.bytes;
                            evicted += 1;
                        }
                    }
                    traces.order.push_back(trace_id);
                    let entry = TraceEntry {
                        spans: Vec::new(),
                        summary: TraceSummary::new(&group[0]),
                        bytes: 0,
                    };
                    traces.by_id.insert(trace_id, entry);
                }
                for span in group {
                    let size = span.approximate_bytes();
                    while traces.bytes + size > budget && traces.evict_oldest(&trace_id) {
                        evicted += 1;
                        for_memory += 1;
                    }
                    let fits = traces.bytes + size <= budget;
                    let Some(entry) = traces.by_id.get_mut(&trace_id) else {
                        continue;
                    };
                    if entry.spans.len() >= self.limits.spans_per_trace || !fits {
                        dropped += 1;
                        for_memory += u64::from(!fits);
                        continue;
                    }
                    entry.summary.add(&span);
                    entry.spans.push(span);
                    entry.bytes += size;
                    traces.bytes += size;
                    received += 1;
                }
                // A trace none of whose spans fitted is not listed empty.
                if traces
                    .by_id
                    .get(&trace_id)
                    .is_some_and(|e| e.spans.is_empty())
                {
                    traces.by_id.remove(&trace_id);
                    traces.order.retain(|id| *id != trace_id);
                }
            }
        }
        self.counts
            .spans_received
            .fetch_add(received, Ordering::Relaxed);
        self.counts
            .spans_dropped
            .fetch_add(dropped, Ordering::Relaxed);
        self.counts
            .traces_evicted
            .fetch_add(evicted, Ordering::Relaxed);
        self.counts
            .evicted_for_memory
            .fetch_add(for_memory, Ordering::Relaxed);
    }

    /// Every stored trace's summary, newest first.
    pub fn trace_summaries(&self) -> Vec<TraceSummary> {
        let traces = self.traces.lock();
        traces
            .order
            .iter()
            .rev()
            .filter_map(|id| traces.by_id.get(id))
            .map(|entry| entry.summary.clone())
            .collect()
    }

    /// One trace's spans in order of arrival, or `None` when it is not (or no longer) stored.
    pub fn trace(&self, trace_id: &TraceId) -> Option<Vec<Arc<Span>>> {
        self.traces
            .lock()
            .by_id
            .get(trace_id)
            .map(|entry| entry.spans.clone())
    }

    /// Durations (ns, sorted) of every stored server span with an HTTP method, by
    /// (service, method, route), for percentiles from what the store holds.
    pub fn server_span_durations(&self) -> HashMap<(String, String, String), Vec<u64>> {
        let mut out: HashMap<(String, String, String), Vec<u64>> = HashMap::new();
        {
            let traces = self.traces.lock();
            for entry in traces.by_id.values() {
                for span in &entry.spans {
                    if span.kind != crate::model::SpanKind::Server {
                        continue;
                    }
                    let (Some(method), Some(route)) =
                        (span.attribute("http.request.method"), span.route())
                    else {
                        continue;
                    };
                    out.entry((
                        span.service.to_string(),
                        method.to_owned(),
                        route.to_owned(),
                    ))
                    .or_default()
                    .push(span.duration_nanos());
                }
            }
        }
        for durations in out.values_mut() {
            durations.sort_unstable();
        }
        out
    }

    /// The latest `limit` messages processed (CONSUMER spans), newest first, each with the
    /// PRODUCER span that sent it when the store holds it (found by the consumer's link, else
    /// its parent): a message's trip across its queue.
    ///
    /// ```
    /// use obskit_dev::store::{Limits, Store};
    /// let store = Store::new(Limits::default());
    /// assert!(store.messages(10).is_empty());
    /// ```
    pub fn messages(&self, limit: usize) -> Vec<MessageHop> {
        let traces = self.traces.lock();
        let span = |trace_id: &TraceId, span_id: &SpanId| {
            traces
                .by_id
                .get(trace_id)
                .and_then(|entry| entry.spans.iter().find(|s| s.span_id == *span_id))
                .filter(|s| s.kind == SpanKind::Producer)
                .cloned()
        };
        let mut out: Vec<MessageHop> = traces
            .by_id
            .values()
            .flat_map(|entry| &entry.spans)
            .filter(|s| s.kind == SpanKind::Consumer)
            .map(|consumer| {
                let producer = consumer
                    .links
                    .iter()
                    .find_map(|link| span(&link.trace_id, &link.span_id))
                    .or_else(|| {
                        let parent = consumer.parent_span_id?;
                        span(&consumer.trace_id, &parent)
                    });
                MessageHop {
                    consumer: Arc::clone(consumer),
                    producer,
                }
            })
            .collect();
        drop(traces);
        out.sort_by(|a, b| {
            (b.consumer.start_unix_nanos, b.consumer.span_id)
                .cmp(&(a.consumer.start_unix_nanos, a.consumer.span_id))
        });
        out.truncate(limit);
        out
    }

    /// The spans of other stored traces that link to a span of `trace_id`:
    /// (their trace, their span, their name, the linked span).
    pub fn links_to(
        &self,
        trace_id: &TraceId,
    ) -> Vec<(TraceId, crate::model::SpanId, String, crate::model::SpanId)> {
        let traces = self.traces.lock();
        let mut out = Vec::new();
        for (id, entry) in &traces.by_id {
            for span in &entry.spans {
                for link in span.links.iter().filter(|l| l.trace_id == *trace_id) {
                    if id == trace_id && link.span_id == span.span_id {
                        continue;
                    }
                    out.push((*id, span.span_id, span.name.clone(), link.span_id));
                }
            }
        }
        // The same order on every render, so a live page does not redraw what did not change.
        out.sort_by_key(|link| (link.0, link.1, link.3));
        out
    }

    /// Number of traces stored.
    pub fn trace_count(&self) -> usize {
        self.traces.lock().order.len()
    }

    /// Stores a log line, dropping the oldest beyond the limit; returns its sequence number.
    pub fn push_log(&self, mut line: LogLine) -> u64 {
        let size = line.approximate_bytes();
        let budget = self.limits.log_bytes();
        let mut for_memory = 0;
        let mut logs = self.logs.lock();
        let seq = logs.next_seq;
        logs.next_seq += 1;
        line.seq = seq;
        while !logs.lines.is_empty()
            && (logs.lines.len() >= self.limits.log_lines || logs.bytes + size > budget)
        {
            if logs.lines.len() < self.limits.log_lines {
                for_memory += 1;
            }
            if let Some(old) = logs.lines.pop_front() {
                logs.bytes -= old.approximate_bytes();
            }
        }
        logs.bytes += size;
        logs.lines.push_back(Arc::new(line));
        drop(logs);
        self.counts
            .evicted_for_memory
            .fetch_add(for_memory, Ordering::Relaxed);
        self.counts
            .log_lines_received
            .fetch_add(1, Ordering::Relaxed);
        seq
    }

    /// Every stored log line, oldest first.
    pub fn logs(&self) -> Vec<Arc<LogLine>> {
        self.logs.lock().lines.iter().cloned().collect()
    }

    /// Applies metric points received over OTLP and keeps the resulting values like a scrape.
    pub fn push_otlp_metrics(&self, points: Vec<Point>) {
        if points.is_empty() {
            return;
        }
        let samples = self.otlp_series.lock().apply(points);
        let scrape = Scrape {
            at_unix_secs: crate::scrape::now_unix_secs(),
            samples,
        };
        self.push_to(&self.otlp_scrapes, scrape);
    }

    /// The metrics received over OTLP as a history of snapshots, oldest first.
    pub fn otlp_scrapes(&self) -> Vec<Arc<Scrape>> {
        let scrapes = self.otlp_scrapes.lock();
        scrapes
            .old
            .iter()
            .chain(scrapes.recent.iter())
            .cloned()
            .collect()
    }

    /// Stores a scrape; scrapes pushed out of the recent window are thinned into the old one.
    pub fn push_scrape(&self, scrape: Scrape) {
        self.push_to(&self.scrapes, scrape);
    }

    fn push_to(&self, history: &Mutex<Scrapes>, scrape: Scrape) {
        let mut scrapes = history.lock();
        scrapes.recent.push_back(Arc::new(scrape));
        while scrapes.recent.len() > self.limits.recent_scrapes {
            let Some(leaving) = scrapes.recent.pop_front() else {
                break;
            };
            let keep = scrapes.old.back().is_none_or(|last| {
                leaving.at_unix_secs - last.at_unix_secs
                    >= self.limits.old_scrape_spacing_secs as f64
            });
            if keep && self.limits.old_scrapes > 0 {
                scrapes.old.push_back(leaving);
                while scrapes.old.len() > self.limits.old_scrapes {
                    scrapes.old.pop_front();
                }
            }
        }
    }

    /// Every stored scrape, oldest first.
    pub fn scrapes(&self) -> Vec<Arc<Scrape>> {
        let scrapes = self.scrapes.lock();
        scrapes
            .old
            .iter()
            .chain(scrapes.recent.iter())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanId, SpanKind};

    pub(crate) fn span(trace: u8, id: u8, parent: Option<u8>, start: u64, end: u64) -> Span {
        Span {
            trace_id: TraceId([trace; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            name: format!("span {id}"),
            kind: SpanKind::Internal,
            start_unix_nanos: start,
            end_unix_nanos: end,
            status: StatusCode::Unset,
            status_message: String::new(),
            service: Arc::from("svc"),
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    fn small() -> Limits {
        Limits {
            traces: 2,
            spans_per_trace: 3,
            log_lines: 2,
            recent_scrapes: 2,
            old_scrapes: 2,
            old_scrape_spacing_secs: 10,
            ..Limits::default()
        }
    }

    #[test]
    fn the_byte_budget_evicts_the_oldest_traces_and_lines() {
        let limits = Limits {
            memory_bytes: 400 * 1024,
            ..Limits::default()
        };
        let store = Store::new(limits);
        let big = |trace: u8| {
            let mut span = span(trace, 1, None, 0, 1);
            span.attributes = vec![crate::model::Attribute::new("blob", "x".repeat(100 * 1024))];
            span
        };
        for trace in 1..=5 {
            store.insert_spans(vec![big(trace)]);
        }
        let (trace_bytes, _) = store.bytes();
        assert!(trace_bytes <= limits.trace_bytes(), "{trace_bytes}");
        let ids: Vec<u8> = store
            .trace_summaries()
            .iter()
            .map(|s| s.trace_id.0[0])
            .collect();
        assert_eq!(ids, [5, 4], "the newest that fit");
        assert_eq!(store.counts().evicted_for_memory.load(Ordering::Relaxed), 3);
        for _ in 0..10 {
            store.push_log(LogLine::parse(&"y".repeat(30 * 1024)));
        }
        let (_, log_bytes) = store.bytes();
        assert!(log_bytes <= limits.log_bytes(), "{log_bytes}");
        assert_eq!(store.logs().len(), 3);
    }

    #[test]
    fn summaries_follow_arriving_spans() {
        let store = Store::new(Limits::default());
        store.insert_spans(vec![span(1, 2, Some(1), 20, 30)]);
        let summary = &store.trace_summaries()[0];
        assert!(summary.root.is_none());
        assert_eq!(summary.head().name, "span 2");
        let mut failed = span(1, 1, None, 10, 40);
        failed.status = StatusCode::Error;
        store.insert_spans(vec![failed]);
        let summary = &store.trace_summaries()[0];
        assert_eq!(summary.head().name, "span 1");
        assert_eq!(summary.span_count, 2);
        assert_eq!(summary.duration_nanos(), 30);
        assert_eq!(summary.status(), StatusCode::Error);
    }

    #[test]
    fn the_oldest_trace_goes_first_and_full_traces_drop_spans() {
        let store = Store::new(small());
        store.insert_spans(vec![span(1, 1, None, 0, 1), span(2, 1, None, 0, 1)]);
        store.insert_spans(vec![span(3, 1, None, 0, 1)]);
        let ids: Vec<u8> = store
            .trace_summaries()
            .iter()
            .map(|s| s.trace_id.0[0])
            .collect();
        assert_eq!(ids, [3, 2]);
        assert!(store.trace(&TraceId([1; 16])).is_none());
        store.insert_spans((2..7).map(|i| span(3, i, Some(1), 0, 1)).collect());
        assert_eq!(store.trace(&TraceId([3; 16])).unwrap().len(), 3);
        assert_eq!(store.counts().spans_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(store.counts().traces_evicted.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn log_lines_are_numbered_and_bounded() {
        let store = Store::new(small());
        for text in ["a", "b", "c"] {
            store.push_log(LogLine::parse(text));
        }
        let lines = store.logs();
        let seen: Vec<(u64, &str)> = lines.iter().map(|l| (l.seq, l.message.as_str())).collect();
        assert_eq!(seen, [(1, "b"), (2, "c")]);
    }

    #[test]
    fn scrapes_leaving_the_recent_window_are_thinned() {
        let store = Store::new(small());
        for at in [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0] {
            store.push_scrape(Scrape {
                at_unix_secs: at,
                samples: Vec::new(),
            });
        }
        let kept: Vec<f64> = store.scrapes().iter().map(|s| s.at_unix_secs).collect();
        // Recent: 25, 30; old, 10 s apart and at most 2: 10, 20.
        assert_eq!(kept, [10.0, 20.0, 25.0, 30.0]);
    }
}
