//! Lowercase hex text, the form trace ids, span ids and generated request
//! ids take in log lines. A leaf: it uses nothing else in the crate.

/// Writes `bytes` as lowercase hex into `out`, two digits a byte (as many
/// bytes as `out` has room for).
#[inline]
pub(crate) fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[usize::from(b)]);
    }
}

/// Writes `bytes` as [`write_hex`] does, for bytes the compiler reads from
/// memory (an exemplar's ids in its cell), with a fixed count.
///
/// Each byte's digits are worked out with arithmetic on a 16-bit lane
/// instead of read from the table, and for such bytes the compiler turns
/// that into SSE2 code on x86-64 that writes eight bytes' digits at once:
/// about two instructions a byte where the table takes three. For bytes
/// held in registers (an id just converted from its integer, as
/// `propagation` writes them) it is the other way round, hence two ways.
#[inline]
pub(crate) fn write_hex_lanes(out: &mut [u8], bytes: &[u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&hex_pair(b));
    }
}

/// The two hex digits of `b`, high nibble first, without a table.
#[inline(always)]
fn hex_pair(b: u8) -> [u8; 2] {
    // The byte in both halves (below 256, so no carry between them); then
    // the high nibble in the low byte (written first) and the low nibble
    // in the high byte.
    let both = u16::from(b) * 0x0101;
    let nibbles = ((both >> 4) & 0x000f) | (both & 0x0f00);
    // Bit 4 of each byte of `nibbles + 6` is set for a nibble of 10 or
    // more, which gets `'a' - '0' - 10` (39) more; no byte carries.
    let letters = ((nibbles + 0x0606) >> 4) & 0x0101;
    (nibbles + 0x3030 + letters * 39).to_le_bytes()
}

/// The two hex digits of every byte.
static PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        pairs[b] = [HEX[b >> 4], HEX[b & 0x0f]];
        b += 1;
    }
    pairs
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        for write in [write_hex, write_hex_lanes] {
            let mut out = [b'-'; 10];
            write(&mut out, &[0x00, 0x0f, 0xab, 0xff]);
            assert_eq!(
                &out, b"000fabff--",
                "as many bytes as fit, the rest untouched"
            );
            let bytes: Vec<u8> = (0..=255).collect();
            let mut all = vec![0_u8; 512];
            write(&mut all, &bytes);
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(String::from_utf8(all).unwrap(), expected, "every byte");
        }
    }
}
