//! The Kubernetes manifest against the service itself: every probe in
//! deploy/deployment.yaml points at the port the service listens on and at a route it
//! answers, every file in deploy/ is listed in deploy/Kustomization, and the termination
//! grace outlasts the shutdown bounds, so Kubernetes never cuts a clean shutdown short.
{%- if grpc %}
//! The probes are native gRPC probes, which the gRPC health service answers SERVING for
//! the probe's service name.
{%- endif %}

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use obskit::config::ShutdownBounds;
{%- if grpc %}
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
{%- endif %}
use yaml_serde::Value;

mod common;

/// How long the service may take to answer its probes.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The probes a container has, in the order Kubernetes runs them.
const PROBES: [&str; 3] = ["startupProbe", "livenessProbe", "readinessProbe"];

fn deploy_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy"))
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn deployment() -> Value {
    read_yaml(&deploy_dir().join("deployment.yaml"))
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

/// The container's variables that have a value of their own.
fn env(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_sequence()
        .expect("the container has env")
        .iter()
        .filter_map(|var| {
            Some((
                var["name"].as_str()?.to_owned(),
                var["value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}
{%- unless grpc %}

/// The port number a probe's `port` means: a number, or the name of a container port.
fn port_number(container: &Value, port: &Value) -> u64 {
    if let Some(number) = port.as_u64() {
        return number;
    }
    let name = port.as_str().expect("a port is a number or a name");
    container["ports"]
        .as_sequence()
        .expect("the container has ports")
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port named {name}"))
}
{%- endunless %}

#[test]
fn termination_grace_outlasts_the_shutdown_bounds() {
    let deployment = deployment();
    let env = env(container(&deployment));
    let bounds = ShutdownBounds::from_env_with(|name| env.get(name).cloned())
        .expect("the manifest's OBSKIT_* values are valid");
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds is set");
    assert!(
        Duration::from_secs(grace) > bounds.total(),
        "terminationGracePeriodSeconds is {grace} s, but a graceful shutdown may take \
         {:?} ({bounds:?}); raise it above that",
        bounds.total()
    );
}

#[test]
{%- if grpc %}
fn every_probe_is_a_grpc_probe_on_the_port_the_service_listens_on() {
{%- else %}
fn every_probe_uses_the_port_the_service_listens_on() {
{%- endif %}
    let deployment = deployment();
    let container = container(&deployment);
    let port: u64 = env(container)["PORT"].parse().expect("PORT is a number");
    for name in PROBES {
{%- if grpc %}
        let probe = &container[name]["grpc"];
        assert!(probe.is_mapping(), "{name} is a gRPC probe");
        // A gRPC probe takes a port number; Kubernetes rejects a name there.
        assert_eq!(probe["port"].as_u64(), Some(port), "{name}");
{%- else %}
        let probe = &container[name]["httpGet"];
        assert!(probe.is_mapping(), "{name} is an HTTP probe");
        assert_eq!(port_number(container, &probe["port"]), port, "{name}");
{%- endif %}
    }
}

#[test]
fn the_kustomization_lists_every_file_in_deploy() {
    let kustomization = read_yaml(&deploy_dir().join("Kustomization"));
    let mut listed: Vec<String> = kustomization["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("a file name").to_owned())
        .collect();
    listed.sort();
    let mut files: Vec<String> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    files.sort();
    assert_eq!(listed, files, "deploy/Kustomization's resources");
}

/// The service binary on a free port; killed when dropped.
struct Service {
    child: Child,
    port: u16,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
{%- if grpc %}

/// The health status for `service`, or `None` while the server does not answer.
async fn health(port: u16, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .ok()?;
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let response = HealthClient::new(channel).check(request).await.ok()?;
    Some(response.into_inner().status())
}
{%- endif %}

#[tokio::test]
{%- if grpc %}
async fn the_health_service_answers_every_probe() {
{%- else %}
async fn every_probe_path_is_a_route_the_service_answers() {
{%- endif %}
    if !common::servers_running() {
        return;
    }
    let deployment = deployment();
    let container = container(&deployment);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_{{project-name}}"))
        .env("PORT", port.to_string())
        .env("OTEL_TRACES_EXPORTER", "none")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service binary starts");
    let service = Service { child, port };
{%- unless grpc %}
    let client = obskit::reqwest::Client::new();
{%- endunless %}
    for name in PROBES {
{%- if grpc %}
        // No `service` field is the whole server, "".
        let service_name = container[name]["grpc"]["service"].as_str().unwrap_or("");
{%- else %}
        let path = container[name]["httpGet"]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has a path"));
        let url = format!("http://127.0.0.1:{}{path}", service.port);
{%- endif %}
        let deadline = Instant::now() + TIMEOUT;
        loop {
{%- if grpc %}
            let status = health(service.port, service_name).await;
            if status == Some(ServingStatus::Serving) {
{%- else %}
            let status = client.get(&url).send().await.map(|r| r.status().as_u16());
            if matches!(status, Ok(200)) {
{%- endif %}
                break;
            }
            assert!(
                Instant::now() < deadline,
{%- if grpc %}
                "{name} (service {service_name:?}) answers {status:?}, not SERVING"
{%- else %}
                "{name} {path} answers {status:?}, not 200"
{%- endif %}
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
