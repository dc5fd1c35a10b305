//! The OpenTelemetry resource: who is emitting telemetry.
//!
//! Built from the configuration only (never re-read from the environment),
//! so [`Config::from_env_with`](crate::Config::from_env_with) is the whole
//! truth: `service.*` from the configuration, user attributes from
//! `OTEL_RESOURCE_ATTRIBUTES` (where a Kubernetes manifest passes
//! `k8s.pod.name`, `k8s.namespace.name`, `k8s.node.name` and the like from
//! the downward API), then the host, container and process attributes
//! detected here. An attribute the user set is never overwritten by a
//! detected one.
//!
//! The resource is built once per [`Telemetry`](crate::Telemetry): spans,
//! OTLP log records, OTLP metrics and the `target_info` series all carry
//! the same one (one `service.instance.id`).

mod container;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};

use crate::config::Config;

/// Builds the resource for a configuration.
pub(crate) fn build(config: &Config) -> Resource {
    let mut attributes: Vec<KeyValue> = config
        .resource_attributes
        .iter()
        .filter(|(k, _)| k != "service.name" && k != "service.version")
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attributes.push(KeyValue::new(
        "service.version",
        config.resolved_service_version(),
    ));
    if let Some(rev) = config.resolved_vcs_revision() {
        attributes.push(KeyValue::new("vcs.ref.head.revision", rev));
    }
    let has = |key: &str| config.resource_attributes.iter().any(|(k, _)| k == key);
    if !has("service.instance.id") {
        attributes.push(KeyValue::new("service.instance.id", instance_id()));
    }
    if let Some(host) = hostname().filter(|_| !has("host.name")) {
        attributes.push(KeyValue::new("host.name", host));
    }
    if let Some(id) = container::detect().filter(|_| !has("container.id")) {
        attributes.push(KeyValue::new("container.id", id));
    }
    attributes.push(KeyValue::new("host.arch", host_arch()));
    attributes.push(KeyValue::new("os.type", std::env::consts::OS));
    attributes.push(KeyValue::new("process.pid", i64::from(std::process::id())));
    if let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        attributes.push(KeyValue::new("process.executable.name", exe));
    }
    attributes.push(KeyValue::new("process.runtime.name", "rust"));

    let detectors: [Box<dyn ResourceDetector>; 1] = [Box::new(TelemetryResourceDetector)];
    Resource::builder_empty()
        .with_detectors(&detectors)
        .with_attributes(attributes)
        .with_service_name(config.resolved_service_name())
        .build()
}

/// The resource's attributes as `key=value` pairs sorted by key and joined
/// with commas, as the start-up line shows them.
pub(crate) fn describe(resource: &Resource) -> String {
    let mut pairs: Vec<String> = resource
        .iter()
        .map(|(k, v)| format!("{}={v}", k.as_str()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// The machine's host name, from the kernel or `HOSTNAME` (Kubernetes sets the pod name there).
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// `host.arch` in the semantic conventions' words.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

/// A random version-4 UUID identifying this process instance.
fn instance_id() -> String {
    let mut b: [u8; 16] = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use opentelemetry::Key;

    use super::*;

    #[test]
    fn resource_carries_service_user_host_and_process_attributes() {
        let config = Config::from_env_with(|name| match name {
            "OTEL_RESOURCE_ATTRIBUTES" => {
                Some("deployment.environment.name=prod,service.name=ignored,team=pay".into())
            }
            "OTEL_SERVICE_NAME" => Some("checkout".into()),
            _ => None,
        })
        .unwrap()
        .service_version("2.0.1");
        let r = build(&config);
        let get = |k: &'static str| r.get(&Key::from_static_str(k)).map(|v| v.to_string());
        assert_eq!(get("service.name").as_deref(), Some("checkout"));
        assert_eq!(get("service.version").as_deref(), Some("2.0.1"));
        assert_eq!(get("deployment.environment.name").as_deref(), Some("prod"));
        assert_eq!(get("team").as_deref(), Some("pay"));
        assert_eq!(get("telemetry.sdk.language").as_deref(), Some("rust"));
        assert_eq!(get("process.pid"), Some(std::process::id().to_string()));
        assert!(get("host.arch").is_some());
        let id = get("service.instance.id").unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn kubernetes_attributes_pass_through_and_user_values_win() {
        let config = Config::from_env_with(|name| match name {
            "OTEL_RESOURCE_ATTRIBUTES" => Some(
                "k8s.pod.name=checkout-7d9f8-x2x5k,k8s.namespace.name=shop,k8s.node.name=node-3,\
                 k8s.pod.uid=0a947273-7214-4824-8411-875ebd7626e4,container.id=given,host.name=pinned"
                    .into(),
            ),
            _ => None,
        })
        .unwrap();
        let r = build(&config);
        let get = |k: &'static str| r.get(&Key::from_static_str(k)).map(|v| v.to_string());
        assert_eq!(get("k8s.pod.name").as_deref(), Some("checkout-7d9f8-x2x5k"));
        assert_eq!(get("k8s.namespace.name").as_deref(), Some("shop"));
        assert_eq!(get("k8s.node.name").as_deref(), Some("node-3"));
        assert_eq!(
            get("k8s.pod.uid").as_deref(),
            Some("0a947273-7214-4824-8411-875ebd7626e4")
        );
        assert_eq!(get("container.id").as_deref(), Some("given"));
        assert_eq!(get("host.name").as_deref(), Some("pinned"));
    }
}
