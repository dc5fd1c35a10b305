//! The protocol-neutral instrumentation core: what every instrumented
//! exchange shares, whatever its protocol.
//!
//! - [`LayerState`]: the state a server layer shares between its requests
//!   (tracer, propagator, SLOs, exclusions, access log, sampling).
//! - [`LayerState::start`]: the one start path of a served exchange (clock,
//!   request id, parent context, server span); [`start_client`] the one of
//!   an outgoing call (client span, propagation headers).
//! - [`Finish`] and [`Protocol`]: the one end path (in-flight gauge, RED,
//!   SLO classification, span status and end, access line, in one order).
//! - [`InstrumentLayer`], [`Instrument`], [`ResponseFuture`] and
//!   [`ResponseBody`]: the tower plumbing, laid out like tower-http's
//!   `trace`, that carries an exchange from its call to the end of its
//!   response body. A protocol's side supplies its configuration and how
//!   an exchange starts ([`Adapter`], [`ServerAdapter`] for a server's
//!   shared settings), how its response reads ([`Awaited`]) and how its
//!   body ends ([`Streaming`]); its public names are aliases of these
//!   (`HttpLayer`, `GrpcService`, ...), its own settings inherent methods
//!   on them.
//!
//! A protocol is an adapter over this core: it supplies what differs (span
//! name and attributes, how its status is read and classified, where its
//! figures go) by implementing [`Protocol`], the way tower-http's
//! classifiers do. HTTP and gRPC, served and called, messaging and
//! datastores are such adapters.

mod body;
mod finish;
mod future;
mod layer;
mod service;
mod start;
mod state;

pub(crate) use body::{ResponseBody, Streaming};
pub(crate) use finish::{CANCELLED, FAILED, Finish, Outcome, Protocol};
pub(crate) use future::{Awaited, ResponseFuture};
pub(crate) use layer::{InstrumentLayer, ServerAdapter, server_layer_settings};
pub(crate) use service::{Adapter, Instrument};
pub(crate) use start::{ClientTracer, answer_request_id, start_client};
pub(crate) use state::LayerState;
