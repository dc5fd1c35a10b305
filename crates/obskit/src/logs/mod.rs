//! Logs: an `EnvFilter`, the JSON (or pretty) formatter, and a bounded,
//! non-blocking writer whose dropped lines are counted.

mod duration;
mod fields;
pub(crate) mod json;
pub(crate) mod light;
pub(crate) mod otlp;
mod writer;

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::thread::LocalKey;

use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

pub(crate) use duration::log_millis;
pub(crate) use json::{DirectLines, LineKey, Value as LineValue};
pub(crate) use light::{LightSpans, WithLightSpans};
pub(crate) use writer::{CapturedLines, DroppedLines, LineWriter, WriterGuard};

use crate::config::{Config, LogFormat, server};

/// Where log lines go.
pub(crate) enum Output {
    Stdout,
    Writer(Box<dyn std::io::Write + Send + 'static>),
    /// Kept in memory, written by no thread: for tests.
    Memory,
}

/// The writer half: a bounded buffer drained by a background thread.
pub(crate) struct Writer {
    pub(crate) writer: LineWriter,
    pub(crate) guard: WriterGuard,
    pub(crate) dropped: DroppedLines,
    /// The lines, for an [`Output::Memory`] writer.
    pub(crate) captured: Option<CapturedLines>,
}

pub(crate) fn writer(config: &Config, output: Output) -> std::io::Result<Writer> {
    let output: Box<dyn std::io::Write + Send> = match output {
        Output::Stdout => Box::new(std::io::stdout()),
        Output::Writer(w) => w,
        Output::Memory => {
            let (writer, dropped, guard, captured) = LineWriter::in_memory();
            return Ok(Writer {
                writer,
                guard,
                dropped,
                captured: Some(captured),
            });
        }
    };
    let (writer, dropped, guard) = LineWriter::start(output, config.log_buffer_lines)?;
    Ok(Writer {
        writer,
        guard,
        dropped,
        captured: None,
    })
}

/// The filter applied to the whole stack, spans and events, logs and traces alike.
pub(crate) fn filter(config: &Config) -> EnvFilter {
    // Validated when the configuration was built.
    EnvFilter::builder()
        .parse(&config.log_filter)
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Access lines written without a `tracing` event, for JSON logs.
pub(crate) fn direct_lines(
    config: &Config,
    service_name: &str,
    writer: &LineWriter,
) -> Option<DirectLines> {
    match config.log_format {
        LogFormat::Json => Some(DirectLines::new(service_name, writer.clone())),
        LogFormat::Pretty => None,
    }
}

/// The log layer for the configured format.
///
/// `light`: the spans obskit's subscriber keeps out of the registry, which
/// the JSON layer lists in the lines logged inside them.
pub(crate) fn layer<S>(
    config: &Config,
    service_name: &str,
    writer: LineWriter,
    light: Option<Arc<LightSpans>>,
) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    match config.log_format {
        LogFormat::Json => json::JsonLayer::new(service_name, writer)
            .with_light(light)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .pretty()
            .with_writer(writer)
            .boxed(),
    }
}

/// A server layer's access log: the level its lines are written at
/// (`None`: off), and the direct writer when obskit owns the subscriber.
/// The HTTP and gRPC layers each hold one.
#[derive(Clone)]
pub(crate) struct AccessLog {
    pub(crate) level: Option<tracing::Level>,
    direct: Option<DirectLines>,
    /// Which requests get a line (`OBSKIT_ACCESS_LOG_STATUS`,
    /// `OBSKIT_ACCESS_LOG_MIN_DURATION`); `None`: every one.
    filter: Option<Arc<server::AccessFilter>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt::Debug::fmt(&self.level, f)
    }
}

impl AccessLog {
    /// At the level `OBSKIT_ACCESS_LOG` says (default `INFO`), written
    /// straight to `direct` (the telemetry's log writer) when there is one.
    pub(crate) fn new(direct: Option<DirectLines>) -> Self {
        Self {
            level: server::from_process_env(server::access_log, server::DEFAULT_ACCESS_LOG),
            direct,
            filter: server::from_process_env(|get| server::access_filter(get).map(Some), None)
                .map(Arc::new),
        }
    }

    /// Whether a request that ended with `status` (if one was sent) after
    /// `elapsed` gets an access line; `failed` marks a failed or cancelled
    /// one (its span has an `error.type`), which always does.
    pub(crate) fn keeps(
        &self,
        status: Option<u16>,
        failed: bool,
        elapsed: std::time::Duration,
    ) -> bool {
        self.level.is_some()
            && self
                .filter
                .as_ref()
                .is_none_or(|f| f.keeps(status, failed, elapsed))
    }

    /// Writes one access line: `message` (its parts joined) and `fields`,
    /// formatted directly when it can be (the message and the fields
    /// before the duration once per `key`, when there is one); otherwise `event` writes it
    /// through `tracing`, given the level and the joined message. Nothing
    /// when the log is off.
    pub(crate) fn write(
        &self,
        key: Option<LineKey<'_>>,
        message: &[&str],
        fields: &[(&str, Option<LineValue<'_>>)],
        event: impl FnOnce(tracing::Level, &str),
    ) {
        let Some(level) = self.level else { return };
        if let Some(direct) = &self.direct
            && direct.write(level, key, message, fields)
        {
            return;
        }
        with_message(message, |message| event(level, message));
    }
}

/// Calls `f` with `parts` joined into one message, built in a buffer kept
/// per thread: an access line's message costs neither an allocation nor the
/// `fmt` machinery.
fn with_message<R>(parts: &[&str], f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
    }
    with_buffer(&MESSAGE, |message| {
        for part in parts {
            message.push_str(part);
        }
        f(message)
    })
}

/// Calls `f` with the empty buffer `key` holds for this thread: a fresh one
/// when `f` is re-entered (a line logged while another is formatted). A
/// buffer grown past 64 KiB by a huge line is let go afterwards.
pub(crate) fn with_buffer<R>(
    key: &'static LocalKey<RefCell<String>>,
    f: impl FnOnce(&mut String) -> R,
) -> R {
    key.with(|cell| {
        let mut fresh = String::new();
        let mut guard = cell.try_borrow_mut();
        let buf: &mut String = match guard.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut fresh,
        };
        buf.clear();
        let result = f(buf);
        if buf.capacity() > 64 * 1024 {
            *buf = String::new();
        }
        result
    })
}

/// Writes an access line (`target: obskit::access`) at a level chosen at run
/// time; `tracing::event!` needs its level as a constant. The HTTP and gRPC
/// layers each pass their own fields and message.
macro_rules! access_event {
    ($level:expr, $($fields:tt)+) => {
        match $level {
            ::tracing::Level::TRACE => {
                ::tracing::event!(target: "obskit::access", ::tracing::Level::TRACE, $($fields)+)
            }
            ::tracing::Level::DEBUG => {
                ::tracing::event!(target: "obskit::access", ::tracing::Level::DEBUG, $($fields)+)
            }
            ::tracing::Level::INFO => {
                ::tracing::event!(target: "obskit::access", ::tracing::Level::INFO, $($fields)+)
            }
            ::tracing::Level::WARN => {
                ::tracing::event!(target: "obskit::access", ::tracing::Level::WARN, $($fields)+)
            }
            ::tracing::Level::ERROR => {
                ::tracing::event!(target: "obskit::access", ::tracing::Level::ERROR, $($fields)+)
            }
        }
    };
}
pub(crate) use access_event;
