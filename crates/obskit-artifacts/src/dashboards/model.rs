//! Typed Grafana dashboard JSON (the classic model, schemaVersion 41), serialized with
//! `serde_json`; field order is fixed by the structs, so the output is deterministic.

use serde::Serialize;
use std::collections::BTreeMap;

/// The schema version the dashboards are written in: Grafana 12's. Its migrations up to 41
/// (string `refresh`, no `timepicker.time_options`) are already satisfied, and those Grafana
/// added after it (hidden-field tooltips, `formatTime` transformations) touch nothing used
/// here, so Grafana 11 and 12 load the JSON unchanged.
pub(crate) const SCHEMA_VERSION: u32 = 41;

/// Name of the datasource variable every panel uses.
pub(crate) const DATASOURCE_VAR: &str = "${datasource}";

/// A dashboard.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Dashboard {
    pub(crate) annotations: AnnotationList,
    pub(crate) description: String,
    pub(crate) editable: bool,
    pub(crate) fiscal_year_start_month: u8,
    pub(crate) graph_tooltip: u8,
    pub(crate) id: Option<u64>,
    pub(crate) links: Vec<DashboardLink>,
    pub(crate) panels: Vec<Panel>,
    pub(crate) refresh: String,
    pub(crate) schema_version: u32,
    pub(crate) tags: Vec<String>,
    pub(crate) templating: Templating,
    pub(crate) time: TimeRange,
    pub(crate) timepicker: Empty,
    pub(crate) timezone: String,
    pub(crate) title: String,
    pub(crate) uid: String,
    pub(crate) version: u32,
    pub(crate) week_start: String,
}

/// An empty JSON object.
#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

/// Annotation queries.
#[derive(Debug, Serialize)]
pub(crate) struct AnnotationList {
    pub(crate) list: Vec<BuiltinAnnotation>,
}

/// Grafana's built-in "Annotations & Alerts" query.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuiltinAnnotation {
    pub(crate) built_in: u8,
    pub(crate) datasource: DataSourceRef,
    pub(crate) enable: bool,
    pub(crate) hide: bool,
    pub(crate) icon_color: String,
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// A reference to a datasource.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DataSourceRef {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) uid: String,
}

impl DataSourceRef {
    /// The Prometheus datasource chosen in the `datasource` variable.
    pub(crate) fn prometheus() -> Self {
        Self {
            kind: "prometheus".to_owned(),
            uid: DATASOURCE_VAR.to_owned(),
        }
    }
}

/// Links to the other obskit dashboards (by tag), keeping time range and variables.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DashboardLink {
    pub(crate) as_dropdown: bool,
    pub(crate) icon: String,
    pub(crate) include_vars: bool,
    pub(crate) keep_time: bool,
    pub(crate) tags: Vec<String>,
    pub(crate) target_blank: bool,
    pub(crate) title: String,
    pub(crate) tooltip: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) url: String,
}

/// Template variables.
#[derive(Debug, Serialize)]
pub(crate) struct Templating {
    pub(crate) list: Vec<Variable>,
}

/// A template variable (datasource or query).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Variable {
    pub(crate) current: Empty,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) all_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) datasource: Option<DataSourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) definition: Option<String>,
    pub(crate) hide: u8,
    pub(crate) include_all: bool,
    pub(crate) label: String,
    pub(crate) multi: bool,
    pub(crate) name: String,
    pub(crate) options: Vec<Empty>,
    pub(crate) query: VariableQuery,
    pub(crate) refresh: u8,
    pub(crate) regex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sort: Option<u8>,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// A variable's query: the plugin id for datasource variables, a Prometheus query otherwise.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum VariableQuery {
    /// Datasource plugin id.
    Plugin(String),
    /// Prometheus variable query.
    Prometheus(PrometheusVariableQuery),
}

/// The Prometheus variable query editor's model.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrometheusVariableQuery {
    pub(crate) qry_type: u8,
    pub(crate) query: String,
    pub(crate) ref_id: String,
}

/// Default time range.
#[derive(Debug, Serialize)]
pub(crate) struct TimeRange {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// A panel or a row.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Panel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) collapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) datasource: Option<DataSourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field_config: Option<FieldConfig>,
    pub(crate) grid_pos: GridPos,
    pub(crate) id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) options: Option<PanelOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) panels: Option<Vec<Panel>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<Target>,
    pub(crate) title: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// Position on the 24-column grid.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct GridPos {
    pub(crate) h: u32,
    pub(crate) w: u32,
    pub(crate) x: u32,
    pub(crate) y: u32,
}

/// Field configuration.
#[derive(Debug, Serialize)]
pub(crate) struct FieldConfig {
    pub(crate) defaults: FieldDefaults,
    pub(crate) overrides: Vec<Empty>,
}

/// Defaults applied to every field of a panel.
#[derive(Debug, Serialize)]
pub(crate) struct FieldDefaults {
    pub(crate) color: ColorMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) custom: Option<Custom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) decimals: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) mappings: Vec<ValueMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<f64>,
    pub(crate) thresholds: Thresholds,
    pub(crate) unit: String,
}

/// How series get their colours.
#[derive(Debug, Serialize)]
pub(crate) struct ColorMode {
    pub(crate) mode: String,
}

/// Visualization-specific field options (time series and state timeline).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Custom {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) draw_style: Option<String>,
    pub(crate) fill_opacity: u8,
    pub(crate) line_width: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) show_points: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) span_nulls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stacking: Option<Stacking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) thresholds_style: Option<ThresholdsStyle>,
}

/// Series stacking.
#[derive(Debug, Serialize)]
pub(crate) struct Stacking {
    pub(crate) group: String,
    pub(crate) mode: String,
}

/// How thresholds are drawn on a time series.
#[derive(Debug, Serialize)]
pub(crate) struct ThresholdsStyle {
    pub(crate) mode: String,
}

/// Threshold steps.
#[derive(Debug, Serialize)]
pub(crate) struct Thresholds {
    pub(crate) mode: String,
    pub(crate) steps: Vec<ThresholdStep>,
}

/// One threshold step; the first has no value (it is the base).
#[derive(Debug, Serialize)]
pub(crate) struct ThresholdStep {
    pub(crate) color: String,
    pub(crate) value: Option<f64>,
}

/// A value → text mapping.
#[derive(Debug, Serialize)]
pub(crate) struct ValueMapping {
    pub(crate) options: BTreeMap<String, MappedValue>,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// What a mapped value shows.
#[derive(Debug, Serialize)]
pub(crate) struct MappedValue {
    pub(crate) color: String,
    pub(crate) index: u8,
    pub(crate) text: String,
}

/// Panel options, per visualization.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum PanelOptions {
    /// Time series.
    TimeSeries(TimeSeriesOptions),
    /// Stat.
    Stat(StatOptions),
    /// Bar gauge.
    BarGauge(BarGaugeOptions),
    /// State timeline.
    StateTimeline(StateTimelineOptions),
}

/// Legend options.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Legend {
    pub(crate) calcs: Vec<String>,
    pub(crate) display_mode: String,
    pub(crate) placement: String,
    pub(crate) show_legend: bool,
}

/// Tooltip options.
#[derive(Debug, Serialize)]
pub(crate) struct Tooltip {
    pub(crate) mode: String,
    pub(crate) sort: String,
}

/// Time series options.
#[derive(Debug, Serialize)]
pub(crate) struct TimeSeriesOptions {
    pub(crate) legend: Legend,
    pub(crate) tooltip: Tooltip,
}

/// How a single value is reduced from a series.
#[derive(Debug, Serialize)]
pub(crate) struct ReduceOptions {
    pub(crate) calcs: Vec<String>,
    pub(crate) fields: String,
    pub(crate) values: bool,
}

/// Stat options.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatOptions {
    pub(crate) color_mode: String,
    pub(crate) graph_mode: String,
    pub(crate) justify_mode: String,
    pub(crate) orientation: String,
    pub(crate) reduce_options: ReduceOptions,
    pub(crate) text_mode: String,
}

/// Bar gauge options.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BarGaugeOptions {
    pub(crate) display_mode: String,
    pub(crate) orientation: String,
    pub(crate) reduce_options: ReduceOptions,
    pub(crate) show_unfilled: bool,
}

/// State timeline options.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateTimelineOptions {
    pub(crate) align_value: String,
    pub(crate) legend: Legend,
    pub(crate) merge_values: bool,
    pub(crate) row_height: f64,
    pub(crate) show_value: String,
    pub(crate) tooltip: Tooltip,
}

/// A Prometheus query of a panel.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Target {
    pub(crate) datasource: DataSourceRef,
    pub(crate) editor_mode: String,
    /// Asks Grafana for the exemplars of the query's series (trace ids of
    /// sampled requests, which obskit exposes in OpenMetrics scrapes).
    /// Written only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) exemplar: bool,
    pub(crate) expr: String,
    pub(crate) legend_format: String,
    pub(crate) range: bool,
    pub(crate) ref_id: String,
}
