//! Which methods count as known, so `rpc.method` (a span name and a metric
//! label) stays bounded whatever paths clients send.
//!
//! The semantic conventions say `rpc.method` is the method's name only
//! when the server recognises it, `_OTHER` otherwise. A layer in front of
//! tonic's router cannot see the generated routing tables, but it sees
//! what they answer: the router, and every generated service, answers a
//! method it does not serve with UNIMPLEMENTED (an axum fallback's 404
//! maps to the same code). So a method becomes known the first time it
//! answers anything else, or when the layer is told about it up front.
//! A known method keeps its name even when its handler later answers
//! UNIMPLEMENTED itself. The learned set is capped, so even a server that
//! answers every path (a proxy) cannot mint unbounded names.

use parking_lot::RwLock;
// Looked up with every call's path. Only methods that answered (or were
// declared) are inserted, at most `MAX_KNOWN_METHODS`, so a client cannot
// build long collision chains; a fast unkeyed hash is enough.
use rustc_hash::FxHashMap as HashMap;

use crate::metrics::names::RPC_METHOD_OTHER;

/// The most methods one layer learns; later ones are reported as `_OTHER`.
pub const MAX_KNOWN_METHODS: usize = 1000;

/// `package.Service/Method` from a request path `/package.Service/Method`,
/// if it has that shape (one slash, non-empty parts of at most 256
/// identifier characters, no dot in the method): one pass over the bytes,
/// a table lookup each, since every call's path is read.
pub(crate) fn from_path(path: &str) -> Option<&str> {
    split_path(path).map(|(full, _)| full)
}

/// [`from_path`]'s `package.Service/Method` and its service part
/// ([`service_of`] it), found in the same pass.
pub(crate) fn split_path(path: &str) -> Option<(&str, &str)> {
    let full = path.strip_prefix('/')?;
    let bytes = full.as_bytes();
    // The service: identifier characters and dots, up to the slash.
    let mut service = 0;
    loop {
        match CLASS[usize::from(*bytes.get(service)?)] {
            IDENTIFIER | DOT => service += 1,
            SLASH => break,
            _ => return None,
        }
    }
    // The method: identifier characters only (no dot, no second slash).
    let method = &bytes[service + 1..];
    if !method.iter().all(|&b| CLASS[usize::from(b)] == IDENTIFIER) {
        return None;
    }
    ((1..=256).contains(&service) && (1..=256).contains(&method.len()))
        .then(|| (full, &full[..service]))
}

/// A byte a method path may not hold.
const OTHER: u8 = 0;
/// A letter, a digit or `_`.
const IDENTIFIER: u8 = 1;
/// `.`, allowed in the service only.
const DOT: u8 = 2;
/// `/`, between the service and the method.
const SLASH: u8 = 3;

/// The class of every byte in a method path.
static CLASS: [u8; 256] = {
    let mut class = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = if c.is_ascii_alphanumeric() || c == b'_' {
            IDENTIFIER
        } else if c == b'.' {
            DOT
        } else if c == b'/' {
            SLASH
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

/// The service part of `package.Service/Method`.
pub(crate) fn service_of(method: &str) -> &str {
    method
        .split_once('/')
        .map_or(method, |(service, _)| service)
}

/// The known methods of one layer: given up front or learned from answers.
#[derive(Debug, Default)]
pub(crate) struct KnownMethods {
    /// When set, only methods of these services can become known.
    services: Option<Vec<String>>,
    /// Method → its name as static text (span names must be `'static`).
    known: RwLock<HashMap<Box<str>, &'static str>>,
}

impl KnownMethods {
    /// A copy limited to the methods of `services`, keeping the known
    /// methods that belong to them.
    pub(crate) fn limited_to(&self, services: Vec<String>) -> Self {
        let known = self
            .known
            .read()
            .iter()
            .filter(|(m, _)| services.iter().any(|s| s == service_of(m)))
            .map(|(m, n)| (m.clone(), *n))
            .collect();
        Self {
            services: Some(services),
            known: RwLock::new(known),
        }
    }

    /// The services methods must belong to, when limited.
    pub(crate) fn services(&self) -> Option<Vec<String>> {
        self.services.clone()
    }

    /// Declares `method` (`package.Service/Method`) known from the start.
    pub(crate) fn declare(&self, method: &str) {
        if from_path(&format!("/{method}")).is_some() {
            self.learn(method);
        }
    }

    /// The method's name if it is known.
    pub(crate) fn get(&self, method: &str) -> Option<&'static str> {
        self.known.read().get(method).copied()
    }

    /// Records that `method` answered something other than UNIMPLEMENTED;
    /// returns its name unless its service is not allowed or the cap is reached.
    pub(crate) fn learn(&self, method: &str) -> Option<&'static str> {
        if let Some(name) = self.get(method) {
            return Some(name);
        }
        if let Some(services) = &self.services
            && !services.iter().any(|s| s == service_of(method))
        {
            return None;
        }
        let mut known = self.known.write();
        if let Some(name) = known.get(method) {
            return Some(name);
        }
        if known.len() >= MAX_KNOWN_METHODS {
            return None;
        }
        // Leaked once per method, at most MAX_KNOWN_METHODS times per layer.
        let name: &'static str = Box::leak(method.into());
        known.insert(method.into(), name);
        Some(name)
    }

    /// The label for a finished call: the method's name if it is known or
    /// becomes known by this answer, else `_OTHER`. `unanswered` marks a
    /// call that cannot teach (UNIMPLEMENTED, or dropped before its status).
    pub(crate) fn label(&self, method: Option<&str>, unanswered: bool) -> &'static str {
        let Some(method) = method else {
            return RPC_METHOD_OTHER;
        };
        let known = if unanswered {
            self.get(method)
        } else {
            self.learn(method)
        };
        known.unwrap_or(RPC_METHOD_OTHER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_have_the_grpc_shape() {
        assert_eq!(from_path("/pkg.Svc/Do"), Some("pkg.Svc/Do"));
        assert_eq!(from_path("/Svc/Do"), Some("Svc/Do"));
        for bad in [
            "",
            "/",
            "pkg.Svc/Do",
            "/pkg.Svc",
            "/pkg.Svc/",
            "/a/b/c",
            "/a b/c",
            "/a/b.c",
            "//Do",
            "/a/b/",
        ] {
            assert_eq!(from_path(bad), None, "{bad}");
        }
        let longest = format!("/{}/{}", "s".repeat(256), "m".repeat(256));
        assert_eq!(from_path(&longest), longest.strip_prefix('/'));
        assert_eq!(from_path(&format!("/{}/m", "s".repeat(257))), None);
        assert_eq!(from_path(&format!("/s/{}", "m".repeat(257))), None);
        assert_eq!(service_of("pkg.Svc/Do"), "pkg.Svc");
        assert_eq!(split_path("/pkg.Svc/Do"), Some(("pkg.Svc/Do", "pkg.Svc")));
        assert_eq!(split_path("/pkg.Svc/"), None);
        assert_eq!(service_of("no-slash"), "no-slash");
    }

    /// The shape, byte by byte, as the specification reads.
    fn has_the_shape(path: &str) -> bool {
        let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return false;
        };
        let identifier = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        (1..=256).contains(&service.len())
            && (1..=256).contains(&method.len())
            && service.bytes().all(|b| identifier(b) || b == b'.')
            && method.bytes().all(identifier)
    }

    #[test]
    fn every_byte_in_every_place_is_judged_as_the_shape_says() {
        for b in 0..=255_u8 {
            let c = char::from(b);
            for path in [
                format!("/{c}/m"),
                format!("/s{c}/m"),
                format!("/s/{c}"),
                format!("/s/m{c}"),
                format!("{c}s/m"),
            ] {
                assert_eq!(from_path(&path).is_some(), has_the_shape(&path), "{path:?}");
            }
        }
    }

    #[test]
    fn methods_become_known_by_answering_and_stay_bounded() {
        let m = KnownMethods::default();
        assert_eq!(m.label(Some("a.S/X"), true), "_OTHER");
        assert_eq!(m.label(Some("a.S/X"), false), "a.S/X");
        assert_eq!(m.label(Some("a.S/X"), true), "a.S/X", "stays known");
        assert_eq!(m.label(None, false), "_OTHER");
        for i in 0..MAX_KNOWN_METHODS + 10 {
            m.learn(&format!("a.S/M{i}"));
        }
        assert_eq!(m.known.read().len(), MAX_KNOWN_METHODS);
        assert_eq!(m.label(Some("a.S/Late"), false), "_OTHER");
    }

    #[test]
    fn a_service_list_limits_what_can_be_learned() {
        let m = KnownMethods::default();
        m.learn("b.T/Before");
        m.learn("a.S/Before");
        let m = m.limited_to(vec!["a.S".into()]);
        assert_eq!(m.get("b.T/Before"), None);
        assert_eq!(m.get("a.S/Before"), Some("a.S/Before"));
        assert_eq!(m.label(Some("b.T/X"), false), "_OTHER");
        assert_eq!(m.label(Some("a.S/X"), false), "a.S/X");
        m.declare("a.S/Y");
        assert_eq!(m.get("a.S/Y"), Some("a.S/Y"));
    }
}
