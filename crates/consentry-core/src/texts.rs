//! Banner texts: per-language overrides in the policy over built-in language
//! packs, so a policy only writes what is specific to its site.
//!
//! The packs are data (`lang/<tag>.json` in this crate, one per language,
//! every key of [`Key`] plus the standard categories), compiled into the
//! server and the build step, never into the browser banner: the browser gets
//! texts already resolved for its language (see [`crate::ready`]).

use crate::prelude::*;
use alloc::collections::BTreeMap;

use serde::Serialize;

use crate::error::PolicyError;
use crate::json::{JsonValue, Obj, join, schema};

macro_rules! text_keys {
    ($( $(#[$doc:meta])* $field:ident ),* $(,)?) => {
        /// The texts of one language, as written in the policy. Every field is
        /// optional for a language with a built-in pack ([`PACK_SOURCES`]).
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
        pub struct Texts {
            $( $(#[$doc])* #[serde(skip_serializing_if = "Option::is_none")] pub $field: Option<String>, )*
            /// Link to the site's privacy policy in this language.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub privacy_policy_url: Option<String>,
            /// Title and description per category id.
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            pub categories: BTreeMap<String, CategoryText>,
        }

        /// A text of the banner or the dialog.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types)]
        pub enum Key { $( $(#[$doc])* $field, )* }

        impl Key {
            /// Every key, in declaration order.
            pub const ALL: &'static [Key] = &[ $( Key::$field, )* ];

            /// The JSON field name.
            pub fn name(self) -> &'static str {
                match self { $( Key::$field => stringify!($field), )* }
            }
        }

        impl Texts {
            /// The policy's own text for `key`, if given.
            pub fn get(&self, key: Key) -> Option<&str> {
                match key { $( Key::$field => self.$field.as_deref(), )* }
            }

            /// Sets the policy's own text for `key`.
            pub fn set(&mut self, key: Key, value: String) {
                match key { $( Key::$field => self.$field = Some(value), )* }
            }
        }

    };
}

text_keys! {
    /// Banner heading.
    title,
    /// Banner body text: what the site would like to do and why.
    description,
    /// Label before the list of purposes (optional categories) on the first layer, e.g. "Purposes:".
    purposes,
    /// Label before the list of third parties (the services) on the first layer.
    third_parties,
    /// First-layer sentence: refusing is possible and costs nothing.
    refuse_notice,
    /// First-layer sentence: the choice can be changed or withdrawn at any
    /// time, and where (it names the [`settings_link`](Key::settings_link) button).
    withdraw_notice,
    /// "Accept all" button.
    accept_all,
    /// "Reject all" button.
    reject_all,
    /// Button that opens the preferences dialog.
    preferences,
    /// Dialog heading.
    preferences_title,
    /// Dialog introduction.
    preferences_description,
    /// "Save choices" button.
    save,
    /// Close button of the dialog.
    close,
    /// Label shown instead of a toggle on required categories.
    always_on,
    /// Heading of the services list in a category.
    services,
    /// Heading of the cookie list in a category.
    cookies,
    /// Line shown when the browser's DNT/GPC signal is honoured.
    signal_notice,
    /// The persistent button that reopens the dialog.
    settings_link,
    /// Text of the privacy policy link.
    privacy_policy_label,
    /// Placeholder over an embed whose category is refused.
    embed_notice,
    /// Button of that placeholder.
    embed_load,
    /// First-layer heading where the model is `opt-out`.
    optout_title,
    /// First-layer text where the model is `opt-out`: what is used, that
    /// some of it may count as selling or sharing, that the visitor may opt out.
    optout_description,
    /// "Do Not Sell or Share My Personal Information": the one-click opt-out
    /// (first layer and persistent link).
    do_not_sell,
    /// Confirmation after that click.
    optout_done,
    /// Confirmation when `Sec-GPC: 1` opted the visitor out.
    signal_optout_notice,
    /// First-layer heading where the model is `notice`.
    notice_title,
    /// First-layer text where the model is `notice`.
    notice_description,
    /// The button that closes a notice ("OK").
    acknowledge,
    /// Column of a service's cookie table: the cookie's name.
    cookie_name,
    /// Column: who sets it (the service's name unless the policy says).
    cookie_provider,
    /// Column: what it is for.
    cookie_purpose,
    /// Column: how long it is kept.
    cookie_lifetime,
    /// [`description`](Key::description) for a site with no third party
    /// (the first layer lists none, so the text names none).
    description_own,
    /// [`optout_description`](Key::optout_description) for a site with no
    /// third party.
    optout_description_own,
    /// [`notice_description`](Key::notice_description) for a site with no
    /// third party.
    notice_description_own,
}

impl Key {
    /// Keys a language without a built-in pack may leave out: the column
    /// headings of the cookie tables (English ones are used) and the texts
    /// for a site with no third party (the text with third parties is used).
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            Self::cookie_name
                | Self::cookie_provider
                | Self::cookie_purpose
                | Self::cookie_lifetime
                | Self::description_own
                | Self::optout_description_own
                | Self::notice_description_own
        )
    }

    /// The text to use instead of this one on the first layer of a site
    /// with no third party, if there is one.
    pub fn without_third_parties(self) -> Option<Key> {
        match self {
            Self::description => Some(Self::description_own),
            Self::optout_description => Some(Self::optout_description_own),
            Self::notice_description => Some(Self::notice_description_own),
            _ => None,
        }
    }

    /// Keys only the `opt-out` and `notice` models use: a language without a
    /// built-in pack must give them only when the policy's `regions` use
    /// one of those models.
    pub fn is_regional(self) -> bool {
        matches!(
            self,
            Self::optout_title
                | Self::optout_description
                | Self::optout_description_own
                | Self::do_not_sell
                | Self::optout_done
                | Self::signal_optout_notice
                | Self::notice_title
                | Self::notice_description
                | Self::notice_description_own
                | Self::acknowledge
        )
    }
}

/// Title and description of a category in one language.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CategoryText {
    /// Short name, e.g. "Audience measurement".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// One or two sentences on what the category is used for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Category ids with built-in titles and descriptions.
pub const STANDARD_CATEGORIES: &[&str] = &["essential", "functional", "analytics", "advertising"];

/// Whether `lang` has a built-in pack.
pub fn has_builtin_pack(lang: &str) -> bool {
    PACK_SOURCES.iter().any(|(l, _)| *l == lang)
}

/// The packs as shipped: (language, JSON), English first (the last fallback).
pub const PACK_SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../lang/en.json")),
    ("fr", include_str!("../lang/fr.json")),
    ("de", include_str!("../lang/de.json")),
    ("es", include_str!("../lang/es.json")),
    ("it", include_str!("../lang/it.json")),
    ("nl", include_str!("../lang/nl.json")),
    ("pt", include_str!("../lang/pt.json")),
    ("pt-BR", include_str!("../lang/pt-BR.json")),
    ("pl", include_str!("../lang/pl.json")),
    ("sv", include_str!("../lang/sv.json")),
    ("da", include_str!("../lang/da.json")),
    ("fi", include_str!("../lang/fi.json")),
    ("cs", include_str!("../lang/cs.json")),
    ("bg", include_str!("../lang/bg.json")),
    ("el", include_str!("../lang/el.json")),
    ("et", include_str!("../lang/et.json")),
    ("ga", include_str!("../lang/ga.json")),
    ("hr", include_str!("../lang/hr.json")),
    ("hu", include_str!("../lang/hu.json")),
    ("lt", include_str!("../lang/lt.json")),
    ("lv", include_str!("../lang/lv.json")),
    ("mt", include_str!("../lang/mt.json")),
    ("ro", include_str!("../lang/ro.json")),
    ("sk", include_str!("../lang/sk.json")),
    ("sl", include_str!("../lang/sl.json")),
    ("nb", include_str!("../lang/nb.json")),
    ("is", include_str!("../lang/is.json")),
    ("tr", include_str!("../lang/tr.json")),
    ("uk", include_str!("../lang/uk.json")),
    ("ru", include_str!("../lang/ru.json")),
    ("id", include_str!("../lang/id.json")),
    ("ar", include_str!("../lang/ar.json")),
    ("he", include_str!("../lang/he.json")),
    ("ja", include_str!("../lang/ja.json")),
    ("ko", include_str!("../lang/ko.json")),
    ("zh-Hans", include_str!("../lang/zh-Hans.json")),
];

/// Reads one pack: the same schema as a policy's `texts.<lang>` object,
/// plus the pack's `register` (see [`pack_register`]).
pub fn parse_pack(json: &str) -> Result<Texts, PolicyError> {
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(PolicyError::syntax)?;
    if let Some(object) = value.as_object_mut() {
        match object.remove("register") {
            None => {}
            Some(serde_json::Value::String(r)) if REGISTERS.contains(&r.as_str()) => {}
            Some(_) => return Err(schema("register", "must be \"formal\" or \"informal\"".into())),
        }
    }
    read(&&value, "")
}

/// The registers a pack may be written in.
pub const REGISTERS: &[&str] = &["formal", "informal"];

/// What separates the items of a list written in `lang`: the Arabic comma
/// in Arabic, Persian and Urdu, the ideographic comma in Chinese and
/// Japanese, else a comma and a space.
///
/// ```
/// use consentry_core::texts::list_separator;
/// assert_eq!(list_separator("ar"), "\u{60c} ");
/// assert_eq!(list_separator("zh-Hans"), "\u{3001}");
/// assert_eq!(list_separator("fr"), ", ");
/// ```
pub fn list_separator(lang: &str) -> &'static str {
    let primary = lang.split(['-', '_']).next().unwrap_or("");
    if ["ar", "fa", "ur"].iter().any(|p| p.eq_ignore_ascii_case(primary)) {
        "\u{60c} "
    } else if ["ja", "zh"].iter().any(|p| p.eq_ignore_ascii_case(primary)) {
        "\u{3001}"
    } else {
        ", "
    }
}

/// Whether text in `lang` is written right to left: the script its primary
/// subtag is written in (Arabic, Hebrew, Persian, Urdu, Pashto, Sindhi,
/// Uyghur, Yiddish, Dhivehi, Central Kurdish), unless the tag names a
/// left-to-right script (`-Latn`, `-Cyrl`). The one rule both halves follow:
/// the renderer writes `dir="rtl"` on every root it renders in such a
/// language, and the page layer inserts that markup as it is.
///
/// ```
/// use consentry_core::texts::is_rtl;
/// assert!(is_rtl("ar") && is_rtl("he-IL") && is_rtl("fa") && is_rtl("AR-eg"));
/// assert!(!is_rtl("en") && !is_rtl("fr"));
/// assert!(!is_rtl("ku-Latn") && !is_rtl("tr") && !is_rtl("arn"));
/// ```
pub fn is_rtl(lang: &str) -> bool {
    const RTL: &[&str] = &["ar", "arc", "ckb", "dv", "fa", "he", "iw", "ps", "sd", "ug", "ur", "yi"];
    let mut subtags = lang.split(['-', '_']);
    let primary = subtags.next().unwrap_or("");
    if !RTL.iter().any(|r| r.eq_ignore_ascii_case(primary)) {
        return false;
    }
    !subtags.any(|s| s.eq_ignore_ascii_case("latn") || s.eq_ignore_ascii_case("cyrl"))
}

/// The register a pack states it is written in (`"formal"`: the polite
/// form of address, `vous`, `Sie`, `Lei`; `"informal"`: `tu`, `du`, or a
/// language's neutral singular). `None` when it states none or is not a pack.
pub fn pack_register(lang: &str) -> Option<&'static str> {
    let json = PACK_SOURCES.iter().find(|(l, _)| *l == lang)?.1;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let register = value.get("register")?.as_str()?;
    REGISTERS.iter().find(|r| **r == register).copied()
}

/// The built-in packs, read once. A pack that does not read (a packaging bug,
/// which the tests rule out) is left out, so its language falls back to English.
fn packs() -> &'static [(&'static str, Texts)] {
    static PACKS: spin::Once<Vec<(&'static str, Texts)>> = spin::Once::new();
    PACKS.call_once(|| {
        PACK_SOURCES.iter().filter_map(|(lang, json)| Some((*lang, parse_pack(json).ok()?))).collect()
    })
}

/// The pack for a tag: the same tag (`pt-BR`, ASCII case aside), else the
/// first pack of its primary language (`pt-PT` → `pt`, `zh-CN` → `zh-Hans`).
fn pack(lang: &str) -> Option<&'static Texts> {
    let primary = primary(lang);
    let all = packs();
    all.iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(lang))
        .or_else(|| all.iter().find(|(l, _)| self::primary(l).eq_ignore_ascii_case(primary)))
        .map(|(_, t)| t)
}

fn primary(tag: &str) -> &str {
    // Byte by byte: a char-set split costs the browser banner half a kilobyte.
    let end = tag.bytes().position(|b| b == b'-' || b == b'_').unwrap_or(tag.len());
    tag.get(..end).unwrap_or(tag)
}

pub(crate) fn valid_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    first_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The texts for one language, with every fallback applied.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedTexts<'p> {
    lang: &'p str,
    own: Option<&'p Texts>,
    pack: Option<&'static Texts>,
    english: Option<&'static Texts>,
    /// Every language's texts of the policy (for a category title or a
    /// privacy policy link its own language lacks).
    all: &'p BTreeMap<String, Texts>,
    /// The policy's default language.
    default_lang: &'p str,
}

impl<'p> ResolvedTexts<'p> {
    /// The texts in `lang` of a policy whose own texts are `all` and whose
    /// default language is `default_lang`, with the built-in packs behind them.
    pub(crate) fn new(lang: &'p str, all: &'p BTreeMap<String, Texts>, default_lang: &'p str) -> Self {
        Self { lang, own: all.get(lang), pack: pack(lang), english: pack("en"), all, default_lang }
    }

    /// The language tag chosen (a built-in one or one the policy declares).
    pub fn lang(&self) -> &'p str {
        self.lang
    }

    /// A text: the policy's own in this language, else the language's pack,
    /// else the English pack (a pack never lacks a key; the tests check it).
    pub fn get(&self, key: Key) -> &'p str {
        self.own
            .and_then(|t| t.get(key))
            .or_else(|| self.pack.and_then(|t| t.get(key)))
            .or_else(|| self.english.and_then(|t| t.get(key)))
            .unwrap_or("")
    }

    /// The first layer's text `key` for a site whose first layer lists no
    /// third party: the version that names none
    /// ([`Key::without_third_parties`]) in this language, unless the policy
    /// wrote `key` itself and not that version (its own wording wins), or
    /// this language has no such version (a policy's own language without a
    /// built-in pack).
    pub fn without_third_parties(&self, key: Key) -> &'p str {
        let Some(own_key) = key.without_third_parties() else { return self.get(key) };
        let policy_has = |k: Key| self.own.and_then(|t| t.get(k)).is_some();
        if policy_has(key) && !policy_has(own_key) {
            return self.get(key);
        }
        self.own
            .and_then(|t| t.get(own_key))
            .or_else(|| self.pack.and_then(|t| t.get(own_key)))
            .unwrap_or_else(|| self.get(key))
    }

    /// The privacy policy link for this language (or the policy's default language's, or the English one).
    pub fn privacy_policy_url(&self) -> Option<&'p str> {
        let texts = self.all;
        self.own
            .and_then(|t| t.privacy_policy_url.as_deref())
            .or_else(|| texts.get(self.default_lang).and_then(|t| t.privacy_policy_url.as_deref()))
            .or_else(|| texts.get("en").and_then(|t| t.privacy_policy_url.as_deref()))
            .or_else(|| texts.values().find_map(|t| t.privacy_policy_url.as_deref()))
    }

    /// A category's title: the policy's, the pack's, any language's, the id.
    pub fn category_title(&self, id: &'p str) -> &'p str {
        self.category_field(id, |c| c.title.as_deref()).unwrap_or(id)
    }

    /// A category's description, if one is known.
    pub fn category_description(&self, id: &'p str) -> Option<&'p str> {
        self.category_field(id, |c| c.description.as_deref())
    }

    fn category_field(
        &self,
        id: &str,
        pick: impl Fn(&'p CategoryText) -> Option<&'p str>,
    ) -> Option<&'p str> {
        let from = |t: Option<&'p Texts>| t.and_then(|t| t.categories.get(id)).and_then(&pick);
        from(self.own)
            .or_else(|| from(self.pack))
            .or_else(|| self.all.values().find_map(|t| from(Some(t))))
            .or_else(|| from(self.english))
    }
}

/// Picks the language to show: the first of `preferred` (in order: the page's
/// `<html lang>`, then `navigator.languages` in the browser or `Accept-Language`
/// on the server) that `available` offers — the exact tag first (ASCII case
/// ignored, `_` read as `-`), else the same primary language — else `default`.
///
/// ```
/// use consentry_core::texts::negotiate;
/// let available = ["fr", "en", "de"];
/// assert_eq!(negotiate(&available, &["de-AT", "fr"], "en"), "de");
/// assert_eq!(negotiate(&available, &["ja"], "fr"), "fr");
/// assert_eq!(negotiate(&["pt", "pt-BR"], &["PT_br"], "en"), "pt-BR");
/// ```
pub fn negotiate<'a>(available: &[&'a str], preferred: &[&str], default: &'a str) -> &'a str {
    for want in preferred {
        let want = want.trim_ascii();
        if want.is_empty() {
            continue;
        }
        // Byte by byte, `_` in a preferred tag standing for `-` (`pt_BR`):
        // no copy of the tag, and no char searcher in the browser banner.
        let normalised = |tag: &str| {
            tag.len() == want.len()
                && tag
                    .bytes()
                    .zip(want.bytes())
                    .all(|(t, w)| t.eq_ignore_ascii_case(&w) || (t == b'-' && w == b'_'))
        };
        if let Some(tag) = available.iter().find(|t| normalised(t)) {
            return tag;
        }
        let want_primary = primary(want);
        if let Some(tag) = available.iter().find(|t| primary(t).eq_ignore_ascii_case(want_primary)) {
            return tag;
        }
    }
    default
}

/// The language ranges of an `Accept-Language` header, best first (`q=0`
/// dropped, at most 16 kept; anything unreadable is skipped).
///
/// ```
/// use consentry_core::texts::accept_language;
/// assert_eq!(accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"), ["fr-CH", "fr", "en", "de"]);
/// assert_eq!(accept_language("en;q=0.1, da"), ["da", "en"]);
/// ```
pub fn accept_language(header: &str) -> Vec<&str> {
    let mut ranges: Vec<(u16, usize, &str)> = Vec::new();
    for (i, item) in header.split(',').enumerate().take(16) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        if tag.is_empty()
            || tag == "*"
            || tag.len() > 35
            || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            continue;
        }
        let mut q = 1000u16;
        for p in parts {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = parse_q(v).unwrap_or(0);
            }
        }
        if q > 0 {
            ranges.push((q, i, tag));
        }
    }
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().map(|(_, _, t)| t).collect()
}

/// A quality value in thousandths (`0.8` → 800), per RFC 9110 §12.4.2.
fn parse_q(v: &str) -> Option<u16> {
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// One language's texts (`texts.<lang>` of a policy, or a language pack),
/// every key checked.
pub(crate) fn read<V: JsonValue>(v: &V, path: &str) -> Result<Texts, PolicyError> {
    let mut allowed: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
    allowed.extend(["privacy_policy_url", "categories"]);
    let o = Obj::new(v, path, &allowed)?;
    let mut t = Texts::default();
    for key in Key::ALL {
        if let Some(s) = o.string(key.name())? {
            t.set(*key, s);
        }
    }
    t.privacy_policy_url = o.string("privacy_policy_url")?;
    if let Some(c) = o.get("categories") {
        let at = o.at("categories");
        let members = c.as_object().ok_or_else(|| schema(&at, "invalid type: expected an object".into()))?;
        for (id, value) in members {
            let c = Obj::new(&value, &join(&at, &id), &["title", "description"])?;
            t.categories.insert(
                id,
                CategoryText { title: c.string("title")?, description: c.string("description")? },
            );
        }
    }
    Ok(t)
}
