//! Whole numbers to and from decimal text, by hand: `str::parse` and
//! `core::fmt` would bring their error types and formatting machinery into
//! the browser banner, which runs these (the consent cookie's fields, the
//! `Set-Cookie` line's `Max-Age`).

use crate::prelude::*;

/// Digits only, no sign, no leading zero (except "0"), at most `max` digits.
pub(crate) fn decimal(s: &str, max: usize) -> Option<u64> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_digit())
        // A `&str` pattern: a `char` one brings a UTF-8 encoder into the banner.
        && (s == "0" || !s.starts_with("0"));
    // By hand rather than `str::parse`, whose error type drags formatting
    // code into the browser banner; at most 12 digits cannot overflow.
    ok.then(|| s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')))
}

/// Appends `n` in decimal.
///
/// ```
/// let mut s = String::new();
/// for n in [0, 7, 1000, u64::MAX] {
///     consentry_core::consent::push_decimal(&mut s, n);
///     s.push(' ');
/// }
/// assert_eq!(s, "0 7 1000 18446744073709551615 ");
/// ```
pub fn push_decimal(out: &mut String, n: u64) {
    // Filled from the end; no index that could panic (a panic's location
    // text would ship in the browser banner).
    let mut digits = [0u8; 20];
    let mut n = n;
    let mut used = 0;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        used += 1;
        if n == 0 {
            break;
        }
    }
    for &d in digits.get(digits.len() - used..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}
