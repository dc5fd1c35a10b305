//! Header carriers for context propagation (shared with gRPC, in
//! [`crate::propagation`]).

pub(crate) use crate::propagation::carrier::{HeaderExtractor, HeaderInjector, has_context};
