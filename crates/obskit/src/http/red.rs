//! RED metric handles, cached per label set so a request costs a map
//! lookup under a read lock, never a label vector or a registry search.

use std::sync::Arc;

use metrics::{Gauge, Histogram, Label};
use parking_lot::RwLock;
// Keys are route templates of the service's own router, never text a
// client chose, so a fast non-keyed hash is safe here.
use rustc_hash::FxHashMap as HashMap;

use crate::metrics::cache::{self, HandleList};
use crate::metrics::{MetricsHandle, names};

/// A route template's shared text and its span names, one per method.
struct Interned {
    route: Arc<str>,
    names: Vec<(&'static str, &'static str)>,
}

/// How a request ended, for its `error_type` when its status does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// With a response, complete: a 5xx says `error_type` by its code.
    Answered,
    /// The handler or the body failed: `error_type="_OTHER"`.
    Failed,
    /// The client left first: `error_type="cancelled"`.
    Cancelled,
}

/// One duration series of a route: method, status sent (if any), how it
/// ended.
type DurationKey = (&'static str, Option<u16>, Ended);

/// A route's duration series, each with its handle.
type RouteDurations = Vec<(DurationKey, Histogram)>;

/// Server-side handles: duration histograms and active-request gauges.
pub(crate) struct ServerMetrics {
    metrics: MetricsHandle,
    /// route → the (method, status, ending) series seen on it.
    durations: RwLock<HashMap<Arc<str>, RouteDurations>>,
    /// route template → its shared text, and `method route` span names.
    routes: RwLock<HashMap<Arc<str>, Interned>>,
    /// (method, scheme) → gauge.
    active: HandleList<(&'static str, &'static str), Gauge>,
}

impl ServerMetrics {
    pub(crate) fn new(metrics: MetricsHandle) -> Self {
        Self {
            metrics,
            durations: RwLock::new(HashMap::default()),
            routes: RwLock::new(HashMap::default()),
            active: HandleList::default(),
        }
    }

    /// The duration histogram for one label set: `status` is the status
    /// sent (none when the request failed or was left before a response;
    /// the label is then absent, as the semantic conventions say), `ended`
    /// how the request ended.
    pub(crate) fn duration(
        &self,
        method: &'static str,
        route: &str,
        status: Option<u16>,
        ended: Ended,
    ) -> Histogram {
        let key = (method, status, ended);
        if let Some(h) = (self.durations.read().get(route)).and_then(|s| cache::find(s, &key)) {
            return h;
        }
        let mut labels = vec![
            Label::new(names::HTTP_REQUEST_METHOD, method),
            Label::new(names::HTTP_ROUTE, route.to_owned()),
        ];
        if let Some(status) = status {
            labels.push(Label::new(
                names::HTTP_RESPONSE_STATUS_CODE,
                super::labels::status_str(status),
            ));
        }
        let error_type = match ended {
            Ended::Failed => Some(crate::instrument::FAILED),
            Ended::Cancelled => Some(crate::instrument::CANCELLED),
            Ended::Answered => status.and_then(super::labels::server_error_type),
        };
        if let Some(e) = error_type {
            labels.push(Label::new(names::ERROR_TYPE, e));
        }
        let h = self
            .metrics
            .histogram(names::HTTP_SERVER_REQUEST_DURATION, labels);
        let mut map = self.durations.write();
        cache::keep(map.entry(Arc::from(route)).or_default(), key, h)
    }

    /// The route template as shared text and the span name `{method} {route}`,
    /// made once per route (and method) so requests copy neither.
    ///
    /// Span names are `&'static str` because the SDK takes names as
    /// `Cow<'static, str>`: each (method, route template) pair is leaked
    /// once; there are at most ten methods per template of the router.
    pub(crate) fn intern(&self, method: &'static str, route: &str) -> (Arc<str>, &'static str) {
        if let Some(i) = self.routes.read().get(route)
            && let Some((_, name)) = i.names.iter().find(|(m, _)| *m == method)
        {
            return (Arc::clone(&i.route), name);
        }
        let mut routes = self.routes.write();
        let entry = routes
            .entry(Arc::from(route))
            .or_insert_with_key(|k| Interned {
                route: Arc::clone(k),
                names: Vec::new(),
            });
        let name = match entry.names.iter().find(|(m, _)| *m == method) {
            Some((_, name)) => *name,
            // An unknown method names its span `HTTP`, whatever the route.
            None if method == crate::metrics::names::METHOD_OTHER => {
                let name = super::labels::span_name(method);
                entry.names.push((method, name));
                name
            }
            None => {
                let name: &'static str = Box::leak(format!("{method} {route}").into_boxed_str());
                entry.names.push((method, name));
                name
            }
        };
        (Arc::clone(&entry.route), name)
    }

    /// The active-requests gauge for one method and scheme.
    pub(crate) fn active(&self, method: &'static str, scheme: &'static str) -> Gauge {
        self.active.get_or_make((method, scheme), |_| {
            self.metrics.gauge(
                names::HTTP_SERVER_ACTIVE_REQUESTS,
                vec![
                    Label::new(names::HTTP_REQUEST_METHOD, method),
                    Label::new(names::URL_SCHEME, scheme),
                ],
            )
        })
    }
}
