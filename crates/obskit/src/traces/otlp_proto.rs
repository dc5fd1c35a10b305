//! OTLP protobuf encoding of traces, written straight from the SDK's span data.
//!
//! The generic path converts every span into owned `prost` structs (a
//! `String` per attribute key and value) and then walks them twice to
//! encode. Export is the largest per-request cost of full tracing (see
//! BENCHMARKS.md), so obskit writes the wire format directly, once, in place. The output
//! decodes to exactly what `opentelemetry-proto`'s conversion produces; a
//! test holds the two together.

use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::own::{Finished, OwnFinished};

use crate::export::proto::*;

fn scope(scope: &InstrumentationScope) -> Vec<u8> {
    let mut out = Vec::new();
    opt_bytes_field(&mut out, 1, scope.name().as_bytes());
    opt_bytes_field(&mut out, 2, scope.version().unwrap_or_default().as_bytes());
    let attrs: Vec<KeyValue> = scope.attributes().cloned().collect();
    attributes(&mut out, 3, &attrs);
    out
}

/// What a `Span` message says, borrowed from the SDK's span data or from
/// one of obskit's own spans.
struct SpanFields<'a> {
    span_context: &'a SpanContext,
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    kind: &'a SpanKind,
    name: &'a str,
    start_time: SystemTime,
    end_time: SystemTime,
    dropped_attributes_count: u32,
    events: &'a SpanEvents,
    links: &'a SpanLinks,
    status: &'a Status,
}

impl<'a> SpanFields<'a> {
    fn sdk(s: &'a SpanData) -> Self {
        Self {
            span_context: &s.span_context,
            parent_span_id: s.parent_span_id,
            parent_span_is_remote: s.parent_span_is_remote,
            kind: &s.span_kind,
            name: &s.name,
            start_time: s.start_time,
            end_time: s.end_time,
            dropped_attributes_count: s.dropped_attributes_count,
            events: &s.events,
            links: &s.links,
            status: &s.status,
        }
    }

    fn own(s: &'a OwnFinished) -> Self {
        Self {
            span_context: &s.span_context,
            parent_span_id: s.parent_span_id,
            parent_span_is_remote: s.parent_span_is_remote,
            kind: &s.kind,
            name: &s.name,
            start_time: s.start_time,
            end_time: s.end_time,
            dropped_attributes_count: s.dropped_attributes_count,
            events: s.events(),
            links: s.links(),
            status: &s.status,
        }
    }
}

/// Writes the body of a finished span's `Span` message.
fn finished(out: &mut Vec<u8>, s: &Finished) {
    match s {
        Finished::Sdk(s) => span(out, &SpanFields::sdk(s), |out| {
            attributes(out, 9, &s.attributes);
        }),
        Finished::Own(s) => span(out, &SpanFields::own(s), |out| {
            s.described.encode(out, 9);
            for kv in s.added.iter() {
                attributes(out, 9, std::slice::from_ref(kv));
            }
        }),
    }
}

/// Writes the body of a `Span` message, its attributes by `attrs`.
fn span(out: &mut Vec<u8>, s: &SpanFields<'_>, attrs: impl FnOnce(&mut Vec<u8>)) {
    let sc = s.span_context;
    // The ids, each behind its two header bytes: one fixed-size copy.
    let mut ids = [0_u8; 28];
    ids[..2].copy_from_slice(&[1 << 3 | LEN as u8, 16]);
    ids[2..18].copy_from_slice(&sc.trace_id().to_bytes());
    ids[18..20].copy_from_slice(&[2 << 3 | LEN as u8, 8]);
    ids[20..].copy_from_slice(&sc.span_id().to_bytes());
    out.extend_from_slice(&ids);
    if *sc.trace_state() != TraceState::NONE {
        let state = sc.trace_state().header();
        opt_bytes_field(out, 3, state.as_bytes());
    }
    if s.parent_span_id != SpanId::INVALID {
        let mut parent = [0_u8; 10];
        parent[..2].copy_from_slice(&[4 << 3 | LEN as u8, 8]);
        parent[2..].copy_from_slice(&s.parent_span_id.to_bytes());
        out.extend_from_slice(&parent);
    }
    opt_bytes_field(out, 5, s.name.as_bytes());
    let kind: u8 = match s.kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    };
    let (start, end) = (nanos(s.start_time), nanos(s.end_time));
    if start != 0 && end != 0 {
        // Kind, start and end: one fixed-size copy.
        let mut times = [0_u8; 20];
        times[..3].copy_from_slice(&[6 << 3 | VARINT as u8, kind, 7 << 3 | FIXED64 as u8]);
        times[3..11].copy_from_slice(&start.to_le_bytes());
        times[11] = 8 << 3 | FIXED64 as u8;
        times[12..].copy_from_slice(&end.to_le_bytes());
        out.extend_from_slice(&times);
    } else {
        out.extend_from_slice(&[6 << 3 | VARINT as u8, kind]);
        fixed64_field(out, 7, start);
        fixed64_field(out, 8, end);
    }
    attrs(out);
    opt_varint_field(out, 10, u64::from(s.dropped_attributes_count));
    for event in s.events.iter() {
        key(out, 11, LEN);
        varint(out, event_len(event) as u64);
        fixed64_field(out, 1, nanos(event.timestamp));
        opt_bytes_field(out, 2, event.name.as_bytes());
        attributes(out, 3, &event.attributes);
        opt_varint_field(out, 4, u64::from(event.dropped_attributes_count));
    }
    opt_varint_field(out, 12, u64::from(s.events.dropped_count));
    for link in s.links.iter() {
        let state = link.span_context.trace_state().header();
        key(out, 13, LEN);
        varint(out, link_len(link, &state) as u64);
        bytes_field(out, 1, &link.span_context.trace_id().to_bytes());
        bytes_field(out, 2, &link.span_context.span_id().to_bytes());
        opt_bytes_field(out, 3, state.as_bytes());
        attributes(out, 4, &link.attributes);
        opt_varint_field(out, 5, u64::from(link.dropped_attributes_count));
        let flags = flags(
            link.span_context.is_remote(),
            link.span_context.trace_flags().to_u8(),
        );
        key(out, 6, FIXED32);
        out.extend_from_slice(&flags.to_le_bytes());
    }
    opt_varint_field(out, 14, u64::from(s.links.dropped_count));
    // Status is always present (as the reference conversion sends it).
    let (code, message) = status(s.status);
    let flags = flags(s.parent_span_is_remote, sc.trace_flags().to_u8()).to_le_bytes();
    // Field 16's key takes two bytes.
    let flags_key = [(16 << 3 | FIXED32) as u8 | 0x80, 1];
    if message.is_empty() {
        // No message (an error status without one, or none): one copy.
        let mut tail = [0_u8; 12];
        tail[..2].copy_from_slice(&[15 << 3 | LEN as u8, 0]);
        let mut at = 2;
        if code != 0 {
            tail[1] = 2;
            tail[2..4].copy_from_slice(&[3 << 3 | VARINT as u8, code as u8]);
            at = 4;
        }
        tail[at..at + 2].copy_from_slice(&flags_key);
        tail[at + 2..at + 6].copy_from_slice(&flags);
        out.extend_from_slice(&tail[..at + 6]);
    } else {
        key(out, 15, LEN);
        varint(out, status_len(code, message) as u64);
        opt_bytes_field(out, 2, message.as_bytes());
        opt_varint_field(out, 3, code);
        out.extend_from_slice(&flags_key);
        out.extend_from_slice(&flags);
    }
}

/// The status code and message of a span's `Status` message.
fn status(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

fn status_len(code: u64, message: &str) -> usize {
    opt_bytes_len(2, message.len()) + if code == 0 { 0 } else { 1 + varint_len(code) }
}

fn event_len(event: &opentelemetry::trace::Event) -> usize {
    fixed64_len(1, nanos(event.timestamp))
        + opt_bytes_len(2, event.name.len())
        + attributes_len(3, &event.attributes)
        + opt_varint_len(4, u64::from(event.dropped_attributes_count))
}

fn link_len(link: &opentelemetry::trace::Link, state: &str) -> usize {
    len_delimited_len(1, 16)
        + len_delimited_len(2, 8)
        + opt_bytes_len(3, state.len())
        + attributes_len(4, &link.attributes)
        + opt_varint_len(5, u64::from(link.dropped_attributes_count))
        + 1
        + 4
}

/// Span flags: the W3C trace flags plus the "is remote" bits (0x100, 0x200).
fn flags(parent_is_remote: bool, trace_flags: u8) -> u32 {
    u32::from(trace_flags) | 0x100 | if parent_is_remote { 0x200 } else { 0 }
}

/// Whether two spans' scopes are the same. A tracer's spans each carry a
/// copy of its scope, usually without attributes: compared field by field,
/// without the sorted copies of the attribute lists the scope's own
/// equality makes.
fn same_scope(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    a.name() == b.name()
        && a.version() == b.version()
        && a.schema_url() == b.schema_url()
        && ((a.attributes().next().is_none() && b.attributes().next().is_none()) || a == b)
}

/// Appends field `field` holding the message `write` appends, behind its
/// length, written in place: two bytes are left for the length (a body of
/// 128 bytes to 16 KiB, a span's usual size) and the body is moved only
/// when its length takes another number of bytes.
fn nested_in_place(out: &mut Vec<u8>, field: u32, write: impl FnOnce(&mut Vec<u8>)) {
    const ROOM: usize = 2;
    key(out, field, LEN);
    let at = out.len();
    out.extend_from_slice(&[0; ROOM]);
    write(out);
    let len = out.len() - at - ROOM;
    let n = varint_len(len as u64);
    if n != ROOM {
        let end = out.len();
        if n > ROOM {
            out.resize(end + n - ROOM, 0);
        }
        out.copy_within(at + ROOM..end, at + n);
        out.truncate(at + n + len);
    }
    varint_into(&mut out[at..at + n], len as u64);
}

/// The largest scope buffer kept for the next batch.
const MAX_SPARE_BYTES: usize = 4 << 20;

/// An encoder holding the pre-encoded resource and reusable buffers.
///
/// Each span is written once, in place, behind room left for its length
/// (see [`nested_in_place`]). The spans of the batch's first scope (all of
/// them, usually) are written straight into the request, behind room left
/// for the two lengths before them, sized from the last batch: the request
/// is not copied again unless a length takes another number of bytes than
/// the room left. Spans of other scopes go to buffers of their own, appended
/// after. Counting every length before writing (as the log and metric
/// encoders do) would visit each attribute twice, and a span's attributes
/// are most of its bytes.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    resource: Vec<u8>,
    schema_url: String,
    /// Emptied scope buffers, kept for the next batch.
    spare: Vec<Vec<u8>>,
    /// The bytes per span of the last batch, rounded up: what the next
    /// request's buffer and lengths are sized by.
    span_bytes: usize,
}

/// The scope a finished span was recorded under.
fn scope_of(s: &Finished) -> &InstrumentationScope {
    match s {
        Finished::Sdk(s) => &s.instrumentation_scope,
        Finished::Own(_) => super::own::scope(),
    }
}

/// Where a request's resource spans length starts: after their one-byte
/// key.
const RESOURCE_AT: usize = 1;

/// Writes `v` as a varint filling `slot`, which is as long as its varint.
fn varint_into(slot: &mut [u8], mut v: u64) {
    let last = slot.len() - 1;
    for byte in &mut slot[..last] {
        *byte = (v as u8) | 0x80;
        v >>= 7;
    }
    slot[last] = v as u8;
}

impl Encoder {
    pub(crate) fn set_resource(&mut self, r: &Resource) {
        self.resource = resource(r);
        self.schema_url = r.schema_url().unwrap_or_default().to_owned();
    }

    /// An `ExportTraceServiceRequest` holding `spans`, grouped by scope.
    pub(crate) fn encode(&mut self, spans: &[Finished]) -> Vec<u8> {
        /// The spans of a scope other than the first.
        struct Group<'a> {
            scope: &'a InstrumentationScope,
            scope_body: Vec<u8>,
            /// The group's `Span` fields, each behind its key and length.
            spans: Vec<u8>,
        }
        let Some(first) = spans.first().map(scope_of) else {
            return self.without_spans();
        };
        let first_body = scope(first);
        // The lengths in front of the first scope's spans, as the last
        // batch's size makes them: room is left for them at that width.
        let estimate = spans.len() * self.span_bytes;
        let group_estimate = len_delimited_len(1, first_body.len()) + estimate;
        let resource_estimate =
            len_delimited_len(1, self.resource.len()) + len_delimited_len(2, group_estimate);
        let group_width = varint_len(group_estimate as u64);
        let resource_width = varint_len(resource_estimate as u64);
        let mut out = Vec::with_capacity(1 + resource_width + resource_estimate + estimate / 8);
        let group_start = self.head(&mut out, resource_width, group_width);
        nested(&mut out, 1, &first_body);

        // Group 0 is the first scope's, in `out`; group `i` is `others[i - 1]`.
        let mut others: Vec<Group<'_>> = Vec::new();
        let mut last = 0;
        for s in spans {
            let sc = scope_of(s);
            let last_scope = match last {
                0 => first,
                i => others[i - 1].scope,
            };
            // Spans of one scope usually come together: try the last first.
            let idx = if same_scope(last_scope, sc) {
                last
            } else if same_scope(first, sc) {
                0
            } else if let Some(i) = others.iter().position(|g| same_scope(g.scope, sc)) {
                i + 1
            } else {
                others.push(Group {
                    scope: sc,
                    scope_body: scope(sc),
                    spans: self.spare.pop().unwrap_or_default(),
                });
                others.len()
            };
            last = idx;
            let buf = match idx {
                0 => &mut out,
                i => &mut others[i - 1].spans,
            };
            nested_in_place(buf, 2, |out| finished(out, s));
        }
        opt_bytes_field(
            &mut out,
            3,
            first.schema_url().unwrap_or_default().as_bytes(),
        );
        let group_len = out.len() - group_start;
        for mut group in others {
            let len = len_delimited_len(1, group.scope_body.len())
                + group.spans.len()
                + opt_bytes_len(3, group.scope.schema_url().unwrap_or_default().len());
            key(&mut out, 2, LEN);
            varint(&mut out, len as u64);
            nested(&mut out, 1, &group.scope_body);
            out.extend_from_slice(&group.spans);
            opt_bytes_field(
                &mut out,
                3,
                group.scope.schema_url().unwrap_or_default().as_bytes(),
            );
            // A buffer grown by an unusually large batch is let go.
            if group.spans.capacity() <= MAX_SPARE_BYTES {
                group.spans.clear();
                self.spare.push(group.spans);
            }
        }
        opt_bytes_field(&mut out, 3, self.schema_url.as_bytes());

        // Everything after the resource spans' length, the first group's
        // length at its own width.
        let group_width_now = varint_len(group_len as u64);
        let resource_len =
            out.len() - (RESOURCE_AT + resource_width) - group_width + group_width_now;
        let resource_width_now = varint_len(resource_len as u64);
        let group_start = if (resource_width_now, group_width_now) == (resource_width, group_width)
        {
            group_start
        } else {
            // Another width than the room left (the first batch, or one of
            // another size): the head is written again and the rest moved.
            let mut head = Vec::with_capacity(group_start + 10);
            let start = self.head(&mut head, resource_width_now, group_width_now);
            out.splice(..group_start, head);
            start
        };
        varint_into(
            &mut out[RESOURCE_AT..RESOURCE_AT + resource_width_now],
            resource_len as u64,
        );
        varint_into(
            &mut out[group_start - group_width_now..group_start],
            group_len as u64,
        );
        self.span_bytes = out.len().div_ceil(spans.len());
        out
    }

    /// Appends the request's head up to its first scope's body: the
    /// resource spans' key and `resource_width` bytes of room for their
    /// length (at [`RESOURCE_AT`]), the resource, then the first scope's
    /// key and `group_width` bytes of room for its length. Returns where
    /// the first scope's body starts, just after that room.
    fn head(&self, out: &mut Vec<u8>, resource_width: usize, group_width: usize) -> usize {
        key(out, 1, LEN);
        debug_assert_eq!(out.len(), RESOURCE_AT, "a request's head starts the buffer");
        out.resize(RESOURCE_AT + resource_width, 0);
        nested(out, 1, &self.resource);
        key(out, 2, LEN);
        out.resize(out.len() + group_width, 0);
        out.len()
    }

    /// A request with no spans: the resource alone.
    fn without_spans(&self) -> Vec<u8> {
        let body =
            len_delimited_len(1, self.resource.len()) + opt_bytes_len(3, self.schema_url.len());
        let mut out = Vec::with_capacity(len_delimited_len(1, body));
        key(&mut out, 1, LEN);
        varint(&mut out, body as u64);
        nested(&mut out, 1, &self.resource);
        opt_bytes_field(&mut out, 3, self.schema_url.as_bytes());
        out
    }
}

impl crate::export::Encode<Finished> for Encoder {
    fn set_resource(&mut self, resource: &Resource) {
        Encoder::set_resource(self, resource);
    }
    fn encode(&mut self, batch: &[Finished]) -> Vec<u8> {
        Encoder::encode(self, batch)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::{Array, Value};

    use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};
    use opentelemetry::{Key, StringValue};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message;

    use super::*;

    fn span_data(name: &'static str, scope: &str, parent: u64, status: Status) -> SpanData {
        let mut events = SpanEvents::default();
        events.events.push(opentelemetry::trace::Event::new(
            "exception",
            UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            vec![KeyValue::new("exception.message", "boom")],
            1,
        ));
        let mut links = SpanLinks::default();
        links.links.push(opentelemetry::trace::Link::new(
            SpanContext::new(
                TraceId::from(7_u128),
                SpanId::from(9_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::from_key_value([("k", "v")]).unwrap(),
            ),
            vec![KeyValue::new("link.kind", "follows")],
            0,
        ));
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef_u128),
                SpanId::from(0xfedc_ba98_7654_3210_u64),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: parent == 42,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed(name),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_001),
            end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_500_000_000),
            attributes: vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.response.status_code", 200_i64),
                KeyValue::new("negative", -5_i64),
                KeyValue::new("ratio", 0.25),
                KeyValue::new("ok", true),
                KeyValue::new("empty", ""),
                // Lengths past one varint byte, at every level.
                KeyValue::new("long", "x".repeat(300)),
                KeyValue::new("k".repeat(200), 1_i64),
                // A `KeyValue` of 127 bytes, and of 128 (a two-byte length).
                KeyValue::new("b".repeat(60), "v".repeat(61)),
                KeyValue::new("c".repeat(60), "v".repeat(62)),
                KeyValue::new(
                    Key::from("tags"),
                    Value::Array(Array::String(vec![
                        StringValue::from("a"),
                        StringValue::from("b"),
                    ])),
                ),
                KeyValue::new(
                    Key::from("ints"),
                    Value::Array(Array::I64(vec![1, -2, 300])),
                ),
            ],
            dropped_attributes_count: 3,
            events,
            links,
            status,
            instrumentation_scope: InstrumentationScope::builder(scope.to_owned())
                .with_version("1.2.3")
                .build(),
        }
    }

    #[test]
    fn encoding_decodes_to_the_reference_conversion() {
        let resource = Resource::builder_empty()
            .with_service_name("svc")
            .with_attribute(KeyValue::new("host.arch", "amd64"))
            .with_attribute(KeyValue::new("process.pid", 12_i64))
            .build();
        let spans = vec![
            span_data("GET /a", "obskit", 0, Status::Unset),
            span_data("child", "tracing", 5, Status::error("bad thing")),
            span_data("remote", "obskit", 42, Status::Ok),
        ];
        let finished: Vec<Finished> = spans.iter().cloned().map(Finished::Sdk).collect();
        let mut encoder = Encoder::default();
        encoder.set_resource(&resource);
        let bytes = encoder.encode(&finished);
        // The reused buffers leave nothing behind.
        assert_eq!(encoder.encode(&finished), bytes);
        assert_eq!(
            encoder.encode(&finished[1..2]),
            Encoder::default_with(&resource).encode(&finished[1..2])
        );
        let ours = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid protobuf");

        let reference = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                spans,
                &ResourceAttributesWithSchema::from(&resource),
            ),
        };
        let mut ours = ours;
        let mut reference = reference;
        for r in [&mut ours, &mut reference] {
            for rs in &mut r.resource_spans {
                if let Some(res) = rs.resource.as_mut() {
                    res.attributes.sort_by(|a, b| a.key.cmp(&b.key));
                }
                rs.scope_spans.sort_by(|a, b| {
                    a.scope
                        .as_ref()
                        .map(|s| s.name.clone())
                        .cmp(&b.scope.as_ref().map(|s| s.name.clone()))
                });
            }
        }
        assert_eq!(ours, reference);
    }

    impl Encoder {
        fn default_with(resource: &Resource) -> Self {
            let mut encoder = Self::default();
            encoder.set_resource(resource);
            encoder
        }
    }

    /// A reused encoder leaves room for the lengths as the last batch's
    /// size makes them: whether a batch fits that room or not, it writes
    /// what a new encoder writes.
    #[test]
    fn batches_of_any_size_encode_as_a_new_encoder_does() {
        let resource = Resource::builder_empty().with_service_name("svc").build();
        let one = |i: u64| {
            let scope = if i % 7 == 3 { "tracing" } else { "obskit" };
            Finished::Sdk(span_data("GET /a", scope, i, Status::Unset))
        };
        let mut encoder = Encoder::default_with(&resource);
        for n in [1, 200, 200, 3, 0, 1000, 50, 1000, 1] {
            let batch: Vec<Finished> = (0..n).map(one).collect();
            let bytes = encoder.encode(&batch);
            let new = Encoder::default_with(&resource).encode(&batch);
            assert_eq!(bytes, new, "{n} spans");
            let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid");
            let spans: usize = decoded
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            assert_eq!(spans as u64, n);
        }
    }

    #[test]
    fn a_message_written_in_place_has_its_length_as_a_minimal_varint() {
        for len in [0_usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut expected = vec![9_u8];
            nested(&mut expected, 2, &body);
            let mut out = vec![9_u8];
            nested_in_place(&mut out, 2, |out| out.extend_from_slice(&body));
            assert_eq!(out, expected, "a body of {len} bytes");
        }
    }

    #[test]
    fn scopes_are_the_same_as_the_sdk_says() {
        let scope = |name: &'static str, version: Option<&'static str>, attrs: Vec<KeyValue>| {
            let mut b = InstrumentationScope::builder(name).with_attributes(attrs);
            if let Some(v) = version {
                b = b.with_version(v);
            }
            b.build()
        };
        let kv = |k: &'static str, v: i64| KeyValue::new(k, v);
        let scopes = [
            scope("obskit", None, vec![]),
            scope("obskit", Some("1"), vec![]),
            scope("tracing", None, vec![]),
            scope("obskit", None, vec![kv("a", 1), kv("b", 2)]),
            scope("obskit", None, vec![kv("b", 2), kv("a", 1)]),
            scope("obskit", None, vec![kv("a", 1)]),
        ];
        for a in &scopes {
            for b in &scopes {
                assert_eq!(same_scope(a, b), a == b, "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn varint_lengths() {
        for v in [0_u64, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
    }
}
