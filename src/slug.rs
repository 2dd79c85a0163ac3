//! Slugs: lower-case ASCII letters, digits and `-`, transliterated from titles.

use unicode_normalization::UnicodeNormalization;

/// Letters that NFKD does not decompose into ASCII.
fn special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'ł' | 'Ł' => "l",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        '&' => "and",
        '@' => "at",
        '+' => "plus",
        _ => return None,
    })
}

/// Transliterates `s` into a slug: `Société Générale & Co.` → `societe-generale-and-co`.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    let mut push = |piece: &str, out: &mut String| {
        for ch in piece.chars() {
            if ch.is_ascii_alphanumeric() {
                if dash && !out.is_empty() {
                    out.push('-');
                }
                dash = false;
                out.push(ch.to_ascii_lowercase());
            } else {
                dash = true;
            }
        }
    };
    for c in s.chars() {
        if let Some(rep) = special(c) {
            // Letters join their word; symbols become words of their own.
            let piece = if c.is_alphabetic() {
                rep.to_string()
            } else {
                format!(" {rep} ")
            };
            push(&piece, &mut out);
            continue;
        }
        let ascii: String = c.to_string().nfkd().filter(|d| d.is_ascii()).collect();
        push(if ascii.is_empty() { " " } else { &ascii }, &mut out);
    }
    // Keep slugs short enough for file names and terminals.
    if out.len() > 60 {
        out.truncate(60);
        while out.ends_with('-') {
            out.pop();
        }
    }
    if is_reserved(&out) {
        out.push_str("-deal");
    }
    out
}

/// Whether Windows reserves `s` as a device name (`con`, `aux`, `nul`,
/// `com1`…): `con.md` cannot be checked out there, whatever its extension.
pub fn is_reserved(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    matches!(s.as_str(), "con" | "prn" | "aux" | "nul")
        || ((s.starts_with("com") || s.starts_with("lpt"))
            && s.len() == 4
            && s.as_bytes()[3].is_ascii_digit())
}

/// Whether `s` is a valid slug (never a name Windows reserves).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && !is_reserved(s)
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliterates() {
        assert_eq!(
            slugify("Acme Corp, Kubernetes migration"),
            "acme-corp-kubernetes-migration"
        );
        assert_eq!(slugify("Société Générale & Co."), "societe-generale-and-co");
        assert_eq!(slugify("Straße Øresund Łódź"), "strasse-oresund-lodz");
        assert_eq!(slugify("  --  "), "");
        assert!(is_slug("acme-2"));
        assert!(!is_slug("Acme"));
        assert_eq!(slugify("CON"), "con-deal");
        assert_eq!(slugify("Com1"), "com1-deal");
        assert_eq!(slugify("Console"), "console");
        assert!(!is_slug("nul"));
    }
}
