//! Decimal digit pairs: the two digits of every number below 100, for the
//! numbers obskit writes itself (log timestamps and durations, the
//! exposition's counts and timestamps) without formatting machinery or a
//! UTF-8 check. A leaf: it uses nothing else in the crate.

/// The two digits of every number below 100, as bytes.
pub(crate) static DIGIT_PAIRS: [[u8; 2]; 100] = PAIRS;

/// The same digits as text, `000102…99`.
const TEXT: &str = match std::str::from_utf8(PAIRS.as_flattened()) {
    Ok(text) => text,
    Err(_) => panic!("digits are ASCII"),
};

const PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut i = 0;
    while i < 100 {
        // Both below 10.
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

/// `n` (below 100) as two digits, `00` to `99`.
#[inline]
pub(crate) fn two_digits(n: u32) -> &'static str {
    let i = 2 * (n as usize % 100);
    &TEXT[i..i + 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_below_a_hundred_has_its_two_digits() {
        for n in 0..100_u32 {
            assert_eq!(two_digits(n), format!("{n:02}"));
            assert_eq!(DIGIT_PAIRS[n as usize], *format!("{n:02}").as_bytes());
        }
    }
}
