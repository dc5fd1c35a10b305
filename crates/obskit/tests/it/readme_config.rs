//! README's configuration table lists every variable obskit reads.

#[test]
fn the_readme_lists_every_variable() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .expect("README.md at the workspace root");
    let missing: Vec<&str> = obskit::config::env::ALL
        .iter()
        .copied()
        .filter(|var| {
            // `OTEL_EXPORTER_OTLP_TRACES_X` may be written `..._TRACES_X` next
            // to its generic form, and `..._LOGS_X`, `..._METRICS_X` likewise.
            let short = var
                .split_once("_TRACES_")
                .map(|(_, rest)| format!("`..._TRACES_{rest}`"))
                .or_else(|| {
                    var.strip_prefix("OTEL_EXPORTER_OTLP_LOGS_")
                        .map(|rest| format!("`..._LOGS_{rest}`"))
                })
                .or_else(|| {
                    var.strip_prefix("OTEL_EXPORTER_OTLP_METRICS_")
                        .map(|rest| format!("`..._METRICS_{rest}`"))
                });
            !readme.contains(&format!("`{var}`")) && short.is_none_or(|s| !readme.contains(&s))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "README's configuration table lacks {missing:?}"
    );
}
