//! Lossless edits of a deal file: only the lines meant to change change.
//!
//! Comments, key order, quoting, blank lines and the body stay byte for byte.
//! After every edit the file is parsed again and its front-matter compared
//! with what was intended, so no edit can silently change another field (a
//! mis-indented insertion, say): [`verify`] refuses it instead.

use std::ops::Range;

use serde_yaml::{Mapping, Value};

use crate::deal::{lookup, parse_mapping};
use crate::frontmatter;

/// Why an edit was refused. Nothing is written when this happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn eol(text: &str) -> &'static str {
    match frontmatter::split(text) {
        Ok(s) if s.crlf => "\r\n",
        _ => "\n",
    }
}

fn mapping_of(text: &str) -> Result<Mapping, EditError> {
    let s = frontmatter::split(text).map_err(|e| EditError(e.describe().0))?;
    parse_mapping(&text[s.yaml.clone()], s.yaml_line).map_err(|p| EditError(p.message))
}

/// Appends `section` (Markdown, `\n` line ends) to the body, after one blank line.
pub fn append_body(text: &str, section: &str) -> String {
    let nl = eol(text);
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

/// The line of the front-matter (`yaml`, a range of `text`) that defines the
/// top-level `key`: its byte offset in `text`, its length with the line
/// ending, and its text after the colon (line ending removed).
fn top_key_line<'a>(
    text: &'a str,
    yaml: Range<usize>,
    key: &str,
) -> Option<(usize, usize, &'a str)> {
    let mut pos = yaml.start;
    for line in text[yaml].split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(after) = bare.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            return Some((pos, line.len(), after));
        }
        pos += line.len();
    }
    None
}

/// Byte offset just after the last line of the top-level block of `key`
/// (its line and every following line that is indented, blank or a comment
/// inside it), and the indentation of its children, if the key is a
/// top-level block mapping.
fn block_end(text: &str, yaml: Range<usize>, key: &str) -> Option<(usize, String)> {
    let (at, len, after) = top_key_line(text, yaml.clone(), key)?;
    let after = after.trim();
    if !(after.is_empty() || after.starts_with('#')) {
        return None; // a flow mapping or scalar: not a block
    }
    let mut end = at + len;
    let mut pos = end;
    let mut indent: Option<String> = None;
    for line in text[pos..yaml.end].split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.starts_with([' ', '\t']) {
            let content = bare.trim_start();
            if indent.is_none() && !content.is_empty() && !content.starts_with('#') {
                indent = Some(bare[..bare.len() - content.len()].to_string());
            }
            end = pos + line.len();
        } else if !bare.trim().is_empty() {
            break;
        }
        pos += line.len();
    }
    Some((end, indent.unwrap_or_else(|| "  ".into())))
}

/// Adds front-matter keys that are missing, with `null` values, as new lines
/// only. `keys` are dotted paths one or two levels deep (`delivery_owner`,
/// `problem.confirmed_by`). Existing keys are left alone. Returns the new
/// text and the keys added.
pub fn add_missing_keys(text: &str, keys: &[&str]) -> Result<(String, Vec<String>), EditError> {
    let before = mapping_of(text)?;
    let nl = eol(text);
    let mut out = text.to_string();
    let mut added = Vec::new();
    // Group by top-level key, in order.
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for k in keys {
        let (top, sub) = match k.split_once('.') {
            Some((t, s)) => (t, Some(s)),
            None => (*k, None),
        };
        if let Some(g) = groups.iter_mut().find(|g| g.0 == top) {
            g.1.extend(sub);
        } else {
            groups.push((top, sub.into_iter().collect()));
        }
    }
    for (top, subs) in groups {
        let present_top = before.contains_key(top);
        let missing: Vec<&str> = subs
            .iter()
            .copied()
            .filter(|s| {
                !before
                    .get(top)
                    .and_then(|v| v.as_mapping())
                    .is_some_and(|m| m.contains_key(*s))
            })
            .collect();
        let split = frontmatter::split(&out).map_err(|e| EditError(e.describe().0))?;
        if !present_top {
            let mut block = format!("{top}:{nl}");
            if subs.is_empty() {
                added.push(top.to_string());
            }
            for s in &subs {
                block.push_str(&format!("  {s}:{nl}"));
                added.push(format!("{top}.{s}"));
            }
            out.insert_str(split.yaml.end, &block);
        } else if !missing.is_empty() {
            match before.get(top) {
                Some(Value::Mapping(_)) | Some(Value::Null) => {}
                _ => continue, // a scalar where a mapping belongs: `deal check` reports it
            }
            let Some((at, indent)) = block_end(&out, split.yaml.clone(), top) else {
                continue; // a flow mapping: leave it to the user rather than rewrite the line
            };
            let mut block = String::new();
            for s in &missing {
                block.push_str(&format!("{indent}{s}:{nl}"));
                added.push(format!("{top}.{s}"));
            }
            // The last line of the block may lack a newline only at the end of the YAML.
            out.insert_str(at, &block);
        }
    }
    verify(&before, &out, &added)?;
    Ok((out, added))
}

/// Sets a top-level scalar key: rewrites its one line when it is a plain
/// one-line scalar, or adds the line when the key is absent.
pub fn set_top_scalar(text: &str, key: &str, value: &str) -> Result<String, EditError> {
    let before = mapping_of(text)?;
    let split = frontmatter::split(text).map_err(|e| EditError(e.describe().0))?;
    let nl = eol(text);
    let mut out = text.to_string();
    match top_key_line(text, split.yaml.clone(), key) {
        Some((at, _, after)) => {
            let val = after.trim();
            if val.is_empty() || val.starts_with(['|', '>', '[', '{', '&', '*', '!']) {
                return Err(EditError(format!(
                    "`{key}` is not a one-line value; edit it by hand"
                )));
            }
            // Keep a trailing comment, with the space before it, if any.
            let comment = after
                .find(" #")
                .map(|i| &after[after[..i].trim_end().len()..])
                .unwrap_or("");
            let old_len = key.len() + 1 + after.len();
            out.replace_range(at..at + old_len, &format!("{key}: {value}{comment}"));
        }
        None => out.insert_str(split.yaml.end, &format!("{key}: {value}{nl}")),
    }
    let after = mapping_of(&out)?;
    let mut want = before.clone();
    want.insert(
        Value::String(key.into()),
        serde_yaml::from_str(value).unwrap_or(Value::String(value.into())),
    );
    if strip(&after, &[key]) != strip(&want, &[key]) || lookup(&after, key).is_none() {
        return Err(EditError(format!(
            "editing `{key}` would change other fields; nothing was written"
        )));
    }
    Ok(out)
}

fn strip(m: &Mapping, keys: &[&str]) -> Mapping {
    let mut m = m.clone();
    for k in keys {
        m.remove(*k);
    }
    m
}

/// Checks that `after` equals `before` plus exactly the `added` keys (null).
pub fn verify(before: &Mapping, after_text: &str, added: &[String]) -> Result<(), EditError> {
    let after = mapping_of(after_text)?;
    let mut want = before.clone();
    for k in added {
        match k.split_once('.') {
            None => {
                want.insert(Value::String(k.clone()), Value::Null);
            }
            Some((t, s)) => {
                let entry = want
                    .entry(Value::String(t.into()))
                    .or_insert(Value::Mapping(Mapping::new()));
                if entry.is_null() {
                    *entry = Value::Mapping(Mapping::new());
                }
                if let Value::Mapping(m) = entry {
                    m.insert(Value::String(s.into()), Value::Null);
                }
            }
        }
    }
    // Adding keys under a top-level key that had none (`problem:` → null)
    // turns it into a mapping; compare on that basis.
    if after != want {
        return Err(EditError(
            "the edit would change other front-matter fields (an indentation the editor cannot follow?); nothing was written".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn flow_mappings_are_left_alone() {
        let t = "---\ntitle: A\nproblem: {confirmed_by: Jane}\n---\n";
        let (out, added) = add_missing_keys(t, &["problem.confirmed_on"]).unwrap();
        assert_eq!(out, t);
        assert!(added.is_empty());
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
}
