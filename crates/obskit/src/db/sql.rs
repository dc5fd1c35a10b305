//! SQL text as it may leave the process: literals replaced by `?`, comments
//! dropped, and a short summary (`SELECT users`) for span names and labels.
//!
//! The scanner knows PostgreSQL's lexical rules for what can hold a value:
//! `'strings'` (with `''`), `E'escapes\''`, `B'…'`, `X'…'`, `N'…'`,
//! `U&'…'`, `$tag$dollar quotes$tag$`, numbers (`42`, `1.5e3`, `0x1F`,
//! `1_000`), `-- comments` and nested `/* comments */`. Whatever it cannot
//! close (an unterminated string, quote or comment) is replaced whole, so
//! malformed input never leaks the rest of the text.

/// The placeholder each literal becomes.
const PLACEHOLDER: u8 = b'?';

/// Longest summary kept, in bytes (the semantic conventions' bound).
const SUMMARY_MAX: usize = 255;

/// `sql` with every literal replaced by `?` and every comment removed.
///
/// ```
/// # use obskit::db::sanitize_sql;
/// assert_eq!(
///     sanitize_sql("SELECT * FROM users WHERE email = 'a@b.c' AND age > 42 -- me"),
///     "SELECT * FROM users WHERE email = ? AND age > ? ",
/// );
/// ```
pub fn sanitize_sql(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' => {
                let escapes = drop_string_prefix(&mut out);
                out.push(PLACEHOLDER);
                i = skip_string(b, i + 1, escapes);
            }
            b'"' => match find_quote_end(b, i + 1, b'"') {
                Some(end) => {
                    out.extend_from_slice(&b[i..end]);
                    i = end;
                }
                None => {
                    out.push(PLACEHOLDER);
                    i = b.len();
                }
            },
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                push_space(&mut out);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(b, i + 2);
                push_space(&mut out);
            }
            b'$' => {
                if let Some(tag_end) = dollar_tag(b, i) {
                    let tag = &b[i..tag_end];
                    out.push(PLACEHOLDER);
                    i = b[tag_end..]
                        .windows(tag.len())
                        .position(|w| w == tag)
                        .map_or(b.len(), |p| tag_end + p + tag.len());
                } else {
                    // `$1`: a parameter, kept with its number.
                    out.push(c);
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        out.push(b[i]);
                        i += 1;
                    }
                }
            }
            b'0'..=b'9' if !after_identifier(&out) => {
                out.push(PLACEHOLDER);
                i = skip_number(b, i);
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !after_identifier(&out) => {
                out.push(PLACEHOLDER);
                i = skip_number(b, i);
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only whole ASCII runs were removed, so the rest is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Whether the text so far ends inside an identifier (`t1`, `x$2`), so a
/// digit continues it rather than starting a number.
fn after_identifier(out: &[u8]) -> bool {
    out.last().is_some_and(|&c| is_ident_byte(c))
}

fn push_space(out: &mut Vec<u8>) {
    if out.last().is_some_and(|c| !c.is_ascii_whitespace()) {
        out.push(b' ');
    }
}

/// Removes a string prefix (`E`, `B`, `X`, `N`, `U&`) just written, and
/// says whether the string takes backslash escapes (`E'…'`).
fn drop_string_prefix(out: &mut Vec<u8>) -> bool {
    let n = out.len();
    let standalone = |at: usize| at == 0 || !is_ident_byte(out[at - 1]);
    if n >= 2 && out[n - 1] == b'&' && matches!(out[n - 2], b'U' | b'u') && standalone(n - 2) {
        out.truncate(n - 2);
        return false;
    }
    if n >= 1 && standalone(n - 1) {
        match out[n - 1] {
            b'E' | b'e' => {
                out.truncate(n - 1);
                return true;
            }
            b'B' | b'b' | b'X' | b'x' | b'N' | b'n' => out.truncate(n - 1),
            _ => {}
        }
    }
    false
}

/// The index after a string whose body starts at `i`: `''` is a quote
/// inside it, and with `escapes` a backslash hides the next byte.
/// Unterminated: the end of the text.
fn skip_string(b: &[u8], mut i: usize, escapes: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if escapes => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The index after the closing `quote` (doubled quotes stay inside).
fn find_quote_end(b: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    while i < b.len() {
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// The index after a (nested) block comment whose body starts at `i`.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 1usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// If a dollar-quote tag (`$$`, `$body$`) starts at `i` (not inside an
/// identifier), the index after it.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident_byte(b[i - 1]) {
        return None;
    }
    let mut j = i + 1;
    if b.get(j)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80)
    {
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

/// The index after a numeric literal starting at `i`.
fn skip_number(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B')) {
        i += 2;
        while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b'_') {
            i += 1;
        }
        return i;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_' || b[i] == b'.') {
        i += 1;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// What a statement's text says about it, for span names and labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Summary {
    /// `db.operation.name`: the statement's leading keyword, e.g. `SELECT`.
    pub(crate) operation: Option<&'static str>,
    /// `db.collection.name`: the one table it works on, if exactly one.
    pub(crate) collection: Option<String>,
    /// `db.query.summary`: the operation and its tables, e.g. `SELECT orders users`.
    pub(crate) summary: Option<String>,
}

/// Statement keywords that become `db.operation.name`, a fixed set so
/// the label stays bounded whatever text is sent.
const OPERATIONS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SET",
    "SHOW",
    "RESET",
    "CALL",
    "EXECUTE",
    "PREPARE",
    "DEALLOCATE",
    "COPY",
    "VACUUM",
    "ANALYZE",
    "EXPLAIN",
    "LOCK",
    "GRANT",
    "REVOKE",
    "LISTEN",
    "UNLISTEN",
    "NOTIFY",
    "DO",
    "REFRESH",
    "VALUES",
    "TABLE",
    "DISCARD",
    "CLUSTER",
    "REINDEX",
    "COMMENT",
];

/// Keywords after which a table name follows.
const TARGET_BEFORE: &[&str] = &["FROM", "JOIN", "INTO", "UPDATE", "TABLE"];

/// Words after which `UPDATE` is a clause, not a table's keyword:
/// `ON CONFLICT … DO UPDATE SET`, `FOR UPDATE`, `FOR NO KEY UPDATE`.
const UPDATE_CLAUSE_AFTER: &[&str] = &["DO", "FOR", "KEY"];

/// Words that may sit between [`TARGET_BEFORE`] and the table name.
const TARGET_SKIP: &[&str] = &["ONLY", "IF", "NOT", "EXISTS", "LATERAL"];

/// The operation, tables and summary of a (sanitized) statement.
pub(crate) fn summarize(sql: &str) -> Summary {
    let words = words(sql);
    let mut depth = 0usize;
    let mut operation = None;
    let mut targets: Vec<&str> = Vec::new();
    let mut expect_target = false;
    let mut with = false;
    let mut previous = String::new();
    for w in &words {
        match *w {
            "(" => {
                depth += 1;
                expect_target = false;
                continue;
            }
            ")" => {
                depth = depth.saturating_sub(1);
                continue;
            }
            ";" if operation.is_some() => break,
            _ => {}
        }
        let upper = w.to_ascii_uppercase();
        if operation.is_none() && depth == 0 {
            if upper == "WITH" {
                with = true;
                continue;
            }
            operation = OPERATIONS.iter().copied().find(|o| *o == upper);
            if operation.is_none() {
                if with {
                    // A common table expression's name, `AS`, `RECURSIVE`.
                    continue;
                }
                break;
            }
            expect_target = upper == "UPDATE" || upper == "TABLE";
            continue;
        }
        if expect_target {
            if TARGET_SKIP.contains(&upper.as_str()) {
                continue;
            }
            expect_target = false;
            let first = w.as_bytes()[0];
            if (first == b'"' || is_ident_byte(first)) && !targets.contains(w) && targets.len() < 8
            {
                targets.push(w);
            }
            continue;
        }
        if TARGET_BEFORE.contains(&upper.as_str())
            && !(upper == "UPDATE" && UPDATE_CLAUSE_AFTER.contains(&previous.as_str()))
        {
            expect_target = true;
        }
        previous = upper;
    }
    let Some(op) = operation else {
        return Summary::default();
    };
    let mut summary = String::from(op);
    for t in &targets {
        if summary.len() + 1 + t.len() > SUMMARY_MAX {
            break;
        }
        summary.push(' ');
        summary.push_str(t);
    }
    Summary {
        operation: Some(op),
        collection: (targets.len() == 1).then(|| targets[0].to_owned()),
        summary: Some(summary),
    }
}

/// The words of a statement: identifiers (dotted names and quoted parts
/// kept whole), and `(`, `)` and `;` as words of their own.
fn words(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'(' || c == b')' || c == b';' {
            out.push(&sql[i..=i]);
            i += 1;
        } else if c == b'"' || is_ident_byte(c) {
            let start = i;
            loop {
                if i < b.len() && b[i] == b'"' {
                    i = find_quote_end(b, i + 1, b'"').unwrap_or(b.len());
                } else if i < b.len() && is_ident_byte(b[i]) {
                    while i < b.len() && is_ident_byte(b[i]) {
                        i += 1;
                    }
                } else {
                    break;
                }
                if i < b.len() && b[i] == b'.' {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(&sql[start..i]);
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
