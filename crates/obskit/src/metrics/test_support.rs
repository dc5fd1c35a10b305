//! What the renderers' tests share: metric keys from static parts, the
//! metadata they register with, and the `# TYPE` lines of a rendering.

use metrics::{Key, Label};

/// The metadata every test series is registered with.
pub(super) static META: metrics::Metadata<'static> =
    metrics::Metadata::new("t", metrics::Level::INFO, None);

/// The key `name{labels}`.
pub(super) fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    Key::from_parts(
        name,
        labels
            .iter()
            .map(|(k, v)| Label::new(*k, *v))
            .collect::<Vec<_>>(),
    )
}

/// The `# TYPE` lines of `text`, in order.
pub(super) fn type_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("# TYPE")).collect()
}
