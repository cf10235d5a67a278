//! Browser privacy signals: `DNT` (Do Not Track) and `Sec-GPC` (Global Privacy Control).

/// The privacy signals a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Signals {
    /// `DNT: 1` was sent (or `navigator.doNotTrack === "1"` in the browser).
    pub dnt: bool,
    /// `Sec-GPC: 1` was sent (or `navigator.globalPrivacyControl === true`).
    pub gpc: bool,
}

impl Signals {
    /// No signal.
    pub const NONE: Self = Self { dnt: false, gpc: false };

    /// Reads the signals from the raw header values (every occurrence of each
    /// header). Only the exact token `1`, optionally surrounded by spaces or
    /// tabs, turns a signal on: `0`, `yes`, `1 1`, `11`, empty, or bytes that
    /// are not ASCII leave it off. If one of several values is `1`, it is on.
    ///
    /// ```
    /// use consentry_core::Signals;
    /// let s = Signals::from_header_values([b"1".as_slice()], [b" 0 ".as_slice()]);
    /// assert_eq!(s, Signals { dnt: true, gpc: false });
    /// ```
    pub fn from_header_values<'a, D, G>(dnt: D, gpc: G) -> Self
    where
        D: IntoIterator<Item = &'a [u8]>,
        G: IntoIterator<Item = &'a [u8]>,
    {
        Self { dnt: dnt.into_iter().any(is_on), gpc: gpc.into_iter().any(is_on) }
    }

    /// Reads the browser's own values: `navigator.doNotTrack` (a string or
    /// null; old browsers also used `window.doNotTrack`) and
    /// `navigator.globalPrivacyControl` (a boolean).
    pub fn from_navigator(do_not_track: Option<&str>, global_privacy_control: bool) -> Self {
        Self { dnt: do_not_track.is_some_and(|v| is_on(v.as_bytes())), gpc: global_privacy_control }
    }
}

/// `1`, with optional surrounding whitespace, and nothing else.
pub fn is_on(value: &[u8]) -> bool {
    let mut v = value;
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v == b"1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_one_turns_a_signal_on() {
        for on in [&b"1"[..], b" 1", b"1\t", b"\t 1 "] {
            assert!(is_on(on), "{on:?}");
        }
        for off in [&b""[..], b"0", b"11", b"1 1", b"1,1", b"true", b"yes", b"\xff", b"1\x00", b"01"] {
            assert!(!is_on(off), "{off:?}");
        }
    }

    #[test]
    fn any_of_several_header_values_can_turn_a_signal_on() {
        let s = Signals::from_header_values([&b"0"[..], b"1"], []);
        assert!(s.dnt && !s.gpc);
    }

    #[test]
    fn navigator_values_follow_the_same_rule() {
        assert!(Signals::from_navigator(Some("1"), false).dnt);
        assert!(!Signals::from_navigator(Some("unspecified"), false).dnt);
        assert!(!Signals::from_navigator(None, false).dnt);
        assert!(Signals::from_navigator(None, true).gpc);
    }
}
