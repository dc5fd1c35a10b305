//! Header carriers for context propagation (shared with gRPC, in
//! [`crate::propagation`]).

pub(crate) use crate::propagation::carrier::extract_parent;
