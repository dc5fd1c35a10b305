//! The stock Grafana dashboards: a RED service overview and an SLO dashboard. Both use a
//! `datasource` variable on every panel and a `service` variable, so one import serves every
//! obskit service.
//!
//! ```
//! let files = obskit_artifacts::dashboards::render()?;
//! let names: Vec<_> = files.iter().map(|f| f.path.display().to_string()).collect();
//! assert_eq!(names, ["dashboards/obskit-service-overview.json", "dashboards/obskit-slo.json"]);
//! # Ok::<(), obskit_artifacts::Error>(())
//! ```

mod build;
mod dependencies;
mod messaging;
mod model;
mod service;
mod slo;

use crate::{Error, GeneratedFile};
use std::path::PathBuf;

/// Grafana's rate window variable, sized from the scrape interval.
pub(crate) const RATE_INTERVAL: &str = "$__rate_interval";

/// Renders `dashboards/obskit-service-overview.json` and `dashboards/obskit-slo.json`.
pub fn render() -> Result<Vec<GeneratedFile>, Error> {
    [service::dashboard(), slo::dashboard()]
        .into_iter()
        .map(|d| {
            let path = PathBuf::from(format!("dashboards/{}.json", d.uid));
            let json = serde_json::to_string_pretty(&d).map_err(|source| Error::Json {
                path: path.clone(),
                source,
            })?;
            Ok(GeneratedFile {
                path,
                contents: json + "\n",
            })
        })
        .collect()
}
