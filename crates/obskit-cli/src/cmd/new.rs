//! `obskit new`: render the embedded template for a name and options, write it as a new
//! directory (all or nothing), and tell the user what was created and what to run next.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use obskit_cli::template::{Answers, GeneratedFile, Kind, Template};
use obskit_cli::write::{self, Existing};

use crate::cli::NewArgs;

/// Placeholder holding the obskit version requirement (declared in the template manifest).
const OBSKIT_VERSION: &str = "obskit_version";
/// Placeholder holding the path of a local obskit checkout (declared in the template manifest).
const OBSKIT_PATH: &str = "obskit_path";
/// Where the obskit crate sits when this binary was built inside the obskit workspace.
const BUILT_FROM_CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../obskit");
/// Switch that adds the gRPC service (`--grpc`).
const GRPC: &str = "grpc";
/// Choice of a message broker and a worker (`--messaging`).
const MESSAGING: &str = "messaging";
/// Switch that adds an instrumented PostgreSQL pool (`--postgres`).
const POSTGRES: &str = "postgres";
/// Switch that adds an instrumented Redis connection (`--redis`).
const REDIS: &str = "redis";

/// Runs `obskit new`.
pub(crate) fn run(args: &NewArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let template = Template::embedded().context("the template built into obskit is invalid")?;
    let mut answers = Answers::new(&args.name);
    let dependency = if let Some(path) = &args.obskit_path {
        let path = local_obskit(path)?;
        answers = answers.set(OBSKIT_PATH, &path);
        format!("the obskit checkout at {path}")
    } else if let Some(version) = &args.obskit_version {
        answers = answers.set(OBSKIT_VERSION, version);
        format!("obskit {version}")
    } else if let Ok(path) = local_obskit(Path::new(BUILT_FROM_CHECKOUT)) {
        // This `obskit` was built from a checkout that is still there: the
        // service is generated for development against it. An installed CLI
        // (whose sources sit in Cargo's registry) takes the published version.
        answers = answers.set(OBSKIT_PATH, &path);
        format!(
            "the obskit checkout at {path}, which this obskit was built from (--obskit-version picks a published release instead)"
        )
    } else {
        let default = template
            .manifest()
            .placeholders()
            .iter()
            .find(|p| p.name == OBSKIT_VERSION)
            .and_then(|p| p.default.as_deref())
            .context("the template declares no default obskit version")?;
        format!("obskit {default}")
    };
    if args.grpc {
        answers = answers.enable(GRPC);
    }
    answers = answers.set(MESSAGING, &args.messaging);
    if args.postgres {
        answers = answers.enable(POSTGRES);
    }
    if args.redis {
        answers = answers.enable(REDIS);
    }
    let files = template
        .render(&answers)
        .context("could not render the template")?;

    let target = if args.path == Path::new(".") {
        PathBuf::from(args.name.project())
    } else {
        args.path.join(args.name.project())
    };
    let refs: Vec<_> = files
        .iter()
        .map(|f| (f.path.as_path(), f.contents.as_slice()))
        .collect();
    let existing = if args.force {
        Existing::Merge
    } else {
        Existing::Refuse
    };
    write::create_dir(&target, &refs, existing)?;
    report(out, args, &target, &files, &dependency)?;
    Ok(())
}

/// Checks that `path` is an obskit crate and returns it absolute, as Cargo.toml will hold it.
fn local_obskit(path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    let hint = "point --obskit-path at the crates/obskit directory of an obskit checkout";
    let dir = fs::canonicalize(path)
        .with_context(|| format!("--obskit-path `{shown}` was not found; {hint}"))?;
    let manifest = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("--obskit-path `{shown}` has no readable Cargo.toml; {hint}"))?;
    let parsed: toml::Table = toml::from_str(&text)
        .with_context(|| format!("`{}` is not valid TOML; {hint}", manifest.display()))?;
    let package = parsed
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str);
    if package != Some("obskit") {
        bail!(
            "--obskit-path `{shown}` holds the package `{}`, not `obskit`; {hint}",
            package.unwrap_or("(none)")
        );
    }
    let Some(text) = dir.to_str() else {
        bail!(
            "--obskit-path `{shown}` is not valid UTF-8, which Cargo.toml cannot hold; use a UTF-8 path"
        );
    };
    if text.contains(['\'', '\n', '\r']) {
        bail!(
            "--obskit-path `{shown}` contains a quote or a line break, which Cargo.toml cannot hold here; move the checkout"
        );
    }
    Ok(text.to_owned())
}

/// Lists what was written and the commands to run next.
fn report(
    out: &mut impl Write,
    args: &NewArgs,
    target: &Path,
    files: &[GeneratedFile],
    dependency: &str,
) -> std::io::Result<()> {
    let shown = target.display();
    if args.force {
        writeln!(
            out,
            "Wrote {} files into {shown}/ (files with other names were kept):",
            files.len()
        )?;
    } else {
        writeln!(out, "Created {shown}/ with {} files:", files.len())?;
    }
    for file in files {
        let note = match file.kind {
            Kind::Rendered => "",
            Kind::Copied => "  (stock copy)",
        };
        writeln!(out, "  {}{note}", file.path.display())?;
    }
    writeln!(out)?;
    if args.name.project() != args.name.given() {
        writeln!(
            out,
            "note: the project is named `{}` (Kubernetes names cannot contain `_`); its crate is `{}`",
            args.name.project(),
            args.name.krate()
        )?;
    }
    writeln!(out, "{} depends on {dependency}. Next:", args.name)?;
    writeln!(out, "  cd {shown}")?;
    writeln!(
        out,
        "  cargo run                              # JSON logs on stdout, port 8080"
    )?;
    writeln!(
        out,
        "  curl localhost:8080/hello/world        # then /metrics and /health/ready"
    )?;
    if args.grpc {
        writeln!(
            out,
            "  curl localhost:8080/grpc-hello/world   # answered through a gRPC call to greeter.v1.Greeter"
        )?;
    }
    if args.messaging != "none" {
        writeln!(
            out,
            "  curl -d hello localhost:8080/tasks     # published to {}, processed by the worker (README.md: start the broker first)",
            args.messaging
        )?;
    }
    writeln!(out, "  cargo test")?;
    writeln!(
        out,
        "README.md explains traces, the dashboards and the alert rules."
    )?;
    Ok(())
}
