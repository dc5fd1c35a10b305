//! The service template (`template/` at the repository root), embedded in the binary and
//! rendered in memory.
//!
//! The same folder is a cargo-generate template, so rendering follows cargo-generate's
//! rules as declared in its manifest ([`crate::manifest`]): the `.liquid` suffix is
//! dropped, `exclude`d files are copied byte for byte, `ignore`d ones are never emitted,
//! and files a `[conditional]` names are left out while its condition holds. Templated
//! files are rendered with Liquid, the engine cargo-generate uses, after a check that they
//! hold only what both renderers read the same way ([`scan`]): bare `{{name}}`
//! substitutions and whole-line `{%- if COND %}` blocks over declared placeholders. A
//! placeholder that is not declared, a value of the wrong kind, or a tag anywhere else is
//! an error naming the file and line, never a silent empty string.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use crate::manifest::{self, Manifest, ManifestError, PlaceholderKind, Syntax, Value};
use crate::name::ProjectName;

/// The template folder, embedded at build time. `build.rs` picks the folder (the
/// `template` link in this crate, which `cargo package` follows, or `../../template`) and
/// makes Cargo rebuild the binary when a template file changes.
static EMBEDDED: Dir<'static> = include_dir!("$OBSKIT_TEMPLATE_DIR");

/// Suffix cargo-generate removes from file names (it lets `Cargo.toml.liquid` sit in the
/// repository without being taken for a real package).
pub const LIQUID_SUFFIX: &str = ".liquid";

/// Why the template could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template has no `cargo-generate.toml`.
    #[error(
        "the template has no {}; add it at the template root",
        manifest::FILE_NAME
    )]
    MissingManifest,
    /// The manifest is invalid.
    #[error("the template manifest is invalid")]
    Manifest(#[from] ManifestError),
    /// A value was given for a placeholder the manifest does not declare, or of the wrong
    /// kind (text for a switch, a value outside a choice's list).
    #[error("{problem}")]
    BadAnswer {
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Two files would be written to the same path.
    #[error("two template files produce `{}`; remove one", path.display())]
    DuplicateOutput {
        /// The output path.
        path: PathBuf,
    },
    /// A templated file is not UTF-8 text.
    #[error("`{}` is rendered but is not UTF-8 text; list it in [template].exclude to copy it as is", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A templated file uses template syntax beyond what both renderers agree on.
    #[error("`{}` line {line}: {problem}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Liquid failed to parse or render a file that passed the checks above.
    #[error("could not render `{}`: {message}", path.display())]
    Render {
        /// The file.
        path: PathBuf,
        /// The engine's message.
        message: String,
    },
}

/// The answers a template is rendered with: the name and the placeholder values.
#[derive(Debug, Clone)]
pub struct Answers {
    values: BTreeMap<String, Value>,
}

impl Answers {
    /// Answers for `name`, with every other placeholder at its default (switches off).
    pub fn new(name: &ProjectName) -> Self {
        let values = BTreeMap::from([
            (
                "project-name".to_owned(),
                Value::Text(name.project().to_owned()),
            ),
            (
                "crate_name".to_owned(),
                Value::Text(name.krate().to_owned()),
            ),
        ]);
        Self { values }
    }

    /// Sets a declared text or choice placeholder.
    #[must_use]
    pub fn set(mut self, placeholder: &str, value: impl Into<String>) -> Self {
        self.values
            .insert(placeholder.to_owned(), Value::Text(value.into()));
        self
    }

    /// Turns a declared switch (a `type = "bool"` placeholder) on.
    #[must_use]
    pub fn enable(mut self, switch: &str) -> Self {
        self.values.insert(switch.to_owned(), Value::Bool(true));
        self
    }

    /// Sets a placeholder to `value`: text for a text or choice placeholder, a bool for
    /// a switch.
    #[must_use]
    pub fn with(mut self, placeholder: &str, value: Value) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// Whether the switch `name` is on.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.values.get(name) == Some(&Value::Bool(true))
    }
}

/// How a generated file was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Rendered with Liquid.
    Rendered,
    /// Copied byte for byte (`[template].exclude`).
    Copied,
}

/// One file of a generated project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path inside the project.
    pub path: PathBuf,
    /// The bytes to write.
    pub contents: Vec<u8>,
    /// Whether it was rendered or copied.
    pub kind: Kind,
    /// The template file it came from.
    pub source: PathBuf,
}

/// A template: its files and its manifest.
#[derive(Debug, Clone)]
pub struct Template {
    files: BTreeMap<PathBuf, Vec<u8>>,
    manifest: Manifest,
}

impl Template {
    /// The template embedded in this binary.
    pub fn embedded() -> Result<Self, TemplateError> {
        let mut files = Vec::new();
        let mut dirs = vec![&EMBEDDED];
        while let Some(dir) = dirs.pop() {
            files.extend(
                dir.files()
                    .map(|f| (f.path().to_path_buf(), f.contents().to_vec())),
            );
            dirs.extend(dir.dirs());
        }
        Self::from_files(files)
    }

    /// A template made of `files` (paths relative to the template root), which must
    /// include the manifest.
    pub fn from_files(
        files: impl IntoIterator<Item = (PathBuf, Vec<u8>)>,
    ) -> Result<Self, TemplateError> {
        let files: BTreeMap<_, _> = files.into_iter().collect();
        let text = files
            .get(Path::new(manifest::FILE_NAME))
            .ok_or(TemplateError::MissingManifest)?;
        let manifest = Manifest::parse(&String::from_utf8_lossy(text))?;
        Ok(Self { files, manifest })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every file of the template with its path relative to the template root.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_path(), c.as_slice()))
    }

    /// Every combination of the options (switches and choices), each as the values that
    /// differ from the defaults, the defaults first. A choice or switch called `name` is
    /// `obskit new`'s `--name` flag and cargo-generate's `--define name=...`.
    pub fn combinations(&self) -> Vec<Vec<(String, Value)>> {
        let mut all: Vec<Vec<(String, Value)>> = vec![Vec::new()];
        for placeholder in self.manifest.placeholders() {
            let choices: Vec<Value> = match &placeholder.kind {
                PlaceholderKind::Switch => vec![Value::Bool(true)],
                PlaceholderKind::Choice(choices) => choices
                    .iter()
                    .filter(|c| placeholder.default.as_ref() != Some(*c))
                    .map(|c| Value::Text(c.clone()))
                    .collect(),
                PlaceholderKind::Builtin | PlaceholderKind::Text => continue,
            };
            all = all
                .into_iter()
                .flat_map(|combination| {
                    let with = choices.iter().map({
                        let combination = combination.clone();
                        move |value| {
                            let mut more = combination.clone();
                            more.push((placeholder.name.clone(), value.clone()));
                            more
                        }
                    });
                    std::iter::once(combination).chain(with).collect::<Vec<_>>()
                })
                .collect();
        }
        all
    }

    /// Renders the project for `answers`, in memory, sorted by path.
    pub fn render(&self, answers: &Answers) -> Result<Vec<GeneratedFile>, TemplateError> {
        let values = self.values(answers)?;
        let globals = liquid_globals(&values);
        let parser = liquid_parser();
        let mut generated = BTreeMap::new();
        for (source, contents) in &self.files {
            let output = output_path(source);
            if self.manifest.is_ignored(&output, &values) {
                continue;
            }
            let (contents, kind) = if self.manifest.is_copied(&output) {
                (contents.clone(), Kind::Copied)
            } else {
                let text = self.render_file(&parser, source, contents, &globals)?;
                (text.into_bytes(), Kind::Rendered)
            };
            let file = GeneratedFile {
                path: output.clone(),
                contents,
                kind,
                source: source.clone(),
            };
            if generated.insert(output.clone(), file).is_some() {
                return Err(TemplateError::DuplicateOutput { path: output });
            }
        }
        Ok(generated.into_values().collect())
    }

    /// The value of every placeholder: the answers, checked against the manifest, then the
    /// defaults.
    pub fn values(&self, answers: &Answers) -> Result<BTreeMap<String, Value>, TemplateError> {
        let bad = |problem: String| TemplateError::BadAnswer { problem };
        for (name, value) in &answers.values {
            let Some(placeholder) = self.manifest.placeholder(name) else {
                return Err(bad(format!(
                    "no placeholder `{name}` is declared (declared: {}); declare it in cargo-generate.toml",
                    self.manifest.declared_names()
                )));
            };
            match (&placeholder.kind, value) {
                (PlaceholderKind::Switch, Value::Bool(_))
                | (PlaceholderKind::Text | PlaceholderKind::Builtin, Value::Text(_)) => {}
                (PlaceholderKind::Choice(choices), Value::Text(text)) => {
                    if !choices.contains(text) {
                        return Err(bad(format!(
                            "`{name}` cannot be `{text}`; use one of: {}",
                            choices.join(", ")
                        )));
                    }
                }
                (PlaceholderKind::Switch, Value::Text(_)) => {
                    return Err(bad(format!(
                        "`{name}` is a yes/no option; turn it on rather than setting text"
                    )));
                }
                (_, Value::Bool(_)) => {
                    return Err(bad(format!(
                        "`{name}` is not a yes/no option; set it to a value"
                    )));
                }
            }
        }
        let mut values = BTreeMap::new();
        for placeholder in self.manifest.placeholders() {
            let value = match (answers.values.get(&placeholder.name), &placeholder.kind) {
                (Some(value), _) => value.clone(),
                (None, PlaceholderKind::Switch) => Value::Bool(false),
                (None, _) => match &placeholder.default {
                    Some(default) => Value::Text(default.clone()),
                    None => {
                        return Err(bad(format!(
                            "`{}` has no value; set it (Answers::new sets the built-ins)",
                            placeholder.name
                        )));
                    }
                },
            };
            values.insert(placeholder.name.clone(), value);
        }
        Ok(values)
    }

    fn render_file(
        &self,
        parser: &liquid::Parser,
        path: &Path,
        contents: &[u8],
        globals: &liquid::Object,
    ) -> Result<String, TemplateError> {
        let text = std::str::from_utf8(contents).map_err(|_| TemplateError::NotText {
            path: path.to_path_buf(),
        })?;
        self.check(text).map_err(|err| TemplateError::Syntax {
            path: path.to_path_buf(),
            line: err.line,
            problem: err.problem,
        })?;
        let render = || -> Result<String, liquid::Error> { parser.parse(text)?.render(globals) };
        render().map_err(|err| TemplateError::Render {
            path: path.to_path_buf(),
            message: err.to_string(),
        })
    }

    /// Checks that a templated file holds only declared placeholders, each used the way its
    /// kind allows: text and choices as `{{name}}` or compared, switches alone in conditions.
    pub fn check<'t>(&self, text: &'t str) -> Result<Vec<Piece<'t>>, SyntaxError> {
        let pieces = scan(text)?;
        for piece in &pieces {
            match piece {
                Piece::Substitution { name, line } => {
                    let problem = match self.manifest.placeholder(name).map(|p| &p.kind) {
                        None => format!(
                            "`{{{{{name}}}}}` is not declared (declared: {}); declare it in cargo-generate.toml",
                            self.manifest.declared_names()
                        ),
                        Some(PlaceholderKind::Switch) => format!(
                            "`{{{{{name}}}}}` substitutes a yes/no option; use it in `{{%- if {name} %}}` instead"
                        ),
                        Some(_) => continue,
                    };
                    return Err(SyntaxError {
                        line: *line,
                        problem,
                    });
                }
                Piece::Condition { text, line } => {
                    self.manifest
                        .check_condition(text, Syntax::Liquid)
                        .map_err(|problem| SyntaxError {
                            line: *line,
                            problem,
                        })?;
                }
            }
        }
        Ok(pieces)
    }
}

/// A Liquid parser with the standard tags and filters, as cargo-generate builds it.
fn liquid_parser() -> liquid::Parser {
    liquid::ParserBuilder::with_stdlib()
        .build()
        .expect("the standard Liquid library builds")
}

/// The placeholder values as Liquid globals: text as strings, switches as booleans (as
/// cargo-generate holds them, so `{%- if grpc %}` reads the same in both).
fn liquid_globals(values: &BTreeMap<String, Value>) -> liquid::Object {
    values
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Value::Text(text) => liquid::model::Value::scalar(text.clone()),
                Value::Bool(on) => liquid::model::Value::scalar(*on),
            };
            (name.clone().into(), value)
        })
        .collect()
}

/// The path a template file is emitted at: its own, without a `.liquid` suffix.
pub fn output_path(source: &Path) -> PathBuf {
    match source.to_str().and_then(|s| s.strip_suffix(LIQUID_SUFFIX)) {
        Some(stripped) => PathBuf::from(stripped),
        None => source.to_path_buf(),
    }
}

/// A use of template syntax found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// `{{name}}`.
    Substitution {
        /// The placeholder.
        name: &'a str,
        /// 1-based line number.
        line: usize,
    },
    /// The condition of an `if`, `elsif` or `unless` tag line.
    Condition {
        /// The condition as written.
        text: &'a str,
        /// 1-based line number.
        line: usize,
    },
}

/// Template syntax both renderers would not read the same way, or that would leave a
/// trace in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and how to fix it.
    pub problem: String,
}

/// The block tags a templated file may use, each alone on its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    If,
    Unless,
    Elsif,
    Else,
    EndIf,
    EndUnless,
}

/// Every substitution and condition in `text`, in order; an error for anything else Liquid
/// would treat as template syntax (`{{ x }}`, `{{x | f}}`, `{% raw %}`, a tag not alone on
/// its line, ...), for a tag that would remove a blank line or open the file with a line
/// break, and for blocks that do not close.
pub fn scan(text: &str) -> Result<Vec<Piece<'_>>, SyntaxError> {
    let mut pieces = Vec::new();
    let mut open: Vec<(Tag, usize)> = Vec::new();
    let mut previous: Option<&str> = None;
    for (index, line_text) in text.split('\n').enumerate() {
        let line = index + 1;
        let bad = |problem: String| SyntaxError { line, problem };
        if line_text.contains("{%") {
            let (tag, condition) = tag_line(line_text).ok_or_else(|| {
                bad(format!(
                    "`{}` is not a tag line; a tag sits alone on its line: `{{%- if COND %}}`, `{{%- elsif COND %}}`, `{{%- else %}}`, `{{%- endif %}}` (or `unless`/`endunless`)",
                    line_text.trim()
                ))
            })?;
            match previous {
                None => {
                    return Err(bad(
                        "a tag opens the file, which would start it with a line break; begin with a shared line".to_owned(),
                    ));
                }
                Some(before) if before.trim().is_empty() => {
                    return Err(bad(
                        "a tag follows a blank line, which its `{%-` would remove; move the blank line inside the block".to_owned(),
                    ));
                }
                Some(_) => {}
            }
            match tag {
                Tag::If | Tag::Unless => open.push((tag, line)),
                Tag::Elsif | Tag::Else => {
                    let inside = match open.last() {
                        Some((Tag::If, _)) => true,
                        Some((Tag::Unless, _)) => tag == Tag::Else,
                        _ => false,
                    };
                    if !inside {
                        return Err(bad("`elsif`/`else` outside an `if` block".to_owned()));
                    }
                }
                Tag::EndIf | Tag::EndUnless => {
                    let opener = if tag == Tag::EndIf {
                        Tag::If
                    } else {
                        Tag::Unless
                    };
                    match open.pop() {
                        Some((found, _)) if found == opener => {}
                        _ => return Err(bad("this end tag closes no matching block".to_owned())),
                    }
                }
            }
            if let Some(condition) = condition {
                pieces.push(Piece::Condition {
                    text: condition,
                    line,
                });
            }
        } else {
            substitutions(line_text, line, &mut pieces)?;
        }
        previous = Some(line_text);
    }
    if let Some((_, line)) = open.pop() {
        return Err(SyntaxError {
            line,
            problem: "this block is never closed; add its end tag".to_owned(),
        });
    }
    Ok(pieces)
}

/// The tag and condition of a line that is exactly one allowed tag.
fn tag_line(line: &str) -> Option<(Tag, Option<&str>)> {
    let inner = line.strip_prefix("{%- ")?.strip_suffix(" %}")?;
    let (word, rest) = inner.split_once(' ').unwrap_or((inner, ""));
    let tag = match word {
        "if" => Tag::If,
        "unless" => Tag::Unless,
        "elsif" => Tag::Elsif,
        "else" => Tag::Else,
        "endif" => Tag::EndIf,
        "endunless" => Tag::EndUnless,
        _ => return None,
    };
    let takes_condition = matches!(tag, Tag::If | Tag::Unless | Tag::Elsif);
    if takes_condition == rest.trim().is_empty() || rest.contains(['{', '}', '%']) {
        return None;
    }
    Some((tag, takes_condition.then_some(rest)))
}

/// Every `{{name}}` of one line that is not a tag line.
fn substitutions<'a>(
    text: &'a str,
    line: usize,
    pieces: &mut Vec<Piece<'a>>,
) -> Result<(), SyntaxError> {
    let mut rest = 0;
    while let Some(start) = text[rest..].find("{{").map(|i| rest + i) {
        let bad = || SyntaxError {
            line,
            problem: format!(
                "`{}` is not a bare placeholder; use `{{{{name}}}}` (no spaces, filters or braces around it)",
                text[start..].chars().take(24).collect::<String>()
            ),
        };
        if text[..start].ends_with('\\') {
            return Err(bad());
        }
        let inner_start = start + 2;
        let end = text[inner_start..]
            .find("}}")
            .map(|i| inner_start + i)
            .ok_or_else(bad)?;
        let name = &text[inner_start..end];
        if !is_bare_name(name) {
            return Err(bad());
        }
        pieces.push(Piece::Substitution { name, line });
        rest = end + 2;
    }
    Ok(())
}

/// An identifier Liquid reads as a plain variable: a letter or `_`, then letters, digits,
/// `_` or `-`.
fn is_bare_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests;
