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

/// Whether `c` would be invisible or rearrange text in a terminal: a
/// control character, a zero-width one, or a bidirectional embedding,
/// override or isolate (a `\u{202e}` in a file name makes the rest of a
/// line read backwards).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `s` with every control, zero-width and bidirectional-override character
/// written as its escape (`\u{202e}`), for terminal output of names and
/// values (docs/safety.md, "Odd files and odd text").
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    escape_but(s, &[])
}

/// [`escape`], keeping line breaks and tabs: for messages of several lines.
pub fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    escape_but(s, &['\n', '\t'])
}

fn escape_but<'a>(s: &'a str, keep: &[char]) -> std::borrow::Cow<'a, str> {
    if !s.chars().any(|c| hidden(c) && !keep.contains(&c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if hidden(c) && !keep.contains(&c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_escaped() {
        assert_eq!(
            escape("a\u{202e}b\u{200b}c\x1b[31m\n"),
            "a\\u{202e}b\\u{200b}c\\u{1b}[31m\\u{a}"
        );
        assert_eq!(escape_text("a\nb\u{2066}"), "a\nb\\u{2066}");
        assert!(matches!(
            escape("plain é 日本"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

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
