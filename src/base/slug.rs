//! Slugs: lower-case ASCII letters, digits and `-`, transliterated from titles.

/// Symbols that become words of their own (`R&D` → `r-and-d`).
fn symbol(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "and",
        '@' => "at",
        '+' => "plus",
        _ => return None,
    })
}

/// Transliterates `s` into a slug, whatever its script:
/// `Société Générale & Co.` → `societe-generale-and-co`,
/// `Москва Логистик` → `moskva-logistik`, `北京` → `bei-jing`.
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
        if let Some(word) = symbol(c) {
            push(&format!(" {word} "), &mut out);
        } else if c.is_ascii() {
            push(c.encode_utf8(&mut [0; 4]), &mut out);
        } else {
            // deunicode knows every script's letters (Cyrillic, Greek, CJK,
            // ligatures, ß, ø, ł…); an ideograph comes with a trailing space,
            // so each one is a word. A character it does not know splits words.
            let ascii = deunicode::deunicode_char(c).unwrap_or(" ");
            push(if ascii.is_empty() { " " } else { ascii }, &mut out);
        }
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

    #[test]
    fn transliterates_any_script() {
        assert_eq!(slugify("Москва Логистик"), "moskva-logistik");
        assert_eq!(slugify("北京物流"), "bei-jing-wu-liu");
        assert_eq!(slugify("Αθήνα Ναυτιλιακή"), "athena-nautiliake");
        assert_eq!(
            slugify("ŞİŞECAM þing æther œuvre"),
            "sisecam-thing-aether-oeuvre"
        );
        assert_eq!(slugify("R&D @ Acme+"), "r-and-d-at-acme-plus");
        assert_eq!(slugify("東京 Tokyo"), "dong-jing-tokyo");
        assert!(is_slug(&slugify("مرحبا")));
    }
}
