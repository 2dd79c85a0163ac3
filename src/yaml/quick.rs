//! A scanner for the plainest front-matter: the few top-level values a
//! summary needs, read without the YAML parser, or `None` so the caller
//! parses the text in full.
//!
//! `deal trend` reads every version of every deal file its window touched
//! (22,000 on the benchmark repository) and needs only `value`, `currency`
//! and `stages` of each. serde_yaml spent about 18 µs a version building the
//! whole document; this scanner takes under 2 µs and lets trend meet its
//! budget (benches/README.md, "trend"). It is hand-written because no crate
//! checks a text is valid YAML faster than parsing it.
//!
//! It accepts only a text it can be sure of, and declines everything else:
//! - block mappings whose keys are plain identifiers
//!   (`[A-Za-z_][A-Za-z0-9_-]*`, not `true`, `null` and the like), no key
//!   twice in one mapping, the top one at column 0;
//! - block sequences indented under their key, whose items are one-line
//!   scalars or mappings (`- key: value`);
//! - one-line scalars: plain ones with no `: `, no `#`, not starting with an
//!   indicator, or quoted ones with no escape and no inner quote.
//!
//! Comments, tabs, carriage returns, flow collections (`[…]`, `{…}`), block
//! scalars (`|`, `>`), anchors, aliases, tags, multi-line scalars, compact
//! nesting and any control character send the text to the full parser, as
//! does anything this module could resolve differently from serde_yaml. In
//! what it accepts, every wanted value resolves as serde_yaml resolves it;
//! the proptest `quick_scan_agrees_with_serde_yaml` checks that over
//! generated texts made of the tricky cases.

use serde_yaml::{Mapping, Number, Value};

/// How deep an accepted text may indent; deeper goes to the full parser.
const MAX_INDENT: usize = 64;
/// Longer keys go to the full parser (libyaml caps simple keys at 1,024).
const MAX_KEY: usize = 128;

/// The top-level values of `wanted` in the front-matter `yaml`, as
/// serde_yaml would give them (absent keys are left out), when the whole
/// text is in the plain subset this module accepts, and so a valid YAML
/// mapping with no duplicate key. `None` otherwise: parse it in full.
pub fn scan(yaml: &str, wanted: &[&str]) -> Option<Mapping> {
    if !plain_chars(yaml) {
        return None;
    }
    let mut lines = Lines::new(yaml);
    let first = lines.peek()?;
    if first.indent != 0 {
        return None;
    }
    let mut out = Mapping::new();
    map(&mut lines, 0, Build::Top(wanted, &mut out))?;
    if lines.peek().is_some() {
        return None;
    }
    Some(out)
}

/// Whether every character is one YAML prints as itself and breaks lines
/// only at `\n`: no tab, no carriage return, no control character, no
/// byte-order mark, no NEL or Unicode line separator, no `#`.
fn plain_chars(s: &str) -> bool {
    if s.is_ascii() {
        return s
            .bytes()
            .all(|b| b == b'\n' || ((0x20..0x7f).contains(&b) && b != b'#'));
    }
    s.chars().all(|c| match c {
        '\n' => true,
        '#' => false,
        ' '..='~' => true,
        '\u{a0}'..='\u{d7ff}' => !matches!(c, '\u{2028}' | '\u{2029}'),
        '\u{e000}'..='\u{fffd}' => c != '\u{feff}',
        '\u{10000}'.. => true,
        _ => false,
    })
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    /// The text after the indentation, trailing spaces trimmed.
    text: &'a str,
}

/// The non-blank lines, with one line that can be replaced: the rest of a
/// `- key: value` item, read as a mapping line at its own column.
struct Lines<'a> {
    iter: std::str::Split<'a, char>,
    next: Option<Line<'a>>,
}

impl<'a> Lines<'a> {
    fn new(s: &'a str) -> Lines<'a> {
        let mut l = Lines {
            iter: s.split('\n'),
            next: None,
        };
        l.advance();
        l
    }

    fn advance(&mut self) {
        self.next = None;
        for raw in self.iter.by_ref() {
            let text = raw.trim_end_matches(' ');
            if text.is_empty() {
                continue;
            }
            let rest = text.trim_start_matches(' ');
            self.next = Some(Line {
                indent: text.len() - rest.len(),
                text: rest,
            });
            return;
        }
    }

    fn peek(&self) -> Option<Line<'a>> {
        self.next
    }
}

/// What to keep of a collection being read.
enum Build<'o, 'w> {
    /// Nothing: only check it.
    Check,
    /// The top mapping: the values of the wanted keys, into the mapping.
    Top(&'w [&'w str], &'o mut Mapping),
    /// Every value, into the given value.
    All(&'o mut Value),
}

/// Reads a block mapping whose keys sit at column `indent`, the next line
/// being its first.
fn map(lines: &mut Lines, indent: usize, build: Build) -> Option<()> {
    let mut keys: Vec<&str> = Vec::new();
    let mut built = Mapping::new();
    while let Some(line) = lines.peek() {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return None;
        }
        let (key, rest) = entry(line.text)?;
        if keys.contains(&key) {
            return None;
        }
        keys.push(key);
        lines.advance();
        // Build this value? Into what?
        let want = match &build {
            Build::Check => false,
            Build::Top(wanted, _) => wanted.contains(&key),
            Build::All(_) => true,
        };
        let mut value = Value::Null;
        match rest {
            Some(scalar) => {
                if want {
                    value = resolve(scalar)?;
                } else {
                    check_scalar(scalar)?;
                }
                // A deeper line would continue the scalar (or be an error).
                if lines.peek().is_some_and(|l| l.indent > indent) {
                    return None;
                }
            }
            None => {
                value = nested(lines, indent, want)?;
            }
        }
        if want {
            built.insert(Value::String(key.to_string()), value);
        }
    }
    match build {
        Build::Check => {}
        Build::Top(_, out) => *out = built,
        Build::All(out) => *out = Value::Mapping(built),
    }
    Some(())
}

/// The value of a key with nothing after its colon: the block below it, or
/// null when the next line is no deeper.
fn nested(lines: &mut Lines, parent: usize, want: bool) -> Option<Value> {
    let Some(next) = lines.peek().filter(|l| l.indent > parent) else {
        return Some(Value::Null);
    };
    if next.indent > MAX_INDENT {
        return None;
    }
    let mut value = Value::Null;
    let build = if want {
        Build::All(&mut value)
    } else {
        Build::Check
    };
    if next.text.starts_with('-') {
        seq(lines, next.indent, build)?;
    } else {
        map(lines, next.indent, build)?;
    }
    Some(value)
}

/// Reads a block sequence whose dashes sit at column `indent`.
fn seq(lines: &mut Lines, indent: usize, build: Build) -> Option<()> {
    let want = !matches!(build, Build::Check);
    let mut items = Vec::new();
    while let Some(line) = lines.peek() {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return None;
        }
        let rest = line.text.strip_prefix("- ")?;
        let item = rest.trim_start_matches(' ');
        let col = indent + line.text.len() - item.len();
        if item.starts_with('-') || item.is_empty() {
            return None;
        }
        let mut value = Value::Null;
        if entry(item).is_some() {
            // `- key: value`: a mapping at the key's column.
            lines.next = Some(Line {
                indent: col,
                text: item,
            });
            let b = if want {
                Build::All(&mut value)
            } else {
                Build::Check
            };
            map(lines, col, b)?;
        } else {
            if want {
                value = resolve(item)?;
            } else {
                check_scalar(item)?;
            }
            lines.advance();
            if lines.peek().is_some_and(|l| l.indent > indent) {
                return None;
            }
        }
        items.push(value);
    }
    if let Build::All(out) = build {
        *out = Value::Sequence(items);
    }
    Some(())
}

/// A mapping line's key and what follows its `: ` (`None` for a bare
/// `key:`), or `None` when the line is not a plain `key: …`.
fn entry(text: &str) -> Option<(&str, Option<&str>)> {
    let colon = text.find(':')?;
    let key = &text[..colon];
    let after = &text[colon + 1..];
    if !is_key(key) {
        return None;
    }
    if after.is_empty() {
        return Some((key, None));
    }
    let rest = after.strip_prefix(' ')?.trim_start_matches(' ');
    Some((key, (!rest.is_empty()).then_some(rest)))
}

fn is_key(k: &str) -> bool {
    let mut bytes = k.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first_ok
        && k.len() <= MAX_KEY
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !is_special_word(k)
}

/// Words some YAML reader takes for a null, a boolean or a number.
fn is_special_word(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "null", "true", "false", "y", "n", "yes", "no", "on", "off", "inf", "infinity", "nan",
    ];
    WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Checks a one-line scalar is one this module accepts, without
/// resolving it. One starting with a digit must be a number or date
/// [`resolve`] reads: serde_yaml refuses some others (an integer past
/// `u64`), which the full parse must report.
fn check_scalar(s: &str) -> Option<()> {
    match s.as_bytes()[0] {
        b'"' | b'\'' => quoted(s).map(|_| ()),
        b'0'..=b'9' | b'+' | b'.' => resolve(s).map(|_| ()),
        _ => plain(s).then_some(()),
    }
}

/// The text of a one-line quoted scalar with no escape and no inner quote.
fn quoted(s: &str) -> Option<&str> {
    let q = s.chars().next()?;
    let inner = s.strip_prefix(q)?.strip_suffix(q)?;
    if inner.contains(q) || (q == '"' && inner.contains('\\')) {
        return None;
    }
    Some(inner)
}

/// Whether `s` is a one-line plain scalar this module accepts: not starting
/// with an indicator, with no `: ` and no trailing `:` (`#` is refused for
/// the whole text).
fn plain(s: &str) -> bool {
    const INDICATORS: &[u8] = b"-?:,[]{}#&*!|>'\"%@`";
    !s.is_empty()
        && !INDICATORS.contains(&s.as_bytes()[0])
        && !s.contains(": ")
        && !s.ends_with(':')
}

/// A one-line scalar's value, as serde_yaml resolves it, for the forms that
/// resolve one way only: quoted strings, decimal numbers, dates and times,
/// and words starting with a letter. `None` for anything else.
fn resolve(s: &str) -> Option<Value> {
    let b = s.as_bytes();
    if b[0] == b'"' || b[0] == b'\'' {
        return quoted(s).map(|q| Value::String(q.to_string()));
    }
    if !plain(s) {
        return None;
    }
    if b[0].is_ascii_digit() {
        return number(s).or_else(|| is_date(s).then(|| Value::String(s.to_string())));
    }
    let first = s.chars().next()?;
    let word = first.is_ascii_alphabetic() || (!first.is_ascii() && first.is_alphabetic());
    let lower = s.to_ascii_lowercase();
    if !word || is_special_word(s) || lower.starts_with("inf") || lower.starts_with("nan") {
        return None;
    }
    Some(Value::String(s.to_string()))
}

/// `123` or `123.45` (no sign, no leading zero but one, no exponent).
fn number(s: &str) -> Option<Value> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (int.len() > 1 && int.starts_with('0')) || int.len() > 15 {
        return None;
    }
    match frac {
        None => Some(Value::Number(Number::from(int.parse::<u64>().ok()?))),
        Some(f) if digits(f) && f.len() <= 6 => {
            Some(Value::Number(Number::from(s.parse::<f64>().ok()?)))
        }
        Some(_) => None,
    }
}

/// `2026-09-24`, optionally followed by a time made of digits, `:`, `.`,
/// `T`, `Z`, `+`, `-` and spaces: a text no YAML reader takes for a number.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && b[10..]
            .iter()
            .all(|c| c.is_ascii_digit() || b":.TZ+- ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: &[&str] = &["value", "currency", "stages"];

    fn full(yaml: &str) -> Option<Mapping> {
        match serde_yaml::from_str::<Value>(yaml) {
            Ok(Value::Mapping(m)) => Some(m),
            _ => None,
        }
    }

    #[test]
    fn a_plain_deal_is_read_as_serde_yaml_reads_it() {
        let yaml = "title: Initech 14, platform project\nowner: bob\nvalue: 31000\n\
                    contact:\n  name: Contact 14\n  email: c14@example.com\n\
                    objections:\n  - objection: Price\n    resolved: false\n  - later\n\
                    stages:\n  prospecting: 2026-09-24\n  won: 2026-10-06T10:00:00Z\n\
                    currency: \"EUR\"\n";
        let quick = scan(yaml, WANTED).expect("accepted");
        let m = full(yaml).unwrap();
        for k in WANTED {
            assert_eq!(quick.get(k), m.get(k), "{k}");
        }
        assert_eq!(quick.len(), 3);
    }

    #[test]
    fn anything_unsure_goes_to_the_full_parser() {
        for yaml in [
            "title: a\ntitle: b\n",
            "value: 007\n",
            "value: 1e5\n",
            "value: -5\n",
            "currency: null\n",
            "currency: ~\n",
            "currency: yes\n",
            "a: b: c\n",
            "a: x # note\n",
            "a:\n- x\n",
            "a: [1, 2]\n",
            "a: {b: 1}\n",
            "a: |\n  text\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: one\n  two\n",
            "  a: 1\n",
            "a:\n\tb: 1\n",
            "a: 1\r\n",
            "true: 1\n",
            "a: \"x\\\"y\"\n",
            "a: 'it''s'\n",
            "a:\n  - - x\n",
            "a:\n  -\n",
            "",
            "- a\n",
            "a: 1\n...\n",
            "value: .inf\n",
            // serde_yaml refuses an integer past u64, under any key.
            "title: 99999999999999999999\n",
            "currency: Infinity\n",
        ] {
            assert!(scan(yaml, WANTED).is_none(), "{yaml:?} was accepted");
        }
    }

    /// Scalars that resolve in surprising ways, or break YAML.
    const ATOMS: &[&str] = &[
        "31000",
        "0",
        "007",
        "1.5",
        "1.50",
        "10.0",
        "1e5",
        "-5",
        "+5",
        "0x1F",
        "0o7",
        ".5",
        "5.",
        "1_000",
        "99999999999999999999",
        "2026-09-24",
        "2026-09-24T10:00:00Z",
        "2026-09-24 10:00",
        "2026-13-45",
        "2026-09-24:",
        "EUR",
        "eur",
        "\"EUR\"",
        "'EUR'",
        "\"a\\\"b\"",
        "'it''s'",
        "\"\"",
        "yes",
        "No",
        "on",
        "null",
        "Null",
        "~",
        "true",
        "False",
        ".inf",
        "-.inf",
        ".NaN",
        "nan",
        "Infinity",
        "inf",
        "infinite",
        "a: b",
        "a:b",
        "x #c",
        "#c",
        "[1, 2]",
        "{a: 1}",
        "&a x",
        "*a",
        "!!str 5",
        "|",
        ">",
        "-",
        "- x",
        "? x",
        "%x",
        "@x",
        "`x",
        "Ünïcödé",
        "日本",
        "a\tb",
        "a\rb",
        "\u{85}x",
        "\u{feff}x",
        "\u{2028}",
        "\u{1}",
        "",
        " ",
        "http://x.y/z",
        "a,b",
        "a]",
        "x:",
        "prospecting",
        "won",
    ];
    const KEYS: &[&str] = &[
        "value",
        "currency",
        "stages",
        "title",
        "prospecting",
        "outreach",
        "won",
        "lost",
        "bogus",
        "true",
        "Null",
        "k-1",
        "_k",
        "x y",
        "\"q\"",
        "1",
        "a",
    ];

    /// A front-matter made of entries: a scalar, a mapping of scalars or a
    /// list, indented `ind` under its key (0, 1, 2 or 4 spaces), sometimes
    /// with a bad separator, trailing spaces or a blank line.
    /// One entry: key index, atom index, shape, and its children's (key,
    /// atom) indexes.
    type Entry = (usize, usize, u8, Vec<(usize, usize)>);

    fn render(doc: &[Entry], ind: usize, sep: usize) -> String {
        let seps = [": ", ":", " : ", ":   ", ": "];
        let mut out = String::new();
        for (k, a, shape, kids) in doc {
            let key = KEYS[k % KEYS.len()];
            let pad = " ".repeat(ind);
            match shape % 4 {
                0 | 1 => {
                    out += &format!(
                        "{key}{}{}\n",
                        seps[(k + sep) % seps.len()],
                        ATOMS[a % ATOMS.len()]
                    )
                }
                2 => {
                    out += &format!("{key}:\n");
                    for (kk, aa) in kids {
                        out += &format!(
                            "{pad}{}: {}\n",
                            KEYS[kk % KEYS.len()],
                            ATOMS[aa % ATOMS.len()]
                        );
                    }
                }
                _ => {
                    out += &format!("{key}:\n");
                    for (i, (kk, aa)) in kids.iter().enumerate() {
                        if i % 2 == 0 {
                            out += &format!("{pad}- {}\n", ATOMS[aa % ATOMS.len()]);
                        } else {
                            out += &format!(
                                "{pad}- {}: {}\n{pad}  {}: x \n\n",
                                KEYS[kk % KEYS.len()],
                                ATOMS[aa % ATOMS.len()],
                                KEYS[(kk + 1) % KEYS.len()]
                            );
                        }
                    }
                }
            }
        }
        out
    }

    fn pipeline() -> &'static crate::model::config::Config {
        static CFG: std::sync::OnceLock<crate::model::config::Config> = std::sync::OnceLock::new();
        CFG.get_or_init(|| {
            crate::model::config::parse(
                &crate::model::config::default_yaml(&[], crate::model::notes::Qualification::Bant),
                std::path::Path::new("pipeline.yaml"),
                &crate::model::notes::Templates::builtin_only(),
            )
            .unwrap()
        })
    }

    /// Whatever the scanner accepts, the full parse reads without error,
    /// and the wanted values and the fields typed from them are the same.
    fn agrees(yaml: &str, cfg: &crate::model::config::Config) -> Result<bool, String> {
        let Some(quick) = scan(yaml, WANTED) else {
            return Ok(false);
        };
        let m = crate::yaml::mapping::parse_mapping(yaml, 2)
            .map_err(|e| format!("accepted {yaml:?}, which does not parse: {}", e.message))?;
        for k in WANTED {
            if quick.get(k) != m.get(k) {
                return Err(format!(
                    "{yaml:?}: {k} is {:?}, not {:?}",
                    quick.get(k),
                    m.get(k)
                ));
            }
        }
        let (a, b) = (
            crate::model::deal::type_summary_fields(&quick, cfg),
            crate::model::deal::type_fields(&m, cfg).0,
        );
        if a.value != b.value || a.currency != b.currency || a.stages != b.stages {
            return Err(format!("{yaml:?}: typed fields differ"));
        }
        Ok(true)
    }

    proptest::proptest! {
        // PROPTEST_CASES=200000 for a longer hunt.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(4000),
        ))]
        #[test]
        fn quick_scan_agrees_with_serde_yaml(
            doc in proptest::collection::vec(
                (0usize..64, 0usize..256, 0u8..4, proptest::collection::vec((0usize..64, 0usize..256), 0..4)),
                0..7,
            ),
            ind in proptest::sample::select(vec![0usize, 1, 2, 2, 4]),
            sep in 0usize..5,
        ) {
            let yaml = render(&doc, ind, sep);
            if let Err(e) = agrees(&yaml, pipeline()) {
                proptest::prop_assert!(false, "{}", e);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(4000),
        ))]
        /// Free-form lines: any indentation, any line shape, in any order,
        /// for the structure the rendered documents above keep regular.
        #[test]
        fn quick_scan_agrees_with_serde_yaml_on_free_form_lines(
            lines in proptest::collection::vec((0usize..7, 0u8..8, 0usize..64, 0usize..256), 1..9),
        ) {
            let mut yaml = String::new();
            for (indent, shape, k, a) in lines {
                let (key, atom) = (KEYS[k % KEYS.len()], ATOMS[a % ATOMS.len()]);
                yaml += &" ".repeat(indent);
                yaml += &match shape {
                    0 | 1 => format!("{key}: {atom}"),
                    2 => format!("{key}:"),
                    3 => format!("- {atom}"),
                    4 => format!("- {key}: {atom}"),
                    5 => format!("- {key}:"),
                    6 => atom.to_string(),
                    _ => String::new(),
                };
                yaml.push('\n');
            }
            if let Err(e) = agrees(&yaml, pipeline()) {
                proptest::prop_assert!(false, "{}", e);
            }
        }
    }

    #[test]
    fn the_generated_cases_are_accepted_often_enough_to_mean_something() {
        // The proptest above is only as good as the share of texts the
        // scanner accepts: walk a fixed sample of the same space.
        let cfg = pipeline();
        let (mut accepted, mut total) = (0, 0);
        for n in 0..3000usize {
            let h = |i: usize| (n.wrapping_mul(2654435761) >> (i * 3)) ^ (n * (i + 7));
            let doc: Vec<_> = (0..(n % 6 + 1))
                .map(|i| {
                    let shape = (h(i) % 4) as u8;
                    // Mostly the plain keys and atoms, as real deals are.
                    let k = [0, 1, 2, 3, 4, 5, 6, 7, 8][h(i + 1) % 9] + i * 9 % 2;
                    let plain = [
                        "31000",
                        "1.5",
                        "2026-09-24",
                        "2026-09-24T10:00:00Z",
                        "EUR",
                        "'EUR'",
                        "\"EUR\"",
                        "prospecting",
                        "http://x.y/z",
                    ][h(i + 2) % 9];
                    let a = ATOMS.iter().position(|x| *x == plain).unwrap();
                    let kids = (0..h(i + 3) % 3).map(|j| ((k + j + 1) % 9, a)).collect();
                    (k, a, shape, kids)
                })
                .collect();
            let yaml = render(&doc, [0, 1, 2, 4][n % 4], n % 5);
            total += 1;
            if agrees(&yaml, cfg).unwrap() {
                accepted += 1;
            }
        }
        assert!(accepted * 5 > total, "only {accepted} of {total} accepted");
    }

    #[test]
    fn a_bare_key_is_null_and_an_absent_one_is_left_out() {
        let quick = scan("title: x\nstages:\nvalue: 5\n", WANTED).unwrap();
        assert_eq!(quick.get("stages"), Some(&Value::Null));
        assert_eq!(quick.get("value"), Some(&Value::Number(5.into())));
        assert_eq!(quick.get("currency"), None);
    }
}
