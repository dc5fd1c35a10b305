//! Keeps the crate's modules layered: the paths one module names in another
//! (`use crate::…`, `super::…`, `crate::x::f()`) must form no circle, at
//! any level of the module tree. A circle means two modules that can only
//! be understood, changed and tested together; the test names it so the
//! edge that closes it can be moved (usually: a shared part into a module
//! of its own, below both).
//!
//! The reader is a small tokenizer, not a Rust parser: it follows `use`
//! trees and paths, resolves `pub use` re-exports to the module that
//! defines the item, and leaves out test-only code (`#[cfg(test)]` items
//! and modules).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// A module's path from the crate root: `[]` for `lib.rs`, `["http",
/// "layer"]` for `http/layer.rs`.
type ModPath = Vec<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The tokens of `src` without comments, string and character literals and
/// lifetimes.
fn tokenize(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1);
        } else if c == '\'' {
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                // A lifetime or label: skip its name.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw = matches!(word.as_str(), "r" | "br" | "cr")
                && matches!(chars.get(i), Some('"' | '#'));
            if raw {
                let mut hashes = 0;
                while chars.get(i) == Some(&'#') {
                    hashes += 1;
                    i += 1;
                }
                if chars.get(i) == Some(&'"') {
                    i = skip_raw_string(&chars, i + 1, hashes);
                }
            } else if matches!(word.as_str(), "b" | "c") && chars.get(i) == Some(&'"') {
                i = skip_string(&chars, i + 1);
            } else {
                out.push(Token::Ident(word));
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            out.push(Token::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    out
}

fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn skip_raw_string(chars: &[char], mut i: usize, hashes: usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// What one file says about its module.
#[derive(Debug, Default)]
struct FileFacts {
    /// Paths it names, as written.
    paths: Vec<Vec<String>>,
    /// `pub use` items: the name they are reachable by → the path written.
    reexports: Vec<(String, Vec<String>)>,
    /// Child modules declared for tests only (`#[cfg(test)] mod tests;`).
    test_children: Vec<String>,
}

fn is(t: Option<&Token>, p: char) -> bool {
    t == Some(&Token::Punct(p))
}

fn ident(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token::Ident(s)) => Some(s),
        _ => None,
    }
}

/// The index after the balanced group opened at `i` (`{`, `(` or `[`).
fn skip_group(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < tokens.len() {
        match tokens[i] {
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The index after the item starting at `i`: through its `;` or its body.
fn skip_item(tokens: &[Token], mut i: usize) -> usize {
    while i < tokens.len() {
        match tokens[i] {
            Token::Punct(';') => return i + 1,
            Token::Punct('{') => return skip_group(tokens, i),
            Token::Punct('(' | '[') => i = skip_group(tokens, i),
            _ => i += 1,
        }
    }
    i
}

/// Parses a `use` tree starting at `i` (after `use`) into full paths;
/// returns them with the index after the tree. Each path comes with the
/// name it binds (its last segment, or its alias).
fn parse_use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: &[String],
) -> (Vec<(String, Vec<String>)>, usize) {
    let mut path = prefix.to_vec();
    let mut out = Vec::new();
    loop {
        match tokens.get(i) {
            Some(Token::Ident(s)) if s == "as" => {
                let alias = ident(tokens.get(i + 1)).unwrap_or("_").to_owned();
                out.push((alias, path));
                return (out, i + 2);
            }
            Some(Token::Ident(s)) => {
                path.push(s.clone());
                i += 1;
            }
            Some(Token::PathSep) => i += 1,
            Some(Token::Punct('{')) => {
                i += 1;
                loop {
                    if is(tokens.get(i), '}') {
                        return (out, i + 1);
                    }
                    if i >= tokens.len() {
                        return (out, i);
                    }
                    let (inner, next) = parse_use_tree(tokens, i, &path);
                    out.extend(inner);
                    i = next;
                    if is(tokens.get(i), ',') {
                        i += 1;
                    }
                }
            }
            Some(Token::Punct('*')) => return (out, i + 1),
            _ => {
                if let Some(last) = path.last() {
                    let name = if last == "self" && path.len() > 1 {
                        path.pop();
                        path.last().cloned().unwrap_or_default()
                    } else {
                        last.clone()
                    };
                    out.push((name, path));
                }
                return (out, i);
            }
        }
    }
}

fn facts(src: &str) -> FileFacts {
    let tokens = tokenize(src);
    let mut f = FileFacts::default();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        // `#[cfg(test)]`: leave out the item it guards.
        if *t == Token::Punct('#')
            && is(tokens.get(i + 1), '[')
            && ident(tokens.get(i + 2)) == Some("cfg")
            && is(tokens.get(i + 3), '(')
            && ident(tokens.get(i + 4)) == Some("test")
            && is(tokens.get(i + 5), ')')
            && is(tokens.get(i + 6), ']')
        {
            let mut j = i + 7;
            while ident(tokens.get(j)).is_some_and(|w| w == "pub") || is(tokens.get(j), '(') {
                j = if is(tokens.get(j), '(') {
                    skip_group(&tokens, j)
                } else {
                    j + 1
                };
            }
            if ident(tokens.get(j)) == Some("mod")
                && let Some(name) = ident(tokens.get(j + 1))
                && is(tokens.get(j + 2), ';')
            {
                f.test_children.push(name.to_owned());
            }
            i = skip_item(&tokens, j);
            continue;
        }
        if ident(Some(t)) == Some("use") {
            let public =
                i > 0 && (ident(tokens.get(i - 1)) == Some("pub") || is(tokens.get(i - 1), ')'));
            let (items, next) = parse_use_tree(&tokens, i + 1, &[]);
            for (name, path) in items {
                if public {
                    f.reexports.push((name, path.clone()));
                }
                f.paths.push(path);
            }
            i = next;
            continue;
        }
        // A path: `a::b::c`, not the tail of a longer one.
        if let Token::Ident(first) = t
            && tokens.get(i + 1) == Some(&Token::PathSep)
            && !(i > 0 && tokens[i - 1] == Token::PathSep)
        {
            let mut path = vec![first.clone()];
            let mut j = i + 1;
            while tokens.get(j) == Some(&Token::PathSep) {
                match ident(tokens.get(j + 1)) {
                    Some(s) => path.push(s.to_owned()),
                    None => break,
                }
                j += 2;
            }
            f.paths.push(path);
            i = j;
            continue;
        }
        i += 1;
    }
    f
}

/// The module a source file defines, from its path under `src/`.
fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

struct Crate {
    modules: BTreeMap<ModPath, FileFacts>,
    reexports: HashMap<ModPath, HashMap<String, ModPath>>,
}

impl Crate {
    fn new(files: &[(ModPath, String)]) -> Self {
        let modules: BTreeMap<ModPath, FileFacts> =
            files.iter().map(|(m, s)| (m.clone(), facts(s))).collect();
        let mut c = Self {
            modules,
            reexports: HashMap::new(),
        };
        let mut reexports: HashMap<ModPath, HashMap<String, ModPath>> = HashMap::new();
        for (m, f) in &c.modules {
            for (name, path) in &f.reexports {
                if let Some(abs) = c.absolute(m, path) {
                    reexports
                        .entry(m.clone())
                        .or_default()
                        .insert(name.clone(), abs);
                }
            }
        }
        c.reexports = reexports;
        c
    }

    /// `path` as written in module `m`, from the crate root; `None` for a
    /// path into another crate or to an item of `m` itself.
    fn absolute(&self, m: &ModPath, path: &[String]) -> Option<ModPath> {
        let first = path.first()?;
        let (mut base, rest): (ModPath, &[String]) = match first.as_str() {
            "crate" | "$crate" => (Vec::new(), &path[1..]),
            "self" => (m.clone(), &path[1..]),
            "super" => {
                let mut base = m.clone();
                let mut k = 0;
                while path.get(k).is_some_and(|s| s == "super") {
                    base.pop();
                    k += 1;
                }
                (base, &path[k..])
            }
            child => {
                let mut p = m.clone();
                p.push(child.to_owned());
                if !self.modules.contains_key(&p) {
                    return None;
                }
                (m.clone(), path)
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The module defining what `abs` names: its longest module prefix,
    /// followed through `pub use` re-exports.
    fn resolve(&self, abs: &[String], depth: usize) -> ModPath {
        for k in (0..=abs.len()).rev() {
            let prefix = abs[..k].to_vec();
            if self.modules.contains_key(&prefix) {
                if let Some(name) = abs.get(k)
                    && depth < 16
                    && let Some(target) = self.reexports.get(&prefix).and_then(|r| r.get(name))
                {
                    let mut next = target.clone();
                    next.extend(abs[k + 1..].iter().cloned());
                    return self.resolve(&next, depth + 1);
                }
                return prefix;
            }
        }
        Vec::new()
    }

    fn is_test(&self, m: &ModPath) -> bool {
        (1..=m.len()).any(|k| {
            let parent = m[..k - 1].to_vec();
            self.modules
                .get(&parent)
                .is_some_and(|f| f.test_children.contains(&m[k - 1]))
        })
    }

    /// Module → the modules it names (itself, the root and tests aside).
    fn edges(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut edges = BTreeMap::new();
        for (m, f) in &self.modules {
            if self.is_test(m) {
                continue;
            }
            let targets: BTreeSet<ModPath> = f
                .paths
                .iter()
                .filter_map(|p| self.absolute(m, p))
                .map(|abs| self.resolve(&abs, 0))
                .filter(|t| t != m && !t.is_empty() && !self.is_test(t))
                .collect();
            edges.insert(m.clone(), targets);
        }
        edges
    }
}

fn name(parent: &[String], child: &str) -> String {
    if parent.is_empty() {
        format!("crate::{child}")
    } else {
        format!("crate::{}::{child}", parent.join("::"))
    }
}

/// Every circle between sibling modules, at every level of the tree, each
/// as `a -> b -> a` with full module names.
fn cycles(files: &[(ModPath, String)]) -> Vec<String> {
    let krate = Crate::new(files);
    let edges = krate.edges();
    let parents: BTreeSet<ModPath> = edges
        .keys()
        .filter(|m| !m.is_empty())
        .map(|m| m[..m.len() - 1].to_vec())
        .collect();
    let mut found = Vec::new();
    for d in parents {
        // The children of `d`, each standing for its whole subtree.
        let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (m, targets) in &edges {
            if m.len() <= d.len() || m[..d.len()] != d[..] {
                continue;
            }
            let from = m[d.len()].as_str();
            let entry = graph.entry(from).or_default();
            for t in targets {
                if t.len() > d.len() && t[..d.len()] == d[..] && t[d.len()] != m[d.len()] {
                    entry.insert(t[d.len()].as_str());
                }
            }
        }
        for circle in circles(&graph) {
            let names: Vec<String> = circle.iter().map(|c| name(&d, c)).collect();
            found.push(names.join(" -> "));
        }
    }
    found
}

/// One circle through each strongly connected group of `graph`, starting
/// and ending at its first member.
fn circles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for &start in graph.keys() {
        if seen.contains(start) {
            continue;
        }
        // The shortest path back to `start`, by breadth-first search.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closed = None;
        while let Some(n) = queue.pop_front() {
            for &next in graph.get(n).into_iter().flatten() {
                if next == start {
                    closed = Some(n);
                    break;
                }
                if !came_from.contains_key(next) && next != start {
                    came_from.insert(next, n);
                    queue.push_back(next);
                }
            }
            if closed.is_some() {
                break;
            }
        }
        if let Some(mut n) = closed {
            let mut circle = vec![start];
            let mut back = vec![n];
            while n != start {
                n = came_from.get(n).copied().unwrap_or(start);
                if n != start {
                    back.push(n);
                }
            }
            circle.extend(back.into_iter().rev());
            circle.push(start);
            seen.extend(circle.iter().copied());
            out.push(circle);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(ModPath, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("the source tree is readable")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                read_tree(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under the root");
                let src = std::fs::read_to_string(&path).expect("a readable source file");
                out.push((module_of(rel), src));
            }
        }
    }

    fn files(list: &[(&str, &str)]) -> Vec<(ModPath, String)> {
        list.iter()
            .map(|(p, s)| (module_of(Path::new(p)), (*s).to_owned()))
            .collect()
    }

    #[test]
    fn the_crate_has_no_import_circles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = Vec::new();
        read_tree(&root, &root, &mut sources);
        assert!(sources.len() > 50, "read only {} files", sources.len());
        let found = cycles(&sources);
        assert!(
            found.is_empty(),
            "modules that import each other (move the shared part into a module below both):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn a_circle_through_a_reexport_is_named() {
        let found = cycles(&files(&[
            ("lib.rs", "mod a; mod b; pub use a::Thing;"),
            ("a.rs", "use crate::b::Helper;\npub struct Thing;"),
            ("b/mod.rs", "mod inner;\npub(crate) use inner::Helper;"),
            ("b/inner.rs", "pub struct Helper(crate::Thing);"),
        ]));
        assert_eq!(found, ["crate::a -> crate::b -> crate::a"]);
    }

    #[test]
    fn a_circle_between_files_of_one_module_is_named() {
        let found = cycles(&files(&[
            ("lib.rs", "mod http;"),
            ("http/mod.rs", "mod layer; mod service; mod state;"),
            (
                "http/layer.rs",
                "use super::{service::Service, state::Shared};",
            ),
            ("http/service.rs", "fn f() { super::layer::Layer::new(); }"),
            ("http/state.rs", "pub struct Shared;"),
        ]));
        assert_eq!(
            found,
            ["crate::http::layer -> crate::http::service -> crate::http::layer"]
        );
    }

    #[test]
    fn tests_comments_and_strings_make_no_edge() {
        let found = cycles(&files(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::f;"),
            (
                "b.rs",
                "// crate::a::g\nconst S: &str = \"crate::a::g\";\n\
                 #[cfg(test)]\nmod tests { use crate::a::g; }\n\
                 #[cfg(test)]\nfn helper() { crate::a::g(); }\npub fn f() {}",
            ),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }
}
