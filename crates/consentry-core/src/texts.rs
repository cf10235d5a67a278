//! Banner texts: per-language overrides in the policy over built-in English
//! and French defaults, so a policy only writes what is specific to its site.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{PolicyError, Problem};
use crate::policy::{Category, Policy};

macro_rules! text_keys {
    ($( $(#[$doc:meta])* $field:ident ),* $(,)?) => {
        /// The texts of one language, as written in the policy. Every field is
        /// optional for `en` and `fr` (built-in defaults fill the gaps).
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

        struct Builtin { $( $field: &'static str, )* categories: &'static [(&'static str, &'static str, &'static str)] }

        impl Builtin {
            fn get(&self, key: Key) -> &'static str {
                match key { $( Key::$field => self.$field, )* }
            }
        }
    };
}

text_keys! {
    /// Banner heading.
    title,
    /// Banner body text.
    description,
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
    /// The persistent link that reopens the dialog.
    settings_link,
    /// Text of the privacy policy link.
    privacy_policy_label,
    /// Placeholder over an embed whose category is refused.
    embed_notice,
    /// Button of that placeholder.
    embed_load,
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

static EN: Builtin = Builtin {
    title: "Your choice about cookies",
    description: "This site needs a few cookies to work. With your permission it would also use others, for example to measure its audience. Nothing optional is stored until you decide, and you can change your mind at any time.",
    accept_all: "Accept all",
    reject_all: "Reject all",
    preferences: "Choose",
    preferences_title: "Cookie preferences",
    preferences_description: "Turn each kind of cookie on or off. Essential cookies are always on because the site cannot work without them.",
    save: "Save choices",
    close: "Close",
    always_on: "Always on",
    services: "Services",
    cookies: "Cookies",
    signal_notice: "Your browser asks sites not to track you, and this site respects that: only essential cookies are used.",
    settings_link: "Cookie settings",
    privacy_policy_label: "Privacy policy",
    embed_notice: "This content comes from another site that may set cookies.",
    embed_load: "Load it",
    categories: &[
        (
            "essential",
            "Essential",
            "Needed for the site to work: navigation, sign-in, security and remembering this choice.",
        ),
        ("functional", "Functional", "Remember settings such as language or layout."),
        (
            "analytics",
            "Audience measurement",
            "Count visits and see which pages are used, so the site can be improved.",
        ),
        ("advertising", "Advertising", "Let advertising partners show ads based on your browsing."),
    ],
};

static FR: Builtin = Builtin {
    title: "Vos choix concernant les cookies",
    description: "Ce site a besoin de quelques cookies pour fonctionner. Avec votre accord, il en utiliserait d'autres, par exemple pour mesurer son audience. Rien de facultatif n'est déposé avant votre décision, et vous pouvez changer d'avis à tout moment.",
    accept_all: "Tout accepter",
    reject_all: "Tout refuser",
    preferences: "Personnaliser",
    preferences_title: "Préférences de cookies",
    preferences_description: "Activez ou désactivez chaque type de cookie. Les cookies essentiels restent actifs car le site ne peut pas fonctionner sans eux.",
    save: "Enregistrer mes choix",
    close: "Fermer",
    always_on: "Toujours actifs",
    services: "Services",
    cookies: "Cookies",
    signal_notice: "Votre navigateur demande aux sites de ne pas vous suivre, et ce site le respecte : seuls les cookies essentiels sont utilisés.",
    settings_link: "Gérer les cookies",
    privacy_policy_label: "Politique de confidentialité",
    embed_notice: "Ce contenu provient d'un autre site, qui peut déposer des cookies.",
    embed_load: "Le charger",
    categories: &[
        (
            "essential",
            "Essentiels",
            "Indispensables au site : navigation, connexion, sécurité et mémorisation de ce choix.",
        ),
        ("functional", "Fonctionnels", "Mémorisent des réglages comme la langue ou la mise en page."),
        (
            "analytics",
            "Mesure d'audience",
            "Comptent les visites et les pages consultées, pour améliorer le site.",
        ),
        (
            "advertising",
            "Publicité",
            "Permettent à des partenaires publicitaires d'afficher des annonces selon votre navigation.",
        ),
    ],
};

fn builtin(lang: &str) -> Option<&'static Builtin> {
    match primary(lang) {
        "en" => Some(&EN),
        "fr" => Some(&FR),
        _ => None,
    }
}

fn primary(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

/// Languages with built-in texts.
pub const BUILTIN_LANGUAGES: &[&str] = &["en", "fr"];

fn valid_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    first_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

pub(crate) fn validate(texts: &BTreeMap<String, Texts>, categories: &[Category]) -> Result<(), PolicyError> {
    for (lang, t) in texts {
        if !valid_language_tag(lang) {
            return Err(PolicyError::at(
                format!("texts.{lang}"),
                Problem::InvalidLanguage { tag: lang.clone() },
            ));
        }
        if builtin(lang).is_none() {
            if let Some(key) = Key::ALL.iter().find(|k| t.get(**k).is_none()) {
                return Err(PolicyError::at(
                    format!("texts.{lang}.{}", key.name()),
                    Problem::MissingText { lang: lang.clone(), key: key.name().to_owned() },
                ));
            }
        }
        for id in t.categories.keys() {
            if !categories.iter().any(|c| &c.id == id) {
                return Err(PolicyError::at(
                    format!("texts.{lang}.categories.{id}"),
                    Problem::UnknownCategory {
                        id: id.clone(),
                        known: categories.iter().map(|c| c.id.clone()).collect(),
                    },
                ));
            }
        }
        if let Some(url) = &t.privacy_policy_url {
            let path = format!("texts.{lang}.privacy_policy_url");
            let ok = (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
                && !url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'"');
            if !ok {
                return Err(PolicyError::at(path, Problem::InvalidUrl { url: url.clone() }));
            }
        }
        for c in categories {
            let has_title = t.categories.get(&c.id).is_some_and(|ct| ct.title.is_some());
            if !has_title && !STANDARD_CATEGORIES.contains(&c.id.as_str()) {
                return Err(PolicyError::at(
                    format!("texts.{lang}.categories.{}.title", c.id),
                    Problem::MissingCategoryTitle { lang: lang.clone(), category: c.id.clone() },
                ));
            }
        }
    }
    Ok(())
}

/// The texts for one language, with every fallback applied.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedTexts<'p> {
    lang: &'p str,
    own: Option<&'p Texts>,
    en_own: Option<&'p Texts>,
    builtin: &'static Builtin,
    policy: &'p Policy,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Builtin")
    }
}

impl<'p> ResolvedTexts<'p> {
    /// The language tag chosen (`en`, `fr`, or one the policy declares).
    pub fn lang(&self) -> &'p str {
        self.lang
    }

    /// A text, falling back from the policy's language to the built-in one,
    /// then to the policy's English, then to built-in English.
    pub fn get(&self, key: Key) -> &'p str {
        self.own
            .and_then(|t| t.get(key))
            .or_else(|| builtin(self.lang).map(|b| b.get(key)))
            .or_else(|| self.en_own.and_then(|t| t.get(key)))
            .unwrap_or_else(|| self.builtin.get(key))
    }

    /// The privacy policy link for this language (or the English one).
    pub fn privacy_policy_url(&self) -> Option<&'p str> {
        self.own
            .and_then(|t| t.privacy_policy_url.as_deref())
            .or_else(|| self.en_own.and_then(|t| t.privacy_policy_url.as_deref()))
    }

    /// A category's title: the policy's, the built-in one, any language's, the id.
    pub fn category_title(&self, id: &'p str) -> &'p str {
        self.category_field(id, |c| c.title.as_deref(), |b| b.1).unwrap_or(id)
    }

    /// A category's description, if one is known.
    pub fn category_description(&self, id: &'p str) -> Option<&'p str> {
        self.category_field(id, |c| c.description.as_deref(), |b| b.2)
    }

    fn category_field(
        &self,
        id: &str,
        pick: impl Fn(&'p CategoryText) -> Option<&'p str>,
        pick_builtin: impl Fn(&(&'static str, &'static str, &'static str)) -> &'static str,
    ) -> Option<&'p str> {
        let from_builtin = |b: &'static Builtin| b.categories.iter().find(|c| c.0 == id).map(&pick_builtin);
        self.own
            .and_then(|t| t.categories.get(id))
            .and_then(&pick)
            .or_else(|| builtin(self.lang).and_then(from_builtin))
            .or_else(|| self.policy.texts().values().find_map(|t| t.categories.get(id).and_then(&pick)))
            .or_else(|| from_builtin(self.builtin))
    }
}

impl Policy {
    /// Texts in the best language for a visitor who prefers `preferred` (in
    /// order, e.g. `<html lang>` then `navigator.languages`): an exact tag the
    /// policy declares, else the same primary language, else a built-in
    /// language, else English.
    pub fn texts_for<'p>(&'p self, preferred: &[&str]) -> ResolvedTexts<'p> {
        let declared = self.texts();
        let mut chosen: Option<&'p str> = None;
        'outer: for want in preferred {
            let want_l = want.trim().to_ascii_lowercase().replace('_', "-");
            if want_l.is_empty() {
                continue;
            }
            for tag in declared.keys() {
                if tag.eq_ignore_ascii_case(&want_l) {
                    chosen = Some(tag);
                    break 'outer;
                }
            }
            for tag in declared.keys() {
                if primary(tag) == primary(&want_l) {
                    chosen = Some(tag);
                    break 'outer;
                }
            }
            if let Some(b) = BUILTIN_LANGUAGES.iter().find(|b| **b == primary(&want_l)) {
                chosen = Some(b);
                break;
            }
        }
        let lang = chosen.unwrap_or("en");
        ResolvedTexts {
            lang,
            own: declared.get(lang),
            en_own: declared.get("en"),
            builtin: builtin(lang).unwrap_or(&EN),
            policy: self,
        }
    }
}
