//! The `tracestate` header of W3C Trace Context (Level 2): several headers
//! combined as RFC 9110 says, the key and value grammar of the current
//! specification, the 32-member limit, and truncation by whole entries.
//!
//! Grammar (trace-context-2, §3.3.1):
//! ```text
//! list        = list-member 0*31( OWS "," OWS list-member )
//! list-member = (key "=" value) / OWS
//! key         = ( lcalpha / DIGIT ) 0*255 ( keychar )
//! keychar     = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
//! value       = 0*255(chr) nblk-chr
//! chr         = %x20 / nblk-chr
//! nblk-chr    = %x21-2B / %x2D-3C / %x3E-7E
//! ```
//! Any invalid member, or more than 32 members, discards the whole list.
//! Duplicate keys keep their first entry (the specification allows passing
//! them on or dropping them).

use std::sync::Arc;

/// Members a list may hold.
pub(crate) const MAX_MEMBERS: usize = 32;

/// Longest key and longest value.
const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 256;

/// Longest combined incoming value read: 32 members of the longest key and
/// value (513 characters each) with generous whitespace. Anything longer
/// cannot be a valid list and is discarded without being parsed.
pub(crate) const MAX_INCOMING: usize = 32 * 1024;

/// The size obskit sends at most (§3.3.3.1: propagate at least 512).
pub(crate) const MAX_OUTGOING: usize = 512;

/// Entries longer than this are the first removed when the list is too long.
const LONG_ENTRY: usize = 128;

/// A validated `tracestate`: its members as `key=value`, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TraceState {
    members: Arc<[Member]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    /// `key=value`.
    entry: Box<str>,
    /// Where the `=` is.
    eq: usize,
}

impl Member {
    fn key(&self) -> &str {
        &self.entry[..self.eq]
    }
    fn value(&self) -> &str {
        &self.entry[self.eq + 1..]
    }
}

impl TraceState {
    /// Combines the values of every `tracestate` header, in order, as one
    /// comma-separated list (RFC 9110 §5.3) and parses it. An invalid list
    /// comes back empty.
    pub(crate) fn from_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut total = 0usize;
        let mut members: Vec<Member> = Vec::new();
        let mut count = 0usize;
        for value in values {
            total = total.saturating_add(value.len() + 1);
            if total > MAX_INCOMING {
                return Self::default();
            }
            for raw in value.split(',') {
                let raw = raw.trim_matches([' ', '\t']);
                if raw.is_empty() {
                    continue;
                }
                let Some(member) = parse_member(raw) else {
                    return Self::default();
                };
                // Duplicates count against the limit, as they were sent.
                count += 1;
                if count > MAX_MEMBERS {
                    return Self::default();
                }
                if !members.iter().any(|m| m.key() == member.key()) {
                    members.push(member);
                }
            }
        }
        if members.is_empty() {
            // No member (the usual case: no `tracestate` at all): the
            // shared empty list, not an allocation of its own.
            return Self::default();
        }
        Self {
            members: members.into(),
        }
    }

    /// Whether there are no members.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members as `(key, value)` pairs, in order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|m| (m.key(), m.value()))
    }

    /// The outgoing header, cut to [`MAX_OUTGOING`] by whole entries as
    /// §3.3.3.1 says: entries longer than 128 characters go first (from the
    /// right), then entries from the right, until the list fits. `None`
    /// when nothing is left, so no empty header is sent.
    pub(crate) fn header(&self) -> Option<String> {
        let mut keep: Vec<bool> = vec![true; self.members.len()];
        let len = |keep: &[bool]| -> usize {
            let (n, chars) = self
                .members
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .fold((0usize, 0usize), |(n, c), (m, _)| {
                    (n + 1, c + m.entry.len())
                });
            chars + n.saturating_sub(1)
        };
        for i in (0..self.members.len()).rev() {
            if len(&keep) <= MAX_OUTGOING {
                break;
            }
            if self.members[i].entry.len() > LONG_ENTRY {
                keep[i] = false;
            }
        }
        for i in (0..self.members.len()).rev() {
            if len(&keep) <= MAX_OUTGOING {
                break;
            }
            keep[i] = false;
        }
        let mut out = String::with_capacity(len(&keep));
        for (m, _) in self.members.iter().zip(&keep).filter(|(_, k)| **k) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&m.entry);
        }
        (!out.is_empty()).then_some(out)
    }

    /// The SDK's `TraceState` for the span context (and so for export). The
    /// SDK checks keys against the older `tenant@system` grammar; members it
    /// refuses stay out of the exported span but are still propagated.
    pub(crate) fn to_sdk(&self) -> opentelemetry::trace::TraceState {
        use opentelemetry::trace::TraceState as Sdk;
        if self.is_empty() {
            return Sdk::NONE;
        }
        Sdk::from_key_value(self.pairs()).unwrap_or_else(|_| {
            let accepted: Vec<_> = self
                .pairs()
                .filter(|kv| Sdk::from_key_value([*kv]).is_ok())
                .collect();
            Sdk::from_key_value(accepted).unwrap_or(Sdk::NONE)
        })
    }

    /// Reads the SDK's `TraceState` (for spans whose state no obskit
    /// extraction produced, e.g. set by a sampler).
    pub(crate) fn from_sdk(state: &opentelemetry::trace::TraceState) -> Self {
        let header = state.header();
        if header.is_empty() {
            Self::default()
        } else {
            Self::from_headers([header.as_str()])
        }
    }
}

/// One `key=value` member, already trimmed of OWS.
fn parse_member(raw: &str) -> Option<Member> {
    let eq = raw.find('=')?;
    let (key, value) = (&raw[..eq], &raw[eq + 1..]);
    (valid_key(key) && valid_value(value)).then(|| Member {
        entry: Box::from(raw),
        eq,
    })
}

/// The key grammar of trace-context-2: `(lcalpha / DIGIT) 0*255(keychar)`.
pub(crate) fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    let Some((&first, rest)) = b.split_first() else {
        return false;
    };
    b.len() <= MAX_KEY
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest.iter().all(|&c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// The value grammar: 1 to 256 printable ASCII characters other than `,`
/// and `=`, not ending in a space.
pub(crate) fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    match b.last() {
        None | Some(b' ') => false,
        Some(_) => {
            b.len() <= MAX_VALUE
                && b.iter()
                    .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        }
    }
}

#[cfg(test)]
mod tests;
