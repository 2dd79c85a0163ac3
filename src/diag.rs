//! Shared pieces of error output: source excerpts with a caret, and paths
//! shown relative to the current folder.

use std::path::{Component, Path, PathBuf};

/// Renders `line_text` as an excerpt in the style of rustc and hledger:
///
/// ```text
///    |
/// 12 |     expr: "objections |"
///    |           ^
/// ```
pub fn excerpt(line_no: usize, line_text: &str, col: usize) -> String {
    let num = line_no.to_string();
    let pad = " ".repeat(num.len());
    let text = line_text.trim_end_matches(['\r', '\n']);
    // A long line is shown as a window around the column, so an excerpt
    // never prints a 100,000-character line.
    const WIDTH: usize = 100;
    let (text, col) = if text.len() > WIDTH {
        let start = col.saturating_sub(WIDTH / 2);
        let window: String = text.chars().skip(start).take(WIDTH).collect();
        let cut = if start > 0 { "…" } else { "" };
        (format!("{cut}{window}…"), col - start + cut.chars().count())
    } else {
        (text.to_string(), col)
    };
    let text = text.as_str();
    // Columns count characters; tabs are kept so the caret lines up.
    let lead: String = text
        .chars()
        .take(col.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{pad} |\n{num} | {text}\n{pad} | {lead}^\n")
}

/// The text of 1-based line `n` of `src`.
pub fn line_of(src: &str, n: usize) -> Option<&str> {
    src.split('\n').nth(n.checked_sub(1)?)
}

/// `path` relative to `base` when possible (with `..` steps), else `path`.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    if p.first() != b.first() {
        return path.to_path_buf();
    }
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// A path for display, relative to the current folder.
pub fn display_path(abs: &Path) -> String {
    match std::env::current_dir() {
        // Inside the current folder: relative, as git shows paths.
        Ok(cwd) if abs.starts_with(&cwd) => relative_to(abs, &cwd).display().to_string(),
        _ => abs.display().to_string(),
    }
}

/// Collapses all whitespace, newlines included, into single spaces: for
/// commit subjects, trailers and headings that must stay on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `c` is shown escaped in terminal output: control characters,
/// and the invisible ones that reorder or hide text (bidirectional
/// overrides and isolates, zero-width spaces and joiners, the BOM).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}')
}

/// `s` with every [`is_hidden`] character written as `\u{202e}`, so a
/// name or value from a deal cannot reorder, hide or colour what a
/// terminal shows (docs/safety.md, "Odd text").
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hidden_characters_are_shown_escaped() {
        assert_eq!(
            super::visible("ab\u{202e}cd\x1b[31m"),
            "ab\\u{202e}cd\\u{1b}[31m"
        );
        assert_eq!(super::visible("Zoë 東京"), "Zoë 東京");
    }

    use super::*;

    #[test]
    fn excerpt_points_at_the_column() {
        let e = excerpt(7, "title: a: b", 9);
        assert_eq!(e, "  |\n7 | title: a: b\n  |         ^\n");
    }

    #[test]
    fn relative_paths() {
        let r = relative_to(Path::new("/a/b/c.md"), Path::new("/a/x"));
        assert_eq!(r, PathBuf::from("../b/c.md"));
        let r = relative_to(Path::new("/a/b/c.md"), Path::new("/a"));
        assert_eq!(r, PathBuf::from("b/c.md"));
    }
}
