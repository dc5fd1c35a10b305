//! The `traceparent` header of W3C Trace Context (Level 2): a strict parser
//! for version `00`, a lenient one for future versions, and the writer.
//!
//! The SDK's parser accepts fields of the wrong length (it reads them with
//! `from_str_radix`) and refuses long future-version values; this one
//! follows the specification's processing model to the letter.

use opentelemetry::trace::{SpanId, TraceId};

use super::id::{ascii, hex_byte, lower_hex, write_span_id, write_trace_id};

/// Longest `traceparent` read. Version `00` is exactly 55 characters; a
/// future version may append fields after a `-`, and the specification sets
/// no limit on them, so obskit reads up to 4 KiB (HTTP servers commonly cap
/// a whole header block at 8–16 KiB) and restarts the trace beyond that.
pub(crate) const MAX_TRACEPARENT: usize = 4096;

/// The length of a version-00 `traceparent`: `vv-{32}-{16}-ff`.
pub(crate) const LEN_V00: usize = 55;

/// The trace-flags bits Level 2 defines: sampled (0x01) and random (0x02).
/// Other bits are reserved and are sent as zero, as the specification says.
pub(crate) const KNOWN_FLAGS: u8 = 0x03;

/// The sampled flag.
pub(crate) const SAMPLED: u8 = 0x01;

/// The random flag (Level 2): the trace id's rightmost 7 bytes are random.
pub(crate) const RANDOM: u8 = 0x02;

/// A parsed `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Traceparent {
    pub(crate) trace_id: TraceId,
    pub(crate) parent_id: SpanId,
    /// The flags as received, reserved bits included.
    pub(crate) flags: u8,
}

impl Traceparent {
    /// Parses one `traceparent` value, optional whitespace around it
    /// allowed. `None` means the header is invalid and the trace restarts.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let value = value.trim_matches([' ', '\t']);
        let b = value.as_bytes();
        if b.len() < LEN_V00 || b.len() > MAX_TRACEPARENT {
            return None;
        }
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let version = hex_byte(&b[0..2])?;
        if version == 0xff {
            return None;
        }
        // Version 00 ends after the flags; a later version may carry more
        // fields, each introduced by a dash.
        if (version == 0 && b.len() != LEN_V00) || (b.len() > LEN_V00 && b[LEN_V00] != b'-') {
            return None;
        }
        let trace_id = TraceId::from_bytes(lower_hex::<16>(&b[3..35])?);
        let parent_id = SpanId::from_bytes(lower_hex::<8>(&b[36..52])?);
        let flags = hex_byte(&b[53..55])?;
        if trace_id == TraceId::INVALID || parent_id == SpanId::INVALID {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The version-00 header value, reserved flag bits cleared, written
    /// into `buf`.
    pub(crate) fn write<'b>(&self, buf: &'b mut [u8; LEN_V00]) -> &'b str {
        buf[..3].copy_from_slice(b"00-");
        write_trace_id(&mut buf[3..35], self.trace_id);
        buf[35] = b'-';
        write_span_id(&mut buf[36..52], self.parent_id);
        buf[52] = b'-';
        crate::hex::write_hex(&mut buf[53..55], &[self.flags & KNOWN_FLAGS]);
        ascii(buf)
    }

    /// The version-00 header value, as a string.
    #[cfg(test)]
    pub(crate) fn header(&self) -> String {
        self.write(&mut [0; LEN_V00]).to_owned()
    }
}

/// Whether `value` is a `traceparent` obskit would continue.
#[cfg(test)]
pub(crate) fn valid(value: &str) -> bool {
    Traceparent::parse(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    #[test]
    fn version_00_is_read_exactly() {
        let tp = Traceparent::parse(&format!("00-{TID}-{SID}-01")).unwrap();
        assert_eq!(format!("{:032x}", tp.trace_id), TID);
        assert_eq!(format!("{:016x}", tp.parent_id), SID);
        assert_eq!(tp.flags, 0x01);
        assert_eq!(tp.header(), format!("00-{TID}-{SID}-01"));
    }

    #[test]
    fn surrounding_whitespace_is_optional() {
        for v in [
            format!(" 00-{TID}-{SID}-01"),
            format!("\t00-{TID}-{SID}-01"),
            format!("00-{TID}-{SID}-01 "),
            format!("\t 00-{TID}-{SID}-01 \t"),
        ] {
            assert!(valid(&v), "{v:?}");
        }
    }

    #[test]
    fn invalid_values_restart_the_trace() {
        let zero_t = "0".repeat(32);
        let zero_s = "0".repeat(16);
        for bad in [
            String::new(),
            "garbage".into(),
            format!("00-{TID}-{SID}-01."),
            format!("00-{TID}-{SID}-01-what-the-future-will-be-like"),
            format!("ff-{TID}-{SID}-01"),
            format!(".0-{TID}-{SID}-01"),
            format!("0.-{TID}-{SID}-01"),
            format!("000-{TID}-{SID}-01"),
            format!("0-{TID}-{SID}-01"),
            format!("00-{zero_t}-{SID}-01"),
            format!("00-{TID}-{zero_s}-01"),
            format!("00-.{}-{SID}-01", &TID[1..]),
            format!("00-{TID}3-{SID}-01"),
            format!("00-{}-{SID}-01", &TID[1..]),
            format!("00-{TID}-{SID}7-01"),
            format!("00-{TID}-{}-01", &SID[1..]),
            format!("00-{TID}-{SID}-.0"),
            format!("00-{TID}-{SID}-001"),
            format!("00-{TID}-{SID}-1"),
            format!("00-{}-{SID}-01", TID.to_uppercase()),
            format!("00-{TID}-{}-01", SID.to_uppercase()),
            format!("00-{TID}-{SID}-0A"),
            format!("00_{TID}-{SID}-01"),
            format!("00-+{}-{SID}-01", &TID[1..]),
            format!("cc-{TID}-{SID}-01.what-the-future-will-be-like"),
            format!("cc-{TID}-{SID}-01x"),
        ] {
            assert!(!valid(&bad), "{bad:?} was accepted");
        }
    }

    #[test]
    fn future_versions_are_read_leniently_up_to_the_bound() {
        for v in [
            format!("cc-{TID}-{SID}-01"),
            format!("cc-{TID}-{SID}-01-what-the-future-will-be-like"),
            format!("01-{TID}-{SID}-03-"),
        ] {
            let tp = Traceparent::parse(&v).unwrap_or_else(|| panic!("{v:?} refused"));
            assert_eq!(format!("{:032x}", tp.trace_id), TID);
        }
        let head = format!("cc-{TID}-{SID}-01-");
        let at_bound = format!("{head}{}", "x".repeat(MAX_TRACEPARENT - head.len()));
        assert!(valid(&at_bound), "a future version at the bound");
        let over = format!("{at_bound}x");
        assert!(!valid(&over), "a future version over the bound");
    }

    #[test]
    fn the_header_is_always_version_00_with_reserved_bits_cleared() {
        let tp = Traceparent::parse(&format!("cc-{TID}-{SID}-ff-more")).unwrap();
        assert_eq!(tp.flags, 0xff);
        assert_eq!(tp.header(), format!("00-{TID}-{SID}-03"));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet = b"0123456789abcdefABCDEF- \t.xff";
        for _ in 0..20_000 {
            let len = rng.usize(0..120);
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.bool() {
                        alphabet[rng.usize(0..alphabet.len())]
                    } else {
                        rng.u8(..)
                    }
                })
                .collect();
            let s = String::from_utf8_lossy(&v);
            let _ = Traceparent::parse(&s);
            // Valid shapes with random digits: parse, then round-trip.
            let mut shaped = format!("00-{TID}-{SID}-01").into_bytes();
            let i = rng.usize(0..shaped.len());
            shaped[i] = alphabet[rng.usize(0..alphabet.len())];
            let s = String::from_utf8(shaped).unwrap();
            if let Some(tp) = Traceparent::parse(&s) {
                assert_eq!(
                    Traceparent::parse(&tp.header()).map(|t| t.trace_id),
                    Some(tp.trace_id)
                );
            }
        }
    }
}
