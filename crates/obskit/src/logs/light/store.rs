//! Where light spans live: a table of slots per thread.
//!
//! A thread makes its light spans in a shard of its own, a vector of nodes
//! behind a mutex only that thread takes as a rule: another thread takes it
//! for a span moved there (entered, recorded or closed away from the thread
//! that made it), so the lock is nearly always uncontended. A span's id is
//! its shard, its slot and the slot's generation, so finding a node is two
//! array lookups and a comparison, and a stale id finds nothing.
//!
//! A shard outlives its thread: the next thread to start takes its number,
//! and with it the nodes still held elsewhere. A process with more threads
//! making light spans at once than there are shards gets none on the others
//! (the registry answers there).
//!
//! Nothing that may call back into `tracing` runs while a shard is locked:
//! a span's fields are visited outside it, and the contexts a node lets go
//! of are dropped after. (The OpenTelemetry SDK or obskit's own span, which
//! start, change and end a node's span with its shard locked, log nothing
//! through `tracing`.)

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::Context;
use parking_lot::{Mutex, MutexGuard};
use tracing::Metadata;
use tracing::span::Id;

use super::fields::Fields;
use crate::bridged::{Bridged, Starter};

/// The bit that marks a light span's id.
pub(super) const LIGHT: u64 = 1 << 50;
/// Bits of an id for the slot in its shard.
const SLOT_BITS: u32 = 26;
/// Bits of an id for its shard.
const SHARD_BITS: u32 = 12;
/// Bits of an id for its slot's generation: the rest below [`LIGHT`].
const GENERATION_BITS: u32 = 50 - SLOT_BITS - SHARD_BITS;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
const SHARD_MASK: u64 = (1 << SHARD_BITS) - 1;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;
/// How many threads make light spans at once, at most.
const SHARDS: usize = 1 << SHARD_BITS;

/// The shards, by number; a shard is made when a thread first takes its
/// number.
static TABLE: [OnceLock<Padded>; SHARDS] = [const { OnceLock::new() }; SHARDS];

/// A shard on cache lines of its own, so threads do not share lines.
#[repr(align(64))]
struct Padded(Mutex<Shard>);

/// Shard numbers no thread holds, given back by threads that ended.
static FREED: Mutex<Vec<u16>> = Mutex::new(Vec::new());
/// The next shard number never taken.
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard number, if it has one.
    static HOME: Home = Home::take();
}

/// A thread's shard number, given back when the thread ends.
struct Home(Option<u16>);

impl Home {
    fn take() -> Self {
        if let Some(number) = FREED.lock().pop() {
            return Self(Some(number));
        }
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(
            u16::try_from(number)
                .ok()
                .filter(|&n| usize::from(n) < SHARDS),
        )
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Some(number) = self.0 {
            FREED.lock().push(number);
        }
    }
}

/// The slots of one shard.
#[derive(Default)]
struct Shard {
    nodes: Vec<Node>,
    /// Free slots, the last freed last.
    free: Vec<u32>,
}

/// One light span (`None` metadata: a free slot).
#[derive(Default)]
pub(super) struct Node {
    /// The slot's generation, counted up when the span closes.
    generation: u64,
    pub(super) meta: Option<&'static Metadata<'static>>,
    /// The context the span was created under (its parent's, not sampled):
    /// attached when the span is entered away from it.
    pub(super) cx: Context,
    pub(super) parent: Parent,
    /// `Span` handles and children holding the span.
    pub(super) refs: usize,
    /// The span's fields, kept for the JSON layer.
    pub(super) fields: Fields,
    /// The registry span that stands for this one once promoted.
    pub(super) promoted: Option<Id>,
    /// The OpenTelemetry span of a span under a sampled parent (none
    /// under an unsampled one: `cx` is all it carries).
    pub(super) otel: Otel,
}

/// A node's OpenTelemetry span, in a box the slot keeps for the next span
/// (a span under a sampled parent then allocates nothing for it).
#[derive(Default)]
pub(super) struct Otel {
    slot: Option<Box<Bridged>>,
    /// Whether `slot` holds this span's (else what is left there is stale).
    live: bool,
}

impl Otel {
    pub(super) fn get(&self) -> Option<&Bridged> {
        self.slot.as_deref().filter(|_| self.live)
    }

    pub(super) fn get_mut(&mut self) -> Option<&mut Bridged> {
        self.slot.as_deref_mut().filter(|_| self.live)
    }

    pub(super) fn is_some(&self) -> bool {
        self.live
    }

    /// Holds `bridged`, in the kept box if there is one.
    pub(super) fn set(&mut self, bridged: Bridged) {
        match &mut self.slot {
            Some(slot) => **slot = bridged,
            None => self.slot = Some(Box::new(bridged)),
        }
        self.live = true;
    }

    /// Ends the span (see [`Bridged::end_in_place`]), keeping the box;
    /// returns the context that held it.
    fn end(&mut self, starter: Option<&Starter>) -> Context {
        if !std::mem::take(&mut self.live) {
            return Context::new();
        }
        match (self.slot.as_deref_mut(), starter) {
            (Some(slot), Some(starter)) => slot.end_in_place(starter),
            _ => Context::new(),
        }
    }

    /// Takes the span out, keeping the box.
    pub(super) fn take(&mut self) -> Option<Bridged> {
        if !std::mem::take(&mut self.live) {
            return None;
        }
        let slot = self.slot.as_deref_mut()?;
        Some(std::mem::replace(
            slot,
            Bridged::Unsampled { cx: Context::new() },
        ))
    }
}

/// A light span's parent, held (counted) by the child.
#[derive(Clone, Default)]
pub(super) enum Parent {
    #[default]
    None,
    Light(Id),
    Registry(Id),
}

/// What a closed span let go of, to be released with no shard locked.
pub(super) struct Freed {
    pub(super) parent: Parent,
    pub(super) promoted: Option<Id>,
    pub(super) _cx: Context,
    /// The context that held its OpenTelemetry span, ended.
    pub(super) _otel_cx: Context,
}

/// A locked light span.
pub(super) struct Locked {
    shard: MutexGuard<'static, Shard>,
    slot: usize,
}

impl std::ops::Deref for Locked {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.shard.nodes[self.slot]
    }
}

impl std::ops::DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Node {
        &mut self.shard.nodes[self.slot]
    }
}

impl Locked {
    /// Lets go of one holder; once none is left, ends its OpenTelemetry
    /// span with `starter`, frees the slot and returns what the span held.
    #[inline]
    pub(super) fn release(mut self, starter: Option<&Starter>) -> Option<Freed> {
        let slot = self.slot;
        let node = &mut *self;
        node.refs = node.refs.saturating_sub(1);
        if node.refs != 0 {
            return None;
        }
        node.meta = None;
        node.generation = (node.generation + 1) & GENERATION_MASK;
        node.fields.clear();
        let freed = Freed {
            _otel_cx: node.otel.end(starter),
            parent: std::mem::take(&mut node.parent),
            promoted: node.promoted.take(),
            _cx: std::mem::take(&mut node.cx),
        };
        // Slots are below 2^SLOT_BITS.
        self.shard.free.push(slot as u32);
        Some(freed)
    }
}

/// Light span `id`, locked; `None` when it is closed.
pub(super) fn lock(id: &Id) -> Option<Locked> {
    let id = id.into_u64();
    if id & !(LIGHT | (LIGHT - 1)) != 0 || id & LIGHT == 0 {
        // Not a light span's id.
        return None;
    }
    let shard = TABLE.get(usize::try_from((id >> SLOT_BITS) & SHARD_MASK).ok()?)?;
    let shard = shard.get()?.0.lock();
    let slot = usize::try_from(id & SLOT_MASK).ok()?;
    let node = shard.nodes.get(slot)?;
    if node.meta.is_none() || node.generation != (id >> (SLOT_BITS + SHARD_BITS)) & GENERATION_MASK
    {
        return None;
    }
    Some(Locked { shard, slot })
}

/// A new light span on this thread's shard, made by `init` (which must set
/// its metadata); `None` when this thread has no shard.
pub(super) fn create(init: impl FnOnce(&mut Node)) -> Option<Id> {
    let number = HOME.try_with(|home| home.0).ok().flatten()?;
    let padded = TABLE[usize::from(number)].get_or_init(|| Padded(Mutex::new(Shard::default())));
    let mut shard = padded.0.lock();
    let slot = match shard.free.pop() {
        Some(slot) => slot as usize,
        None => {
            let slot = shard.nodes.len();
            if slot as u64 > SLOT_MASK {
                return None;
            }
            shard.nodes.push(Node::default());
            slot
        }
    };
    let node = &mut shard.nodes[slot];
    init(node);
    let id = LIGHT
        | node.generation << (SLOT_BITS + SHARD_BITS)
        | u64::from(number) << SLOT_BITS
        | slot as u64;
    Some(Id::from_u64(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> &'static Metadata<'static> {
        let registry = tracing_subscriber::registry();
        tracing::subscriber::with_default(registry, || tracing::info_span!("node").metadata())
            .expect("enabled")
    }

    fn make() -> Id {
        create(|node| {
            node.meta = Some(meta());
            node.refs = 1;
        })
        .expect("a shard")
    }

    #[test]
    fn a_closed_span_is_not_found_and_its_slot_is_reused_under_a_new_id() {
        let first = make();
        assert!(first.into_u64() & LIGHT != 0);
        assert!(lock(&first).is_some());
        assert!(lock(&first).expect("live").release(None).is_some());
        assert!(lock(&first).is_none(), "closed");
        let second = make();
        assert_eq!(second.into_u64() & SLOT_MASK, first.into_u64() & SLOT_MASK);
        assert_ne!(second, first);
        assert!(lock(&first).is_none(), "a stale id finds nothing");
        assert!(lock(&second).is_some());
        assert!(lock(&second).expect("live").release(None).is_some());
    }

    #[test]
    fn a_span_lives_while_it_is_held_and_closes_on_any_thread() {
        let id = make();
        lock(&id).expect("live").refs += 1;
        assert!(
            lock(&id).expect("live").release(None).is_none(),
            "still held"
        );
        let moved = id.clone();
        std::thread::spawn(move || {
            assert!(lock(&moved).expect("live").release(None).is_some());
        })
        .join()
        .expect("closed there");
        assert!(lock(&id).is_none());
        // The slot went back to this thread's shard.
        let next = make();
        assert_eq!(
            next.into_u64() & !(GENERATION_MASK << (SLOT_BITS + SHARD_BITS)),
            id.into_u64() & !(GENERATION_MASK << (SLOT_BITS + SHARD_BITS))
        );
        assert!(lock(&next).expect("live").release(None).is_some());
    }

    #[test]
    fn a_span_outlives_the_thread_that_made_it() {
        let made = std::thread::spawn(make).join().expect("made");
        // Later threads may take the ended thread's shard; the span stays.
        let later: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(make).join().expect("made"))
            .collect();
        for id in later.iter().chain([&made]) {
            assert!(lock(id).expect("live").release(None).is_some());
            assert!(lock(id).is_none());
        }
    }
}
