//! How a served call starts: the core's [`Instrument`] service asks gRPC
//! whether the request is a call it instruments, and gRPC starts the
//! call's span, context, request id and in-flight count.

use std::cell::Cell;
use std::sync::Arc;

use http::Request;

use super::attributes::describe;
use super::call::{Deadline, GrpcCall, Method, ServerCall};
use super::future::Served;
use super::methods;
use super::state::GrpcShared;
use crate::http::is_grpc;
use crate::instrument::{Adapter, Finish, Instrument};
use crate::metrics::names::{RPC_METHOD_OTHER, RPC_SYSTEM_GRPC};

/// The service [`GrpcLayer`](super::GrpcLayer) wraps around a tonic router or service.
pub type GrpcService<S> = Instrument<GrpcShared, S>;

impl Adapter for GrpcShared {
    type Exchange = Served;

    const LAYER: &'static str = "GrpcLayer";
    const SERVICE: &'static str = "GrpcService";

    fn start<B>(shared: &Arc<Self>, req: &mut Request<B>) -> Option<Served> {
        // Plain HTTP requests (an axum fallback's 404 when the layer wraps a
        // merged router) are the HTTP layer's, not calls.
        if !is_grpc(req.headers()) {
            return None;
        }
        // A known method had the shape of one when it became known: found
        // first, its path needs no second look.
        let path = req.uri().path();
        let known = path.strip_prefix('/').and_then(|m| shared.known.get(m));
        let (full, excluded) = match known {
            Some(name) => (Some(name), shared.core.is_excluded_service_of(name)),
            None => match methods::split_path(path) {
                Some((full, service)) => (Some(full), shared.core.is_excluded(service)),
                None => (None, false),
            },
        };
        if excluded {
            return None;
        }
        let method = match (known, full) {
            (Some(name), _) => Method::Known(name),
            (None, Some(m)) => Method::Unknown(Some(m.into())),
            (None, None) => Method::Unknown(None),
        };
        // The name of a method not known yet is set when the call ends; the
        // sampler decides on the trace id and parent alone.
        let name: &'static str = match method {
            Method::Known(name) => name,
            Method::Unknown(_) => RPC_SYSTEM_GRPC,
        };
        let started = shared.core.start(req, name, |req, request_id| {
            (name.into(), describe(req, &method, request_id))
        });
        let label = match method {
            Method::Known(name) => name,
            Method::Unknown(_) => RPC_METHOD_OTHER,
        };
        let active = shared.metrics.active(label);
        active.increment(1.0);
        let deadline = super::status::timeout(req.headers()).map(Deadline::served);
        let protocol = GrpcCall {
            shared: Arc::clone(shared),
            label: Cell::new(label),
        };
        let finish = Finish::new(started.cx, started.start, active, protocol);
        Some(Served {
            call: ServerCall::new(finish, method, deadline),
            request_id: started.request_id,
        })
    }

    fn debug_fields(&self, f: &mut std::fmt::DebugStruct<'_, '_>) {
        self.core.debug_fields(f);
    }
}
