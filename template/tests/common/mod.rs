//! What the tests that start the compiled service share: `main` connects to every server
//! the service uses before it listens, so those tests need the servers running here.
{%- if postgres or redis %}
//! And what the tests of the database and cache modules share: a connection to each
//! server (or a skip, saying why), unique names, and the readiness check.
{%- endif %}

// Each test file uses what it needs of this module.
#![allow(dead_code)]

use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// A server `main` connects to at start.
struct Server {
    /// What it is, for the message.
    what: &'static str,
    /// The variable holding its URL.
    var: &'static str,
    /// The URL used when that variable is not set.
    default_url: &'static str,
}

/// Every server `main` connects to at start.
const SERVERS: &[Server] = &[
    // The options this service was generated with add their servers here.
{%- if messaging == "rabbitmq" %}
    Server {
        what: "RabbitMQ",
        var: {{crate_name}}::broker::URL_VAR,
        default_url: {{crate_name}}::broker::DEFAULT_URL,
    },
{%- elsif messaging == "nats" %}
    Server {
        what: "NATS",
        var: {{crate_name}}::broker::URL_VAR,
        default_url: {{crate_name}}::broker::DEFAULT_URL,
    },
{%- endif %}
{%- if postgres %}
    Server {
        what: "PostgreSQL",
        var: {{crate_name}}::store::URL_VAR,
        default_url: {{crate_name}}::store::DEFAULT_URL,
    },
{%- endif %}
{%- if redis %}
    Server {
        what: "Redis",
        var: {{crate_name}}::cache::URL_VAR,
        default_url: {{crate_name}}::cache::DEFAULT_URL,
    },
{%- endif %}
];

/// Whether every server the service connects to at start accepts connections. When one
/// does not, prints which, where, and how to start it, and returns `false`: the test
/// skips. With `CI` set it fails instead, so CI never passes without the servers.
pub fn servers_running() -> bool {
    SERVERS.iter().all(running)
}

/// Whether the server whose URL the variable `var` holds accepts connections, as
/// [`servers_running`] checks it: a test that needs only that server skips at once
/// without it, instead of waiting for a client that retries.
pub fn server_running(var: &str) -> bool {
    SERVERS
        .iter()
        .filter(|server| server.var == var)
        .all(running)
}

/// Whether `server` accepts connections; see [`servers_running`].
fn running(server: &Server) -> bool {
    let &Server {
        what,
        var,
        default_url,
    } = server;
    let url = std::env::var(var).unwrap_or_else(|_| default_url.to_owned());
    let Err(err) = connect(&url, default_url) else {
        return true;
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "no {what} at {url} ({err}); the service needs it to start"
    );
    eprintln!(
        "skipped: no {what} at {url} ({err}); the service needs it to start; \
         README.md says how to start one, or set {var}"
    );
    false
}

/// Opens a TCP connection to the host and port of `url` (the port of `default` when `url`
/// names none).
fn connect(url: &str, default: &str) -> std::io::Result<()> {
    let host = host_and_port(url).ok_or_else(|| std::io::Error::other("not a URL with a host"))?;
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    let address = if has_port {
        host.to_owned()
    } else {
        let port = host_and_port(default)
            .and_then(|address| address.rsplit_once(':'))
            .map_or("", |(_, port)| port);
        format!("{host}:{port}")
    };
    let mut last = std::io::Error::other(format!("{address} resolves to no address"));
    for socket in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&socket, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(err) => last = err,
        }
    }
    Err(last)
}

/// The `host:port` part of `scheme://user:password@host:port/path`.
fn host_and_port(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (!host.is_empty()).then_some(host)
}
{%- if postgres %}

/// A pool on the local PostgreSQL (migrated), or `None` when none runs here; see
/// [`reached`].
pub async fn pool(telemetry: &obskit::Telemetry) -> Option<obskit::db::postgres::Pool> {
    use {{crate_name}}::store;
    let url = std::env::var(store::URL_VAR).unwrap_or_else(|_| store::DEFAULT_URL.to_owned());
    reached("PostgreSQL", &url, store::connect(telemetry, &url).await)
}
{%- endif %}
{%- if redis %}

/// A connection to the local Redis, or `None` when none runs here; see [`reached`].
pub async fn cache(telemetry: &obskit::Telemetry) -> Option<{{crate_name}}::cache::Cache> {
    use {{crate_name}}::cache;
    let url = std::env::var(cache::URL_VAR).unwrap_or_else(|_| cache::DEFAULT_URL.to_owned());
    reached("Redis", &url, cache::connect(telemetry, &url).await)
}
{%- endif %}
{%- if postgres or redis %}

/// The client connected to `what` at `url`, or `None` when it could not connect: the test
/// says why and skips. With `CI` set it fails instead, so CI never passes without the
/// server.
fn reached<T>(what: &str, url: &str, connected: anyhow::Result<T>) -> Option<T> {
    match connected {
        Ok(client) => Some(client),
        Err(err) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "no {what} at {url}: {err:#}");
            eprintln!("skipped: no {what} at {url} ({err:#}); README.md says how to start one");
            None
        }
    }
}

/// A name no other run uses, for rows and keys in shared servers.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}")
}

/// Asserts that `/health/ready` reports the check `name` up (a connection registers its
/// check with `telemetry` when it is made).
pub async fn assert_ready(telemetry: &obskit::Telemetry, name: &str) {
    let report = telemetry.health().readiness().await;
    let check = report
        .checks
        .iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report:?}"));
    assert_eq!(check.status, obskit::health::Status::Up, "{check:?}");
}
{%- endif %}
