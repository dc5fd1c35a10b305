//! Builders that turn "a stat of X in unit U" into Grafana's JSON model: panel kinds with sane
//! defaults, a grid layout that flows left to right, variables and the dashboard skeleton.

use super::model::*;
use std::collections::BTreeMap;

/// Visualizations used by the stock dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    TimeSeries,
    Stat,
    BarGauge,
    StateTimeline,
}

impl Kind {
    fn plugin(self) -> &'static str {
        match self {
            Self::TimeSeries => "timeseries",
            Self::Stat => "stat",
            Self::BarGauge => "bargauge",
            Self::StateTimeline => "state-timeline",
        }
    }
}

/// A panel before it is placed on the grid.
#[derive(Debug)]
pub(crate) struct Spec {
    kind: Kind,
    title: String,
    description: String,
    unit: String,
    targets: Vec<(String, String)>,
    thresholds: Vec<(&'static str, Option<f64>)>,
    threshold_lines: bool,
    stacked: bool,
    min: Option<f64>,
    decimals: Option<u8>,
    mappings: Vec<(f64, &'static str, &'static str)>,
    text_mode: &'static str,
    exemplars: bool,
}

impl Spec {
    fn new(kind: Kind, title: &str, unit: &str, description: &str) -> Self {
        Self {
            kind,
            title: title.to_owned(),
            description: description.to_owned(),
            unit: unit.to_owned(),
            targets: Vec::new(),
            thresholds: vec![("green", None)],
            threshold_lines: false,
            stacked: false,
            min: None,
            decimals: None,
            mappings: Vec::new(),
            text_mode: "auto",
            exemplars: false,
        }
    }
    /// A time series panel.
    pub(crate) fn timeseries(title: &str, unit: &str, description: &str) -> Self {
        Self::new(Kind::TimeSeries, title, unit, description)
    }
    /// A stat panel.
    pub(crate) fn stat(title: &str, unit: &str, description: &str) -> Self {
        Self::new(Kind::Stat, title, unit, description)
    }
    /// A horizontal bar gauge.
    pub(crate) fn bar_gauge(title: &str, unit: &str, description: &str) -> Self {
        Self::new(Kind::BarGauge, title, unit, description)
    }
    /// A state timeline.
    pub(crate) fn state_timeline(title: &str, unit: &str, description: &str) -> Self {
        Self::new(Kind::StateTimeline, title, unit, description)
    }
    /// Adds a query and its legend.
    pub(crate) fn query(mut self, expr: impl Into<String>, legend: &str) -> Self {
        self.targets.push((expr.into(), legend.to_owned()));
        self
    }
    /// Threshold steps above the green base: `(colour, from value)`.
    pub(crate) fn thresholds(mut self, base: &'static str, steps: &[(&'static str, f64)]) -> Self {
        self.thresholds = std::iter::once((base, None))
            .chain(steps.iter().map(|&(c, v)| (c, Some(v))))
            .collect();
        self
    }
    /// Draws the thresholds as dashed lines (time series).
    pub(crate) fn threshold_lines(mut self) -> Self {
        self.threshold_lines = true;
        self
    }
    /// Stacks the series (time series).
    pub(crate) fn stacked(mut self) -> Self {
        self.stacked = true;
        self
    }
    /// Fixes the axis minimum.
    pub(crate) fn min(mut self, min: f64) -> Self {
        self.min = Some(min);
        self
    }
    /// Fixes the number of decimals.
    pub(crate) fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = Some(decimals);
        self
    }
    /// Shows `value` as `text` in `color`.
    pub(crate) fn mapping(mut self, value: f64, text: &'static str, color: &'static str) -> Self {
        self.mappings.push((value, text, color));
        self
    }
    /// Shows the exemplars of every query (time series of histogram
    /// buckets): each is a point linked to the trace of a sampled request.
    pub(crate) fn exemplars(mut self) -> Self {
        self.exemplars = true;
        self
    }
    /// Stat text mode (`auto`, `value_and_name`...).
    pub(crate) fn text_mode(mut self, mode: &'static str) -> Self {
        self.text_mode = mode;
        self
    }

    fn build(self, id: u32, grid_pos: GridPos) -> Panel {
        let ds = DataSourceRef::prometheus();
        let targets = self
            .targets
            .into_iter()
            .zip('A'..='Z')
            .map(|((expr, legend), ref_id)| Target {
                datasource: ds.clone(),
                editor_mode: "code".to_owned(),
                expr,
                legend_format: legend,
                range: true,
                ref_id: ref_id.to_string(),
                exemplar: self.exemplars,
            })
            .collect();
        let custom = match self.kind {
            Kind::TimeSeries => Some(Custom {
                draw_style: Some("line".to_owned()),
                fill_opacity: if self.stacked { 30 } else { 10 },
                line_width: 1,
                show_points: Some("never".to_owned()),
                span_nulls: Some(false),
                stacking: Some(Stacking {
                    group: "A".to_owned(),
                    mode: if self.stacked { "normal" } else { "none" }.to_owned(),
                }),
                thresholds_style: Some(ThresholdsStyle {
                    mode: if self.threshold_lines {
                        "dashed"
                    } else {
                        "off"
                    }
                    .to_owned(),
                }),
            }),
            Kind::StateTimeline => Some(Custom {
                draw_style: None,
                fill_opacity: 70,
                line_width: 0,
                show_points: None,
                span_nulls: None,
                stacking: None,
                thresholds_style: None,
            }),
            Kind::Stat | Kind::BarGauge => None,
        };
        let mappings = if self.mappings.is_empty() {
            Vec::new()
        } else {
            let options = self
                .mappings
                .iter()
                .zip(0u8..)
                .map(|(&(value, text, color), index)| {
                    (
                        format!("{value}"),
                        MappedValue {
                            color: color.to_owned(),
                            index,
                            text: text.to_owned(),
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>();
            vec![ValueMapping {
                options,
                kind: "value".to_owned(),
            }]
        };
        let color_mode = match self.kind {
            Kind::TimeSeries => "palette-classic",
            _ => "thresholds",
        };
        let reduce = || ReduceOptions {
            calcs: vec!["lastNotNull".to_owned()],
            fields: String::new(),
            values: false,
        };
        let legend = |mode: &str| Legend {
            calcs: Vec::new(),
            display_mode: mode.to_owned(),
            placement: "bottom".to_owned(),
            show_legend: true,
        };
        let tooltip = || Tooltip {
            mode: "multi".to_owned(),
            sort: "desc".to_owned(),
        };
        let options = match self.kind {
            Kind::TimeSeries => PanelOptions::TimeSeries(TimeSeriesOptions {
                legend: legend("list"),
                tooltip: tooltip(),
            }),
            Kind::Stat => PanelOptions::Stat(StatOptions {
                color_mode: "value".to_owned(),
                graph_mode: "area".to_owned(),
                justify_mode: "auto".to_owned(),
                orientation: "auto".to_owned(),
                reduce_options: reduce(),
                text_mode: self.text_mode.to_owned(),
            }),
            Kind::BarGauge => PanelOptions::BarGauge(BarGaugeOptions {
                display_mode: "gradient".to_owned(),
                orientation: "horizontal".to_owned(),
                reduce_options: reduce(),
                show_unfilled: true,
            }),
            Kind::StateTimeline => PanelOptions::StateTimeline(StateTimelineOptions {
                align_value: "left".to_owned(),
                legend: legend("list"),
                merge_values: true,
                row_height: 0.9,
                show_value: "never".to_owned(),
                tooltip: tooltip(),
            }),
        };
        Panel {
            collapsed: None,
            datasource: Some(ds),
            description: Some(self.description),
            field_config: Some(FieldConfig {
                defaults: FieldDefaults {
                    color: ColorMode {
                        mode: color_mode.to_owned(),
                    },
                    custom,
                    decimals: self.decimals,
                    mappings,
                    min: self.min,
                    thresholds: Thresholds {
                        mode: "absolute".to_owned(),
                        steps: self
                            .thresholds
                            .into_iter()
                            .map(|(color, value)| ThresholdStep {
                                color: color.to_owned(),
                                value,
                            })
                            .collect(),
                    },
                    unit: self.unit,
                },
                overrides: Vec::new(),
            }),
            grid_pos,
            id,
            options: Some(options),
            panels: None,
            targets,
            title: self.title,
            kind: self.kind.plugin().to_owned(),
        }
    }
}

/// Panels laid out on Grafana's 24-column grid, left to right, top to bottom.
#[derive(Debug, Default)]
pub(crate) struct Board {
    panels: Vec<Panel>,
    x: u32,
    y: u32,
    line_height: u32,
}

impl Board {
    fn next_id(&self) -> u32 {
        self.panels.len() as u32 + 1
    }
    fn new_line(&mut self) {
        self.y += self.line_height;
        self.x = 0;
        self.line_height = 0;
    }
    /// Starts a new (expanded) row titled `title`.
    pub(crate) fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.new_line();
        }
        let id = self.next_id();
        self.panels.push(Panel {
            collapsed: Some(false),
            datasource: None,
            description: None,
            field_config: None,
            grid_pos: GridPos {
                h: 1,
                w: 24,
                x: 0,
                y: self.y,
            },
            id,
            options: None,
            panels: Some(Vec::new()),
            targets: Vec::new(),
            title: title.to_owned(),
            kind: "row".to_owned(),
        });
        self.y += 1;
    }
    /// Places `spec` in the next `w` × `h` slot.
    pub(crate) fn add(&mut self, w: u32, h: u32, spec: Spec) {
        if self.x + w > 24 {
            self.new_line();
        }
        let pos = GridPos {
            h,
            w,
            x: self.x,
            y: self.y,
        };
        let id = self.next_id();
        self.panels.push(spec.build(id, pos));
        self.x += w;
        self.line_height = self.line_height.max(h);
    }
    /// The placed panels.
    pub(crate) fn into_panels(self) -> Vec<Panel> {
        self.panels
    }
}

/// The `datasource` variable: any Prometheus datasource.
pub(crate) fn datasource_variable() -> Variable {
    Variable {
        current: Empty {},
        all_value: None,
        datasource: None,
        definition: None,
        hide: 0,
        include_all: false,
        label: "Data source".to_owned(),
        multi: false,
        name: "datasource".to_owned(),
        options: Vec::new(),
        query: VariableQuery::Plugin("prometheus".to_owned()),
        refresh: 1,
        regex: String::new(),
        sort: None,
        kind: "datasource".to_owned(),
    }
}

/// A `label_values(selector, label)` variable; `multi` ones offer "All" (matching everything).
pub(crate) fn label_values_variable(
    name: &str,
    label: &str,
    selector: &str,
    values_of: &str,
    multi: bool,
) -> Variable {
    let query = format!("label_values({selector}, {values_of})");
    Variable {
        current: Empty {},
        all_value: multi.then(|| ".*".to_owned()),
        datasource: Some(DataSourceRef::prometheus()),
        definition: Some(query.clone()),
        hide: 0,
        include_all: multi,
        label: label.to_owned(),
        multi,
        name: name.to_owned(),
        options: Vec::new(),
        query: VariableQuery::Prometheus(PrometheusVariableQuery {
            qry_type: 1,
            query,
            ref_id: "PrometheusVariableQueryEditor-VariableQuery".to_owned(),
        }),
        refresh: 2,
        regex: String::new(),
        sort: Some(1),
        kind: "query".to_owned(),
    }
}

/// A dashboard with obskit's conventions: tagged `obskit`, linked to its siblings.
pub(crate) fn dashboard(
    uid: &str,
    title: &str,
    description: &str,
    from: &str,
    variables: Vec<Variable>,
    board: Board,
) -> Dashboard {
    Dashboard {
        annotations: AnnotationList {
            list: vec![BuiltinAnnotation {
                built_in: 1,
                datasource: DataSourceRef {
                    kind: "grafana".to_owned(),
                    uid: "-- Grafana --".to_owned(),
                },
                enable: true,
                hide: true,
                icon_color: "rgba(0, 211, 255, 1)".to_owned(),
                name: "Annotations & Alerts".to_owned(),
                kind: "dashboard".to_owned(),
            }],
        },
        description: description.to_owned(),
        editable: true,
        fiscal_year_start_month: 0,
        graph_tooltip: 1,
        id: None,
        links: vec![DashboardLink {
            as_dropdown: false,
            icon: "external link".to_owned(),
            include_vars: true,
            keep_time: true,
            tags: vec!["obskit".to_owned()],
            target_blank: false,
            title: "obskit".to_owned(),
            tooltip: String::new(),
            kind: "dashboards".to_owned(),
            url: String::new(),
        }],
        panels: board.into_panels(),
        refresh: "1m".to_owned(),
        schema_version: SCHEMA_VERSION,
        tags: vec!["obskit".to_owned()],
        templating: Templating {
            list: std::iter::once(datasource_variable())
                .chain(variables)
                .collect(),
        },
        time: TimeRange {
            from: from.to_owned(),
            to: "now".to_owned(),
        },
        timepicker: Empty {},
        timezone: "browser".to_owned(),
        title: title.to_owned(),
        uid: uid.to_owned(),
        version: 1,
        week_start: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_flows_left_to_right_and_wraps() {
        let mut b = Board::default();
        b.row("r");
        b.add(12, 8, Spec::stat("a", "short", "d").query("up", ""));
        b.add(12, 6, Spec::stat("b", "short", "d"));
        b.add(8, 4, Spec::stat("c", "short", "d"));
        b.row("s");
        let p = b.into_panels();
        let pos: Vec<(u32, u32, u32)> = p
            .iter()
            .map(|p| (p.id, p.grid_pos.x, p.grid_pos.y))
            .collect();
        assert_eq!(
            pos,
            [(1, 0, 0), (2, 0, 1), (3, 12, 1), (4, 0, 9), (5, 0, 13)]
        );
        assert_eq!(p[1].targets[0].ref_id, "A");
    }
}
