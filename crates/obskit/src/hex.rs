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
        let mut out = [b'-'; 10];
        write_hex(&mut out, &[0x00, 0x0f, 0xab, 0xff]);
        assert_eq!(
            &out, b"000fabff--",
            "as many bytes as fit, the rest untouched"
        );
        let bytes: Vec<u8> = (0..=255).collect();
        let mut all = vec![0_u8; 512];
        write_hex(&mut all, &bytes);
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(String::from_utf8(all).unwrap(), expected, "every byte");
    }
}
