//! Known traffic: rounds of requests, once a second, that mix every kind of request the
//! dashboards and rules look at (successes, a route with a parameter, server errors, requests
//! slower than the latency SLO, outgoing calls, unmatched paths, messages published to
//! RabbitMQ and NATS, database and cache queries), plus the readiness probe a kubelet would
//! send. Counts what the service should have recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::task::JoinSet;

/// One kind of request of a round.
struct Kind {
    /// The path sent (`{n}` is replaced by a counter).
    path: &'static str,
    /// The route template the service records it under, `None` for an unmatched path.
    route: Option<&'static str>,
    /// The status the service must answer.
    status: u16,
    /// How many of them each round sends.
    per_round: u64,
}

/// The mix of one round: 33 requests, of which one fails and one is slow; three make a gRPC
/// call (one answered UNAVAILABLE); five publish a message to RabbitMQ and five to NATS (one
/// of each the consumer dead-letters); five query the datastores (one with a syntax error).
const ROUND: [Kind; 14] = [
    Kind {
        path: "/ok",
        route: Some("/ok"),
        status: 200,
        per_round: 6,
    },
    Kind {
        path: "/users/{n}",
        route: Some("/users/{id}"),
        status: 200,
        per_round: 4,
    },
    Kind {
        path: "/fail",
        route: Some("/fail"),
        status: 500,
        per_round: 1,
    },
    Kind {
        path: "/slow",
        route: Some("/slow"),
        status: 200,
        per_round: 1,
    },
    Kind {
        path: "/call",
        route: Some("/call"),
        status: 200,
        per_round: 2,
    },
    Kind {
        path: "/grpc/ok",
        route: Some("/grpc/{outcome}"),
        status: 200,
        per_round: 2,
    },
    Kind {
        path: "/grpc/fail",
        route: Some("/grpc/{outcome}"),
        status: 200,
        per_round: 1,
    },
    Kind {
        path: "/no/such/path",
        route: None,
        status: 404,
        per_round: 1,
    },
    Kind {
        path: "/publish/ok",
        route: Some("/publish/{kind}"),
        status: 200,
        per_round: 4,
    },
    Kind {
        path: "/publish/poison",
        route: Some("/publish/{kind}"),
        status: 200,
        per_round: 1,
    },
    Kind {
        path: "/nats/ok",
        route: Some("/nats/{kind}"),
        status: 200,
        per_round: 4,
    },
    Kind {
        path: "/nats/poison",
        route: Some("/nats/{kind}"),
        status: 200,
        per_round: 1,
    },
    Kind {
        path: "/db/ok",
        route: Some("/db/{kind}"),
        status: 200,
        per_round: 4,
    },
    Kind {
        path: "/db/fail",
        route: Some("/db/{kind}"),
        status: 200,
        per_round: 1,
    },
];

/// What the traffic should have left in the service's counters.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Server requests per route template, the ones `/call` makes to `/ok` included.
    pub(crate) server_by_route: BTreeMap<&'static str, u64>,
    /// Server requests per status code.
    pub(crate) server_by_status: BTreeMap<u16, u64>,
    /// Outgoing calls the service made.
    pub(crate) client_calls: u64,
    /// gRPC calls the service made to itself and served, answered OK.
    pub(crate) grpc_ok: u64,
    /// gRPC calls the service made to itself and served, answered UNAVAILABLE.
    pub(crate) grpc_unavailable: u64,
    /// Messages published to RabbitMQ that the consumer acknowledges.
    pub(crate) messages_ok: u64,
    /// Messages published to RabbitMQ that the consumer dead-letters.
    pub(crate) messages_poison: u64,
    /// Messages published to NATS that the consumer acknowledges.
    pub(crate) nats_ok: u64,
    /// Messages published to NATS that the consumer terminates.
    pub(crate) nats_poison: u64,
    /// `GET /db/ok` requests: each a `SELECT 1`, a Redis `SETEX` and a `GET`.
    pub(crate) db_ok: u64,
    /// `GET /db/fail` requests: each a statement refused with SQLSTATE 42601.
    pub(crate) db_fail: u64,
    /// Requests whose answer was not the expected one.
    pub(crate) surprises: Vec<String>,
}

impl Tally {
    /// All server requests.
    pub(crate) fn server_total(&self) -> u64 {
        self.server_by_status.values().sum()
    }
}

/// Sends `rounds` rounds to `base` (`http://127.0.0.1:<port>`), one every `every`; the
/// requests of a round run concurrently.
pub(crate) async fn drive(base: &str, rounds: u64, every: Duration) -> Tally {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let mut tally = Tally::default();
    let mut ticker = tokio::time::interval(every);
    let mut n = 0_u64;
    for _ in 0..rounds {
        ticker.tick().await;
        let mut requests = JoinSet::new();
        // The kubelet's readiness probe: not counted by RED. obskit only updates
        // obskit_health_ready when /health/ready is probed; it reads 0 until the first probe,
        // so without this a healthy service would have ObskitNotReady pending.
        spawn_get(&mut requests, &client, format!("{base}/health/ready"), 200);
        for kind in &ROUND {
            for _ in 0..kind.per_round {
                n += 1;
                let path = kind.path.replace("{n}", &n.to_string());
                spawn_get(&mut requests, &client, format!("{base}{path}"), kind.status);
            }
            if let Some(route) = kind.route {
                *tally.server_by_route.entry(route).or_default() += kind.per_round;
            }
            *tally.server_by_status.entry(kind.status).or_default() += kind.per_round;
            match kind.path {
                "/grpc/ok" => tally.grpc_ok += kind.per_round,
                "/grpc/fail" => tally.grpc_unavailable += kind.per_round,
                "/publish/ok" => tally.messages_ok += kind.per_round,
                "/publish/poison" => tally.messages_poison += kind.per_round,
                "/nats/ok" => tally.nats_ok += kind.per_round,
                "/nats/poison" => tally.nats_poison += kind.per_round,
                "/db/ok" => tally.db_ok += kind.per_round,
                "/db/fail" => tally.db_fail += kind.per_round,
                _ => {}
            }
            if kind.path == "/call" {
                // Each /call makes one outgoing call to /ok, which the service also serves.
                tally.client_calls += kind.per_round;
                *tally.server_by_route.entry("/ok").or_default() += kind.per_round;
                *tally.server_by_status.entry(200).or_default() += kind.per_round;
            }
        }
        while let Some(done) = requests.join_next().await {
            if let Ok(Err(surprise)) = done {
                tally.surprises.push(surprise);
            }
        }
    }
    tally
}

fn spawn_get(
    set: &mut JoinSet<Result<(), String>>,
    client: &reqwest::Client,
    url: String,
    expected: u16,
) {
    let client = client.clone();
    set.spawn(async move {
        match client.get(&url).send().await {
            Ok(response) if response.status().as_u16() == expected => {
                let _ = response.bytes().await;
                Ok(())
            }
            Ok(response) => Err(format!(
                "GET {url}: {} (expected {expected})",
                response.status()
            )),
            Err(e) => Err(format!("GET {url}: {e}")),
        }
    });
}
