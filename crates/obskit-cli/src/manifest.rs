//! The template manifest, `template/cargo-generate.toml`.
//!
//! cargo-generate and `obskit new` read the same file, so both renderers agree on which
//! files are rendered, which are copied byte for byte, which are never emitted, and which
//! placeholders exist. This module reads the subset of cargo-generate's keys the template
//! uses, with cargo-generate's meaning, and rejects what it could not honour the same way
//! (wildcards, `include` lists), so the two renderers cannot drift apart silently.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// File name of the manifest at the template root (never emitted).
pub const FILE_NAME: &str = "cargo-generate.toml";

/// Placeholders cargo-generate defines itself; every template may use them.
pub const BUILTIN_PLACEHOLDERS: [&str; 2] = ["project-name", "crate_name"];

/// Files cargo-generate never emits from a template root, besides the `ignore` list.
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
    #[error("{FILE_NAME} `[template].{list}` entry `{entry}` {problem}")]
    UnsupportedRule {
        /// `exclude` or `ignore`.
        list: &'static str,
        /// The offending entry.
        entry: String,
        /// What is wrong and how to fix it.
        problem: &'static str,
    },
    /// A `[placeholders]` entry has no string default, which `obskit new` needs.
    #[error(
        "{FILE_NAME} placeholder `{name}` has no string `default`; add one (`obskit new` does not prompt)"
    )]
    NoDefault {
        /// The placeholder.
        name: String,
    },
    /// A placeholder is declared twice, or redeclares a cargo-generate built-in.
    #[error(
        "{FILE_NAME} declares placeholder `{name}` twice (built-ins: project-name, crate_name); keep one"
    )]
    DuplicatePlaceholder {
        /// The placeholder.
        name: String,
    },
    /// A `type = "bool"` placeholder has no boolean default, or no variant of its name.
    #[error(
        "{FILE_NAME} placeholder `{name}` is a bool; give it a `default = false` and declare [obskit.variants.{name}], the files it emits"
    )]
    BadSwitch {
        /// The placeholder.
        name: String,
    },
    /// A variant path is not a plain relative path.
    #[error(
        "{FILE_NAME} variant `{variant}` maps `{path}`, which is not a plain relative path; use one like `Cargo.toml`"
    )]
    BadVariantPath {
        /// The variant.
        variant: String,
        /// The offending path.
        path: String,
    },
}

/// A declared placeholder and the value it takes when no option sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Name used as `{{name}}` in templated files.
    pub name: String,
    /// Value used when no option sets it; `None` for cargo-generate built-ins and for
    /// placeholders only `obskit new` options set.
    pub default: Option<String>,
}

/// The parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    copied: Vec<ExcludeRule>,
    ignored: Vec<PathBuf>,
    placeholders: Vec<Placeholder>,
    switches: Vec<String>,
    variants: BTreeMap<String, BTreeMap<PathBuf, PathBuf>>,
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
            .map(|entry| parse_ignore(entry))
            .collect::<Result<_, _>>()?;

        let mut placeholders: Vec<Placeholder> = BUILTIN_PLACEHOLDERS
            .iter()
            .map(|name| Placeholder {
                name: (*name).to_owned(),
                default: None,
            })
            .collect();
        let mut declare = |placeholder: Placeholder| {
            if placeholders.iter().any(|p| p.name == placeholder.name) {
                return Err(ManifestError::DuplicatePlaceholder {
                    name: placeholder.name,
                });
            }
            placeholders.push(placeholder);
            Ok(())
        };
        let mut switches = Vec::new();
        for (name, table) in raw.placeholders {
            if table.get("type").and_then(toml::Value::as_str) == Some("bool") {
                if table.get("default").and_then(toml::Value::as_bool) != Some(false) {
                    return Err(ManifestError::BadSwitch { name });
                }
                switches.push(name);
                continue;
            }
            let default = table.get("default").and_then(toml::Value::as_str);
            let Some(default) = default else {
                return Err(ManifestError::NoDefault { name });
            };
            let default = Some(default.to_owned());
            declare(Placeholder { name, default })?;
        }
        for name in raw.obskit.cli_placeholders {
            declare(Placeholder {
                name,
                default: None,
            })?;
        }

        let mut variants = BTreeMap::new();
        for (variant, files) in raw.obskit.variants {
            let mut mapped = BTreeMap::new();
            for (output, source) in files {
                let bad = |path: &str| ManifestError::BadVariantPath {
                    variant: variant.clone(),
                    path: path.to_owned(),
                };
                let output_path = plain_relative(&output).ok_or_else(|| bad(&output))?;
                let source_path = plain_relative(&source).ok_or_else(|| bad(&source))?;
                mapped.insert(output_path, source_path);
            }
            variants.insert(variant, mapped);
        }

        if let Some(name) = switches.iter().find(|name| !variants.contains_key(*name)) {
            return Err(ManifestError::BadSwitch { name: name.clone() });
        }
        Ok(Self {
            copied,
            ignored,
            placeholders,
            switches,
            variants,
        })
    }

    /// Whether the file at `path` (relative to the template root, after the `.liquid`
    /// suffix is removed) is copied byte for byte rather than rendered
    /// (`[template].exclude`, with cargo-generate's gitignore-style matching).
    pub fn is_copied(&self, path: &Path) -> bool {
        self.copied.iter().any(|rule| rule.matches(path))
    }

    /// Whether `path` (relative, after the `.liquid` suffix is removed) is never emitted:
    /// the manifest itself, cargo-generate's own files, or under a `[template].ignore` entry.
    pub fn is_ignored(&self, path: &Path) -> bool {
        NEVER_EMITTED.iter().any(|name| path == Path::new(name))
            || self.ignored.iter().any(|entry| path.starts_with(entry))
    }

    /// Every placeholder a templated file may use: the built-ins, then the declared ones.
    pub fn placeholders(&self) -> &[Placeholder] {
        &self.placeholders
    }

    /// Names of the `type = "bool"` placeholders: cargo-generate's yes/no questions. Each
    /// chooses the files of the variant of its name (a pre hook moves them into place for
    /// cargo-generate); none may be used as `{{name}}` in a file.
    pub fn switches(&self) -> &[String] {
        &self.switches
    }

    /// The variant files `--<variant>` swaps in: output path → template path.
    pub fn variant(&self, name: &str) -> Option<&BTreeMap<PathBuf, PathBuf>> {
        self.variants.get(name)
    }

    /// Names of every declared variant.
    pub fn variant_names(&self) -> impl Iterator<Item = &str> {
        self.variants.keys().map(String::as_str)
    }
}

/// The parts of cargo-generate.toml this module reads.
#[derive(Debug, Deserialize)]
struct RawManifest {
    #[serde(default)]
    template: RawTemplate,
    #[serde(default)]
    placeholders: BTreeMap<String, toml::Table>,
    #[serde(default)]
    obskit: RawObskit,
}

#[derive(Debug, Default, Deserialize)]
struct RawTemplate {
    include: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObskit {
    #[serde(default)]
    cli_placeholders: Vec<String>,
    #[serde(default)]
    variants: BTreeMap<String, BTreeMap<String, String>>,
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
            list: "exclude",
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

/// One `[template].ignore` entry: an exact file or directory path (cargo-generate does
/// not support wildcards there either).
fn parse_ignore(entry: &str) -> Result<PathBuf, ManifestError> {
    plain_relative(entry.trim_end_matches('/')).ok_or_else(|| ManifestError::UnsupportedRule {
        list: "ignore",
        entry: entry.to_owned(),
        problem: "is not a plain relative path; use one like `variants`",
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
        ignore = ["variants", "extra.md"]

        [placeholders.obskit_version]
        type = "string"
        default = "0.1"

        [obskit]
        cli_placeholders = ["obskit_path"]

        [obskit.variants.obskit-path]
        "Cargo.toml" = "variants/obskit-path/Cargo.toml.liquid"
    "#;

    fn sample() -> Manifest {
        Manifest::parse(SAMPLE).unwrap()
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
        assert!(manifest.is_ignored(Path::new("variants/obskit-path/Cargo.toml")));
        assert!(manifest.is_ignored(Path::new("extra.md")));
        assert!(manifest.is_ignored(Path::new("cargo-generate.toml")));
        assert!(manifest.is_ignored(Path::new(".genignore")));
        assert!(!manifest.is_ignored(Path::new("variantsX/a")));
        assert!(!manifest.is_ignored(Path::new("src/cargo-generate.toml")));
    }

    #[test]
    fn placeholders_are_the_builtins_then_the_declared_ones() {
        let names: Vec<_> = sample()
            .placeholders()
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("project-name".to_owned(), None),
                ("crate_name".to_owned(), None),
                ("obskit_version".to_owned(), Some("0.1".to_owned())),
                ("obskit_path".to_owned(), None),
            ]
        );
    }

    #[test]
    fn variants_map_output_paths_to_template_paths() {
        let manifest = sample();
        let variant = manifest.variant("obskit-path").unwrap();
        assert_eq!(
            variant.get(Path::new("Cargo.toml")).unwrap(),
            Path::new("variants/obskit-path/Cargo.toml.liquid")
        );
        assert!(manifest.variant("nope").is_none());
        assert_eq!(
            manifest.variant_names().collect::<Vec<_>>(),
            ["obskit-path"]
        );
    }

    #[test]
    fn bool_placeholders_are_switches_that_name_a_variant() {
        let manifest = Manifest::parse(&format!(
            "{SAMPLE}\n[placeholders.obskit-path]\ntype = \"bool\"\ndefault = false\n"
        ))
        .unwrap();
        assert_eq!(manifest.switches(), ["obskit-path"]);
        assert!(
            manifest
                .placeholders()
                .iter()
                .all(|p| p.name != "obskit-path")
        );
        for bad in [
            "[placeholders.x]\ntype = \"bool\"\ndefault = false",
            "[placeholders.x]\ntype = \"bool\"\n[obskit.variants.x]",
            "[placeholders.x]\ntype = \"bool\"\ndefault = true\n[obskit.variants.x]",
        ] {
            let err = Manifest::parse(bad).unwrap_err();
            assert!(
                matches!(err, ManifestError::BadSwitch { .. }),
                "{bad}: {err}"
            );
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
            ("[placeholders.crate_name]\ndefault = \"x\"", "twice"),
            ("[obskit]\nunknown = 1", "not a valid"),
            (
                "[obskit.variants.v]\n\"../Cargo.toml\" = \"a\"",
                "not a plain relative path",
            ),
        ];
        for (text, expected) in cases {
            let message = Manifest::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }
}
