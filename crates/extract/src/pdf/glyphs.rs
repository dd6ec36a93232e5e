//! Glyph names to text, by the Adobe Glyph List specification: the list
//! itself (from `pdf_encoding`), then ligature names joined by `_`, then
//! `uniXXXX` (one or more UTF-16 code units) and `uXXXX`–`uXXXXXX`. A
//! suffix after the first period (`a.sc`, `one.oldstyle`) names a variant
//! of the same character.

/// The text a glyph name stands for, if it stands for any.
pub(super) fn text_of(name: &str) -> Option<String> {
    let base = name.split('.').next().unwrap_or("");
    if base.is_empty() {
        return None;
    }
    let mut out = String::new();
    for part in base.split('_') {
        out.push_str(&component(part)?);
    }
    (!out.is_empty()).then_some(out)
}

fn component(name: &str) -> Option<String> {
    if let Some(text) = pdf_encoding::glyphname_to_unicode(name) {
        return Some(text.to_string());
    }
    if let Some(hex) = name.strip_prefix("uni") {
        return uni(hex);
    }
    if let Some(hex) = name.strip_prefix('u') {
        if (4..=6).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let n = u32::from_str_radix(hex, 16).ok()?;
            return char::from_u32(n).map(String::from);
        }
    }
    None
}

/// `uniXXXX[XXXX…]`: UTF-16 code units, four hex digits each, no
/// surrogates (the specification's rule).
fn uni(hex: &str) -> Option<String> {
    if hex.is_empty() || !hex.len().is_multiple_of(4) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    hex.as_bytes()
        .chunks(4)
        .map(|unit| {
            let unit = std::str::from_utf8(unit).ok()?;
            let n = u32::from_str_radix(unit, 16).ok()?;
            char::from_u32(n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_the_list_ligatures_and_code_points_are_read() {
        assert_eq!(text_of("eacute").as_deref(), Some("é"));
        assert_eq!(text_of("fi").as_deref(), Some("ﬁ"));
        assert_eq!(text_of("f_f_i").as_deref(), Some("ffi"));
        assert_eq!(text_of("uni20AC").as_deref(), Some("€"));
        assert_eq!(text_of("uni00410042").as_deref(), Some("AB"));
        assert_eq!(text_of("u1F389").as_deref(), Some("🎉"));
        assert_eq!(text_of("a.sc").as_deref(), Some("a"));
        assert_eq!(text_of("Gamma.alt").as_deref(), Some("Γ"));
    }

    #[test]
    fn names_of_no_character_are_none() {
        for name in [
            ".notdef", "", "g123", "glyph7", "uniD800", "uni12", "u110000", "a_g99",
        ] {
            assert_eq!(text_of(name), None, "{name}");
        }
    }
}
