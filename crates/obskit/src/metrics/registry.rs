//! obskit's `metrics::Recorder`: where series are registered and found again.
//!
//! Recording never touches this module: a registered series is an
//! `Arc` of atomics (see `series`) that the returned `metrics` handle writes
//! to directly. The registry is only on the path of *registering*, which
//! happens when a handle is created (obskit caches its handles per label
//! set) and on every `metrics::counter!(...)`-style macro call in user code:
//!
//! - Fast path: the `metrics::Key` (which carries a precomputed hash) is
//!   looked up under the read lock of one of 16 shards, and the `Arc` is
//!   cloned. Nothing is allocated.
//! - Slow path, the first time a key is seen: under one mutex the metric
//!   name is sanitized, the label set pre-rendered for the exposition
//!   (`service_name` first, then the key's labels in the order given), the
//!   series created or — when two keys render identically — shared, and the
//!   key inserted into its shard.
//!
//! Families (series of one metric name) are kept sorted by name, and a
//! family's series sorted by their rendered label set, so the exposition
//! comes out in the same order whatever order series were registered in.
//! The renderer works from an immutable snapshot of that structure, rebuilt
//! only after a registration or a description changed it; rendering takes
//! no lock that registration needs.
//!
//! Rules this registry enforces, so both expositions stay valid:
//! - One type per family, and no two families whose sample names could
//!   collide in either format. A family claims its own name and its sample
//!   names: a histogram `h` also `h_bucket`, `h_sum`, `h_count`,
//!   `h_created`; a counter `c_total` also `c` (its OpenMetrics family
//!   name) and `c_created`. A registration whose claims meet another
//!   family's gets a no-op handle, and one warning per name and type is
//!   logged.
//! - Label names appear once per series: the first occurrence wins, and
//!   obskit's own `service_name` comes first; histograms drop a user `le`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use parking_lot::{Mutex, RwLock};

use super::series::{Buckets, BucketsError, CounterSeries, GaugeSeries, HistogramSeries};
use super::snapshot::{self, FamilyView, Help, Kind, Series, Snapshot};
use super::text;

/// Sample-name suffixes a histogram family also claims.
const HISTOGRAM_SUFFIXES: [&str; 4] = ["_bucket", "_sum", "_count", "_created"];

const SHARDS: usize = 16;

/// Hashes a `metrics::Key` by its precomputed hash (the only thing its
/// `Hash` impl writes), without hashing it again.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Key`; FNV-1a keeps any other input well spread.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type KeyMap = HashMap<Key, Series, BuildHasherDefault<KeyHasher>>;

/// One shard of the key map, on its own cache line.
#[repr(align(64))]
#[derive(Default)]
struct Shard(RwLock<KeyMap>);

/// The registry and recorder.
pub(super) struct Registry {
    /// `service_name="svc"` (sanitized, escaped), the start of every label set.
    global_labels: String,
    /// The label names in `global_labels`.
    global_names: Vec<String>,
    default_buckets: Arc<Buckets>,
    shards: Box<[Shard]>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    families: BTreeMap<Arc<str>, Family>,
    /// Every name a family's samples could take in either format, with the
    /// family that claims it (see [`claims`]).
    claimed: HashMap<String, (Arc<str>, Kind)>,
    /// Escaped HELP text by sanitized family name.
    help: HashMap<String, Help>,
    /// OpenMetrics unit by sanitized family name.
    units: HashMap<String, &'static str>,
    /// Families published as info metrics.
    info: HashSet<String>,
    /// Per-name bucket overrides, by sanitized family name.
    buckets: HashMap<String, Arc<Buckets>>,
    /// (name, refused type) pairs already warned about.
    warned: HashSet<(String, Kind)>,
    /// Bumped by every change a render would show, except values.
    generation: u64,
    snapshot: Option<Arc<Snapshot>>,
}

struct Family {
    kind: Kind,
    /// By rendered label set, so iteration is the exposition order.
    series: BTreeMap<Arc<str>, Series>,
    /// The series in order, shared with snapshots; `None` after a change.
    view: Option<(Arc<[Series]>, usize)>,
}

/// What a refused registration conflicts with, for the warning.
struct Conflict {
    name: String,
    kind: Kind,
    existing: String,
    existing_kind: Kind,
}

impl Registry {
    /// A registry whose every series starts with `global_labels`, and whose
    /// histograms use `default_buckets` unless [`Registry::set_buckets`]
    /// says otherwise.
    pub(super) fn new(global_labels: &[(&str, &str)], default_buckets: &[f64]) -> Self {
        let mut rendered = String::new();
        let mut names = Vec::new();
        for (name, value) in global_labels {
            push_label(&mut rendered, &mut names, name, value, false);
        }
        Self {
            global_labels: rendered,
            global_names: names,
            default_buckets: Arc::new(
                Buckets::new("the default", default_buckets)
                    .expect("the default buckets are a valid constant"),
            ),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            state: Mutex::new(State::default()),
        }
    }

    /// Sets the bucket bounds of histogram `name` (the sanitized name is
    /// what counts). Refused once series of that histogram exist with other
    /// bounds; setting the bounds it already has is fine.
    pub(super) fn set_buckets(&self, name: &str, bounds: &[f64]) -> Result<(), BucketsError> {
        let family = text::metric_name(name);
        let buckets = Buckets::new(name, bounds)?;
        let mut st = self.state.lock();
        if st
            .families
            .get(family.as_str())
            .is_some_and(|f| f.kind == Kind::Histogram)
        {
            let current = st.buckets.get(&family).unwrap_or(&self.default_buckets);
            if current.bounds() == bounds {
                return Ok(());
            }
            return Err(BucketsError::AlreadyRegistered {
                name: name.to_owned(),
            });
        }
        st.buckets.insert(family, Arc::new(buckets));
        Ok(())
    }

    fn shard(&self, key: &Key) -> &RwLock<KeyMap> {
        // Middle bits: std's map uses the low bits for the slot and the top
        // seven for its tags.
        &self.shards[(key.get_hash() >> 32) as usize % SHARDS].0
    }

    /// The series for `key` as a `kind`, registering it on first sight;
    /// `None` when the name belongs to another type.
    fn register(&self, key: &Key, kind: Kind) -> Option<Series> {
        let shard = self.shard(key);
        if let Some(s) = shard.read().get(key)
            && s.kind() == kind
        {
            return Some(s.clone());
        }
        let outcome = self.register_slow(key, kind, shard);
        match outcome {
            Ok(series) => Some(series),
            Err(Some(c)) => {
                // Logged after every lock is released: a logging layer may
                // itself record metrics.
                tracing::warn!(
                    metric = %c.name,
                    refused_type = c.kind.as_str(),
                    existing = %c.existing,
                    existing_type = c.existing_kind.as_str(),
                    "a metric was registered with a type its name is already used with; \
                     its values are dropped, rename one of the two"
                );
                None
            }
            Err(None) => None,
        }
    }

    /// Registers `key` under the state lock. `Err(Some(_))` is a conflict
    /// to warn about, `Err(None)` one already warned about.
    fn register_slow(
        &self,
        key: &Key,
        kind: Kind,
        shard: &RwLock<KeyMap>,
    ) -> Result<Series, Option<Conflict>> {
        let mut st = self.state.lock();
        let name = text::metric_name(key.name());
        if let Some(existing) = shard.read().get(key)
            && existing.kind() == kind
        {
            return Ok(existing.clone());
        }
        if let Some((existing, existing_kind)) = st.conflict(&name, kind) {
            let first = st.warned.insert((name.clone(), kind));
            return Err(first.then_some(Conflict {
                name,
                kind,
                existing,
                existing_kind,
            }));
        }
        let buckets = match kind {
            Kind::Histogram => Some(Arc::clone(
                st.buckets.get(&name).unwrap_or(&self.default_buckets),
            )),
            _ => None,
        };
        let labels: Arc<str> = self.label_set(key, kind).into();
        let name: Arc<str> = name.into();
        if !st.families.contains_key(&name) {
            for claim in claims(&name, kind) {
                st.claimed.insert(claim, (Arc::clone(&name), kind));
            }
        }
        let family = st.families.entry(name).or_insert_with(|| Family {
            kind,
            series: BTreeMap::new(),
            view: None,
        });
        let series = family
            .series
            .entry(Arc::clone(&labels))
            .or_insert_with(|| match buckets {
                Some(b) => Series::Histogram(Arc::new(HistogramSeries::new(labels, b))),
                None if kind == Kind::Counter => {
                    Series::Counter(Arc::new(CounterSeries::new(labels)))
                }
                None => Series::Gauge(Arc::new(GaugeSeries::new(labels))),
            })
            .clone();
        family.view = None;
        st.generation += 1;
        shard.write().insert(key.clone(), series.clone());
        Ok(series)
    }

    /// The rendered label set of `key`: the global labels, then the key's
    /// labels in order, each name once.
    fn label_set(&self, key: &Key, kind: Kind) -> String {
        let mut out = self.global_labels.clone();
        let mut names = self.global_names.clone();
        for label in key.labels() {
            push_label(
                &mut out,
                &mut names,
                label.key(),
                label.value(),
                kind == Kind::Histogram,
            );
        }
        out
    }

    /// Sets the HELP text and unit of the family `key`, whatever its kind.
    pub(super) fn describe(&self, key: &KeyName, unit: Option<Unit>, description: &str) {
        let mut prometheus = String::with_capacity(description.len());
        text::push_help(&mut prometheus, description);
        let mut openmetrics = String::with_capacity(description.len());
        text::push_help_openmetrics(&mut openmetrics, description);
        let help = Help {
            prometheus: prometheus.into(),
            openmetrics: openmetrics.into(),
        };
        // A count has no unit in OpenMetrics: the name says what is counted.
        let unit = unit.filter(|u| *u != Unit::Count).map(|u| u.as_str());
        let name = text::metric_name(key.as_str());
        let mut st = self.state.lock();
        if st.help.get(&name) == Some(&help) && st.units.get(&name).copied() == unit {
            return;
        }
        match unit {
            Some(u) => st.units.insert(name.clone(), u),
            None => st.units.remove(&name),
        };
        st.help.insert(name, help);
        st.generation += 1;
    }

    /// Publishes the gauge family `name` as an info metric in OpenMetrics
    /// (`# TYPE x info`, samples `x_info`); it stays a gauge in the
    /// Prometheus text format. Only a name ending in `_info` qualifies.
    pub(super) fn mark_info(&self, name: &str) {
        let name = text::metric_name(name);
        if !name.ends_with("_info") {
            return;
        }
        let mut st = self.state.lock();
        if st.info.insert(name) {
            st.generation += 1;
        }
    }

    /// The counter series registered for `key`, registering it if needed;
    /// `None` when the name belongs to another type.
    pub(super) fn counter_series(&self, key: &Key) -> Option<Arc<CounterSeries>> {
        match self.register(key, Kind::Counter) {
            Some(Series::Counter(c)) => Some(c),
            _ => None,
        }
    }

    /// The current snapshot, rebuilt if anything but values changed.
    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
        let mut st = self.state.lock();
        if let Some(s) = &st.snapshot
            && s.generation == st.generation
        {
            return Arc::clone(s);
        }
        let State {
            families,
            help,
            units,
            info,
            ..
        } = &mut *st;
        let mut views = Vec::with_capacity(families.len());
        let mut size_hint = 0;
        for (name, family) in families.iter_mut() {
            let Family { series, view, kind } = family;
            let (list, size) = view.get_or_insert_with(|| {
                let list: Arc<[Series]> = series.values().cloned().collect();
                let size = snapshot::size_hint(name, &list);
                (list, size)
            });
            let help = help.get(&**name).cloned();
            size_hint += *size
                + help
                    .as_ref()
                    .map_or(0, |h| h.prometheus.len() + name.len() + 10);
            views.push(FamilyView {
                name: Arc::clone(name),
                kind: *kind,
                help,
                unit: units.get(&**name).copied(),
                info: *kind == Kind::Gauge && info.contains(&**name),
                series: Arc::clone(list),
            });
        }
        let snapshot = Arc::new(Snapshot {
            generation: st.generation,
            families: views,
            size_hint,
        });
        st.snapshot = Some(Arc::clone(&snapshot));
        snapshot
    }
}

impl State {
    /// The family a new `kind` series named `name` would clash with.
    fn conflict(&self, name: &str, kind: Kind) -> Option<(String, Kind)> {
        if let Some(f) = self.families.get(name) {
            return (f.kind != kind).then(|| (name.to_owned(), f.kind));
        }
        // A new family: none of the names it claims may be claimed already.
        claims(name, kind).into_iter().find_map(|claim| {
            self.claimed
                .get(&claim)
                .map(|(family, kind)| (family.to_string(), *kind))
        })
    }
}

/// The names a family claims: its own, and every sample or family name it
/// could produce in either exposition format.
fn claims(name: &str, kind: Kind) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    match kind {
        Kind::Histogram => out.extend(HISTOGRAM_SUFFIXES.iter().map(|s| format!("{name}{s}"))),
        Kind::Counter => {
            if let Some(family) = name.strip_suffix("_total") {
                out.push(family.to_owned());
                out.push(format!("{family}_created"));
            }
        }
        Kind::Gauge => {}
    }
    out
}

/// Appends `name="value"` to a rendered label set unless `name` (sanitized)
/// is already in `names`, or is `le` on a histogram.
fn push_label(out: &mut String, names: &mut Vec<String>, name: &str, value: &str, histogram: bool) {
    let name = text::label_name(name);
    if names.contains(&name) || (histogram && name == "le") {
        return;
    }
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(&name);
    out.push_str("=\"");
    text::push_label_value(out, value);
    out.push('"');
    names.push(name);
}

impl Recorder for Registry {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        match self.register(key, Kind::Counter) {
            Some(Series::Counter(c)) => Counter::from_arc(c),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        match self.register(key, Kind::Gauge) {
            Some(Series::Gauge(g)) => Gauge::from_arc(g),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        match self.register(key, Kind::Histogram) {
            Some(Series::Histogram(h)) => Histogram::from_arc(h),
            _ => Histogram::noop(),
        }
    }
}
