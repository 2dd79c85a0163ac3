//! Rendering findings and tables: human text (with optional colour), JSON
//! and GitHub annotations.

use std::io::IsTerminal;
use std::path::Path;

use crate::check::{Finding, Severity};

/// Whether to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn new(choice: ColorChoice) -> Style {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Style { color }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("1;33", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Human output: one block per finding, paths relative to the current folder.
pub fn human(findings: &[Finding], root: &Path, style: Style) -> String {
    let mut out = String::new();
    for f in findings {
        let sev = match f.severity {
            Severity::Error => style.red(&format!("error[{}]", f.rule)),
            Severity::Warning => style.yellow(&format!("warning[{}]", f.rule)),
        };
        // Names and values come from files: anything that would hide or
        // reorder text in a terminal is shown as its escape.
        use crate::diag::{escape, escape_text};
        let path = crate::diag::display_path(&root.join(&f.path));
        let path = escape(&path);
        let loc = match f.column {
            Some(c) => format!("{path}:{}:{c}", f.line),
            None => path.into_owned(),
        };
        out.push_str(&format!(
            "{sev}: {}: {}\n",
            style.bold(&loc),
            escape_text(&f.message)
        ));
        if let Some(e) = &f.excerpt {
            out.push_str(&escape_text(e));
        }
        for n in &f.notes {
            out.push_str(&format!("   = {}\n", escape_text(n)));
        }
        for h in f.help.lines().filter(|h| !h.is_empty()) {
            out.push_str(&format!("   = help: {}\n", escape_text(h)));
        }
    }
    out
}

/// The closing summary line of `deal check`.
pub fn summary(errors: usize, warnings: usize, deals: usize, style: Style) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let what = plural(deals, "deal");
    if errors == 0 && warnings == 0 {
        return format!("{} {what} checked, no problems\n", style.green("ok:"));
    }
    format!(
        "{what} checked: {}, {}\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// `--format json`: `{ errors, warnings, findings: [...] }`.
pub fn json(findings: &[Finding]) -> String {
    let (e, w) = crate::check::counts(findings);
    let v = serde_json::json!({ "errors": e, "warnings": w, "findings": findings });
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// Escapes a GitHub workflow command's data.
fn gh_escape(s: &str, property: bool) -> String {
    let mut s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        s = s.replace(':', "%3A").replace(',', "%2C");
    }
    s
}

/// `--format github`: `::error file=…,line=…::` with paths relative to the
/// repository root (`prefix` is the pipeline root inside the repository).
pub fn github(findings: &[Finding], prefix: &Path) -> String {
    let mut out = String::new();
    for f in findings {
        let path = prefix.join(&f.path);
        let mut body = f.message.clone();
        for n in &f.notes {
            body.push('\n');
            body.push_str(n);
        }
        for h in f.help.lines() {
            body.push_str("\nhelp: ");
            body.push_str(h);
        }
        out.push_str(&format!(
            "::{} file={},line={}{},title={}::{}\n",
            f.severity.as_str(),
            gh_escape(&path.to_string_lossy(), true),
            f.line,
            f.column.map(|c| format!(",col={c}")).unwrap_or_default(),
            gh_escape(f.rule, true),
            gh_escape(&body, false)
        ));
    }
    out
}

/// The terminal's width, from `COLUMNS`, else the terminal's own, else 100.
pub fn term_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(100)
}

/// The width a table fits: the terminal's, or unbounded (whole cells) when
/// stdout is not a terminal (`deal list | grep`, a script) or with `--wide`
/// (README, "Tables").
pub fn table_width(wide: bool) -> usize {
    use std::io::IsTerminal;
    if wide || !std::io::stdout().is_terminal() {
        usize::MAX
    } else {
        term_width()
    }
}

/// Truncates `s` to `w` characters, with an ellipsis.
pub fn clip(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Renders rows as an aligned table; the last column is clipped to fit `width`.
pub fn table(header: &[&str], rows: &[Vec<String>], width: usize) -> String {
    // Cells come from deal files: hidden characters shown as escapes.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::diag::escape(c).into_owned())
                .collect()
        })
        .collect();
    let rows = rows.as_slice();
    let n = header.len();
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    // Shrink the widest columns until the table fits.
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * (n - 1);
    while total(&w) > width {
        let (i, m) = w
            .iter()
            .enumerate()
            .max_by_key(|(_, v)| **v)
            .map(|(i, v)| (i, *v))
            .unwrap_or((0, 0));
        if m <= 8 {
            break;
        }
        w[i] = m - 1;
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let c = clip(c, w[i]);
            if i + 1 == n {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}
