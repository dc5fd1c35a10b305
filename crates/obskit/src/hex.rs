//! Lowercase hex text, the form trace ids, span ids and generated request
//! ids take in log lines. A leaf: it uses nothing else in the crate.

/// Appends `bytes` as lowercase hex.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        let mut out = String::new();
        push_hex(&mut out, &[0x00, 0x0f, 0xab, 0xff]);
        assert_eq!(out, "000fabff");
    }
}
