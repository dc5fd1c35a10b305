//! What the dev viewer keeps of a span and a log line: plain owned values, converted once
//! when they arrive, so the pages never look at protobuf types.

use std::fmt;
use std::sync::Arc;

/// A 16-byte trace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

/// Writes bytes as lowercase hex.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

/// Parses exactly `N` bytes of hex (either case).
fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        out[i] = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

impl TraceId {
    /// Parses 32 hex digits.
    ///
    /// ```
    /// use obskit_dev::model::TraceId;
    /// let id = TraceId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    /// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert!(TraceId::parse("4bf9").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        parse_hex(text).map(Self)
    }
}

impl SpanId {
    /// Parses 16 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        parse_hex(text).map(Self)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// The OTLP span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Not given.
    Unspecified,
    /// An internal operation.
    Internal,
    /// The server side of a call.
    Server,
    /// The client side of a call.
    Client,
    /// A message sent.
    Producer,
    /// A message received.
    Consumer,
}

impl SpanKind {
    /// The kind for an OTLP enum value (unknown values are `Unspecified`).
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// Lowercase name, as shown on the pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// The OTLP span status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusCode {
    /// Not set by the instrumentation.
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed.
    Error,
}

impl StatusCode {
    /// The status for an OTLP enum value (unknown values are `Unset`).
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    /// Lowercase name, as shown on the pages and used in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// One attribute, its value rendered as text once on arrival.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The key, e.g. `http.route`.
    pub key: String,
    /// The value as text: strings as they are, numbers and booleans printed, arrays and maps as JSON.
    pub value: String,
    /// The value's length in bytes before it was cut to the attribute limit, if it was.
    pub truncated_from: Option<usize>,
}

impl Attribute {
    /// An attribute kept whole.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            truncated_from: None,
        }
    }
}

/// A link from a span to a span of another (or the same) trace, e.g. the messages a batch
/// consumer handled.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanLink {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// The link's attributes.
    pub attributes: Vec<Attribute>,
}

/// A timed event recorded in a span (a log line copied into it, an exception).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    /// When, in nanoseconds since the Unix epoch.
    pub time_unix_nanos: u64,
    /// The event's name.
    pub name: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// One finished span, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: TraceId,
    /// Its own id.
    pub span_id: SpanId,
    /// Its parent, `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The operation name, e.g. `GET /hello/{name}`.
    pub name: String,
    /// Server, client, internal, ...
    pub kind: SpanKind,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
    /// Status code.
    pub status: StatusCode,
    /// Status message (set with errors).
    pub status_message: String,
    /// `service.name` of the resource that sent it (`unknown_service` when absent).
    pub service: Arc<str>,
    /// The span's attributes.
    pub attributes: Vec<Attribute>,
    /// The span's events.
    pub events: Vec<SpanEvent>,
    /// The span's links to other spans.
    pub links: Vec<SpanLink>,
}

impl Span {
    /// End minus start, in nanoseconds (0 when the clock went backwards).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// Roughly how many bytes the span takes in memory (for the store's budget).
    pub fn approximate_bytes(&self) -> usize {
        let attributes = |list: &[Attribute]| -> usize {
            list.iter()
                .map(|a| a.key.len() + a.value.len() + std::mem::size_of::<Attribute>())
                .sum()
        };
        std::mem::size_of::<Self>()
            + self.name.len()
            + self.status_message.len()
            + attributes(&self.attributes)
            + self
                .events
                .iter()
                .map(|e| {
                    std::mem::size_of::<SpanEvent>() + e.name.len() + attributes(&e.attributes)
                })
                .sum::<usize>()
            + self
                .links
                .iter()
                .map(|l| std::mem::size_of::<SpanLink>() + attributes(&l.attributes))
                .sum::<usize>()
    }

    /// The route the span served: its `http.route`, or `_unmatched` for an HTTP server span
    /// without one (a 404: the HTTP conventions leave the route out when none matched).
    pub fn route(&self) -> Option<&str> {
        self.attribute("http.route").or_else(|| {
            (self.kind == SpanKind::Server && self.attribute("http.request.method").is_some())
                .then_some(obskit_names::ROUTE_UNMATCHED)
        })
    }

    /// The value of attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }
}
