//! One module per subcommand; each takes its parsed arguments and a writer for what it
//! reports, and returns an error with context for `main` to print.

pub(crate) mod alerts;
pub(crate) mod dashboards;
#[cfg(feature = "dev")]
pub(crate) mod dev;
pub(crate) mod new;
mod output;
