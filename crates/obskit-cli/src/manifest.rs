//! The template manifest, `template/cargo-generate.toml`.
//!
//! cargo-generate and `obskit new` read the same file, so both renderers agree on which
//! files are rendered, which are copied byte for byte, which are never emitted (always, or
//! while an option is off), and which placeholders and options exist. This module reads
//! the subset of cargo-generate's keys the template uses, with cargo-generate's meaning,
//! and rejects what it could not honour the same way (wildcards, `include` lists, conditions
//! beyond a small grammar), so the two renderers cannot drift apart silently.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// File name of the manifest at the template root (never emitted).
pub const FILE_NAME: &str = "cargo-generate.toml";

/// Placeholders cargo-generate defines itself; every template may use them.
pub const BUILTIN_PLACEHOLDERS: [&str; 2] = ["project-name", "crate_name"];

/// Files cargo-generate never emits from a template root, besides the `ignore` lists.
pub const NEVER_EMITTED: [&str; 3] = [FILE_NAME, ".genignore", ".cargo-ok"];

/// Why the manifest cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file is not valid TOML or does not have the expected shape.
    #[error("{FILE_NAME} is not a valid template manifest; fix the TOML it names")]
    Parse(#[from] toml::de::Error),
    /// The manifest uses `[template].include`, whose meaning (only these files are rendered)
    /// `obskit new` does not implement.
    #[error(
        "{FILE_NAME} uses `[template].include`; list the copied files in `[template].exclude` instead"
    )]
    IncludeUnsupported,
    /// A path rule uses a form whose cargo-generate meaning `obskit new` does not implement.
    #[error("{FILE_NAME} `{list}` entry `{entry}` {problem}")]
    UnsupportedRule {
        /// `[template].exclude`, `[template].ignore` or a conditional's `ignore`.
        list: String,
        /// The offending entry.
        entry: String,
        /// What is wrong and how to fix it.
        problem: &'static str,
    },
    /// A `[placeholders]` entry has no usable default, which `obskit new` needs.
    #[error("{FILE_NAME} placeholder `{name}` {problem}")]
    BadPlaceholder {
        /// The placeholder.
        name: String,
        /// What is wrong and how to fix it.
        problem: &'static str,
    },
    /// A placeholder is declared twice, or redeclares a cargo-generate built-in.
    #[error(
        "{FILE_NAME} declares placeholder `{name}` twice (built-ins: project-name, crate_name); keep one"
    )]
    DuplicatePlaceholder {
        /// The placeholder.
        name: String,
    },
    /// A `[conditional.'...']` table has a condition or keys `obskit new` cannot honour.
    #[error("{FILE_NAME} `[conditional.'{condition}']`: {problem}")]
    BadConditional {
        /// The condition as written.
        condition: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// What a placeholder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderKind {
    /// A cargo-generate built-in (`project-name`, `crate_name`), set from the name.
    Builtin,
    /// Free text (`type = "string"` without `choices`).
    Text,
    /// A yes/no option (`type = "bool"`, default `false`): used in block conditions only.
    Switch,
    /// One of a fixed list (`type = "string"` with `choices`).
    Choice(Vec<String>),
}

/// A declared placeholder and the value it takes when no option sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Name used as `{{name}}` or in a block condition in templated files.
    pub name: String,
    /// What it holds.
    pub kind: PlaceholderKind,
    /// Text value used when no option sets it; `None` for built-ins and switches (off).
    pub default: Option<String>,
}

/// A placeholder's value when a template is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A text or choice placeholder's value.
    Text(String),
    /// A switch's value.
    Bool(bool),
}

/// One condition term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A switch is on (`grpc`), or off (`!grpc`, cargo-generate's conditions only).
    Switch {
        /// The switch.
        name: String,
        /// Whether the term holds when it is on.
        on: bool,
    },
    /// A text or choice placeholder compared with a value (`messaging == "nats"`).
    Compare {
        /// The placeholder.
        name: String,
        /// The value compared with.
        value: String,
        /// `==` (true) or `!=` (false).
        equal: bool,
    },
}

/// Which language a condition is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Liquid, in a templated file: `grpc`, `a == "x"`, joined by `and` or `or`.
    Liquid,
    /// Rhai, in a `[conditional.'...']` key: `grpc`, `!grpc`, `a != "x"`, joined by `&&`
    /// or `||`.
    Rhai,
}

/// A condition: terms all joined by "and", or all by "or" (never mixed: Liquid reads
/// mixed chains right to left, Rhai by precedence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The terms.
    pub terms: Vec<Term>,
    /// Whether any term suffices (`or`) rather than every one (`and`).
    pub any: bool,
}

impl Condition {
    /// Parses a condition in `syntax`, without checking the names (see
    /// [`Manifest::check_condition`]).
    pub fn parse(text: &str, syntax: Syntax) -> Result<Self, String> {
        let (and, or) = match syntax {
            Syntax::Liquid => (" and ", " or "),
            Syntax::Rhai => (" && ", " || "),
        };
        let text = text.trim();
        let (parts, any): (Vec<&str>, bool) = match (text.contains(and), text.contains(or)) {
            (true, true) => {
                return Err(format!(
                    "`{text}` mixes `{}` and `{}`; split it into nested blocks",
                    and.trim(),
                    or.trim()
                ));
            }
            (false, true) => (text.split(or).collect(), true),
            _ => (text.split(and).collect(), false),
        };
        let terms = parts
            .into_iter()
            .map(|part| parse_term(part.trim(), syntax))
            .collect::<Result<_, _>>()?;
        Ok(Self { terms, any })
    }

    /// Whether the condition holds for `values` (a missing value never matches).
    pub fn holds(&self, values: &BTreeMap<String, Value>) -> bool {
        let term_holds = |term: &Term| match term {
            Term::Switch { name, on } => values.get(name) == Some(&Value::Bool(*on)),
            Term::Compare { name, value, equal } => match values.get(name) {
                Some(Value::Text(actual)) => (actual == value) == *equal,
                _ => false,
            },
        };
        if self.any {
            self.terms.iter().any(term_holds)
        } else {
            self.terms.iter().all(term_holds)
        }
    }
}

/// One term of a condition.
fn parse_term(text: &str, syntax: Syntax) -> Result<Term, String> {
    let bad = || {
        format!(
            "`{text}` is not a condition term; use `name`{} or `name == \"value\"` / `name != \"value\"`",
            if syntax == Syntax::Rhai {
                ", `!name`"
            } else {
                ""
            }
        )
    };
    for (operator, equal) in [(" == ", true), (" != ", false)] {
        if let Some((name, value)) = text.split_once(operator) {
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.contains(['"', '\\']))
                .ok_or_else(bad)?;
            if !is_identifier(name) {
                return Err(bad());
            }
            return Ok(Term::Compare {
                name: name.to_owned(),
                value: value.to_owned(),
                equal,
            });
        }
    }
    let (name, on) = match text.strip_prefix('!') {
        Some(name) if syntax == Syntax::Rhai => (name, false),
        _ => (text, true),
    };
    if !is_identifier(name) {
        return Err(bad());
    }
    Ok(Term::Switch {
        name: name.to_owned(),
        on,
    })
}

/// A name both Liquid and Rhai read as a plain variable: lowercase letters, digits and `_`,
/// not starting with a digit.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Files a condition removes from the output while it holds.
#[derive(Debug, Clone)]
pub struct Conditional {
    /// The condition, as cargo-generate evaluates it.
    pub condition: Condition,
    /// The key as written in the manifest.
    pub source: String,
    /// Paths (relative, after the `.liquid` suffix is removed) not emitted while it holds.
    pub ignore: Vec<PathBuf>,
}

/// The parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    copied: Vec<ExcludeRule>,
    ignored: Vec<PathBuf>,
    placeholders: Vec<Placeholder>,
    conditionals: Vec<Conditional>,
}

impl Manifest {
    /// Parses the manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text)?;
        if raw.template.include.is_some() {
            return Err(ManifestError::IncludeUnsupported);
        }
        let copied = raw
            .template
            .exclude
            .iter()
            .map(|entry| ExcludeRule::parse(entry))
            .collect::<Result<_, _>>()?;
        let ignored = raw
            .template
            .ignore
            .iter()
            .map(|entry| parse_ignore("[template].ignore", entry))
            .collect::<Result<_, _>>()?;

        let mut placeholders: Vec<Placeholder> = BUILTIN_PLACEHOLDERS
            .iter()
            .map(|name| Placeholder {
                name: (*name).to_owned(),
                kind: PlaceholderKind::Builtin,
                default: None,
            })
            .collect();
        for (name, table) in raw.placeholders {
            if placeholders.iter().any(|p| p.name == name) {
                return Err(ManifestError::DuplicatePlaceholder { name });
            }
            placeholders.push(parse_placeholder(name, &table)?);
        }

        let mut manifest = Self {
            copied,
            ignored,
            placeholders,
            conditionals: Vec::new(),
        };
        for (source, table) in raw.conditional {
            let bad = |problem: String| ManifestError::BadConditional {
                condition: source.clone(),
                problem,
            };
            let condition = manifest
                .check_condition(&source, Syntax::Rhai)
                .map_err(bad)?;
            let ignore = table
                .ignore
                .iter()
                .map(|entry| parse_ignore(&format!("[conditional.'{source}'].ignore"), entry))
                .collect::<Result<_, _>>()?;
            manifest.conditionals.push(Conditional {
                condition,
                source,
                ignore,
            });
        }
        Ok(manifest)
    }

    /// Parses `text` as a condition in `syntax` and checks it against the declared
    /// placeholders: a bare term names a switch, a comparison a text or choice placeholder
    /// (with a value among its choices).
    pub fn check_condition(&self, text: &str, syntax: Syntax) -> Result<Condition, String> {
        let condition = Condition::parse(text, syntax)?;
        for term in &condition.terms {
            let name = match term {
                Term::Switch { name, .. } | Term::Compare { name, .. } => name,
            };
            let Some(placeholder) = self.placeholder(name) else {
                return Err(format!(
                    "`{name}` is not declared (declared: {}); declare it under [placeholders]",
                    self.declared_names()
                ));
            };
            match (term, &placeholder.kind) {
                (Term::Switch { .. }, PlaceholderKind::Switch)
                | (Term::Compare { .. }, PlaceholderKind::Text) => {}
                (Term::Compare { value, .. }, PlaceholderKind::Choice(choices)) => {
                    if !choices.contains(value) {
                        return Err(format!(
                            "`{name}` is never \"{value}\" (choices: {}); compare it with one of them",
                            choices.join(", ")
                        ));
                    }
                }
                (Term::Switch { .. }, _) => {
                    return Err(format!(
                        "`{name}` is not a bool; compare it with a value (`{name} == \"...\"`)"
                    ));
                }
                (Term::Compare { .. }, _) => {
                    return Err(format!(
                        "`{name}` is a bool or a built-in; use it alone (`{name}`) or not at all"
                    ));
                }
            }
        }
        Ok(condition)
    }

    /// Whether the file at `path` (relative to the template root, after the `.liquid`
    /// suffix is removed) is copied byte for byte rather than rendered
    /// (`[template].exclude`, with cargo-generate's gitignore-style matching).
    pub fn is_copied(&self, path: &Path) -> bool {
        self.copied.iter().any(|rule| rule.matches(path))
    }

    /// Whether `path` (relative, after the `.liquid` suffix is removed) is never emitted for
    /// `values`: the manifest itself, cargo-generate's own files, under a
    /// `[template].ignore` entry, or under the `ignore` entry of a conditional that holds.
    pub fn is_ignored(&self, path: &Path, values: &BTreeMap<String, Value>) -> bool {
        let under = |entries: &[PathBuf]| entries.iter().any(|entry| path.starts_with(entry));
        NEVER_EMITTED.iter().any(|name| path == Path::new(name))
            || under(&self.ignored)
            || self
                .conditionals
                .iter()
                .any(|c| c.condition.holds(values) && under(&c.ignore))
    }

    /// Every placeholder: the built-ins, then the declared ones.
    pub fn placeholders(&self) -> &[Placeholder] {
        &self.placeholders
    }

    /// The placeholder called `name`.
    pub fn placeholder(&self, name: &str) -> Option<&Placeholder> {
        self.placeholders.iter().find(|p| p.name == name)
    }

    /// The `[conditional.'...']` tables: files left out while a condition holds.
    pub fn conditionals(&self) -> &[Conditional] {
        &self.conditionals
    }

    /// The names of every placeholder, comma-separated, for messages.
    pub fn declared_names(&self) -> String {
        let names: Vec<_> = self.placeholders.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    }
}

/// One `[placeholders.NAME]` table.
fn parse_placeholder(name: String, table: &toml::Table) -> Result<Placeholder, ManifestError> {
    let bad = |problem| ManifestError::BadPlaceholder {
        name: name.clone(),
        problem,
    };
    if !is_identifier(&name) {
        return Err(bad(
            "is not a plain name; use lowercase letters, digits and `_` (Liquid and Rhai read it)",
        ));
    }
    let default = table.get("default");
    let (kind, default) = match table.get("type").and_then(toml::Value::as_str) {
        Some("bool") => {
            if default.and_then(toml::Value::as_bool) != Some(false) {
                return Err(bad(
                    "is a bool; give it `default = false` (an option is off unless asked for)",
                ));
            }
            (PlaceholderKind::Switch, None)
        }
        Some("string") | None => {
            let default = default
                .and_then(toml::Value::as_str)
                .ok_or_else(|| {
                    bad("has no string `default`; add one (`obskit new` does not prompt)")
                })?
                .to_owned();
            let kind = match table.get("choices") {
                None => PlaceholderKind::Text,
                Some(choices) => {
                    let choices: Vec<String> = choices
                        .as_array()
                        .map(|list| {
                            list.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if choices.is_empty() || !choices.contains(&default) {
                        return Err(bad(
                            "has `choices` that are not a list of strings holding its `default`; list them with the default among them",
                        ));
                    }
                    PlaceholderKind::Choice(choices)
                }
            };
            (kind, Some(default))
        }
        Some(_) => {
            return Err(bad(
                "has a `type` other than string or bool; use one of those",
            ));
        }
    };
    Ok(Placeholder {
        name,
        kind,
        default,
    })
}

/// The parts of cargo-generate.toml this module reads.
#[derive(Debug, Deserialize)]
struct RawManifest {
    #[serde(default)]
    template: RawTemplate,
    #[serde(default)]
    placeholders: BTreeMap<String, toml::Table>,
    #[serde(default)]
    conditional: BTreeMap<String, RawConditional>,
}

#[derive(Debug, Default, Deserialize)]
struct RawTemplate {
    include: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
}

/// A `[conditional.'...']` table: only `ignore` (cargo-generate's `include`, `exclude` and
/// `placeholders` there would change rendering in ways `obskit new` does not follow).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConditional {
    #[serde(default)]
    ignore: Vec<String>,
}

/// One `[template].exclude` entry: a gitignore pattern without wildcards.
///
/// As in gitignore (which cargo-generate uses): a trailing `/` matches directories only;
/// a pattern with a `/` before its end is anchored at the root, one without matches at
/// any depth; a file matches when it or any parent directory matches.
#[derive(Debug, Clone)]
struct ExcludeRule {
    path: PathBuf,
    anchored: bool,
    directory_only: bool,
}

impl ExcludeRule {
    fn parse(entry: &str) -> Result<Self, ManifestError> {
        let problem = |problem| ManifestError::UnsupportedRule {
            list: "[template].exclude".to_owned(),
            entry: entry.to_owned(),
            problem,
        };
        if entry.contains(['*', '?', '[', '\\', '!', '#']) {
            return Err(problem(
                "uses a wildcard or escape; `obskit new` needs plain paths: list the files or their directory",
            ));
        }
        let directory_only = entry.ends_with('/');
        let trimmed = entry.trim_end_matches('/');
        let anchored = trimmed.contains('/');
        let path = plain_relative(trimmed.trim_start_matches('/'))
            .ok_or_else(|| problem("is not a plain relative path; use one like `dashboards/`"))?;
        Ok(Self {
            path,
            anchored,
            directory_only,
        })
    }

    fn matches(&self, file: &Path) -> bool {
        let components: Vec<_> = file.components().collect();
        (1..=components.len()).any(|len| {
            let is_dir = len < components.len();
            if self.directory_only && !is_dir {
                return false;
            }
            let prefix: PathBuf = components[..len].iter().collect();
            if self.anchored {
                prefix == self.path
            } else {
                prefix.file_name() == Some(self.path.as_os_str())
            }
        })
    }
}

/// One `ignore` entry: an exact file or directory path relative to the template root
/// (cargo-generate joins it to the root and deletes it; no wildcards).
fn parse_ignore(list: &str, entry: &str) -> Result<PathBuf, ManifestError> {
    plain_relative(entry.trim_end_matches('/')).ok_or_else(|| ManifestError::UnsupportedRule {
        list: list.to_owned(),
        entry: entry.to_owned(),
        problem: "is not a plain relative path; use one like `src/greeter.rs` or `proto`",
    })
}

/// `text` as a relative path made of normal components only, or `None`.
fn plain_relative(text: &str) -> Option<PathBuf> {
    let path = PathBuf::from(text);
    let plain = !text.is_empty()
        && !text.contains(['*', '?', '['])
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [template]
        exclude = ["dashboards/", "/alerts/", "docs/raw.txt", "notes"]
        ignore = ["scratch", "extra.md"]

        [placeholders.obskit_version]
        type = "string"
        default = "0.1"

        [placeholders.grpc]
        type = "bool"
        default = false

        [placeholders.broker]
        type = "string"
        choices = ["none", "rabbitmq", "nats"]
        default = "none"

        [conditional.'!grpc']
        ignore = ["proto/", "src/greeter.rs"]

        [conditional.'broker == "none"']
        ignore = ["src/worker.rs"]
    "#;

    fn sample() -> Manifest {
        Manifest::parse(SAMPLE).unwrap()
    }

    fn values(grpc: bool, broker: &str) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("grpc".to_owned(), Value::Bool(grpc)),
            ("broker".to_owned(), Value::Text(broker.to_owned())),
        ])
    }

    #[test]
    fn directory_rules_copy_everything_beneath_them() {
        let manifest = sample();
        assert!(manifest.is_copied(Path::new("dashboards/a.json")));
        assert!(manifest.is_copied(Path::new("dashboards/deep/b.json")));
        assert!(manifest.is_copied(Path::new("alerts/slo.rules.yml")));
        assert!(!manifest.is_copied(Path::new("src/main.rs")));
        // A trailing slash matches directories only, as in gitignore.
        assert!(!manifest.is_copied(Path::new("dashboards")));
    }

    #[test]
    fn unanchored_rules_match_at_any_depth_and_anchored_ones_at_the_root() {
        let manifest = sample();
        assert!(manifest.is_copied(Path::new("nested/dashboards/a.json")));
        assert!(!manifest.is_copied(Path::new("nested/alerts/a.yml")));
        assert!(manifest.is_copied(Path::new("docs/raw.txt")));
        assert!(!manifest.is_copied(Path::new("other/docs/raw.txt")));
        // No trailing slash: matches a file or a directory of that name.
        assert!(manifest.is_copied(Path::new("notes")));
        assert!(manifest.is_copied(Path::new("notes/a.md")));
        assert!(manifest.is_copied(Path::new("src/notes")));
    }

    #[test]
    fn ignore_entries_and_cargo_generate_files_are_never_emitted() {
        let manifest = sample();
        let values = values(false, "none");
        assert!(manifest.is_ignored(Path::new("scratch/a/Cargo.toml"), &values));
        assert!(manifest.is_ignored(Path::new("extra.md"), &values));
        assert!(manifest.is_ignored(Path::new("cargo-generate.toml"), &values));
        assert!(manifest.is_ignored(Path::new(".genignore"), &values));
        assert!(!manifest.is_ignored(Path::new("scratchX/a"), &values));
        assert!(!manifest.is_ignored(Path::new("src/cargo-generate.toml"), &values));
    }

    #[test]
    fn conditional_files_are_left_out_while_their_condition_holds() {
        let manifest = sample();
        let greeter = Path::new("src/greeter.rs");
        let proto = Path::new("proto/greeter.proto");
        let worker = Path::new("src/worker.rs");
        assert!(manifest.is_ignored(greeter, &values(false, "none")));
        assert!(manifest.is_ignored(proto, &values(false, "nats")));
        assert!(!manifest.is_ignored(greeter, &values(true, "none")));
        assert!(!manifest.is_ignored(proto, &values(true, "none")));
        assert!(manifest.is_ignored(worker, &values(true, "none")));
        assert!(!manifest.is_ignored(worker, &values(false, "nats")));
        assert!(!manifest.is_ignored(Path::new("src/lib.rs"), &values(false, "none")));
    }

    #[test]
    fn placeholders_are_the_builtins_then_the_declared_ones() {
        let names: Vec<_> = sample()
            .placeholders()
            .iter()
            .map(|p| (p.name.clone(), p.kind.clone(), p.default.clone()))
            .collect();
        let choices = ["none", "rabbitmq", "nats"].map(str::to_owned).to_vec();
        assert_eq!(
            names,
            [
                ("project-name".to_owned(), PlaceholderKind::Builtin, None),
                ("crate_name".to_owned(), PlaceholderKind::Builtin, None),
                (
                    "broker".to_owned(),
                    PlaceholderKind::Choice(choices),
                    Some("none".to_owned())
                ),
                ("grpc".to_owned(), PlaceholderKind::Switch, None),
                (
                    "obskit_version".to_owned(),
                    PlaceholderKind::Text,
                    Some("0.1".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn conditions_parse_in_both_syntaxes_and_evaluate() {
        let manifest = sample();
        let liquid = manifest
            .check_condition("grpc or broker == \"nats\"", Syntax::Liquid)
            .unwrap();
        assert!(liquid.any);
        assert!(liquid.holds(&values(true, "none")));
        assert!(liquid.holds(&values(false, "nats")));
        assert!(!liquid.holds(&values(false, "rabbitmq")));
        let rhai = manifest
            .check_condition("!grpc && broker != \"none\"", Syntax::Rhai)
            .unwrap();
        assert!(rhai.holds(&values(false, "nats")));
        assert!(!rhai.holds(&values(true, "nats")));
        assert!(!rhai.holds(&values(false, "none")));
    }

    #[test]
    fn bad_conditions_name_the_problem() {
        let manifest = sample();
        for (text, syntax, expected) in [
            ("grpc and broker == \"a\" or grpc", Syntax::Liquid, "mixes"),
            ("!grpc", Syntax::Liquid, "not a condition term"),
            ("broker == nats", Syntax::Liquid, "not a condition term"),
            ("nope", Syntax::Liquid, "`nope` is not declared"),
            ("broker", Syntax::Liquid, "is not a bool"),
            ("grpc == \"true\"", Syntax::Liquid, "use it alone"),
            ("broker == \"kafka\"", Syntax::Rhai, "never \"kafka\""),
            ("project-name", Syntax::Rhai, "not a condition term"),
        ] {
            let err = manifest.check_condition(text, syntax).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn rejects_what_cargo_generate_would_read_differently() {
        let cases = [
            ("[template]\ninclude = [\"a\"]", "include"),
            ("[template]\nexclude = [\"*.json\"]", "wildcard"),
            ("[template]\nexclude = [\"../x\"]", "plain relative"),
            ("[template]\nignore = [\"/abs\"]", "plain relative"),
            ("[placeholders.x]\ntype = \"string\"", "default"),
            (
                "[placeholders.x]\ntype = \"bool\"\ndefault = true",
                "default = false",
            ),
            (
                "[placeholders.x]\nchoices = [\"a\"]\ndefault = \"b\"",
                "choices",
            ),
            ("[placeholders.x]\ntype = \"integer\"\ndefault = 1", "type"),
            ("[placeholders.crate_name]\ndefault = \"x\"", "twice"),
            ("[placeholders.Bad-Name]\ndefault = \"x\"", "plain name"),
            ("[conditional.'nope']\nignore = [\"a\"]", "not declared"),
            (
                "[placeholders.x]\ntype = \"bool\"\ndefault = false\n[conditional.'x']\ninclude = [\"a\"]",
                "not a valid",
            ),
            (
                "[placeholders.x]\ntype = \"bool\"\ndefault = false\n[conditional.'x']\nignore = [\"../a\"]",
                "plain relative",
            ),
        ];
        for (text, expected) in cases {
            let message = Manifest::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }
}
