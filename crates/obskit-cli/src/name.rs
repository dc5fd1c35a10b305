//! Validation of the name given to `obskit new`.
//!
//! The name becomes a Cargo package, a Rust crate, a directory, a container image and
//! Kubernetes object names, so it must suit all of them. Each rule that rejects a name
//! says which rule it is and proposes a name that passes. Accepted names are written the
//! with `-` in the project name, as Kubernetes requires (`my_svc` becomes the project
//! `my-svc`, crate `my_svc`, which is what `cargo generate --name my-svc` produces; given
//! `my_svc`, cargo-generate keeps the `_`, and the Kubernetes manifest would be invalid).

use std::fmt;

/// Longest accepted name: Kubernetes Service names are DNS labels of at most 63 characters.
pub const MAX_LEN: usize = 63;

/// Rust keywords (strict, reserved and edition-2024 `gen`): none can name a crate.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names taken by something else, with the reason (compared on the crate name).
const RESERVED: &[(&str, &str)] = &[
    ("std", "a standard library crate"),
    ("core", "a standard library crate"),
    ("alloc", "a standard library crate"),
    ("proc_macro", "a standard library crate"),
    ("test", "a standard library crate"),
    ("build", "a directory Cargo creates in target/"),
    ("deps", "a directory Cargo creates in target/"),
    ("examples", "a directory Cargo creates in target/"),
    ("incremental", "a directory Cargo creates in target/"),
    ("con", "a Windows device name"),
    ("prn", "a Windows device name"),
    ("aux", "a Windows device name"),
    ("nul", "a Windows device name"),
    ("com1", "a Windows device name"),
    ("com2", "a Windows device name"),
    ("com3", "a Windows device name"),
    ("com4", "a Windows device name"),
    ("com5", "a Windows device name"),
    ("com6", "a Windows device name"),
    ("com7", "a Windows device name"),
    ("com8", "a Windows device name"),
    ("com9", "a Windows device name"),
    ("lpt1", "a Windows device name"),
    ("lpt2", "a Windows device name"),
    ("lpt3", "a Windows device name"),
    ("lpt4", "a Windows device name"),
    ("lpt5", "a Windows device name"),
    ("lpt6", "a Windows device name"),
    ("lpt7", "a Windows device name"),
    ("lpt8", "a Windows device name"),
    ("lpt9", "a Windows device name"),
];

/// Crates the generated service depends on: a package cannot depend on its own name.
/// A test in `template.rs` keeps this list in step with the template's Cargo.toml files.
pub const TEMPLATE_DEPENDENCIES: &[&str] = &[
    "obskit",
    "anyhow",
    "axum",
    "serde",
    "serde_json",
    "tokio",
    "http_body_util",
    "tower",
    "tracing",
    // the tests that read the service's own deploy/ manifests
    "yaml_serde",
    // `obskit new --grpc`
    "tonic",
    "tonic_prost",
    "prost",
    "protox",
    "tonic_prost_build",
    "tonic_health",
    "tonic_reflection",
    "tokio_stream",
    // `obskit new --messaging rabbitmq|nats`
    "lapin",
    "async_nats",
    // `obskit new --postgres`, `--redis`
    "sqlx",
    "redis",
];

/// Why a name was rejected; each message names the rule and a name that passes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("the project name is empty; pass one such as `payments`")]
    Empty,
    /// The name has a character outside lowercase ASCII letters, digits, `-` and `_`.
    #[error(
        "`{name}` contains {found:?}: a project name may only contain lowercase ASCII letters, digits, `-` and `_`; try `{suggestion}`"
    )]
    InvalidCharacter {
        /// The name given.
        name: String,
        /// The first character not allowed.
        found: char,
        /// A name that passes.
        suggestion: String,
    },
    /// The name does not start with a letter.
    #[error(
        "`{name}` must start with a letter (crate and Kubernetes names do); try `{suggestion}`"
    )]
    MustStartWithLetter {
        /// The name given.
        name: String,
        /// A name that passes.
        suggestion: String,
    },
    /// The name ends with `-` or `_`, or has two separators in a row.
    #[error(
        "`{name}` has a separator at its end or two in a row; separate words with one `-`, as in `{suggestion}`"
    )]
    BadSeparator {
        /// The name given.
        name: String,
        /// A name that passes.
        suggestion: String,
    },
    /// The name is longer than [`MAX_LEN`].
    #[error(
        "`{name}` is {len} characters long; Kubernetes names allow at most {MAX_LEN}, so shorten it"
    )]
    TooLong {
        /// The name given.
        name: String,
        /// Its length.
        len: usize,
    },
    /// The crate name is a Rust keyword.
    #[error("`{name}` is a Rust keyword, so it cannot name a crate; try `{name}-service`")]
    Keyword {
        /// The name given.
        name: String,
    },
    /// The crate name is reserved.
    #[error("`{name}` is reserved: it is {reason}; try `{name}-service`")]
    Reserved {
        /// The name given.
        name: String,
        /// What it is reserved for.
        reason: &'static str,
    },
}

/// A validated project name, in the two spellings the template uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName {
    given: String,
    project: String,
    krate: String,
}

impl ProjectName {
    /// Validates `name`; `_` and `-` are both accepted as separators.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let Some(first) = name.chars().next() else {
            return Err(NameError::Empty);
        };
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(NameError::InvalidCharacter {
                name: name.to_owned(),
                found,
                suggestion: suggest(name),
            });
        }
        if !first.is_ascii_lowercase() {
            let rest = suggest(name);
            return Err(NameError::MustStartWithLetter {
                name: name.to_owned(),
                suggestion: format!("svc-{rest}"),
            });
        }
        let project = name.replace('_', "-");
        if project.ends_with('-') || project.contains("--") {
            return Err(NameError::BadSeparator {
                name: name.to_owned(),
                suggestion: suggest(name),
            });
        }
        if name.len() > MAX_LEN {
            return Err(NameError::TooLong {
                name: name.to_owned(),
                len: name.len(),
            });
        }
        let krate = project.replace('-', "_");
        if KEYWORDS.contains(&krate.as_str()) {
            return Err(NameError::Keyword {
                name: name.to_owned(),
            });
        }
        let reserved = RESERVED
            .iter()
            .find(|(reserved, _)| *reserved == krate)
            .map(|(_, reason)| *reason)
            .or_else(|| {
                TEMPLATE_DEPENDENCIES
                    .contains(&krate.as_str())
                    .then_some("a crate the generated service depends on")
            });
        if let Some(reason) = reserved {
            return Err(NameError::Reserved {
                name: name.to_owned(),
                reason,
            });
        }
        Ok(Self {
            given: name.to_owned(),
            project,
            krate,
        })
    }

    /// The name as given.
    pub fn given(&self) -> &str {
        &self.given
    }

    /// The project name (`{{project-name}}`): package, directory and Kubernetes names.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The crate name (`{{crate_name}}`): the project name with `_` for `-`.
    pub fn krate(&self) -> &str {
        &self.krate
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.project)
    }
}

/// A name that passes the character and separator rules, derived from `name`.
fn suggest(name: &str) -> String {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            // Split camelCase into words.
            if c.is_ascii_uppercase() && word.chars().last().is_some_and(|p| p.is_ascii_lowercase())
            {
                words.push(std::mem::take(&mut word));
            }
            word.push(c.to_ascii_lowercase());
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    words.push(word);
    words.retain(|w| !w.is_empty());
    if words.is_empty() {
        "my-service".to_owned()
    } else {
        words.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_crate_names_and_spells_the_project_with_dashes() {
        for (given, project, krate) in [
            ("payments", "payments", "payments"),
            ("my-svc", "my-svc", "my_svc"),
            ("my_svc", "my-svc", "my_svc"),
            ("api2", "api2", "api2"),
            ("a", "a", "a"),
            ("test-service", "test-service", "test_service"),
        ] {
            let name = ProjectName::parse(given).unwrap();
            assert_eq!((name.project(), name.krate()), (project, krate), "{given}");
            assert_eq!(name.to_string(), project);
        }
        assert!(ProjectName::parse(&"a".repeat(MAX_LEN)).is_ok());
    }

    #[test]
    fn each_rule_names_itself_and_a_fix() {
        let cases = [
            ("", "is empty; pass one such as `payments`"),
            (
                "my service",
                "contains ' ': a project name may only contain lowercase ASCII letters, digits, `-` and `_`; try `my-service`",
            ),
            ("myService", "contains 'S'"),
            ("myService", "try `my-service`"),
            ("café", "contains 'é'"),
            (
                "1password",
                "must start with a letter (crate and Kubernetes names do); try `svc-1password`",
            ),
            ("-svc", "must start with a letter"),
            ("svc-", "separate words with one `-`, as in `svc`"),
            ("my__svc", "as in `my-svc`"),
            (
                "fn",
                "`fn` is a Rust keyword, so it cannot name a crate; try `fn-service`",
            ),
            ("self", "is a Rust keyword"),
            ("gen", "is a Rust keyword"),
            (
                "test",
                "`test` is reserved: it is a standard library crate; try `test-service`",
            ),
            ("std", "a standard library crate"),
            ("proc-macro", "a standard library crate"),
            ("build", "a directory Cargo creates in target/"),
            ("nul", "a Windows device name"),
            ("obskit", "a crate the generated service depends on"),
            ("serde-json", "a crate the generated service depends on"),
        ];
        for (given, expected) in cases {
            let message = ProjectName::parse(given).unwrap_err().to_string();
            assert!(message.contains(expected), "{given:?}: {message}");
        }
        let long = "a".repeat(MAX_LEN + 1);
        let message = ProjectName::parse(&long).unwrap_err().to_string();
        assert!(
            message.contains("64 characters long; Kubernetes names allow at most 63"),
            "{message}"
        );
    }

    #[test]
    fn suggestions_pass_the_rules_they_were_made_for() {
        for bad in ["My Service", "myService", "svc-", "my__svc", "x.y", "--"] {
            let suggestion = suggest(bad);
            assert!(
                ProjectName::parse(&suggestion).is_ok(),
                "{bad} -> {suggestion}"
            );
        }
    }
}
