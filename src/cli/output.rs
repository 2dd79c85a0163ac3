//! Rendering findings and tables: human text (with optional colour), JSON
//! and GitHub annotations.

use std::io::IsTerminal;
use std::path::Path;

use crate::rules::check::{Finding, Severity};

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

    /// `text` (lines of terminal output built with this style) with every
    /// hidden character escaped ([`crate::base::diag::escape`]) but the line
    /// breaks and, when colouring, this style's own colour codes, so a
    /// value from a deal cannot reorder, hide or recolour the output.
    pub fn visible(&self, text: &str) -> String {
        const OURS: [&str; 6] = ["1;31m", "1;33m", "32m", "1m", "2m", "0m"];
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if c == '\x1b'
                && self.color
                && let Some(code) = rest[1..].strip_prefix('[')
                && let Some(ours) = OURS.iter().find(|o| code.starts_with(**o))
            {
                let n = 2 + ours.len();
                out.push_str(&rest[..n]);
                rest = &rest[n..];
                continue;
            }
            if c == '\n' {
                out.push(c);
            } else {
                out.push_str(&crate::base::diag::escape(c.encode_utf8(&mut [0; 4])));
            }
            rest = &rest[c.len_utf8()..];
        }
        out
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
        use crate::base::diag::{escape, escape_text};
        let path = crate::base::diag::display_path(&root.join(&f.path));
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
    let (e, w) = crate::rules::check::counts(findings);
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

/// The columns `s` takes on a terminal (a CJK character two, a combining
/// mark none).
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Truncates `s` to `w` terminal columns, with an ellipsis.
pub fn clip(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    let mut t = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        t.push(c);
    }
    if w > 0 {
        t.push('…');
    }
    t
}

/// Whether `tok` is a number as tables print them: digits with `,` `.`
/// `%` `:` `/` `-` `+` (amounts, percentages, dates, `2/3`).
fn numberish(tok: &str) -> bool {
    tok.chars().any(|c| c.is_ascii_digit())
        && tok
            .chars()
            .all(|c| c.is_ascii_digit() || ",.%:/-+".contains(c))
}

/// The leading part of a cell that is never cut: its number, with the
/// currency code after it (`99,999 USD`); `None` when the cell is no number.
fn number_part(cell: &str) -> Option<usize> {
    let mut toks = cell.split(' ');
    let first = toks.next()?;
    if !numberish(first) {
        return None;
    }
    let mut w = width(first);
    if let Some(code) = toks.next()
        && code.len() == 3
        && code.chars().all(|c| c.is_ascii_uppercase())
    {
        w += 1 + code.len();
    }
    Some(w)
}

/// Renders rows as an aligned table that fits `width` terminal columns
/// (README, "Tables"). Cells are shown with hidden characters escaped
/// ([`crate::base::diag::escape`]). When the table is too wide, text columns
/// (titles, descriptions, names) are cut first, widest first; a column of
/// numbers (amounts, days, dates, `2/3`) is never cut inside a number:
/// only its header and the words after its numbers are.
pub fn table(header: &[&str], rows: &[Vec<String>], width_max: usize) -> String {
    let n = header.len();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .take(n)
                .map(|c| crate::base::diag::escape(c).into_owned())
                .collect()
        })
        .collect();
    let mut w: Vec<usize> = header.iter().map(|h| width(h)).collect();
    // The width each column's numbers need (`None`: a text column).
    let mut numbers: Vec<Option<usize>> = vec![Some(1); n];
    let mut any_number = vec![false; n];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(width(c));
            let placeholder = matches!(c.trim(), "" | "-" | "–" | "—");
            match (number_part(c), placeholder) {
                (_, true) => numbers[i] = numbers[i].map(|m| m.max(width(c))),
                (Some(nw), false) => {
                    any_number[i] = true;
                    numbers[i] = numbers[i].map(|m| m.max(nw));
                }
                (None, false) => numbers[i] = None,
            }
        }
    }
    for i in 0..n {
        if !any_number[i] {
            numbers[i] = None;
        }
    }
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * n.saturating_sub(1);
    // Narrows the widest of the columns `pick` allows, down to `floor(i)`,
    // one column at a time until the table fits.
    let shrink = |w: &mut Vec<usize>, floor: &dyn Fn(usize) -> usize| {
        while total(w) > width_max {
            let Some(i) = (0..n)
                .filter(|&i| w[i] > floor(i))
                .max_by_key(|&i| (w[i] - floor(i), std::cmp::Reverse(i)))
            else {
                break;
            };
            w[i] -= 1;
        }
    };
    // Free text (titles, descriptions, commands: cells with spaces) is cut
    // first, to 8 columns; then numbers' headers and the words after them;
    // then names and ids (slugs, stages, handles) to 8; then all text to 2.
    let free: Vec<bool> = (0..n)
        .map(|i| {
            numbers[i].is_none()
                && rows
                    .iter()
                    .any(|r| r.get(i).is_some_and(|c| c.contains(' ')))
        })
        .collect();
    shrink(&mut w, &|i| if free[i] { 8 } else { usize::MAX });
    shrink(&mut w, &|i| numbers[i].unwrap_or(usize::MAX));
    shrink(&mut w, &|i| {
        if numbers[i].is_none() { 8 } else { usize::MAX }
    });
    shrink(&mut w, &|i| {
        if numbers[i].is_none() { 2 } else { usize::MAX }
    });
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            // A number (with its currency code) is never cut: where it
            // fills the column, the words after it go without an ellipsis.
            let c = match (numbers[i], number_part(c)) {
                (Some(_), Some(nw)) if width(c) > w[i] && nw + 1 > w[i] => c[..nw].to_string(),
                _ => clip(c, w[i]),
            };
            s.push_str(&c);
            if i + 1 < n {
                s.push_str(&" ".repeat(w[i].saturating_sub(width(&c)) + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

/// A number for CSV: whole numbers without `.0`, and never `-0`.
pub fn number(x: f64) -> String {
    (x + 0.0).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(t: &str) -> usize {
        t.lines().map(width).max().unwrap_or(0)
    }

    #[test]
    fn tables_fit_the_width_cutting_text_before_numbers() {
        let rows = vec![
            vec![
                "kettle-ci-test-analytics".to_string(),
                "negotiation".to_string(),
                "1,234,567 USD".to_string(),
                "12.5 rotting".to_string(),
                "Send the revised proposal with the phased plan".to_string(),
            ],
            vec![
                "orbital".to_string(),
                "won".to_string(),
                "-".to_string(),
                "3.0".to_string(),
                "東京で打ち合わせ、見積もりを再送する".to_string(),
            ],
        ];
        let header = ["SLUG", "STAGE", "VALUE", "DAYS IN STAGE", "NEXT STEP"];
        for w in [40, 50, 60, 80] {
            let t = table(&header, &rows, w);
            assert!(widest(&t) <= w, "{w}:\n{t}");
            assert!(t.contains("1,234,567 USD"), "{w}:\n{t}");
            assert!(t.contains("12.5"), "{w}:\n{t}");
        }
        // The free text goes first: at 80 the slug stays whole.
        assert!(table(&header, &rows, 80).contains("kettle-ci-test-analytics"));
        // Whole cells when unbounded.
        let t = table(&header, &rows, usize::MAX);
        assert!(t.contains("Send the revised proposal with the phased plan"));
    }

    #[test]
    fn wide_characters_take_two_columns_and_hidden_ones_are_escaped() {
        let rows = vec![vec!["東京".to_string(), "x".to_string()]];
        let t = table(&["A", "B"], &rows, 80);
        assert_eq!(t.lines().nth(1).unwrap(), "東京  x");
        assert_eq!(t.lines().next().unwrap(), "A     B");
        assert_eq!(clip("東京東京", 5), "東京…");
        let rows = vec![vec!["a\u{202e}b".to_string(), "x\x1b[31m".to_string()]];
        let t = table(&["A", "B"], &rows, 80);
        assert!(
            t.contains("a\\u{202e}b") && t.contains("x\\u{1b}[31m"),
            "{t}"
        );
        let st = Style { color: true };
        let shown = st.visible(&format!("{} a\u{202e}\x1b[30m\n", st.red("x")));
        assert_eq!(shown, "\x1b[1;31mx\x1b[0m a\\u{202e}\\u{1b}[30m\n");
    }
}
