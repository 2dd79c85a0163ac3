//! Positions inside YAML text.
//!
//! serde_yaml gives no positions once a document is deserialised, so error
//! messages that name a key (`stages[2].exit[0].expr`) find its line and
//! column here, from yaml-rust2's marked event stream. This runs only on error
//! paths, so its cost never touches a clean `deal check`.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Parses `a.b[2].c` into segments. Numeric dotted parts (`a.0`) are indices.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            let (k, idx) = rest.split_at(i);
            if !k.is_empty() {
                out.push(Seg::Key(k.to_string()));
            }
            rest = idx;
            // `[` and `]` are ASCII, so these offsets are char boundaries
            // whatever else the path holds.
            while let Some(open) = rest.find('[') {
                let Some(close) = rest[open..].find(']').map(|c| open + c) else {
                    break;
                };
                if let Ok(n) = rest[open + 1..close].parse() {
                    out.push(Seg::Index(n));
                }
                rest = &rest[close + 1..];
            }
        } else if let Ok(n) = rest.parse::<usize>() {
            out.push(Seg::Index(n));
        } else if !rest.is_empty() {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

struct Collect(Vec<(Event, Marker)>);

impl MarkedEventReceiver for Collect {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.0.push((ev, mark));
    }
}

fn events(src: &str) -> Vec<(Event, Marker)> {
    let mut c = Collect(Vec::new());
    // A parse error leaves the events read so far, which is still useful.
    let _ = Parser::new_from_str(src).load(&mut c, false);
    c.0
}

fn pos(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

/// Skips one node starting at `i`, returning the index after it.
fn skip(ev: &[(Event, Marker)], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < ev.len() {
        match ev[i].0 {
            Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
        if depth == 0 {
            break;
        }
    }
    i
}

fn find(ev: &[(Event, Marker)], i: usize, path: &[Seg]) -> Option<Pos> {
    let (first, rest) = match path.split_first() {
        None => return ev.get(i).map(|(_, m)| pos(m)),
        Some(x) => x,
    };
    match (&ev.get(i)?.0, first) {
        (Event::MappingStart(..), Seg::Key(want)) => {
            let mut j = i + 1;
            while j < ev.len() && ev[j].0 != Event::MappingEnd {
                let key_at = j;
                let is_match = matches!(&ev[j].0, Event::Scalar(k, ..) if k == want);
                j = skip(ev, j);
                if is_match {
                    if rest.is_empty() {
                        return Some(pos(&ev[key_at].1));
                    }
                    return find(ev, j, rest);
                }
                j = skip(ev, j);
            }
            None
        }
        (Event::SequenceStart(..), Seg::Index(n)) => {
            let mut j = i + 1;
            let mut k = 0;
            while j < ev.len() && ev[j].0 != Event::SequenceEnd {
                if k == *n {
                    return find(ev, j, rest);
                }
                j = skip(ev, j);
                k += 1;
            }
            None
        }
        _ => None,
    }
}

/// The position of the key (or item) at `path` in `src`, if it can be found.
pub fn locate(src: &str, path: &[Seg]) -> Option<Pos> {
    let ev = events(src);
    let start = ev
        .iter()
        .position(|(e, _)| matches!(e, Event::MappingStart(..) | Event::SequenceStart(..)))?;
    find(&ev, start, path)
}

/// The first key that repeats inside one mapping: its name, the position of
/// the repeat, and the line of the first occurrence.
pub fn first_duplicate_key(src: &str) -> Option<(String, Pos, usize)> {
    let ev = events(src);
    let mut stack: Vec<Option<Vec<(String, usize)>>> = Vec::new();
    let mut expect_key: Vec<bool> = Vec::new();
    for (e, m) in &ev {
        let at_key = expect_key.last().copied().unwrap_or(false);
        match e {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if let Some(k) = expect_key.last_mut()
                    && stack.last().is_some_and(|s| s.is_some())
                {
                    *k = !*k;
                }
                let is_map = matches!(e, Event::MappingStart(..));
                stack.push(if is_map { Some(Vec::new()) } else { None });
                expect_key.push(is_map);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                expect_key.pop();
            }
            Event::Scalar(..) | Event::Alias(..) if !stack.is_empty() => {
                if let Some(Some(keys)) = stack.last_mut() {
                    if at_key && let Event::Scalar(s, ..) = e {
                        if let Some((_, line)) = keys.iter().find(|(k, _)| k == s) {
                            return Some((s.clone(), pos(m), *line));
                        }
                        keys.push((s.clone(), m.line()));
                    }
                    if let Some(k) = expect_key.last_mut() {
                        *k = !*k;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let src = "a: 1\nstages:\n  - id: x\n  - id: y\n    exit:\n      - expr: \"1 +\"\n";
        let p = locate(src, &parse_path("stages[1].exit[0].expr")).unwrap();
        assert_eq!(p, Pos { line: 6, col: 9 });
        let p = locate(src, &parse_path("stages[1].id")).unwrap();
        assert_eq!(p, Pos { line: 4, col: 5 });
        assert!(locate(src, &parse_path("stages[5]")).is_none());
    }

    #[test]
    fn finds_duplicate_keys() {
        let src = "a: 1\nb:\n  c: 1\n  d: [1, 2]\n  c: 2\n";
        let (k, p, first) = first_duplicate_key(src).unwrap();
        assert_eq!((k.as_str(), p.line, first), ("c", 5, 3));
        assert!(first_duplicate_key("a: {x: 1}\nb: {x: 2}\n").is_none());
    }
}

/// Why YAML text nests beyond bounds, and where: flow collections deeper
/// than [`MAX_FLOW_DEPTH`] ([`flow_too_deep`]), or block collections
/// indented past [`MAX_INDENT`] or compacted past [`MAX_FLOW_DEPTH`]
/// ([`block_too_deep`]). Both in one linear pass each, before any YAML
/// parser sees the text; deal files and pipeline.yaml ask this one place.
pub fn nesting_problem(src: &str) -> Option<(Pos, String, &'static str)> {
    if let Some(pos) = flow_too_deep(src) {
        return Some((
            pos,
            format!("flow collections ([…], {{…}}) nest deeper than {MAX_FLOW_DEPTH} levels"),
            "write the values as block lists and mappings, or nest less",
        ));
    }
    block_too_deep(src).map(|pos| {
        (
            pos,
            format!(
                "block collections nest deeper than {MAX_FLOW_DEPTH} levels (or indent past column {MAX_INDENT})"
            ),
            "nest less: a few levels are all a deal or pipeline.yaml needs",
        )
    })
}

/// How deep YAML flow collections (`[…]`, `{…}`) may nest.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The widest indentation a block line may have, in columns: 64 levels of
/// four spaces, twice over. Block nesting needs a column per level, so this
/// bounds how deep block collections nest.
pub const MAX_INDENT: usize = 512;

/// The position of the first line in `src` whose block nesting is beyond
/// bounds: indentation wider than [`MAX_INDENT`] columns, or more than
/// [`MAX_FLOW_DEPTH`] compact `- ` / `? ` indicators in a row (`- - - x`
/// nests a level per dash without indenting). One linear pass before any
/// YAML parser sees the text: a 40 KB file of `- - - …` overflowed the
/// parsers' stacks.
pub fn block_too_deep(src: &str) -> Option<Pos> {
    for (i, line) in src.split('\n').enumerate() {
        let b = line.as_bytes();
        let indent = b.iter().take_while(|&&c| c == b' ').count();
        if indent > MAX_INDENT {
            return Some(Pos {
                line: i + 1,
                col: MAX_INDENT + 1,
            });
        }
        let (mut j, mut n) = (indent, 0usize);
        while j < b.len() && (b[j] == b'-' || b[j] == b'?') {
            match b.get(j + 1) {
                Some(b' ') | Some(b'\t') | None => {}
                _ => break,
            }
            n += 1;
            if n > MAX_FLOW_DEPTH {
                return Some(Pos {
                    line: i + 1,
                    col: j + 1,
                });
            }
            j += 1;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
        }
    }
    None
}

/// The position (1-based line and column) where flow collections in `src` first nest deeper than
/// [`MAX_FLOW_DEPTH`], found in one linear pass before any YAML parser sees
/// the text: libyaml takes quadratic time on deep flow nesting, and
/// yaml-rust2 recurses. Brackets inside quoted scalars, comments and plain
/// words (`a[1]`) do not count.
pub fn flow_too_deep(src: &str) -> Option<Pos> {
    let b = src.as_bytes();
    let (mut i, mut line, mut depth) = (0, 1usize, 0usize);
    let mut line_start = 0;
    // Whether a flow collection or a quoted scalar could start here.
    let mut value_start = true;
    let mut after_space = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                value_start = true;
                after_space = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                after_space = true;
                i += 1;
                continue;
            }
            b'#' if after_space => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' if value_start => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    if c == b'"' && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if c == b'\'' && b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                value_start = false;
            }
            b'[' | b'{' if value_start || depth > 0 => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    let col = src[line_start..i].chars().count() + 1;
                    return Some(Pos { line, col });
                }
                value_start = true;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                value_start = false;
            }
            b',' if depth > 0 => value_start = true,
            b':' | b'-' | b'?' => {
                let next = b.get(i + 1).copied().unwrap_or(b' ');
                value_start = next.is_ascii_whitespace() || (depth > 0 && c == b':');
            }
            _ => value_start = false,
        }
        after_space = false;
        i += 1;
    }
    None
}

#[cfg(test)]
mod flow_tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_found_in_linear_time() {
        let deep = format!("title: x\ntags: {}\n", "[".repeat(100_000));
        assert_eq!(flow_too_deep(&deep), Some(Pos { line: 2, col: 71 }));
        let compact = format!("k:\n{}x\n", "- ".repeat(20_000));
        assert_eq!(block_too_deep(&compact), Some(Pos { line: 2, col: 129 }));
        let wide = format!("k:\n{}x: 1\n", " ".repeat(600));
        assert_eq!(block_too_deep(&wide).map(|p| p.line), Some(2));
        assert_eq!(block_too_deep("a:\n  - - b\n  - c: [1]\n---\n- x\n"), None);
        let deep = format!("a:\n  b: {}\n", "{a: ".repeat(100_000));
        assert_eq!(flow_too_deep(&deep).map(|p| p.line), Some(2));
        let deep = format!("- {}\n", "- [".repeat(100));
        assert_eq!(flow_too_deep(&deep).map(|p| p.line), Some(1));
    }

    #[test]
    fn ordinary_yaml_passes() {
        for ok in [
            "tags: [k8s, \"eu-only\", 'priority']\ncontact: {name: Jane, email: j@x}\n",
            &format!("title: \"{}\"\n", "[".repeat(200)),
            &format!("title: a{}\n", "[".repeat(200)),
            &format!("# {}\nx: 1\n", "[".repeat(200)),
            &format!("x: |\n  text{}\n", "{".repeat(200)),
            &format!("x: {}{}\n", "[".repeat(64), "]".repeat(64)),
        ] {
            assert_eq!(flow_too_deep(ok), None, "{ok}");
        }
    }
}
