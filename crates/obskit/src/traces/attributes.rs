//! The attributes of the server spans obskit starts, kept as the request's
//! values (typed fields, text copied inline) and written behind keys
//! encoded once ([`pre_key!`]); the protocol modules fill them in.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderValue;
use opentelemetry::KeyValue;
use tracing::Metadata;

use crate::export::proto::{attributes, pre_key, pre_kv_i64, pre_kv_str};
use crate::request_id::RequestId;

/// Typed attributes: how many, their protobuf, their `KeyValue`s.
pub(crate) trait TypedAttributes {
    /// How many attributes are set.
    fn len(&self) -> usize;
    /// Writes each as a `KeyValue` of the repeated field `field`, in the
    /// order [`key_values`](Self::key_values) gives them.
    fn encode(&self, out: &mut Vec<u8>, field: u32);
    /// Appends each as a `KeyValue`, as the SDK's span would hold them.
    fn key_values(&self, out: &mut Vec<KeyValue>);
}

pre_key!(HTTP_METHOD = "http.request.method");
pre_key!(HTTP_METHOD_ORIGINAL = "http.request.method_original");
pre_key!(HTTP_ROUTE = "http.route");
pre_key!(HTTP_SCHEME = "url.scheme");
pre_key!(HTTP_PATH = "url.path");
pre_key!(HTTP_VERSION = "network.protocol.version");
pre_key!(HTTP_USER_AGENT = "user_agent.original");
pre_key!(HTTP_CLIENT_ADDRESS = "client.address");
pre_key!(HTTP_CLIENT_PORT = "client.port");
pre_key!(HTTP_REQUEST_ID = "http.request.header.x-request-id");

/// A served HTTP request's span attributes, as the request's values: written
/// behind pre-encoded keys, in the order of [`TypedAttributes::key_values`].
#[derive(Debug, Clone)]
pub(crate) struct HttpServer {
    pub(crate) method: &'static str,
    /// The method as sent, when it is not one the conventions name.
    pub(crate) method_original: Option<String>,
    pub(crate) route: Option<Arc<str>>,
    pub(crate) scheme: &'static str,
    pub(crate) path: Text,
    pub(crate) version: &'static str,
    /// A `User-Agent` that is text.
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) client: Option<SocketAddr>,
    pub(crate) request_id: RequestId,
    /// The headers the layer was told to record, as found.
    pub(crate) headers: Vec<KeyValue>,
}

impl TypedAttributes for HttpServer {
    fn len(&self) -> usize {
        5 + usize::from(self.method_original.is_some())
            + usize::from(self.route.is_some())
            + usize::from(self.user_agent.is_some())
            + 2 * usize::from(self.client.is_some())
            + self.headers.len()
    }

    fn encode(&self, out: &mut Vec<u8>, field: u32) {
        pre_kv_str(out, field, HTTP_METHOD, self.method.as_bytes());
        if let Some(m) = &self.method_original {
            pre_kv_str(out, field, HTTP_METHOD_ORIGINAL, m.as_bytes());
        }
        if let Some(r) = &self.route {
            pre_kv_str(out, field, HTTP_ROUTE, r.as_bytes());
        }
        pre_kv_str(out, field, HTTP_SCHEME, self.scheme.as_bytes());
        pre_kv_str(out, field, HTTP_PATH, self.path.as_bytes());
        pre_kv_str(out, field, HTTP_VERSION, self.version.as_bytes());
        if let Some(ua) = &self.user_agent {
            pre_kv_str(out, field, HTTP_USER_AGENT, ua.as_bytes());
        }
        if let Some(addr) = self.client {
            let mut buf = [0; 48];
            pre_kv_str(
                out,
                field,
                HTTP_CLIENT_ADDRESS,
                ip_text(addr.ip(), &mut buf),
            );
            pre_kv_i64(out, field, HTTP_CLIENT_PORT, i64::from(addr.port()));
        }
        pre_kv_str(
            out,
            field,
            HTTP_REQUEST_ID,
            self.request_id.header_value().as_bytes(),
        );
        attributes(out, field, &self.headers);
    }

    fn key_values(&self, out: &mut Vec<KeyValue>) {
        out.push(KeyValue::new("http.request.method", self.method));
        if let Some(m) = &self.method_original {
            out.push(KeyValue::new("http.request.method_original", m.clone()));
        }
        if let Some(r) = &self.route {
            out.push(KeyValue::new(
                "http.route",
                opentelemetry::StringValue::from(Arc::clone(r)),
            ));
        }
        out.push(KeyValue::new("url.scheme", self.scheme));
        out.push(KeyValue::new("url.path", self.path.to_owned_string()));
        out.push(KeyValue::new("network.protocol.version", self.version));
        if let Some(ua) = self.user_agent.as_ref().and_then(|v| v.to_str().ok()) {
            out.push(KeyValue::new("user_agent.original", ua.to_owned()));
        }
        if let Some(addr) = self.client {
            out.push(KeyValue::new("client.address", addr.ip().to_string()));
            out.push(KeyValue::new("client.port", i64::from(addr.port())));
        }
        out.push(KeyValue::new(
            "http.request.header.x-request-id",
            opentelemetry::StringValue::from(self.request_id.as_arc()),
        ));
        out.extend_from_slice(&self.headers);
    }
}

#[cfg(feature = "grpc")]
mod rpc {
    use super::*;

    pre_key!(RPC_SYSTEM = "rpc.system.name");
    pre_key!(RPC_METHOD = "rpc.method");
    pre_key!(RPC_SERVER_ADDRESS = "server.address");
    pre_key!(RPC_SERVER_PORT = "server.port");
    pre_key!(RPC_PEER_ADDRESS = "network.peer.address");
    pre_key!(RPC_PEER_PORT = "network.peer.port");
    pre_key!(RPC_REQUEST_ID = "rpc.request.metadata.x-request-id");

    /// A served RPC's span attributes, as the call's values: written behind
    /// pre-encoded keys, in the order of [`TypedAttributes::key_values`].
    #[derive(Debug, Clone)]
    pub(crate) struct RpcServer {
        /// `rpc.system.name`.
        pub(crate) system: &'static str,
        /// The method, when it is one the service declares.
        pub(crate) method: Option<&'static str>,
        /// The host and port the call was sent to.
        pub(crate) server: Option<(Text, Option<u16>)>,
        pub(crate) peer: Option<SocketAddr>,
        pub(crate) request_id: RequestId,
    }

    impl TypedAttributes for RpcServer {
        fn len(&self) -> usize {
            2 + usize::from(self.method.is_some())
                + self
                    .server
                    .as_ref()
                    .map_or(0, |(_, port)| 1 + usize::from(port.is_some()))
                + 2 * usize::from(self.peer.is_some())
        }

        fn encode(&self, out: &mut Vec<u8>, field: u32) {
            pre_kv_str(out, field, RPC_SYSTEM, self.system.as_bytes());
            if let Some(m) = self.method {
                pre_kv_str(out, field, RPC_METHOD, m.as_bytes());
            }
            if let Some((host, port)) = &self.server {
                pre_kv_str(out, field, RPC_SERVER_ADDRESS, host.as_bytes());
                if let Some(port) = port {
                    pre_kv_i64(out, field, RPC_SERVER_PORT, i64::from(*port));
                }
            }
            if let Some(peer) = self.peer {
                let mut buf = [0; 48];
                pre_kv_str(out, field, RPC_PEER_ADDRESS, ip_text(peer.ip(), &mut buf));
                pre_kv_i64(out, field, RPC_PEER_PORT, i64::from(peer.port()));
            }
            pre_kv_str(
                out,
                field,
                RPC_REQUEST_ID,
                self.request_id.header_value().as_bytes(),
            );
        }

        fn key_values(&self, out: &mut Vec<KeyValue>) {
            out.push(KeyValue::new("rpc.system.name", self.system));
            if let Some(m) = self.method {
                out.push(KeyValue::new("rpc.method", m));
            }
            if let Some((host, port)) = &self.server {
                out.push(KeyValue::new("server.address", host.to_owned_string()));
                if let Some(port) = port {
                    out.push(KeyValue::new("server.port", i64::from(*port)));
                }
            }
            if let Some(peer) = self.peer {
                out.push(KeyValue::new("network.peer.address", peer.ip().to_string()));
                out.push(KeyValue::new("network.peer.port", i64::from(peer.port())));
            }
            out.push(KeyValue::new(
                "rpc.request.metadata.x-request-id",
                opentelemetry::StringValue::from(self.request_id.as_arc()),
            ));
        }
    }
}
#[cfg(feature = "grpc")]
pub(crate) use rpc::RpcServer;

pre_key!(CODE_FILE_PATH = "code.file.path");
pre_key!(CODE_MODULE_NAME = "code.module.name");
pre_key!(CODE_LINE_NUMBER = "code.line.number");

/// Slots of [`LOCATIONS`]: more callsites than spans in a batch, usually.
const LOCATION_SLOTS: usize = 64;

thread_local! {
    /// The code location attributes of callsites written on this thread
    /// (the export's), by the address of their metadata and the field they
    /// were written as, one per slot: a callsite's spans repeat them.
    #[allow(clippy::type_complexity)]
    static LOCATIONS: std::cell::RefCell<[Option<(usize, u32, Box<[u8]>)>; LOCATION_SLOTS]> =
        const { std::cell::RefCell::new([const { None }; LOCATION_SLOTS]) };
}

/// Writes the code location attributes of `meta`'s callsite, as the
/// bridge's `KeyValue`s would be written, in the repeated field `field`.
fn location(meta: &Metadata<'static>, out: &mut Vec<u8>, field: u32) {
    if let Some(file) = meta.file() {
        pre_kv_str(out, field, CODE_FILE_PATH, file.as_bytes());
    }
    if let Some(module) = meta.module_path() {
        pre_kv_str(out, field, CODE_MODULE_NAME, module.as_bytes());
    }
    if let Some(line) = meta.line() {
        pre_kv_i64(out, field, CODE_LINE_NUMBER, i64::from(line));
    }
}

/// A bridged `tracing` span's attributes: its code location, read from its
/// callsite's metadata when written, then its fields, as the bridge keeps
/// them.
#[derive(Debug, Clone)]
pub(crate) struct BridgedSpan {
    /// The span's callsite: its file, module and line.
    pub(crate) meta: &'static Metadata<'static>,
    /// The span's fields and the attributes set before it started.
    pub(crate) fields: crate::bridged::Attrs,
}

impl TypedAttributes for BridgedSpan {
    fn len(&self) -> usize {
        usize::from(self.meta.file().is_some())
            + usize::from(self.meta.module_path().is_some())
            + usize::from(self.meta.line().is_some())
            + self.fields.len()
    }

    fn encode(&self, out: &mut Vec<u8>, field: u32) {
        // A callsite's location is the same bytes for each of its spans:
        // copied as last written for it, when it still is in the cache.
        let key = std::ptr::from_ref(self.meta) as usize;
        let slot = ((key >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
        LOCATIONS.with_borrow_mut(|cache| match &cache[slot] {
            Some((k, f, bytes)) if *k == key && *f == field => out.extend_from_slice(bytes),
            _ => {
                let mut bytes = Vec::new();
                location(self.meta, &mut bytes, field);
                out.extend_from_slice(&bytes);
                cache[slot] = Some((key, field, bytes.into_boxed_slice()));
            }
        });
        for kv in self.fields.iter() {
            attributes(out, field, std::slice::from_ref(kv));
        }
    }

    fn key_values(&self, out: &mut Vec<KeyValue>) {
        crate::bridged::fields::location(self.meta, out);
        out.extend(self.fields.iter().cloned());
    }
}

/// Text copied out of a request (a path, a host), kept inline when short
/// so that copying it allocates nothing.
#[derive(Clone)]
pub(crate) enum Text {
    Inline(u8, [u8; Text::INLINE]),
    Heap(Box<str>),
}

impl Text {
    const INLINE: usize = 46;

    /// A copy of `s`.
    pub(crate) fn new(s: &str) -> Self {
        let b = s.as_bytes();
        if b.len() <= Self::INLINE {
            let mut inline = [0; Self::INLINE];
            inline[..b.len()].copy_from_slice(b);
            Self::Inline(b.len() as u8, inline)
        } else {
            Self::Heap(s.into())
        }
    }

    /// The text's bytes (UTF-8: it was copied from a `str`).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline(len, b) => &b[..usize::from(*len)],
            Self::Heap(s) => s.as_bytes(),
        }
    }

    /// The text as an owned `String`.
    pub(crate) fn to_owned_string(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        String::from_utf8_lossy(self.as_bytes()).fmt(f)
    }
}

/// Writes an IP address's text into `buf`, returning its bytes (no
/// allocation: an address's text is at most 45 bytes).
pub(crate) fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; 48]) -> &[u8] {
    use std::io::Write as _;
    let mut rest = &mut buf[..];
    let _ = write!(rest, "{ip}");
    let len = 48 - rest.len();
    &buf[..len]
}
