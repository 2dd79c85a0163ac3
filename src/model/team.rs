//! Who is who: the email of a `Name <email>` identity, as the team table
//! and git history compare them.

/// `Name <email>` → `email`, lower-cased; a bare email or handle as it is.
pub fn email_of(ident: &str) -> String {
    match (ident.rfind('<'), ident.rfind('>')) {
        (Some(a), Some(b)) if a < b => ident[a + 1..b].trim().to_ascii_lowercase(),
        _ => ident.trim().to_ascii_lowercase(),
    }
}
