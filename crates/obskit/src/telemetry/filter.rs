//! The log filter as the subscriber's first layer, without the per-span
//! bookkeeping `EnvFilter` does for directives that no filter uses.
//!
//! `EnvFilter` keeps a table of the spans its span directives (`[name]`,
//! `[{field=value}]`) match, and looks every span up in it when it is
//! entered, exited, recorded and closed: a lock and a lookup each time,
//! for every span of the process, even when `RUST_LOG` names no span at
//! all. Without such a directive the filter decides by target and level
//! alone, so only its callsite and `enabled` answers are kept.

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// An `EnvFilter` whose directives name no span and no field.
struct StaticFilter(EnvFilter);

impl<S: Subscriber> Layer<S> for StaticFilter {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        Layer::<S>::register_callsite(&self.0, metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Layer::<S>::max_level_hint(&self.0)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.0.enabled(metadata, ctx)
    }
}

/// Whether `directives` (as `RUST_LOG` writes them) hold a span or field
/// directive: both are written in brackets, `target[span{field=value}]=level`.
pub(super) fn has_span_directives(directives: &str) -> bool {
    directives.contains('[')
}

/// `filter` (parsed from `directives`) as a layer: its per-span bookkeeping
/// only when a directive needs it.
pub(super) fn layer<S>(filter: EnvFilter, directives: &str) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if has_span_directives(directives) {
        filter.boxed()
    } else {
        StaticFilter(filter).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    /// Events seen by the layer after the filter, by message.
    #[derive(Clone, Default)]
    struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            struct Message<'a>(&'a mut String);
            impl tracing::field::Visit for Message<'_> {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        *self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = String::new();
            event.record(&mut Message(&mut message));
            self.0.lock().unwrap().push(message);
        }
    }

    /// The messages a subscriber filtered by `directives` lets through, from
    /// events inside and outside a span named `job`.
    fn seen(directives: &str) -> Vec<String> {
        let filter = EnvFilter::builder().parse(directives).unwrap();
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(layer(filter, directives))
            .with(seen.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("debug outside");
            tracing::info!("info outside");
            let span = tracing::info_span!("job", kind = "nightly");
            span.in_scope(|| {
                tracing::debug!("debug in job");
                tracing::info!("info in job");
            });
            tracing::info_span!("other").in_scope(|| tracing::debug!("debug in other"));
        });
        seen.0.lock().unwrap().clone()
    }

    #[test]
    fn target_and_level_directives_filter_as_env_filter_does() {
        assert_eq!(seen("info"), ["info outside", "info in job"]);
        assert_eq!(
            seen("debug"),
            [
                "debug outside",
                "info outside",
                "debug in job",
                "info in job",
                "debug in other"
            ]
        );
        assert_eq!(seen("warn"), Vec::<String>::new());
    }

    #[test]
    fn span_and_field_directives_still_enable_events_inside_their_spans() {
        assert_eq!(
            seen("info,[job]=debug"),
            ["info outside", "debug in job", "info in job"]
        );
        assert_eq!(
            seen("info,[{kind=nightly}]=debug"),
            ["info outside", "debug in job", "info in job"]
        );
        assert_eq!(
            seen("info,[{kind=weekly}]=debug"),
            ["info outside", "info in job"]
        );
    }

    #[test]
    fn only_bracketed_directives_need_the_span_table() {
        assert!(!has_span_directives("info,my_crate::db=debug,hyper=off"));
        assert!(has_span_directives("info,[job]=debug"));
        assert!(has_span_directives("my_crate[{id=42}]=trace"));
    }
}
