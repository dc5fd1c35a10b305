//! Pieces of alert annotations: Go-template references to labels and the value, and the runbook
//! and dashboard links built from [`AlertOptions`].

use super::AlertOptions;
use obskit_names as n;

/// `{{ $labels.<name> }}`.
pub(crate) fn label(name: &str) -> String {
    format!("{{{{ $labels.{name} }}}}")
}

/// `{{ $value | humanizePercentage }}`.
pub(crate) const VALUE_PERCENT: &str = "{{ $value | humanizePercentage }}";
/// `{{ $value | humanizeDuration }}`.
pub(crate) const VALUE_DURATION: &str = "{{ $value | humanizeDuration }}";
/// `{{ $value }}`, for whole numbers (counts).
pub(crate) const VALUE_COUNT: &str = "{{ $value }}";

/// Link to the runbook page of `alert`.
pub(crate) fn runbook_url(opts: &AlertOptions, alert: &str) -> String {
    format!("{}/{alert}.md", opts.runbook_base_url.trim_end_matches('/'))
}

/// Link to dashboard `uid`, scoped to the alert's service (and SLO when `with_slo`).
pub(crate) fn dashboard_url(opts: &AlertOptions, uid: &str, with_slo: bool) -> String {
    let mut url = format!(
        "{}/d/{uid}?var-service={}",
        opts.dashboard_base_url.trim_end_matches('/'),
        label(n::SERVICE_NAME)
    );
    if with_slo {
        url.push_str(&format!("&var-slo={}", label(n::SLO)));
    }
    url
}

/// `value` with at most one decimal and no trailing `.0` (`2`, `2.1`, `10.7`).
pub(crate) fn short_number(value: f64) -> String {
    let rounded = format!("{value:.1}");
    rounded
        .strip_suffix(".0")
        .map_or(rounded.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_the_configured_bases() {
        let opts = AlertOptions {
            runbook_base_url: "https://example.org/rb/".to_owned(),
            dashboard_base_url: "https://grafana.example.org".to_owned(),
            ..AlertOptions::default()
        };
        assert_eq!(runbook_url(&opts, "A"), "https://example.org/rb/A.md");
        assert_eq!(
            dashboard_url(&opts, "u", true),
            "https://grafana.example.org/d/u?var-service={{ $labels.service_name }}&var-slo={{ $labels.slo }}"
        );
    }

    #[test]
    fn short_numbers_drop_trailing_zero() {
        assert_eq!(short_number(2.0), "2");
        assert_eq!(short_number(2.142_857), "2.1");
        assert_eq!(short_number(10.71), "10.7");
    }
}
