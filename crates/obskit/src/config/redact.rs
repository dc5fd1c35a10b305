//! Credentials out of every URL obskit prints.
//!
//! An endpoint such as `https://user:password@collector:4318/v1/traces?token=abc`
//! is shown as `https://****@collector:4318/v1/traces?token=****`: the whole
//! user-info part (user names are often tokens too) and every query value
//! are replaced by `****`; scheme, host, port, path and query keys stay, so
//! the line still says where spans go. This applies to the start-up
//! configuration line, `Config`'s `Debug`, error messages and export
//! warnings, including URLs inside a transport's own error text.

/// What stands in for a secret.
pub(crate) const MASK: &str = "****";

/// One URL (or something meant to be one, possibly malformed), redacted.
pub(crate) fn url(value: &str) -> String {
    let (scheme, rest) = match value.find("://") {
        Some(i) => value.split_at(i + 3),
        None => ("", value),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::with_capacity(value.len());
    out.push_str(scheme);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(MASK);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (path_query, fragment) = match tail.find('#') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    match path_query.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    out.push('&');
                }
                match pair.split_once('=') {
                    Some((key, _)) => {
                        out.push_str(key);
                        out.push('=');
                        out.push_str(MASK);
                    }
                    None => out.push_str(pair),
                }
            }
        }
        None => out.push_str(path_query),
    }
    out.push_str(fragment);
    out
}

/// Free text (an error message) with every `scheme://…` URL in it redacted.
pub(crate) fn text(value: &str) -> String {
    if !value.contains("://") {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        // The scheme: the letters, digits, `+`, `-`, `.` before `://`.
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| j + 1);
        out.push_str(&rest[..start]);
        let from = &rest[start..];
        // The URL ends at whitespace or at a delimiter of the prose around it.
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')'))
            .unwrap_or(from.len());
        out.push_str(&url(&from[..end]));
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_and_query_values_are_masked() {
        assert_eq!(
            url("https://user:password@collector:4318/v1/traces"),
            "https://****@collector:4318/v1/traces"
        );
        assert_eq!(url("https://token@host"), "https://****@host");
        assert_eq!(
            url("http://host:4318/v1/traces?api_key=abc&x=1&flag#frag"),
            "http://host:4318/v1/traces?api_key=****&x=****&flag#frag"
        );
        assert_eq!(
            url("http://a:b@c@host/p"),
            "http://****@host/p",
            "the last @ ends the user info"
        );
    }

    #[test]
    fn urls_without_secrets_are_unchanged() {
        for u in [
            "http://localhost:4318/v1/traces",
            "https://collector.example:4317",
            "http://[::1]:4317/",
            "",
            "collector:4317",
        ] {
            assert_eq!(url(u), u);
        }
    }

    #[test]
    fn malformed_values_are_redacted_too() {
        assert_eq!(url("user:pw@host:4317"), "****@host:4317");
        assert_eq!(url("htp://u:p@h"), "htp://****@h");
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        assert_eq!(
            text("cannot reach https://u:secret@c:4318/v1/traces: connection refused"),
            "cannot reach https://****@c:4318/v1/traces: connection refused"
        );
        assert_eq!(
            text("error sending request for url (http://u:secret@h/x?k=v)"),
            "error sending request for url (http://****@h/x?k=****)"
        );
        assert_eq!(
            text("a http://x:y@a and \"https://z@b\""),
            "a http://****@a and \"https://****@b\""
        );
        assert_eq!(text("no urls here"), "no urls here");
    }
}
