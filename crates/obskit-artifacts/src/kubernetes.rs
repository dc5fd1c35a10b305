//! Kubernetes objects for clusters that run the Prometheus Operator and Grafana's sidecar
//! (the kube-prometheus-stack layout): the stock dashboards as ConfigMaps labelled
//! `grafana_dashboard: "1"`, and a Grafana data source, with the exemplar link from metrics
//! to traces, as a ConfigMap labelled `grafana_datasource: "1"`. The `PrometheusRule`
//! resources come from [`alerts::render`](crate::alerts::render) with
//! [`RuleFormat::PrometheusRule`](crate::alerts::RuleFormat::PrometheusRule).
//!
//! Each object is the JSON or YAML of the plain artifact, byte for byte, inside the object.
//!
//! ```
//! let files = obskit_artifacts::kubernetes::grafana_configmaps()?;
//! let dashboard = &files[0];
//! assert_eq!(dashboard.path.to_str(), Some("deploy/obskit-service-overview.dashboard.yml"));
//! assert!(dashboard.contents.contains("grafana_dashboard: '1'"));
//! # Ok::<(), obskit_artifacts::Error>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::yaml::{self, Refresh};
use crate::{Error, GeneratedFile};

/// The folder the Kubernetes objects are written to (a generated service's `deploy/`).
pub const DEPLOY_DIR: &str = "deploy";
/// The label Grafana's sidecar looks for on dashboard ConfigMaps.
pub const DASHBOARD_LABEL: &str = "grafana_dashboard";
/// The label Grafana's sidecar looks for on data source ConfigMaps.
pub const DATASOURCE_LABEL: &str = "grafana_datasource";
/// The uid of the Prometheus data source the ConfigMap provisions.
pub const DATASOURCE_UID: &str = "obskit-prometheus";
/// The uid of the trace data source that exemplar links open (a Tempo data source).
pub const TRACES_DATASOURCE_UID: &str = "tempo";
/// The exemplar label obskit writes the trace id under.
pub const EXEMPLAR_TRACE_ID_LABEL: &str = "trace_id";

/// Kubernetes object metadata: a name and labels.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Metadata {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
}

impl Metadata {
    /// Metadata of a stock object: `app.kubernetes.io/name: obskit` and its component.
    pub(crate) fn stock(name: &str, component: &str) -> Self {
        let labels = [
            ("app.kubernetes.io/name", "obskit"),
            ("app.kubernetes.io/component", component),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            name: name.to_owned(),
            labels,
        }
    }

    fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_owned(), value.to_owned());
        self
    }
}

/// A ConfigMap holding one file.
#[derive(Debug, Clone, Serialize)]
struct ConfigMap {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    data: BTreeMap<String, String>,
}

impl ConfigMap {
    fn holding(metadata: Metadata, file_name: &str, contents: &str) -> Self {
        Self {
            api_version: "v1",
            kind: "ConfigMap",
            metadata,
            data: BTreeMap::from([(file_name.to_owned(), contents.to_owned())]),
        }
    }
}

/// The stock dashboards, one ConfigMap each (`deploy/<uid>.dashboard.yml`), and the data
/// source ConfigMap (`deploy/obskit-grafana-datasource.yml`), in that order.
pub fn grafana_configmaps() -> Result<Vec<GeneratedFile>, Error> {
    let mut files = Vec::new();
    for board in crate::dashboards::render()? {
        let file_name = board
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("dashboard paths end in a UTF-8 file name");
        let uid = file_name.trim_end_matches(".json");
        let metadata = Metadata::stock(&format!("{uid}-dashboard"), "grafana-dashboard")
            .label(DASHBOARD_LABEL, "1");
        let path = Path::new(DEPLOY_DIR).join(format!("{uid}.dashboard.yml"));
        let map = ConfigMap::holding(metadata, file_name, &board.contents);
        let contents = yaml::to_yaml_refreshed_by(&path, &map, &Refresh::CONFIGMAPS)?;
        files.push(GeneratedFile { path, contents });
    }
    files.push(datasource_configmap()?);
    Ok(files)
}

/// `deploy/obskit-grafana-datasource.yml`: the ConfigMap of [`datasource_provisioning`].
fn datasource_configmap() -> Result<GeneratedFile, Error> {
    let path = PathBuf::from(format!("{DEPLOY_DIR}/obskit-grafana-datasource.yml"));
    let metadata = Metadata::stock("obskit-grafana-datasource", "grafana-datasource")
        .label(DATASOURCE_LABEL, "1");
    let map = ConfigMap::holding(
        metadata,
        "obskit-datasource.yaml",
        &datasource_provisioning(&path)?,
    );
    let contents = yaml::to_yaml_refreshed_by(&path, &map, &Refresh::CONFIGMAPS)?;
    Ok(GeneratedFile { path, contents })
}

/// A Grafana provisioning file (`apiVersion: 1`) for one Prometheus data source whose
/// exemplars link to their traces.
#[derive(Debug, Serialize)]
struct Provisioning {
    #[serde(rename = "apiVersion")]
    api_version: u32,
    datasources: Vec<DataSource>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DataSource {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
    access: &'static str,
    url: &'static str,
    is_default: bool,
    json_data: JsonData,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonData {
    time_interval: &'static str,
    exemplar_trace_id_destinations: Vec<ExemplarDestination>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExemplarDestination {
    name: &'static str,
    datasource_uid: &'static str,
    url_display_label: &'static str,
}

/// The data source provisioning file, with comments on what to adjust.
fn datasource_provisioning(path: &Path) -> Result<String, Error> {
    let file = Provisioning {
        api_version: 1,
        datasources: vec![DataSource {
            name: "obskit Prometheus",
            kind: "prometheus",
            uid: DATASOURCE_UID,
            access: "proxy",
            url: "http://prometheus-operated.monitoring.svc:9090",
            is_default: false,
            json_data: JsonData {
                time_interval: "15s",
                exemplar_trace_id_destinations: vec![ExemplarDestination {
                    name: EXEMPLAR_TRACE_ID_LABEL,
                    datasource_uid: TRACES_DATASOURCE_UID,
                    url_display_label: "View trace",
                }],
            },
        }],
    };
    let body = yaml_serde::to_string(&file).map_err(|source| Error::Yaml {
        path: path.to_owned(),
        source,
    })?;
    Ok(format!(
        "# A Prometheus data source whose exemplars link to their traces. obskit's /metrics\n\
         # carries exemplars in OpenMetrics scrapes (label `{EXEMPLAR_TRACE_ID_LABEL}`); Prometheus keeps them\n\
         # with `--enable-feature=exemplar-storage` (kube-prometheus-stack:\n\
         # prometheus.prometheusSpec.enableFeatures). Each exemplar links to its trace in the\n\
         # data source whose uid is `{TRACES_DATASOURCE_UID}` (your Tempo). Adjust `url` to your Prometheus\n\
         # (the Operator's `prometheus-operated` Service in its namespace); this data source is\n\
         # not the default, so it sits beside the one your Grafana already has.\n\
         {body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dashboard_is_a_labelled_configmap_holding_its_json() {
        let boards = crate::dashboards::render().unwrap();
        let files = grafana_configmaps().unwrap();
        assert_eq!(files.len(), boards.len() + 1);
        for (board, file) in boards.iter().zip(&files) {
            let map: yaml_serde::Value = yaml_serde::from_str(&file.contents).unwrap();
            assert_eq!(map["kind"].as_str(), Some("ConfigMap"));
            assert_eq!(
                map["metadata"]["labels"][DASHBOARD_LABEL].as_str(),
                Some("1")
            );
            let name = board.path.file_name().unwrap().to_str().unwrap();
            assert_eq!(map["data"][name].as_str(), Some(board.contents.as_str()));
        }
    }

    #[test]
    fn the_data_source_links_exemplars_to_traces() {
        let files = grafana_configmaps().unwrap();
        let file = files.last().unwrap();
        let map: yaml_serde::Value = yaml_serde::from_str(&file.contents).unwrap();
        assert_eq!(
            map["metadata"]["labels"][DATASOURCE_LABEL].as_str(),
            Some("1")
        );
        let text = map["data"]["obskit-datasource.yaml"].as_str().unwrap();
        let provisioning: yaml_serde::Value = yaml_serde::from_str(text).unwrap();
        let source = &provisioning["datasources"][0];
        assert_eq!(source["isDefault"].as_bool(), Some(false));
        let link = &source["jsonData"]["exemplarTraceIdDestinations"][0];
        assert_eq!(link["name"].as_str(), Some("trace_id"));
        assert_eq!(link["datasourceUid"].as_str(), Some(TRACES_DATASOURCE_UID));
    }
}
