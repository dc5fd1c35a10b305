//! Trace and span ids as the propagation formats write them: lowercase hex
//! of a fixed width (W3C Trace Context, B3), or hex of any width up to the
//! id's size, zero-padded on the left (Jaeger).

use opentelemetry::trace::{SpanId, TraceId};

use crate::hex::write_hex;

/// What each byte is worth as a lowercase hex digit; `INVALID` for a
/// byte that is none.
const LOWER_NIBBLE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Marks a byte that is not a lowercase hex digit in [`LOWER_NIBBLE`].
const INVALID: u8 = 0xff;

/// One lowercase hex digit.
fn lower_nibble(c: u8) -> Option<u8> {
    let v = LOWER_NIBBLE[usize::from(c)];
    (v != INVALID).then_some(v)
}

/// One hex digit of either case.
fn any_nibble(c: u8) -> Option<u8> {
    lower_nibble(c.to_ascii_lowercase())
}

/// Two lowercase hex digits.
pub(crate) fn hex_byte(pair: &[u8]) -> Option<u8> {
    match pair {
        [hi, lo] => Some(lower_nibble(*hi)? << 4 | lower_nibble(*lo)?),
        _ => None,
    }
}

/// Exactly `2 * N` lowercase hex digits.
pub(crate) fn lower_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // Every digit is looked up and the invalid marks are gathered, so the
    // loop has no branch: an id is read in one pass, checked once.
    let mut invalid = 0u8;
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = LOWER_NIBBLE[usize::from(pair[0])];
        let lo = LOWER_NIBBLE[usize::from(pair[1])];
        invalid |= (hi | lo) & 0xf0;
        *o = hi << 4 | (lo & 0x0f);
    }
    (invalid == 0).then_some(out)
}

/// One to `2 * N` hex digits of either case, read as a number and stored
/// big-endian in `N` bytes (so zero-padded on the left).
pub(crate) fn padded_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.is_empty() || digits.len() > 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // Digit i from the right is the low (even i) or high nibble of byte
    // N - 1 - i / 2.
    for (i, &c) in digits.iter().rev().enumerate() {
        let v = any_nibble(c)?;
        out[N - 1 - i / 2] |= if i % 2 == 0 { v } else { v << 4 };
    }
    Some(out)
}

/// A 64-bit id in 16 or a 128-bit one in 32 lowercase hex digits, the
/// shorter form zero-padded on the left to 128 bits.
pub(crate) fn trace_id_16_or_32(digits: &[u8]) -> Option<TraceId> {
    let bytes = match digits.len() {
        32 => lower_hex::<16>(digits)?,
        16 => {
            let low = lower_hex::<8>(digits)?;
            let mut b = [0u8; 16];
            b[8..].copy_from_slice(&low);
            b
        }
        _ => return None,
    };
    non_zero_trace(TraceId::from_bytes(bytes))
}

/// A span id in exactly 16 lowercase hex digits, not all zero.
pub(crate) fn span_id_16(digits: &[u8]) -> Option<SpanId> {
    non_zero_span(SpanId::from_bytes(lower_hex::<8>(digits)?))
}

/// `None` for the invalid (all-zero) trace id.
pub(crate) fn non_zero_trace(id: TraceId) -> Option<TraceId> {
    (id != TraceId::INVALID).then_some(id)
}

/// `None` for the invalid (all-zero) span id.
pub(crate) fn non_zero_span(id: SpanId) -> Option<SpanId> {
    (id != SpanId::INVALID).then_some(id)
}

/// Writes the 32 lowercase hex digits of a trace id.
pub(crate) fn write_trace_id(out: &mut [u8], id: TraceId) {
    write_hex(&mut out[..32], &id.to_bytes());
}

/// Writes the 16 lowercase hex digits of a span id.
pub(crate) fn write_span_id(out: &mut [u8], id: SpanId) {
    write_hex(&mut out[..16], &id.to_bytes());
}

/// The text of a header value built in a buffer of ASCII.
pub(crate) fn ascii(buf: &[u8]) -> &str {
    // Only hex digits and punctuation are ever written.
    std::str::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_is_lowercase_and_exact() {
        assert_eq!(lower_hex::<2>(b"0aff"), Some([0x0a, 0xff]));
        assert_eq!(lower_hex::<2>(b"0AFF"), None);
        assert_eq!(lower_hex::<2>(b"0af"), None);
        assert_eq!(lower_hex::<2>(b"0aff0"), None);
        assert_eq!(lower_hex::<2>(b"0ag0"), None);
        assert_eq!(hex_byte(b"7f"), Some(0x7f));
        assert_eq!(hex_byte(b"7"), None);
    }

    #[test]
    fn every_byte_but_a_lowercase_digit_is_refused_in_every_place() {
        for byte in 0..=u8::MAX {
            let valid = byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
            for at in 0..4 {
                let mut digits = *b"0aff";
                digits[at] = byte;
                let read = lower_hex::<2>(&digits);
                assert_eq!(read.is_some(), valid, "{byte:#04x} at {at}");
                if let Some(read) = read {
                    let text = format!("{:02x}{:02x}", read[0], read[1]);
                    assert_eq!(text.as_bytes(), digits, "{byte:#04x} at {at}");
                }
            }
        }
    }

    #[test]
    fn padded_width_accepts_short_ids_of_either_case() {
        assert_eq!(padded_hex::<2>(b"1"), Some([0, 1]));
        assert_eq!(padded_hex::<2>(b"abc"), Some([0x0a, 0xbc]));
        assert_eq!(padded_hex::<2>(b"ABCD"), Some([0xab, 0xcd]));
        assert_eq!(padded_hex::<2>(b""), None);
        assert_eq!(padded_hex::<2>(b"12345"), None);
        assert_eq!(padded_hex::<2>(b"12-4"), None);
        assert_eq!(
            padded_hex::<8>(b"deadbeef"),
            Some([0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef])
        );
    }

    #[test]
    fn sixty_four_bit_trace_ids_are_padded_to_128() {
        let id = trace_id_16_or_32(b"a3ce929d0e0e4736").unwrap();
        assert_eq!(format!("{id:032x}"), "0000000000000000a3ce929d0e0e4736");
        assert!(trace_id_16_or_32(b"0000000000000000").is_none());
        assert!(trace_id_16_or_32(&[b'0'; 32]).is_none());
        assert!(trace_id_16_or_32(b"a3ce929d0e0e473").is_none());
        assert!(trace_id_16_or_32(b"A3CE929D0E0E4736").is_none());
        assert!(span_id_16(b"0000000000000000").is_none());
        assert!(span_id_16(b"00f067aa0ba902b7").is_some());
    }

    #[test]
    fn ids_are_written_as_fixed_width_lowercase() {
        let mut buf = [0u8; 48];
        write_trace_id(&mut buf, TraceId::from(0xab_u128));
        write_span_id(&mut buf[32..], SpanId::from(0xcd_u64));
        assert_eq!(
            ascii(&buf),
            "000000000000000000000000000000ab00000000000000cd"
        );
    }
}
