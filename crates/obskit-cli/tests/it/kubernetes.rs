//! A generated service's `deploy/` as Kubernetes validates it, for every template variant
//! (no cluster runs here): every object passes the strict schema of its kind, so a
//! misspelt or misplaced field fails as `kubectl apply --validate=strict` fails it.
//! Kubernetes' own kinds use its published schemas, ServiceMonitor and PrometheusRule
//! the Prometheus Operator's CRD schemas and ScaledObject KEDA's, vendored in `tests/it/kubernetes/schemas.json`
//! (`tests/it/kubernetes/vendor.py` rebuilds it). Also: `deploy/Kustomization` lists every
//! file, the Deployment's shutdown settings are obskit's defaults and its grace period
//! outlasts them, a `--grpc` service is probed and served as gRPC, and the
//! `OTEL_RESOURCE_ATTRIBUTES` Kubernetes builds from the downward API names the pod.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use obskit::config::{ShutdownBounds, shutdown_bound};
use obskit_cli::template::GeneratedFile;
use serde_json::{Value, json};

/// The schema definition each kind is validated against.
const KINDS: [(&str, &str, &str); 7] = [
    ("apps/v1", "Deployment", "io.k8s.api.apps.v1.Deployment"),
    ("v1", "Service", "io.k8s.api.core.v1.Service"),
    ("v1", "ConfigMap", "io.k8s.api.core.v1.ConfigMap"),
    (
        "policy/v1",
        "PodDisruptionBudget",
        "io.k8s.api.policy.v1.PodDisruptionBudget",
    ),
    (
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "com.coreos.monitoring.v1.ServiceMonitor",
    ),
    (
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        "com.coreos.monitoring.v1.PrometheusRule",
    ),
    (
        "keda.sh/v1alpha1",
        "ScaledObject",
        "sh.keda.v1alpha1.ScaledObject",
    ),
];

fn definitions() -> &'static Value {
    static DEFS: OnceLock<Value> = OnceLock::new();
    DEFS.get_or_init(|| {
        let path = common::repo_root().join("crates/obskit-cli/tests/it/kubernetes/schemas.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let schemas: Value = serde_json::from_str(&text).unwrap();
        schemas["$defs"].clone()
    })
}

/// What the schema of `object`'s kind finds wrong with it (empty when it is valid).
fn problems(object: &Value) -> Vec<String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let Some((_, _, definition)) = KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
    else {
        return vec![format!(
            "no schema for apiVersion {api_version:?} kind {kind:?}"
        )];
    };
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/$defs/{definition}"),
        "$defs": definitions(),
    });
    let validator = jsonschema::validator_for(&schema).expect("the vendored schema compiles");
    validator
        .iter_errors(object)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The objects in `deploy/` of a rendered project, by file name.
fn deploy_objects(files: &[GeneratedFile]) -> BTreeMap<String, Value> {
    files
        .iter()
        .filter_map(|f| {
            let path = common::slash_path(&f.path);
            let name = path.strip_prefix("deploy/")?;
            let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
            yaml.then(|| {
                let text = std::str::from_utf8(&f.contents).unwrap();
                let object: Value = yaml_serde::from_str(text)
                    .unwrap_or_else(|e| panic!("{path} is not one YAML document: {e}"));
                (name.to_owned(), object)
            })
        })
        .collect()
}

/// The project rendered for every combination of the template's options, labelled.
fn variants() -> Vec<(String, Vec<GeneratedFile>)> {
    common::combinations()
        .iter()
        .map(|c| (common::label(c), common::render_combination("my-svc", c)))
        .collect()
}

fn file<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
    let file = files
        .iter()
        .find(|f| common::slash_path(&f.path) == path)
        .unwrap_or_else(|| panic!("no {path}"));
    std::str::from_utf8(&file.contents).unwrap()
}

#[test]
fn every_object_in_deploy_passes_its_strict_schema() {
    for (variant, files) in variants() {
        let objects = deploy_objects(&files);
        let kinds: BTreeSet<&str> = objects
            .values()
            .filter_map(|o| o["kind"].as_str())
            .collect();
        let mut expected = BTreeSet::from([
            "ConfigMap",
            "Deployment",
            "PodDisruptionBudget",
            "PrometheusRule",
            "Service",
            "ServiceMonitor",
        ]);
        // A service with a worker scales on its queue's depth.
        if variant.contains("--messaging") {
            expected.insert("ScaledObject");
        }
        assert_eq!(kinds, expected, "{variant}");
        for (name, object) in &objects {
            let found = problems(object);
            assert!(
                found.is_empty(),
                "{variant}: deploy/{name} fails its schema:\n{}",
                found.join("\n")
            );
        }
    }
}

#[test]
fn every_object_fits_client_side_apply() {
    // `kubectl apply` keeps each object's JSON in its last-applied-configuration
    // annotation, and the API server refuses annotations over 256 KiB in total: a
    // dashboard ConfigMap that grew past it could only be applied server-side.
    const ANNOTATIONS_LIMIT: usize = 256 * 1024;
    for (variant, files) in variants() {
        for (name, object) in deploy_objects(&files) {
            let size = serde_json::to_string(&object).unwrap().len();
            assert!(
                size < ANNOTATIONS_LIMIT / 2,
                "{variant}: deploy/{name} is {size} bytes as JSON; split it"
            );
        }
    }
}

#[test]
fn the_schemas_refuse_what_kubernetes_refuses() {
    let files = common::render_default("my-svc");
    let objects = deploy_objects(&files);
    let mut deployment = objects["deployment.yaml"].clone();
    // A misspelt probe, a string where a number goes, a missing required field.
    let container = &mut deployment["spec"]["template"]["spec"]["containers"][0];
    container["livenesProbe"] = container["livenessProbe"].clone();
    deployment["spec"]["replicas"] = json!("two");
    deployment["spec"]
        .as_object_mut()
        .unwrap()
        .remove("selector");
    let found = problems(&deployment).join("\n");
    for expected in ["livenesProbe", "\"two\"", "selector"] {
        assert!(found.contains(expected), "{expected}: {found}");
    }
    let mut monitor = objects["servicemonitor.yaml"].clone();
    monitor["spec"]["endpoints"][0]["intervall"] = json!("15s");
    assert!(
        problems(&monitor).join("\n").contains("intervall"),
        "the ServiceMonitor schema is strict"
    );
    let mut rule = objects["obskit-slo.prometheusrule.yml"].clone();
    rule["spec"]["groups"][0]["rules"][0]["for"] = json!("five minutes");
    assert!(
        !problems(&rule).is_empty(),
        "a PrometheusRule's `for` must be a duration"
    );
}

#[test]
fn the_kustomization_lists_every_file_in_deploy() {
    for (variant, files) in variants() {
        let kustomization: Value =
            yaml_serde::from_str(file(&files, "deploy/Kustomization")).unwrap();
        assert_eq!(kustomization["kind"], "Kustomization");
        let listed: BTreeSet<String> = kustomization["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        let present: BTreeSet<String> = deploy_objects(&files).into_keys().collect();
        assert_eq!(listed, present, "{variant}");
    }
}

/// The container's variables that have a value of their own.
fn plain_env(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| {
            Some((
                v["name"].as_str()?.to_owned(),
                v["value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn the_grace_period_outlasts_obskits_shutdown_bounds() {
    for (variant, files) in variants() {
        let deployment = &deploy_objects(&files)["deployment.yaml"];
        let pod = &deployment["spec"]["template"]["spec"];
        let env = plain_env(&pod["containers"][0]);
        let bounds = ShutdownBounds::from_env_with(|name| env.get(name).cloned()).unwrap();
        // The manifest states obskit's defaults, so the two cannot drift apart.
        assert_eq!(bounds, ShutdownBounds::DEFAULT, "{variant}");
        let grace = Duration::from_secs(pod["terminationGracePeriodSeconds"].as_u64().unwrap());
        assert!(grace > shutdown_bound(), "{variant}: {grace:?}");
    }
}

#[test]
fn a_grpc_service_is_probed_and_served_as_grpc() {
    let grpc = deploy_objects(&common::render_grpc("my-svc"));
    let http = deploy_objects(&common::render_default("my-svc"));
    let probes = ["startupProbe", "livenessProbe", "readinessProbe"];
    let container = &grpc["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0];
    let services: Vec<&str> = probes
        .iter()
        .map(|p| {
            assert_eq!(container[p]["grpc"]["port"], 8080, "{p}");
            container[p]["grpc"]["service"].as_str().unwrap_or("")
        })
        .collect();
    // obskit::grpc::{STARTUP_SERVICE, LIVENESS_SERVICE}, and "" for readiness (this
    // test binary builds obskit without its `grpc` feature).
    assert_eq!(services, ["startup", "liveness", ""]);
    assert_eq!(
        grpc["service.yaml"]["spec"]["ports"][0]["appProtocol"],
        "kubernetes.io/h2c"
    );
    let container = &http["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0];
    for probe in probes {
        assert!(container[probe]["httpGet"]["path"].is_string(), "{probe}");
    }
    assert!(http["service.yaml"]["spec"]["ports"][0]["appProtocol"].is_null());
}

#[test]
fn the_pod_is_named_in_the_resource_attributes() {
    let pod = BTreeMap::from([
        ("metadata.name", "my-svc-5d8f7c6b9-x2x7q"),
        ("metadata.namespace", "payments"),
        ("metadata.uid", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
        ("spec.nodeName", "node-3"),
    ]);
    for (variant, files) in variants() {
        let deployment = &deploy_objects(&files)["deployment.yaml"];
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let env = common::kubelet_env(container, &pod);
        let attributes = &env
            .iter()
            .find(|(name, _)| name == "OTEL_RESOURCE_ATTRIBUTES")
            .unwrap()
            .1;
        assert!(!attributes.contains("$("), "{variant}: {attributes}");
        let pairs: BTreeMap<&str, &str> = attributes
            .split(',')
            .map(|pair| pair.split_once('=').unwrap())
            .collect();
        for (key, value) in [
            ("k8s.pod.name", "my-svc-5d8f7c6b9-x2x7q"),
            ("k8s.namespace.name", "payments"),
            ("k8s.node.name", "node-3"),
            ("k8s.pod.uid", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
            ("k8s.container.name", "my-svc"),
            ("k8s.deployment.name", "my-svc"),
            (
                "service.instance.id",
                "payments.my-svc-5d8f7c6b9-x2x7q.my-svc",
            ),
        ] {
            assert_eq!(pairs.get(key), Some(&value), "{variant}: {attributes}");
        }
        // obskit accepts it as the container would get it.
        obskit::Config::from_env_with(|name| {
            env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        })
        .unwrap();
    }
}
