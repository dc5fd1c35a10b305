//! Logs: an `EnvFilter`, the JSON (or pretty) formatter, and a bounded,
//! non-blocking writer whose dropped lines are counted.

mod fields;
pub(crate) mod json;

use tracing::Subscriber;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

/// Where log lines go.
pub(crate) enum Output {
    Stdout,
    Writer(Box<dyn std::io::Write + Send + 'static>),
}

/// The writer half: a bounded queue drained by a background thread.
pub(crate) struct Writer {
    pub(crate) writer: NonBlocking,
    pub(crate) guard: WorkerGuard,
    pub(crate) dropped: ErrorCounter,
}

pub(crate) fn writer(config: &Config, output: Output) -> Writer {
    let builder = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(config.log_buffer_lines)
        .thread_name("obskit-log-writer");
    let (writer, guard) = match output {
        // Buffered: the writer thread flushes whenever its queue runs dry,
        // so lines leave promptly but a burst costs one write(2), not one
        // per line (standard output is otherwise line-buffered).
        Output::Stdout => builder.finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        )),
        Output::Writer(w) => builder.finish(w),
    };
    let dropped = writer.error_counter();
    Writer {
        writer,
        guard,
        dropped,
    }
}

/// The filter applied to the whole stack, spans and events, logs and traces alike.
pub(crate) fn filter(config: &Config) -> EnvFilter {
    // Validated when the configuration was built.
    EnvFilter::builder()
        .parse(&config.log_filter)
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The log layer for the configured format.
pub(crate) fn layer<S>(
    config: &Config,
    service_name: &str,
    writer: NonBlocking,
) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    match config.log_format {
        LogFormat::Json => json::JsonLayer::new(service_name, writer).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .pretty()
            .with_writer(writer)
            .boxed(),
    }
}
