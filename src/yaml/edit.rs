//! Lossless edits of a deal file: only the lines meant to change change.
//!
//! Comments, key order, quoting, blank lines and the body stay byte for byte.
//! An edit is a list of [`Op`]s on dotted key paths (`stages.discovery`,
//! `objections.0.resolved`). Each one finds the lines of its key by
//! indentation and rewrites, inserts or removes only those lines.
//!
//! After every edit the file is parsed again and its front-matter compared
//! with the intended result (the old front-matter with the ops applied), so
//! no edit can silently change another field: a mis-indented insertion, a
//! value that parses to something else, a key written twice. [`apply`]
//! refuses such an edit instead, and nothing is written.
//!
//! Why not the `yaml-edit` crate: its 0.2/0.3 releases insert new nested
//! mappings at column 0 instead of under their parent, and deal's edits are
//! few and narrow (set a scalar a few levels deep, remove a block), so a
//! line editor with a parse-and-compare check is smaller and safer.

use serde_yaml::{Mapping, Value};

use crate::yaml::frontmatter;
use crate::yaml::mapping::{lookup, parse_mapping};

/// Why an edit was refused. Nothing is written when this happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, EditError> {
    Err(EditError(m.into()))
}

/// One change to the front-matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Sets the key at the path to a value, given as YAML text (a scalar,
    /// already quoted where needed; empty for null). Missing parents are
    /// created as block mappings.
    Set(Vec<String>, String),
    /// Removes the key at the path, with its whole block. Absent: no-op.
    Remove(Vec<String>),
}

impl Op {
    pub fn set(path: &str, yaml: impl Into<String>) -> Op {
        Op::Set(split_path(path), yaml.into())
    }
    pub fn remove(path: &str) -> Op {
        Op::Remove(split_path(path))
    }
}

/// `a.b.0.c` → `["a", "b", "0", "c"]`.
pub fn split_path(p: &str) -> Vec<String> {
    p.split('.').map(str::to_string).collect()
}

/// The parsed front-matter of a deal's text.
pub fn mapping_of(text: &str) -> Result<Mapping, EditError> {
    let s = frontmatter::split(text).map_err(|e| EditError(e.describe().0))?;
    parse_mapping(&text[s.yaml.clone()], s.yaml_line).map_err(|p| EditError(p.message))
}

/// Applies `ops` in order, then re-parses the result and checks that it is
/// exactly the old front-matter with the ops applied.
pub fn apply(text: &str, ops: &[Op]) -> Result<String, EditError> {
    let before = mapping_of(text)?;
    let mut want = Value::Mapping(before);
    let mut out = text.to_string();
    for op in ops {
        out = apply_one(&out, op)?;
        expect(&mut want, op)?;
    }
    let after = Value::Mapping(mapping_of(&out).map_err(|e| {
        EditError(format!(
            "the edit would break the front-matter ({e}); nothing was written"
        ))
    })?);
    if after != want {
        return err(
            "the edit would change other front-matter fields (a layout the editor cannot follow?); nothing was written",
        );
    }
    Ok(out)
}

/// [`apply`] for a plain YAML file (`pipeline.yaml`), with the same
/// guarantees: only the lines meant to change change, checked by re-parsing.
pub fn apply_yaml(text: &str, ops: &[Op]) -> Result<String, EditError> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let missing_nl = !text.is_empty() && !text.ends_with('\n');
    let doc = format!("---{nl}{text}{}---{nl}", if missing_nl { nl } else { "" });
    let out = apply(&doc, ops)?;
    let inner = &out[3 + nl.len()..out.len() - 3 - nl.len()];
    Ok(if missing_nl {
        inner.strip_suffix(nl).unwrap_or(inner).to_string()
    } else {
        inner.to_string()
    })
}

/// The intended front-matter: `op` applied to the parsed values.
fn expect(want: &mut Value, op: &Op) -> Result<(), EditError> {
    match op {
        Op::Set(path, yaml) => {
            let v = if yaml.is_empty() {
                Value::Null
            } else {
                serde_yaml::from_str(yaml)
                    .map_err(|e| EditError(format!("`{yaml}` is not a valid YAML value: {e}")))?
            };
            let (last, parents) = path.split_last().ok_or(EditError("empty key".into()))?;
            // A new container takes the shape its next segment asks for.
            let fresh = |next: &str| {
                if next == APPEND {
                    Value::Sequence(Vec::new())
                } else {
                    Value::Mapping(Mapping::new())
                }
            };
            let mut cur = want;
            for (k, seg) in parents.iter().enumerate() {
                if cur.is_null() {
                    *cur = fresh(seg);
                }
                let next = path[k + 1].as_str();
                cur = match cur {
                    Value::Sequence(s) => {
                        let i = if seg == APPEND {
                            s.push(fresh(next));
                            s.len() - 1
                        } else {
                            index(seg, s.len())?
                        };
                        &mut s[i]
                    }
                    Value::Mapping(m) => m.entry(Value::String(seg.clone())).or_insert(fresh(next)),
                    _ => {
                        return err(format!("`{seg}` sits under a value that is not a mapping"));
                    }
                };
            }
            if cur.is_null() {
                *cur = fresh(last);
            }
            match cur {
                Value::Mapping(m) if last != APPEND => {
                    m.insert(Value::String(last.clone()), v);
                }
                Value::Sequence(s) if last == APPEND => s.push(v),
                Value::Sequence(s) => {
                    let i = index(last, s.len())?;
                    s[i] = v;
                }
                _ => return err(format!("`{last}` sits under a value that is not a list")),
            }
            Ok(())
        }
        Op::Remove(path) => {
            remove_value(want, path, true);
            Ok(())
        }
    }
}

/// Removes `path`; an emptied nested mapping becomes null, as its text does.
fn remove_value(cur: &mut Value, path: &[String], top: bool) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let child = match cur {
        Value::Mapping(m) if rest.is_empty() => {
            m.remove(first.as_str());
            None
        }
        Value::Mapping(m) => m.get_mut(first.as_str()),
        Value::Sequence(s) if rest.is_empty() => {
            if let Ok(i) = index(first, s.len()) {
                s.remove(i);
            }
            None
        }
        Value::Sequence(s) => index(first, s.len()).ok().and_then(|i| s.get_mut(i)),
        _ => None,
    };
    if let Some(c) = child {
        remove_value(c, rest, false);
    }
    // An emptied block collection leaves its key with nothing under it: null.
    let emptied = match cur {
        Value::Mapping(m) => m.is_empty(),
        Value::Sequence(s) => s.is_empty(),
        _ => false,
    };
    if !top && emptied {
        *cur = Value::Null;
    }
}

fn not_index(seg: &str) -> EditError {
    EditError(format!(
        "`{seg}` is not a list index; list items are numbered from 0, `-1` is the last, `+` adds one"
    ))
}

/// The path segment that appends a new item to a list: `objections.+.objection`.
pub const APPEND: &str = "+";

/// Item `seg` of a list of `n`: `0`, `1`, … from the start, `-1` the last.
fn index(seg: &str, n: usize) -> Result<usize, EditError> {
    if let Some(back) = seg.strip_prefix('-') {
        let b: usize = back.parse().map_err(|_| not_index(seg))?;
        return match n.checked_sub(b) {
            Some(i) if b > 0 => Ok(i),
            _ => Err(EditError(format!(
                "there is no item {seg} (the list has {n})"
            ))),
        };
    }
    let i: usize = seg.parse().map_err(|_| not_index(seg))?;
    if i < n { Ok(i) } else { Err(no_item(i, n)) }
}

/// Whether a path segment names a list item (an index or `+`).
fn is_item(seg: &str) -> bool {
    seg == APPEND || seg.trim_start_matches('-').parse::<usize>().is_ok()
}

fn no_item(i: usize, n: usize) -> EditError {
    EditError(format!("there is no item {i} (the list has {n})"))
}

/// A run of lines whose keys start at column `col`. For a list item,
/// `dash_first` says that its first line starts with the item's `- `.
#[derive(Debug, Clone, Copy)]
struct Region {
    start: usize,
    end: usize,
    col: usize,
    dash_first: bool,
}

/// A key found in a region.
#[derive(Debug, Clone, Copy)]
struct Found {
    /// Start of the key's line.
    line: usize,
    /// Just after the colon.
    colon: usize,
    /// End of the line's content (before the line ending).
    eol: usize,
    /// Start of the next line.
    next: usize,
    /// End of the key's block: its line and every deeper line after it.
    end: usize,
    col: usize,
}

/// What a block key holds, judged by its first content line.
enum Child {
    Map(Region),
    Seq {
        col: usize,
        start: usize,
        end: usize,
    },
}

fn lines_from(text: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = start;
    text[start..end].split_inclusive('\n').map(move |l| {
        let at = pos;
        pos += l.len();
        (at, l)
    })
}

fn bare(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The text of `line` from column `col`, when a key can start there.
fn key_at(line: &str, col: usize, dash_first: bool) -> Option<&str> {
    let prefix = line.get(..col)?;
    let rest = &line[col..];
    if rest.starts_with([' ', '\t']) || rest.is_empty() {
        return None;
    }
    let spaces = prefix.bytes().all(|b| b == b' ');
    let dashed = dash_first
        && prefix
            .trim_start_matches(' ')
            .strip_prefix('-')
            .is_some_and(|r| r.bytes().all(|b| b == b' '));
    (spaces || dashed).then_some(rest)
}

/// Splits a value's text at a trailing comment: `(value, comment)` where the
/// comment keeps the whitespace before its `#`. Quotes are respected.
fn split_comment(s: &str) -> (&str, &str) {
    let b = s.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == b'"' || c == b'\'') && (i == 0 || b[i - 1] == b' ') => quote = Some(c),
            None if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') => {
                let v = s[..i].trim_end();
                return (v, &s[v.len()..]);
            }
            None => {}
        }
        i += 1;
    }
    (s, "")
}

/// The end of the block that starts after a key at column `col` whose line
/// ends at `from`: every following line that is deeper, or a `- ` item at
/// the same column; blank lines only where more of the block follows.
fn block_end(text: &str, from: usize, limit: usize, col: usize) -> usize {
    let mut end = from;
    for (at, line) in lines_from(text, from, limit) {
        let b = bare(line);
        let t = b.trim_start_matches(' ');
        if t.is_empty() {
            continue;
        }
        let ind = b.len() - t.len();
        if ind > col || (ind == col && (t == "-" || t.starts_with("- "))) {
            end = at + line.len();
        } else {
            break;
        }
    }
    end
}

fn find_key(text: &str, r: Region, key: &str) -> Option<Found> {
    let mut first = true;
    for (at, line) in lines_from(text, r.start, r.end) {
        let b = bare(line);
        let dash = first && r.dash_first;
        first = false;
        let Some(rest) = key_at(b, r.col, dash) else {
            continue;
        };
        let Some(after) = rest.strip_prefix(key).and_then(|x| x.strip_prefix(':')) else {
            continue;
        };
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            continue;
        }
        let next = at + line.len();
        return Some(Found {
            line: at,
            colon: at + b.len() - after.len(),
            eol: at + b.len(),
            next,
            end: block_end(text, next, r.end, r.col),
            col: r.col,
        });
    }
    None
}

fn child(text: &str, f: &Found) -> Option<Child> {
    for (_, line) in lines_from(text, f.next, f.end) {
        let b = bare(line);
        let t = b.trim_start_matches(' ');
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let col = indent(b);
        return Some(if t == "-" || t.starts_with("- ") {
            Child::Seq {
                col,
                start: f.next,
                end: f.end,
            }
        } else {
            Child::Map(Region {
                start: f.next,
                end: f.end,
                col,
                dash_first: false,
            })
        });
    }
    None
}

/// The region of item `i` of a block list whose dashes sit at `col`.
/// Where each item of a block list whose dashes sit at `col` starts, with its first line.
fn item_starts(text: &str, col: usize, start: usize, end: usize) -> Vec<(usize, &str)> {
    let mut starts = Vec::new();
    for (at, line) in lines_from(text, start, end) {
        let b = bare(line);
        let t = b.trim_start_matches(' ');
        if indent(b) == col && (t == "-" || t.starts_with("- ")) {
            starts.push((at, b));
        }
    }
    starts
}

/// Appends an item to a block list: block lines (`- objection: X`), or a
/// flow item when the last item is one (`- { objection: X }`).
fn append_item(
    out: &mut String,
    starts: &[(usize, String)],
    col: usize,
    end: usize,
    rest: &[String],
    value: &str,
    nl: &str,
) -> Result<(), EditError> {
    let last_flow = starts
        .last()
        .is_some_and(|(_, b)| b[col + 1..].trim_start().starts_with('{'));
    let lines = if last_flow || rest.is_empty() {
        format!("{}- {}{nl}", " ".repeat(col), flow_value(rest, value)?)
    } else {
        let mut path = vec![APPEND.to_string()];
        path.extend(rest.iter().cloned());
        new_lines(&path, value, col, nl)?
    };
    let mut at = end;
    if at > 0 && !out[..at].ends_with('\n') {
        out.insert_str(at, nl);
        at += nl.len();
    }
    out.insert_str(at, &lines);
    Ok(())
}

fn item(text: &str, col: usize, start: usize, end: usize, i: usize) -> Result<Region, EditError> {
    let starts = item_starts(text, col, start, end);
    let n = starts.len();
    let Some(&(at, b)) = starts.get(i) else {
        return Err(no_item(i, n));
    };
    let stop = starts.get(i + 1).map(|s| s.0).unwrap_or(end);
    let after_dash = &b[col + 1..];
    let content = after_dash.trim_start_matches(' ');
    if content.is_empty() || content.starts_with('#') {
        // `-` alone: the item's keys start on the next line.
        let next = at + b.len() + 1;
        let col = lines_from(text, next.min(stop), stop)
            .map(|(_, l)| bare(l))
            .find(|l| !l.trim().is_empty())
            .map(indent)
            .unwrap_or(col + 2);
        return Ok(Region {
            start: next.min(stop),
            end: stop,
            col,
            dash_first: false,
        });
    }
    Ok(Region {
        start: at,
        end: stop,
        col: col + 1 + (after_dash.len() - content.len()),
        dash_first: true,
    })
}

fn eol_of(text: &str) -> &'static str {
    match frontmatter::split(text) {
        Ok(s) if s.crlf => "\r\n",
        _ => "\n",
    }
}

fn apply_one(text: &str, op: &Op) -> Result<String, EditError> {
    let split = frontmatter::split(text).map_err(|e| EditError(e.describe().0))?;
    let nl = if split.crlf { "\r\n" } else { "\n" };
    let top = Region {
        start: split.yaml.start,
        end: split.yaml.end,
        col: 0,
        dash_first: false,
    };
    let mut out = text.to_string();
    match op {
        Op::Set(path, v) => set_in(&mut out, top, path, v, nl)?,
        Op::Remove(path) => remove_in(&mut out, top, path)?,
    }
    Ok(out)
}

/// Lines that create `path` with `value`, starting at column `col`, in
/// block style: a key per line, `- ` for a new list item (`+`).
fn new_lines(path: &[String], value: &str, col: usize, nl: &str) -> Result<String, EditError> {
    let Some((k, rest)) = path.split_first() else {
        return Ok(String::new());
    };
    let pad = " ".repeat(col);
    if k == APPEND {
        if rest.is_empty() {
            return Ok(format!("{pad}- {}{nl}", or_null(value)));
        }
        // The item's keys sit two columns in; its first line carries the dash.
        let inner = new_lines(rest, value, col + 2, nl)?;
        return Ok(format!("{pad}- {}", &inner[col + 2..]));
    }
    if is_item(k) {
        return err(format!(
            "there is no list here to take item `{k}`; add an item with `+`"
        ));
    }
    let mut s = format!("{pad}{k}:");
    if rest.is_empty() {
        if !value.is_empty() {
            s.push(' ');
            s.push_str(value);
        }
        s.push_str(nl);
    } else {
        s.push_str(nl);
        s.push_str(&new_lines(rest, value, col + 2, nl)?);
    }
    Ok(s)
}

fn or_null(value: &str) -> &str {
    if value.is_empty() { "null" } else { value }
}

/// Whether a value's text means "nothing here yet": empty, null, `{}` or `[]`.
fn is_empty_value(v: &str) -> bool {
    let squeezed: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(
        squeezed.as_str(),
        "" | "~" | "null" | "Null" | "NULL" | "{}" | "[]"
    )
}

fn set_in(
    out: &mut String,
    r: Region,
    path: &[String],
    value: &str,
    nl: &str,
) -> Result<(), EditError> {
    let key = &path[0];
    let Some(f) = find_key(out, r, key) else {
        let lines = new_lines(path, value, r.col, nl)?;
        // A region that ends without a line ending can only be the last
        // line of an item or block: give it one first.
        let mut at = r.end;
        if at > 0 && !out[..at].ends_with('\n') {
            out.insert_str(at, nl);
            at += nl.len();
        }
        out.insert_str(at, &lines);
        return Ok(());
    };
    let after = out[f.colon..f.eol].to_string();
    let (val, comment) = split_comment(&after);
    let val = val.trim();
    if path.len() == 1 {
        // Replace the value: the rest of the line, and the block under it.
        let content_end = if f.end > f.next {
            f.end - if out[..f.end].ends_with("\r\n") { 2 } else { 1 }
        } else {
            f.eol
        };
        let new = if value.is_empty() {
            comment.to_string()
        } else {
            format!(" {value}{comment}")
        };
        out.replace_range(f.colon..content_end, &new);
        return Ok(());
    }
    if is_empty_value(val) {
        match child(out, &f) {
            Some(Child::Map(cr)) => return set_in(out, cr, &path[1..], value, nl),
            Some(Child::Seq { col, start, end }) => {
                let seg = &path[1];
                if !is_item(seg) {
                    return err(format!(
                        "`{key}` is a list; name an item by number: `{key}.0.{seg}` (or `+` for a new one)"
                    ));
                }
                let starts: Vec<(usize, String)> = item_starts(out, col, start, end)
                    .into_iter()
                    .map(|(at, b)| (at, b.to_string()))
                    .collect();
                if seg == APPEND {
                    return append_item(out, &starts, col, end, &path[2..], value, nl);
                }
                let i = index(seg, starts.len())?;
                let ir = item(out, col, start, end, i)?;
                let content = ir.start + ir.col;
                if ir.dash_first && out[content..].starts_with(['{', '[']) {
                    // `- { objection: Price, resolved: false }`
                    if path.len() == 2 {
                        return err(format!(
                            "`{key}.{seg}` is a list item; set its fields, e.g. `{key}.{seg}.resolved`"
                        ));
                    }
                    return flow_set(out, content, &path[2..], value);
                }
                if path.len() == 2 {
                    return err(format!(
                        "`{key}.{seg}` is a list item; set its fields, e.g. `{key}.{seg}.resolved`"
                    ));
                }
                return set_in(out, ir, &path[2..], value, nl);
            }
            None => {
                // `key:` with nothing under it, or `key: {}` / `key: ~`.
                out.replace_range(f.colon..f.eol, comment);
                let next = f.next - (f.eol - f.colon - comment.len());
                let lines = new_lines(&path[1..], value, f.col + 2, nl)?;
                out.insert_str(next, &lines);
                return Ok(());
            }
        }
    }
    if val.starts_with('{') || val.starts_with('[') {
        // A flow collection (`{ action: Call, due: 2026-12-01 }`): edit
        // inside it, leaving every other entry's text as it is.
        let open = f.colon + (after.len() - after.trim_start().len());
        return flow_set(out, open, &path[1..], value);
    }
    err(format!(
        "`{key}` holds a single value (`{val}`), not a mapping with `{}`",
        path[1]
    ))
}

// Flow collections (`{ action: Call, due: 2026-12-01 }`, `[a, b]`) are
// edited in place: the edited entry's value is replaced, a new entry goes
// in before the closing bracket, and every other entry keeps its text.

/// One entry of a flow collection: the key's span (mappings only) and the
/// value's span, empty where there is no value.
#[derive(Debug, Clone, Copy)]
struct FlowEntry {
    key: Option<(usize, usize)>,
    value: (usize, usize),
}

#[derive(Debug)]
struct Flow {
    is_map: bool,
    open: usize,
    entries: Vec<FlowEntry>,
}

/// Flow nesting deeper than this is refused rather than recursed into.
const MAX_FLOW_DEPTH: usize = 64;

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Skips whitespace, line breaks and comments.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    loop {
        while i < s.len() && is_space(s[i]) {
            i += 1;
        }
        if i < s.len() && s[i] == b'#' && i > 0 && is_space(s[i - 1]) {
            while i < s.len() && s[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        return i;
    }
}

/// The end of the node that starts at `i`: a nested collection, a quoted
/// scalar, or a plain scalar (trailing spaces not included).
fn node_end(s: &[u8], i: usize, depth: usize) -> Result<usize, EditError> {
    match s.get(i) {
        Some(b'{' | b'[') => {
            let f = parse_flow(s, i, depth + 1)?;
            Ok(f.close + 1)
        }
        Some(b'"') => {
            let mut j = i + 1;
            while j < s.len() {
                match s[j] {
                    b'\\' => j += 2,
                    b'"' => return Ok(j + 1),
                    _ => j += 1,
                }
            }
            err("a double-quoted value is not closed")
        }
        Some(b'\'') => {
            let mut j = i + 1;
            while j < s.len() {
                if s[j] == b'\'' {
                    if s.get(j + 1) == Some(&b'\'') {
                        j += 2;
                        continue;
                    }
                    return Ok(j + 1);
                }
                j += 1;
            }
            err("a single-quoted value is not closed")
        }
        _ => {
            let (mut j, mut last) = (i, i);
            while j < s.len() {
                let c = s[j];
                if matches!(c, b',' | b'[' | b']' | b'{' | b'}')
                    || (c == b':'
                        && s.get(j + 1)
                            .is_none_or(|&n| is_space(n) || b",[]{}".contains(&n)))
                    || (c == b'#' && j > i && is_space(s[j - 1]))
                {
                    break;
                }
                if !is_space(c) {
                    last = j + 1;
                }
                j += 1;
            }
            Ok(last)
        }
    }
}

/// Parses the flow collection whose opening bracket is at `open`.
fn parse_flow(s: &[u8], open: usize, depth: usize) -> Result<FlowParsed, EditError> {
    if depth > MAX_FLOW_DEPTH {
        return err(format!(
            "flow collections nested deeper than {MAX_FLOW_DEPTH}; edit the file by hand"
        ));
    }
    let is_map = s[open] == b'{';
    let close_ch = if is_map { b'}' } else { b']' };
    let mut entries = Vec::new();
    let mut i = skip_ws(s, open + 1);
    loop {
        match s.get(i) {
            None => return err("a flow collection (`{…}` or `[…]`) is not closed"),
            Some(&c) if c == close_ch => {
                return Ok(FlowParsed {
                    flow: Flow {
                        is_map,
                        open,
                        entries,
                    },
                    close: i,
                });
            }
            _ => {}
        }
        let a = i;
        let b = node_end(s, a, depth)?;
        let mut j = skip_ws(s, b);
        let entry = if s.get(j) == Some(&b':') {
            if !is_map {
                return err("a `key: value` pair inside a flow list; edit it by hand");
            }
            let v = skip_ws(s, j + 1);
            if matches!(s.get(v), Some(b',' | b'}')) {
                // `a: ,`: no value; its span is the blanks after the colon.
                let blanks = s[j + 1..]
                    .iter()
                    .take_while(|c| matches!(c, b' ' | b'\t'))
                    .count();
                let e = FlowEntry {
                    key: Some((a, b)),
                    value: (j + 1, j + 1 + blanks),
                };
                j = v;
                e
            } else {
                let ve = node_end(s, v, depth)?;
                j = skip_ws(s, ve);
                FlowEntry {
                    key: Some((a, b)),
                    value: (v, ve),
                }
            }
        } else if is_map {
            FlowEntry {
                key: Some((a, b)),
                value: (b, b),
            }
        } else {
            FlowEntry {
                key: None,
                value: (a, b),
            }
        };
        entries.push(entry);
        match s.get(j) {
            Some(b',') => i = skip_ws(s, j + 1),
            Some(&c) if c == close_ch => i = j,
            _ => return err("unexpected text in a flow collection; edit it by hand"),
        }
    }
}

/// A parsed flow collection and the offset of its closing bracket.
struct FlowParsed {
    flow: Flow,
    close: usize,
}

/// A key's text without its quotes.
fn unquote(k: &str) -> String {
    if k.starts_with('"') {
        serde_json::from_str(k).unwrap_or_else(|_| k.to_string())
    } else if let Some(inner) = k.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        k.to_string()
    }
}

/// `path` set to `value`, written as a flow value: `v`, `{ k: v }`, `[v]`.
fn flow_value(path: &[String], value: &str) -> Result<String, EditError> {
    let Some((k, rest)) = path.split_first() else {
        return Ok(or_null(value).to_string());
    };
    if k == APPEND {
        return Ok(format!("[{}]", flow_value(rest, value)?));
    }
    if is_item(k) {
        return err(format!(
            "there is no list here to take item `{k}`; add an item with `+`"
        ));
    }
    Ok(format!("{{ {k}: {} }}", flow_value(rest, value)?))
}

/// Sets `path` inside the flow collection that opens at `open`.
fn flow_set(out: &mut String, open: usize, path: &[String], value: &str) -> Result<(), EditError> {
    let f = parse_flow(out.as_bytes(), open, 0)?.flow;
    let Some((seg, rest)) = path.split_first() else {
        return err("a flow collection cannot be replaced by a single value here");
    };
    let target = if f.is_map {
        if is_item(seg) {
            return err(format!(
                "`{seg}` is not a key: this is a mapping, not a list"
            ));
        }
        f.entries
            .iter()
            .find(|e| e.key.is_some_and(|(a, b)| unquote(&out[a..b]) == *seg))
            .copied()
    } else if seg == APPEND {
        None
    } else {
        Some(f.entries[index(seg, f.entries.len())?])
    };
    let Some(e) = target else {
        // A new entry, before the closing bracket.
        let text = if f.is_map {
            format!("{seg}: {}", flow_value(rest, value)?)
        } else {
            flow_value(rest, value)?
        };
        match f.entries.last() {
            Some(last) => out.insert_str(last.value.1, &format!(", {text}")),
            None => out.insert_str(f.open + 1, &text),
        }
        return Ok(());
    };
    let (va, vb) = e.value;
    let has_colon = e.key.is_none_or(|(_, kb)| va > kb);
    let current = &out[va..vb];
    if !rest.is_empty() && current.starts_with(['{', '[']) {
        return flow_set(out, va, rest, value);
    }
    if !rest.is_empty() && !is_empty_value(current) {
        return err(format!(
            "`{seg}` holds a single value (`{current}`), not a mapping with `{}`",
            rest[0]
        ));
    }
    let new = flow_value(rest, value)?;
    if !has_colon {
        out.insert_str(vb, &format!(": {new}"));
    } else if current.trim().is_empty() {
        out.replace_range(va..vb, &format!(" {new}"));
    } else {
        out.replace_range(va..vb, &new);
    }
    Ok(())
}

/// Removes `path` inside the flow collection that opens at `open`, with
/// the comma that joined its entry; `true` when the collection is left
/// empty. An absent key or item is no change.
fn flow_remove(out: &mut String, open: usize, path: &[String]) -> Result<bool, EditError> {
    let f = parse_flow(out.as_bytes(), open, 0)?.flow;
    let Some((seg, rest)) = path.split_first() else {
        return Ok(false);
    };
    let at = if f.is_map {
        f.entries
            .iter()
            .position(|e| e.key.is_some_and(|(a, b)| unquote(&out[a..b]) == *seg))
    } else if seg == APPEND {
        return err(format!("`{seg}` names no item to remove"));
    } else {
        index(seg, f.entries.len()).ok()
    };
    let Some(i) = at else {
        return Ok(false);
    };
    let e = f.entries[i];
    if !rest.is_empty() {
        let (va, _) = e.value;
        if out[va..].starts_with(['{', '[']) && flow_remove(out, va, rest)? {
            let close = parse_flow(out.as_bytes(), va, 0)?.close;
            // The emptied collection's key stays with a null value.
            out.replace_range(va..=close, "");
        }
        return Ok(false);
    }
    let start = |x: &FlowEntry| x.key.map_or(x.value.0, |k| k.0);
    if f.entries.len() == 1 {
        return Ok(true);
    }
    match f.entries.get(i + 1) {
        // `a: 1, b: 2` without `a`: up to the next entry's start.
        Some(next) => out.replace_range(start(&e)..start(next), ""),
        // The last entry: from the previous one's end.
        None => out.replace_range(f.entries[i - 1].value.1..e.value.1, ""),
    }
    Ok(false)
}

fn remove_in(out: &mut String, r: Region, path: &[String]) -> Result<(), EditError> {
    let key = &path[0];
    let Some(f) = find_key(out, r, key) else {
        return Ok(());
    };
    if path.len() == 1 {
        if r.dash_first && f.line == r.start {
            return err(format!(
                "`{key}` opens a list item; remove the item by hand"
            ));
        }
        out.replace_range(f.line..f.end.max(f.next), "");
        return Ok(());
    }
    let after = out[f.colon..f.eol].to_string();
    let (val, _) = split_comment(&after);
    if !is_empty_value(val.trim()) {
        if val.trim().starts_with(['{', '[']) {
            // A flow collection: remove the entry inside it, in place.
            let open = f.colon + (after.len() - after.trim_start().len());
            if flow_remove(out, open, &path[1..])? {
                // Its last entry went: the key is left with nothing (null),
                // as a block emptied so is.
                let close = parse_flow(out.as_bytes(), open, 0)?.close;
                out.replace_range(open - 1..=close, "");
            }
        }
        return Ok(()); // a scalar: nothing under it to remove
    }
    match child(out, &f) {
        Some(Child::Map(cr)) => remove_in(out, cr, &path[1..]),
        Some(Child::Seq { col, start, end }) => {
            let starts: Vec<usize> = item_starts(out, col, start, end)
                .iter()
                .map(|s| s.0)
                .collect();
            if path[1] == APPEND {
                return err(format!("`{key}.+` names no item to remove"));
            }
            // An item that is not there is absent: nothing to remove.
            let Ok(i) = index(&path[1], starts.len()) else {
                return Ok(());
            };
            if path.len() > 2 {
                let ir = item(out, col, start, end, i)?;
                return remove_in(out, ir, &path[2..]);
            }
            // The whole item: its lines, up to the next item or the list's end.
            let stop = starts.get(i + 1).copied().unwrap_or(end);
            out.replace_range(starts[i]..stop, "");
            Ok(())
        }
        None => Ok(()),
    }
}

/// Appends `section` (Markdown, `\n` line ends) to the body, after one blank line.
pub fn append_body(text: &str, section: &str) -> String {
    let nl = eol_of(text);
    let mut out = text.to_string();
    if !out.ends_with('\n') {
        out.push_str(nl);
    }
    if !out.ends_with(&format!("{nl}{nl}")) && !out.ends_with(&format!("---{nl}")) {
        out.push_str(nl);
    }
    for line in section.trim_end_matches('\n').split('\n') {
        out.push_str(line);
        out.push_str(nl);
    }
    out
}

/// Adds front-matter keys that are missing, with `null` values, as new lines
/// (or new entries of a flow mapping) only. Keys under a scalar are skipped
/// (`deal check` reports it). Returns the new text and the keys added.
pub fn add_missing_keys(text: &str, keys: &[&str]) -> Result<(String, Vec<String>), EditError> {
    let before = mapping_of(text)?;
    let mut out = text.to_string();
    let mut added = Vec::new();
    for k in keys {
        if lookup(&before, k).is_some() {
            continue;
        }
        if let Ok(t) = apply(&out, &[Op::set(k, "")]) {
            out = t;
            added.push(k.to_string());
        }
    }
    Ok((out, added))
}

/// Sets a top-level key to a scalar (YAML text), keeping a trailing comment.
pub fn set_top_scalar(text: &str, key: &str, value: &str) -> Result<String, EditError> {
    apply(text, &[Op::Set(vec![key.to_string()], value.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_flow_entries_in_place() {
        let text = "---\ntitle: A\ncontact: { name: Jane, email: j@x.example, phone: \"+1 555\" }   # kept\ntags: [a, b, c]\nsolo: { only: 1 }\n---\n";
        let out = apply(
            text,
            &[
                Op::remove("contact.email"),
                Op::remove("contact.phone"),
                Op::remove("tags.0"),
                Op::remove("tags.-1"),
                Op::remove("solo.only"),
                Op::remove("contact.nothing"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\ncontact: { name: Jane }   # kept\ntags: [b]\nsolo:\n---\n"
        );
    }

    #[test]
    fn removes_block_list_items_by_number_and_from_the_end() {
        let text = "---\ntitle: A\nobjections:\n  - objection: Price\n    resolved: false\n  # the hard one\n  - objection: Timing\n    resolved: true\ntags:\n  - a\n  - b\n---\nbody\n";
        let out = apply(text, &[Op::remove("objections.0"), Op::remove("tags.-1")]).unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nobjections:\n  - objection: Timing\n    resolved: true\ntags:\n  - a\n---\nbody\n"
        );
        let out = apply(&out, &[Op::remove("tags.0"), Op::remove("objections.5")]).unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nobjections:\n  - objection: Timing\n    resolved: true\ntags:\n---\nbody\n"
        );
    }

    #[test]
    fn adds_blocks_and_sub_keys_as_new_lines_only() {
        let t = "---\ntitle: A # the title\nproblem:\n    confirmed_by: 'Jane'   # quoted\n\nowner: bob\n---\nbody\n";
        let (out, added) = add_missing_keys(
            t,
            &[
                "problem.confirmed_by",
                "problem.confirmed_on",
                "delivery_owner",
            ],
        )
        .unwrap();
        assert_eq!(added, ["problem.confirmed_on", "delivery_owner"]);
        assert_eq!(
            out,
            "---\ntitle: A # the title\nproblem:\n    confirmed_by: 'Jane'   # quoted\n    confirmed_on:\n\nowner: bob\ndelivery_owner:\n---\nbody\n"
        );
    }

    #[test]
    fn flow_mappings_are_edited_in_place() {
        let t = "---\ntitle: A\nproblem: {confirmed_by: Jane}   # who\n---\n";
        let (out, added) = add_missing_keys(t, &["problem.confirmed_on"]).unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nproblem: {confirmed_by: Jane, confirmed_on: null}   # who\n---\n"
        );
        assert_eq!(added, ["problem.confirmed_on"]);
        let t = "---\ntitle: A\nnext_step: { action: Send SOW draft, due: 2026-11-30 }\nowner: bob\n---\n";
        let out = apply(
            t,
            &[
                Op::set("next_step.due", "2026-12-01"),
                Op::set("next_step.action", "\"Call, then mail\""),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nnext_step: { action: \"Call, then mail\", due: 2026-12-01 }\nowner: bob\n---\n"
        );
    }

    #[test]
    fn flow_lists_take_edits_and_new_items() {
        let t = "---\ntitle: A\nobjections: [{ objection: Price, resolved: false }, {objection: Timing}]\ntags: [k8s]\n---\n";
        let out = apply(
            t,
            &[
                Op::set("objections.0.resolved", "true"),
                Op::set("objections.1.response", "\"Q2 start\""),
                Op::set("objections.+.objection", "Scope"),
                Op::set("objections.-1.resolved", "false"),
                Op::set("tags.+", "eu"),
                Op::set("tags.0", "kubernetes"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nobjections: [{ objection: Price, resolved: true }, {objection: Timing, response: \"Q2 start\"}, { objection: Scope, resolved: false }]\ntags: [kubernetes, eu]\n---\n"
        );
        // A multi-line flow mapping with a comment inside.
        let t = "---\ntitle: A\ncontact: {\n    name: Jane,  # the CTO\n    email: j@x.example\n  }\n---\n";
        let out = apply(t, &[Op::set("contact.phone", "\"+1 555\"")]).unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\ncontact: {\n    name: Jane,  # the CTO\n    email: j@x.example, phone: \"+1 555\"\n  }\n---\n"
        );
    }

    #[test]
    fn odd_flow_text_is_edited_or_refused_never_a_panic() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        for v in [
            "{",
            "[",
            "{a: [}",
            "{\"a\\",
            "{'a'''",
            "{a: 1} # c",
            "[a: b]",
            "{a: b c: d}",
            "{ ? a : b }",
            "{a: 1,, b: 2}",
            "{a:1}",
            "{\"x\":1, 'y': 2}",
            "[é, ü]",
            "{a, b}",
            "{a: , b: }",
            deep.as_str(),
        ] {
            let t = format!("---\ntitle: A\nk: {v}\n---\n");
            for op in [
                Op::set("k.a", "1"),
                Op::set("k.+", "1"),
                Op::set("k.0", "1"),
                Op::set("k.-1.z", "1"),
                Op::set("k.a.b", "1"),
            ] {
                if let Ok(out) = apply(&t, std::slice::from_ref(&op)) {
                    // Whatever was edited, only the `k:` line changed.
                    assert!(out.starts_with("---\ntitle: A\nk: "), "{v} {op:?}: {out}");
                    assert!(out.ends_with("\n---\n"), "{v} {op:?}: {out}");
                }
            }
        }
        let out = apply(
            "---\nk: {a: , b: }\n---\n",
            &[Op::set("k.b", "2"), Op::set("k.a", "1")],
        )
        .unwrap();
        assert_eq!(out, "---\nk: {a: 1, b: 2}\n---\n");
    }

    #[test]
    fn block_lists_take_new_items() {
        // Seeded by `deal note … objections`: an empty flow list becomes a block.
        let t = "---\ntitle: A\nobjections: []   # named objections\nowner: bob\n---\n";
        let out = apply(
            t,
            &[
                Op::set("objections.+.objection", "Price"),
                Op::set("objections.-1.resolved", "false"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nobjections:   # named objections\n  - objection: Price\n    resolved: false\nowner: bob\n---\n"
        );
        let out = apply(
            &out,
            &[
                Op::set("objections.+.objection", "\"Timing: Q3\""),
                Op::set("objections.-1.resolved", "false"),
                Op::set("objections.0.resolved", "true"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nobjections:   # named objections\n  - objection: Price\n    resolved: true\n  - objection: \"Timing: Q3\"\n    resolved: false\nowner: bob\n---\n"
        );
        // A missing list is created; flow items get a flow item.
        let out = apply("---\ntitle: A\n---\n", &[Op::set("tags.+", "k8s")]).unwrap();
        assert_eq!(out, "---\ntitle: A\ntags:\n  - k8s\n---\n");
        let t = "---\nobjections:\n- { objection: Price, resolved: true }\n---\n";
        let out = apply(
            t,
            &[
                Op::set("objections.+.objection", "Scope"),
                Op::set("objections.-1.resolved", "false"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\nobjections:\n- { objection: Price, resolved: true }\n- { objection: Scope, resolved: false }\n---\n"
        );
        assert!(apply(t, &[Op::set("objections.-2.resolved", "true")]).is_err());
        assert!(apply(t, &[Op::set("objections.x.resolved", "true")]).is_err());
    }

    #[test]
    fn crlf_is_kept() {
        let t = "---\r\ntitle: A\r\n---\r\nbody\r\n";
        let (out, _) = add_missing_keys(t, &["kickoff_on"]).unwrap();
        assert_eq!(out, "---\r\ntitle: A\r\nkickoff_on:\r\n---\r\nbody\r\n");
        assert_eq!(
            append_body(&out, "## X\n"),
            "---\r\ntitle: A\r\nkickoff_on:\r\n---\r\nbody\r\n\r\n## X\r\n"
        );
        let out = apply(&out, &[Op::set("stages.won", "2026-11-27")]).unwrap();
        assert!(
            out.contains("stages:\r\n  won: 2026-11-27\r\n---"),
            "{out:?}"
        );
    }

    #[test]
    fn plain_yaml_files() {
        let t = "version: 1\nteam:\n  alice: { name: Alice }\nstages: []   # the process\n";
        let out = apply_yaml(
            t,
            &[
                Op::Set(
                    vec!["team".into(), "bob".into()],
                    "{ name: Bob, roles: [ae] }".into(),
                ),
                Op::set("enforce_from", "2026-11-27"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "version: 1\nteam:\n  alice: { name: Alice }\n  bob: { name: Bob, roles: [ae] }\nstages: []   # the process\nenforce_from: 2026-11-27\n"
        );
        let out = apply_yaml(
            "team: {}  # none yet",
            &[Op::set("team.bob", "{ name: Bob }")],
        )
        .unwrap();
        assert_eq!(out, "team:  # none yet\n  bob: { name: Bob }");
    }

    #[test]
    fn sets_one_line_scalars() {
        let t = "---\ntitle: A\nlast_activity: 2026-01-01  # touched\n---\n";
        let out = set_top_scalar(t, "last_activity", "2026-11-27T12:00:00Z").unwrap();
        assert_eq!(
            out,
            "---\ntitle: A\nlast_activity: 2026-11-27T12:00:00Z  # touched\n---\n"
        );
        let out = set_top_scalar("---\ntitle: A\n---\n", "last_activity", "2026-11-27").unwrap();
        assert_eq!(out, "---\ntitle: A\nlast_activity: 2026-11-27\n---\n");
    }

    const DEAL: &str = r#"---
# a deal with comments
title: "Acme: #1 deal"   # quoted, with a colon
owner: alice
tags: [k8s, 'eu-only']
stages:                      # when it entered each stage
  prospecting: 2026-11-02T09:14:00Z

  outreach: '2026-11-02T09:17:00Z'  # quoted
objections:
- objection: Price
  resolved: false   # not yet
-   objection: Timing
    resolved: true
waived: {}
lost:
  reason: no budget
  stage: outreach
custom: keep me
---
# Acme
"#;

    #[test]
    fn nested_sets_touch_only_their_lines() {
        let out = apply(
            DEAL,
            &[
                Op::set("stages.qualification", "2026-11-27T12:00:00Z"),
                Op::set("stages.outreach", "2026-11-27T12:00:00Z"),
                Op::set("owner", "bob"),
                Op::set("objections.0.resolved", "true"),
                Op::set("objections.1.resolved", "false"),
                Op::set("waived.outreach", "\"signed anyway\""),
                Op::remove("lost"),
                Op::set("next_step.action", "Call"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            r#"---
# a deal with comments
title: "Acme: #1 deal"   # quoted, with a colon
owner: bob
tags: [k8s, 'eu-only']
stages:                      # when it entered each stage
  prospecting: 2026-11-02T09:14:00Z

  outreach: 2026-11-27T12:00:00Z  # quoted
  qualification: 2026-11-27T12:00:00Z
objections:
- objection: Price
  resolved: true   # not yet
-   objection: Timing
    resolved: false
waived:
  outreach: "signed anyway"
custom: keep me
next_step:
  action: Call
---
# Acme
"#
        );
    }

    #[test]
    fn removing_the_last_nested_key_leaves_null() {
        let out = apply(DEAL, &[Op::remove("lost.reason"), Op::remove("lost.stage")]).unwrap();
        assert!(out.contains("lost:\ncustom: keep me\n"), "{out}");
        assert_eq!(apply(DEAL, &[Op::remove("nothing.here")]).unwrap(), DEAL);
    }

    #[test]
    fn refusals_write_nothing() {
        for (op, want) in [
            (Op::set("title.x", "1"), "single value"),
            (Op::set("tags.0.x", "1"), "single value"),
            (
                Op::set("objections.resolved", "true"),
                "name an item by number",
            ),
            (Op::set("objections.5.resolved", "true"), "no item 5"),
            (Op::set("objections.0", "x"), "set its fields"),
            (Op::set("custom", "[unclosed"), "not a valid YAML value"),
        ] {
            let e = apply(DEAL, std::slice::from_ref(&op)).unwrap_err();
            assert!(e.0.contains(want), "{op:?}: {e}");
        }
    }

    #[test]
    fn a_mis_indented_insertion_is_caught() {
        // Tabs are not YAML indentation: an insertion under this block
        // cannot be made to parse as intended, and the check says so.
        let t = "---\ntitle: A\nstages:\n  prospecting: 2026-01-01\n  - odd\n---\n";
        assert!(apply(t, &[Op::set("stages.outreach", "2026-01-02")]).is_err());
    }

    #[test]
    fn a_value_that_parses_differently_is_caught() {
        // `value: 1: 2` would not be the scalar the caller meant.
        assert!(apply(DEAL, &[Op::set("custom", "a: b")]).is_err());
    }
}
