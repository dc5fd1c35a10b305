//! Carriers for propagation. One reader and one writer trait serve two
//! kinds of carrier: an `http::HeaderMap` (HTTP request headers and gRPC
//! metadata alike), read and written with header names made once, and any
//! OpenTelemetry [`Extractor`] or [`Injector`] (a message's headers, a
//! user's own map), read and written by name.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Stands in for a header value that is not visible ASCII: invalid in every
/// propagation grammar, so such a header is refused, and still counted
/// (a second, unreadable `traceparent` still makes two).
const UNREADABLE: &str = "\u{0}";

/// A propagation header: its lowercase name as text (for any carrier) and
/// as an `http::HeaderName` made once (looking a `&str` up in a `HeaderMap`
/// parses it into a name first, on every request).
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    header: HeaderName,
}

impl Field {
    /// The field `name`, which must be lowercase.
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            header: HeaderName::from_static(name),
        }
    }
}

/// The values of one field, in the order received.
pub(crate) enum Values<'a> {
    Headers(http::header::ValueIter<'a, HeaderValue>),
    Listed(std::vec::IntoIter<&'a str>),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Self::Headers(it) => it.next().map(|v| v.to_str().unwrap_or(UNREADABLE)),
            Self::Listed(it) => it.next(),
        }
    }
}

/// Where propagation headers are read from.
pub(crate) trait Read {
    /// Every value of `field`, in the order received.
    fn values(&self, field: &Field) -> Values<'_>;

    /// The first value of `field`.
    fn first(&self, field: &Field) -> Option<&str> {
        self.values(field).next()
    }

    /// The only value of `field`: `None` when it is absent or repeated.
    fn only(&self, field: &Field) -> Option<&str> {
        let mut values = self.values(field);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }

    /// Calls `f` with the rest of the name and the first value of each
    /// field whose name starts with `prefix` (lowercase), at most `limit`
    /// of them.
    fn each_prefixed(&self, prefix: &str, limit: usize, f: &mut dyn FnMut(&str, &str));
}

/// Headers at most this many names long are searched one name after the
/// other: cheaper than hashing the name looked for, as a map look-up does.
const SCANNED: usize = 8;

/// The first value of `name` in `headers`, as `HeaderMap::get` finds it.
/// A request or response carries few headers, and most looked for are
/// absent: comparing each name held costs less than hashing the one
/// wanted.
#[inline]
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    match headers.keys_len() {
        0 => None,
        // Each name's values follow it, its first value first.
        1..=SCANNED => headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
        _ => headers.get(name),
    }
}

impl Read for HeaderMap {
    fn values(&self, field: &Field) -> Values<'_> {
        if header(self, &field.header).is_none() {
            return Values::Listed(Vec::new().into_iter());
        }
        Values::Headers(self.get_all(&field.header).iter())
    }

    fn first(&self, field: &Field) -> Option<&str> {
        header(self, &field.header).map(|v| v.to_str().unwrap_or(UNREADABLE))
    }

    fn only(&self, field: &Field) -> Option<&str> {
        if self.is_empty() {
            return None;
        }
        let only = if self.keys_len() <= SCANNED {
            // One pass over the few values held: the first of the name,
            // and whether another follows.
            let mut named = self.iter().filter(|(n, _)| **n == field.header);
            let (_, first) = named.next()?;
            named.next().is_none().then_some(first)
        } else {
            let mut values = self.get_all(&field.header).iter();
            let first = values.next()?;
            values.next().is_none().then_some(first)
        };
        only.map(|v| v.to_str().unwrap_or(UNREADABLE))
    }

    fn each_prefixed(&self, prefix: &str, limit: usize, f: &mut dyn FnMut(&str, &str)) {
        // Header names are stored lowercase.
        let named = self
            .keys()
            .filter_map(|k| Some((k.as_str().strip_prefix(prefix)?, k)))
            .take(limit);
        for (rest, name) in named {
            if let Some(value) = self.get(name) {
                f(rest, value.to_str().unwrap_or(UNREADABLE));
            }
        }
    }
}

impl Read for dyn Extractor + '_ {
    fn values(&self, field: &Field) -> Values<'_> {
        Values::Listed(self.get_all(field.name).unwrap_or_default().into_iter())
    }

    fn first(&self, field: &Field) -> Option<&str> {
        self.get(field.name)
    }

    fn each_prefixed(&self, prefix: &str, limit: usize, f: &mut dyn FnMut(&str, &str)) {
        let keys = self.keys();
        let named = keys
            .iter()
            .filter_map(|k| {
                let head = k.get(..prefix.len())?;
                head.eq_ignore_ascii_case(prefix)
                    .then(|| (&k[prefix.len()..], *k))
            })
            .take(limit);
        for (rest, key) in named {
            if let Some(value) = self.get(key) {
                f(rest, value);
            }
        }
    }
}

/// Where propagation headers are written; a value replaces any already
/// there, and a value a carrier cannot hold is skipped.
pub(crate) trait Write {
    /// Writes `value` (built on the stack) into `field`.
    fn put(&mut self, field: &Field, value: &str);
    /// Writes an owned `value` into `field`.
    fn put_owned(&mut self, field: &Field, value: String);
    /// Writes `value` into a field named at run time.
    fn put_named(&mut self, name: &str, value: String);
}

impl Write for HeaderMap {
    fn put(&mut self, field: &Field, value: &str) {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.insert(field.header.clone(), value);
        }
    }

    fn put_owned(&mut self, field: &Field, value: String) {
        // Takes the string's buffer: no copy.
        if let Ok(value) = HeaderValue::try_from(value) {
            self.insert(field.header.clone(), value);
        }
    }

    fn put_named(&mut self, name: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            self.insert(name, value);
        }
    }
}

impl Write for dyn Injector + '_ {
    fn put(&mut self, field: &Field, value: &str) {
        self.set(field.name, value.to_owned());
    }

    fn put_owned(&mut self, field: &Field, value: String) {
        self.set(field.name, value);
    }

    fn put_named(&mut self, name: &str, value: String) {
        self.set(name, value);
    }
}

/// An [`Injector`] over a [`Write`], for the SDK's own propagators: what
/// they write under `field`'s name goes through its prebuilt name.
pub(crate) struct FieldInjector<'a, W: Write + ?Sized> {
    pub(crate) field: &'a Field,
    pub(crate) out: &'a mut W,
}

impl<W: Write + ?Sized> Injector for FieldInjector<'_, W> {
    fn set(&mut self, key: &str, value: String) {
        if key == self.field.name {
            self.out.put_owned(self.field, value);
        } else {
            self.out.put_named(key, value);
        }
    }
}

/// Reads propagation headers from a request's headers (or gRPC metadata)
/// for OpenTelemetry code that takes an [`Extractor`]. Every value of a
/// repeated header is available through [`Extractor::get_all`], in the
/// order received.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a HeaderMap);

#[cfg(test)]
impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key)?;
        Some(value.to_str().unwrap_or(UNREADABLE))
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .map(|v| v.to_str().unwrap_or(UNREADABLE))
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation headers into an outgoing request for OpenTelemetry
/// code that takes an [`Injector`], replacing any value already there.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct HeaderInjector<'a>(pub(crate) &'a mut HeaderMap);

#[cfg(test)]
impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.put_named(key, value);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    static TRACESTATE: Field = Field::new("tracestate");
    static TRACEPARENT: Field = Field::new("traceparent");

    #[test]
    fn every_value_of_a_repeated_header_is_read_in_order() {
        let mut h = HeaderMap::new();
        h.append("tracestate", "a=1".parse().unwrap());
        h.append("TraceState", "b=2".parse().unwrap());
        h.append(
            "tracestate",
            http::HeaderValue::from_bytes(b"c=\xff").unwrap(),
        );
        let e = HeaderExtractor(&h);
        assert_eq!(e.get("tracestate"), Some("a=1"));
        assert_eq!(
            e.get_all("tracestate").unwrap(),
            vec!["a=1", "b=2", UNREADABLE]
        );
        assert_eq!(e.get_all("traceparent"), None);
        // The same through the reader, on the map and on the extractor.
        let direct: Vec<&str> = Read::values(&h, &TRACESTATE).collect();
        assert_eq!(direct, vec!["a=1", "b=2", UNREADABLE]);
        let by_name: Vec<&str> = (&e as &dyn Extractor).values(&TRACESTATE).collect();
        assert_eq!(by_name, direct);
        assert_eq!(h.first(&TRACESTATE), Some("a=1"));
        assert_eq!(h.only(&TRACESTATE), None, "repeated");
        assert_eq!(h.first(&TRACEPARENT), None);
    }

    #[test]
    fn a_header_is_found_as_the_map_finds_it_whatever_its_size() {
        for extra in [0, 3, SCANNED, SCANNED + 5] {
            let mut h = HeaderMap::new();
            h.insert(
                http::header::CONTENT_TYPE,
                "application/grpc".parse().unwrap(),
            );
            for i in 0..extra {
                h.insert(
                    HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap(),
                    "f".parse().unwrap(),
                );
            }
            h.append("tracestate", "a=1".parse().unwrap());
            h.append("tracestate", "b=2".parse().unwrap());
            for name in [
                http::header::CONTENT_TYPE,
                TRACESTATE.header.clone(),
                TRACEPARENT.header.clone(),
                HeaderName::from_static("x-filler-2"),
            ] {
                assert_eq!(header(&h, &name), h.get(&name), "{name} among {extra} more");
                assert_eq!(header(&h, &name).is_some(), h.contains_key(&name), "{name}");
            }
            let all: Vec<&str> = Read::values(&h, &TRACESTATE).collect();
            assert_eq!(all, ["a=1", "b=2"]);
            assert_eq!(Read::values(&h, &TRACEPARENT).count(), 0);
        }
    }

    #[test]
    fn prefixed_fields_are_found_on_any_carrier_and_bounded() {
        let mut h = HeaderMap::new();
        h.insert("uberctx-a", "1".parse().unwrap());
        h.insert("Uberctx-B", "2".parse().unwrap());
        h.insert("other", "3".parse().unwrap());
        let mut seen = Vec::new();
        h.each_prefixed("uberctx-", 10, &mut |k, v| {
            seen.push((k.to_owned(), v.to_owned()))
        });
        seen.sort();
        assert_eq!(seen, [("a".into(), "1".into()), ("b".into(), "2".into())]);

        let mut map = HashMap::new();
        map.insert("uberctx-x".to_owned(), "9".to_owned());
        map.insert("uberctx-y".to_owned(), "8".to_owned());
        let mut seen = Vec::new();
        (&map as &dyn Extractor).each_prefixed("uberctx-", 1, &mut |k, v| {
            seen.push((k.to_owned(), v.to_owned()));
        });
        assert_eq!(seen.len(), 1, "at most the limit");
    }

    #[test]
    fn injection_replaces_and_skips_invalid_values() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", "old".parse().unwrap());
        let mut i = HeaderInjector(&mut h);
        i.set("traceparent", "new".into());
        i.set("baggage", "bad\nvalue".into());
        assert_eq!(h.get_all("traceparent").iter().count(), 1);
        assert_eq!(h["traceparent"], "new");
        assert!(h.get("baggage").is_none());
        h.put(&TRACEPARENT, "newer");
        h.put_owned(&TRACESTATE, "a=1".to_owned());
        h.put(&TRACESTATE, "bad\rvalue");
        assert_eq!(h["traceparent"], "newer");
        assert_eq!(h["tracestate"], "a=1");
    }
}
