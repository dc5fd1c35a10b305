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
//! - [`ResponseFuture`] and [`ResponseBody`]: the tower plumbing that
//!   carries an exchange from its call to the end of its response body,
//!   with the protocol reading its response ([`Awaited`]) and its frames
//!   ([`Streaming`]).
//!
//! A protocol is an adapter over this core: it supplies what differs (span
//! name and attributes, how its status is read and classified, where its
//! figures go) by implementing [`Protocol`], the way tower-http's
//! classifiers do. HTTP and gRPC, served and called, messaging and
//! datastores are such adapters.

mod body;
mod finish;
mod future;
mod start;
mod state;

pub(crate) use body::{ResponseBody, Streaming};
pub(crate) use finish::{CANCELLED, FAILED, Finish, Outcome, Protocol};
pub(crate) use future::{Awaited, ResponseFuture};
pub(crate) use start::{answer_request_id, start_client};
pub(crate) use state::LayerState;
