//! Splitting text at an ASCII byte, for the readers the browser banner runs
//! (the ready policy's rules, the consent cookie, `document.cookie`):
//! `str::split` with a `char` pattern brings a UTF-8 searcher and `memchr`
//! into the wasm (these two functions instead: 0.9 KB less wasm, 446 B less
//! gzip, measured when they came in).

/// The pieces of `s` between occurrences of the ASCII byte `sep`: what
/// `s.split(sep as char)` yields.
///
/// ```
/// use consentry_core::split::split;
/// assert_eq!(split("a\tb\t\tc", b'\t').collect::<Vec<_>>(), ["a", "b", "", "c"]);
/// assert_eq!(split("", b';').collect::<Vec<_>>(), [""]);
/// ```
pub fn split(s: &str, sep: u8) -> Split<'_> {
    debug_assert!(sep.is_ascii());
    Split { rest: Some(s), sep }
}

/// `s` cut at the first `sep` (an ASCII byte): what `s.split_once(sep as char)` returns.
pub fn split_once(s: &str, sep: u8) -> Option<(&str, &str)> {
    // A plain loop: `position` unrolls into more wasm.
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b == sep {
            // An ASCII byte is a char boundary on both sides.
            return Some((s.get(..i)?, s.get(i + 1..)?));
        }
    }
    None
}

/// The iterator [`split`] returns.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match split_once(s, self.sep) {
            Some((piece, rest)) => {
                self.rest = Some(rest);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}
