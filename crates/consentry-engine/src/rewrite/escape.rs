//! Escaping for what we write into pages.

/// Escapes text for HTML content and double-quoted attribute values: the one
/// escaper of consentry-core's renderer.
pub use consentry_core::render::escape_html as html;

/// A JSON document made safe inside `<script>`: `<` becomes `\u003c`, so
/// neither `</script>` nor `<!--` can end or confuse the element, and `&`
/// and `>` are escaped too, so the element is also well-formed XML (an
/// XHTML page).
pub fn json_in_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// An attribute value as lol_html gives it (character references still
/// written out) put back between double quotes: only `"` needs escaping.
pub fn raw_attribute(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains('"') { value.replace('"', "&quot;").into() } else { value.into() }
}

/// A JavaScript string literal (JSON string syntax), safe inside `<script>`.
pub fn js_string(s: &str) -> String {
    json_in_script(&serde_json::Value::String(s.to_owned()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_texts_cannot_break_out_of_markup_or_scripts() {
        assert_eq!(html(r#"<script>"x" & 'y'"#), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;");
        assert_eq!(
            json_in_script(r#"{"t":"</script><script>alert(1)"}"#),
            r#"{"t":"\u003c/script\u003e\u003cscript\u003ealert(1)"}"#
        );
        assert_eq!(js_string("a'b\"</script>"), r#""a'b\"\u003c/script\u003e""#);
        assert_eq!(json_in_script(r#"{"u":"a&b"}"#), r#"{"u":"a\u0026b"}"#);
    }
}
