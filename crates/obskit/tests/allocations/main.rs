//! What obskit's hot paths allocate, counted by a counting global
//! allocator: recording a metric (exemplar included) and propagation.
//!
//! A binary of its own: the allocator counts every thread of the process,
//! so no other test may run beside these. The tests here take
//! [`exclusive`] first, so they also run one at a time.

use std::alloc::System;
use std::sync::{Mutex, MutexGuard};

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

mod propagation;
mod record;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Held for the whole of a test: while one test counts, the other waits
/// without allocating.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
