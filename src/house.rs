//! The house's rules, checked on the sources: the picture of layers that
//! opens ARCHITECTURE.md (a folder of `src/` may use its own files and the
//! folders drawn below it, never one drawn above, and no files use each
//! other in a circle), no function over 120 lines, and no citation of a
//! document the repository does not hold.
//!
//! It reads the sources as text, as a reviewer would: every `crate::…`,
//! `$crate::…`, `super::…` and `self::…` path, a parent's `child::…`, and a
//! string that is a path (serde's `serialize_with`), outside comments,
//! other strings and `#[cfg(test)]` code (tests may reach anything they
//! check). A path is an edge to the deepest module it names; `lib.rs`, the
//! facade, stands above every layer. What would hide a path from this
//! reading (an alias or glob of the crate's root, `#[path]`, `include!`) is
//! refused where it stands. The "outside document" is the product contract
//! the code once cited by name; the check looks for that name. Spaces
//! before `::` are not read: `cargo fmt --check` removes them first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A source file, by its path under `src/` (`store/repo/mod.rs`), with the
/// module path it defines (`store::repo`) and its text.
struct File {
    path: String,
    module: Vec<String>,
    text: String,
}

/// The layers, top first, as the first code block of ARCHITECTURE.md
/// draws them: each line that starts with `name/`.
fn layers_of(architecture: &str) -> Vec<String> {
    let mut blocks = architecture.split("```");
    blocks.next();
    let picture = blocks.next().unwrap_or("");
    picture
        .lines()
        .filter_map(|l| {
            let word = l.split_whitespace().next()?;
            let name = word.strip_suffix('/')?;
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .then(|| name.to_string())
        })
        .collect()
}

fn read_tree(src: &Path) -> Vec<File> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.expect("src/ is readable");
        let p = entry.path();
        // main.rs is the binary, a crate of its own that uses the facade.
        if p.extension().and_then(|e| e.to_str()) != Some("rs") || p == src.join("main.rs") {
            continue;
        }
        let rel = p
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let mut module: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .map(String::from)
            .collect();
        if module
            .last()
            .is_some_and(|m| m == "mod" || m == "lib" || m == "main")
        {
            module.pop();
        }
        files.push(File {
            path: rel,
            module,
            text: std::fs::read_to_string(p).expect("a source file is UTF-8"),
        });
    }
    files
}

/// The text with comments, string and char literals blanked, byte for
/// byte (line breaks kept, so lines and offsets still count), and every
/// `#[cfg(test)]` item (a `mod tests { … }`, a `mod props;`) blanked too
/// unless `keep_tests`. A string that is itself a path (`"crate::x::f"`,
/// as serde's `serialize_with` takes) is kept: it is an import too.
fn code_of(text: &str, keep_tests: bool) -> String {
    let code = blank_literals(text);
    if keep_tests {
        return code;
    }
    // On the blanked text, so a brace in a test's string or comment cannot
    // end its module early.
    let mut out = String::with_capacity(code.len());
    let mut rest = code.as_str();
    while let Some(k) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..k]);
        let len = cfg_test_item_len(&rest[k..]);
        out.push_str(&blank(&rest[k..k + len]));
        rest = &rest[k + len..];
    }
    out.push_str(rest);
    out
}

/// `span` as spaces, its line breaks kept: the same length in bytes.
fn blank(span: &str) -> String {
    span.chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect()
}

/// Comments, string and char literals blanked (see [`code_of`]).
fn blank_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        let len = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            block_comment_len(rest)
        } else if let Some(len) = raw_string_len(rest) {
            len
        } else if b[i] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest.as_bytes()[j] != b'"' {
                j += if rest.as_bytes()[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            let inner = &rest[1..len.saturating_sub(1).max(1)];
            if is_path_string(inner) {
                out.push(' ');
                out.push_str(inner);
                out.push(' ');
                i += len;
                continue;
            }
            len
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            char_literal_len(rest).max(1)
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        out.push_str(&blank(&rest[..len]));
        i += len;
    }
    out
}

/// Whether a string literal's text is a path into the crate.
fn is_path_string(s: &str) -> bool {
    (s.starts_with("crate::") || s.starts_with("super::"))
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// How long the (nested) block comment at the start of `s` is.
fn block_comment_len(s: &str) -> usize {
    let mut depth = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with("/*") {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with("*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    s.len()
}

fn raw_string_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("br").or_else(|| s.strip_prefix('r'))?;
    let hashes = body.len() - body.trim_start_matches('#').len();
    let after = body[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = after.find(&close)?;
    Some(s.len() - after.len() + end + close.len())
}

fn char_literal_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'\\') {
        return s[2..].find('\'').map_or(1, |e| e + 3);
    }
    match s[1..].chars().next() {
        Some(c) if s[1 + c.len_utf8()..].starts_with('\'') => 2 + c.len_utf8(),
        _ => 1,
    }
}

/// How long the `#[cfg(test)]` item at the start of `s` is: to its `;`
/// or the end of its braced body, whichever comes first.
fn cfg_test_item_len(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices().skip("#[cfg(test)]".len()) {
        match c {
            ';' if depth == 0 => return i + 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// The paths a file's code names, each as whole module segments from the
/// crate's root (items at the end included; `resolve` finds the module).
fn paths_in(file: &File, code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let word_start = |i: usize| {
        i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':')
    };
    let mut i = 0;
    while i < code.len() {
        if !word_start(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let ident_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if ident_len == 0 {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let first = &rest[..ident_len];
        let base: Option<Vec<String>> = match first {
            "crate" => Some(Vec::new()),
            "super" => {
                // A mod.rs's `super` is its folder's parent, as a file's.
                let mut m = file.module.clone();
                m.pop();
                Some(m)
            }
            "self" => Some(file.module.clone()),
            c if children.contains(c) => {
                Some(file.module.iter().cloned().chain([c.to_string()]).collect())
            }
            _ => None,
        };
        if let Some(base) = base
            && rest[ident_len..].starts_with("::")
        {
            let (tails, len) = path_tails(&rest[ident_len + 2..]);
            for t in tails {
                let mut p = base.clone();
                let mut segs = t.into_iter();
                // `super::super::x`
                let mut up = base.clone();
                let mut rest_segs = Vec::new();
                for s in segs.by_ref() {
                    if s == "super" && first == "super" && rest_segs.is_empty() {
                        up.pop();
                        p = up.clone();
                    } else {
                        rest_segs.push(s);
                    }
                }
                p.extend(rest_segs);
                if p.last().is_some_and(|s| s == "self") {
                    p.pop();
                }
                out.push(p);
            }
            i += ident_len + 2 + len;
        } else {
            i += ident_len;
        }
    }
    out
}

/// The paths after `crate::` (or `super::`…): `a::b::C` is one, `{a, b::{c,
/// d}}` is three. Returns them with the length read.
fn path_tails(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut segs = Vec::new();
    let mut i = 0;
    loop {
        let rest = &s[i..];
        let rest_trim = rest.trim_start();
        i += rest.len() - rest_trim.len();
        if rest_trim.starts_with('{') {
            let mut out = Vec::new();
            i += 1;
            loop {
                let (tails, len) = path_tails(&s[i..]);
                i += len;
                for t in tails {
                    out.push(segs.iter().cloned().chain(t).collect());
                }
                let r = s[i..].trim_start();
                i += s[i..].len() - r.len();
                if r.starts_with(',') {
                    i += 1;
                    if s[i..].trim_start().starts_with('}') {
                        let r2 = s[i..].trim_start();
                        i += s[i..].len() - r2.len() + 1;
                        return (out, i);
                    }
                } else {
                    if r.starts_with('}') {
                        i += 1;
                    }
                    return (out, i);
                }
            }
        }
        let len = rest_trim
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest_trim.len());
        if len == 0 {
            return (vec![segs], i);
        }
        segs.push(rest_trim[..len].to_string());
        i += len;
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            return (vec![segs], i);
        }
    }
}

/// The modules declared under `#[cfg(test)]` (`#[cfg(test)] mod tests;`):
/// test code, like a `mod tests { … }` written inline.
fn test_modules(files: &[File]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for f in files {
        let code = code_of(&f.text, true);
        let mut rest = code.as_str();
        while let Some(k) = rest.find("#[cfg(test)]") {
            rest = &rest[k + "#[cfg(test)]".len()..];
            let item = rest.trim_start();
            let item = item
                .strip_prefix("pub(crate) ")
                .or_else(|| item.strip_prefix("pub "))
                .unwrap_or(item);
            if let Some(decl) = item.strip_prefix("mod ")
                && let Some((name, _)) = decl.split_once(';')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                out.insert(f.module.iter().cloned().chain([name.to_string()]).collect());
            }
        }
    }
    out
}

/// The edges between files: `from` uses something `to` defines. Test code
/// (files of `#[cfg(test)]` modules, inline test modules) is left out:
/// tests may reach anything they check.
fn edges(files: &[File]) -> BTreeMap<String, BTreeSet<String>> {
    let tests = test_modules(files);
    let files: Vec<&File> = files
        .iter()
        .filter(|f| !tests.iter().any(|t| f.module.starts_with(t)))
        .collect();
    let by_module: BTreeMap<Vec<String>, &str> = files
        .iter()
        .map(|f| (f.module.clone(), f.path.as_str()))
        .collect();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for &f in &files {
        let children: BTreeSet<String> = files
            .iter()
            .filter(|g| g.module.len() == f.module.len() + 1 && g.module.starts_with(&f.module))
            .map(|g| g.module.last().unwrap().clone())
            .collect();
        let code = code_of(&f.text, false);
        for p in paths_in(f, &code, &children) {
            // The deepest module the path names.
            let target = (0..=p.len()).rev().find_map(|n| by_module.get(&p[..n]));
            if let Some(&t) = target
                && t != f.path
                && !p.is_empty()
            {
                out.entry(f.path.clone()).or_default().insert(t.to_string());
            }
        }
    }
    out
}

/// The layer a file is in: its first folder under src/ (`lib.rs` and
/// `main.rs` stand above all).
fn layer_of(path: &str) -> Option<&str> {
    path.split_once('/').map(|(l, _)| l)
}

/// Ways a file could reach a module without a path the house reads: an
/// alias of the crate's root, a glob of it, a file mounted by `#[path]` or
/// pasted by `include!` (build output excepted). Each is refused where it
/// stands, as "path: what".
fn hiding_places(files: &[File]) -> Vec<String> {
    let tests = test_modules(files);
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| !tests.iter().any(|t| f.module.starts_with(t)))
    {
        let code = code_of(&f.text, false);
        let squeezed: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
        for (needle, what) in [
            ("crate as ", "an alias of the crate's root"),
            ("self as ", "an alias of a module by `self as`"),
            ("super as ", "an alias of a parent by `super as`"),
            ("extern crate self", "an alias of the crate's root"),
            ("crate::*", "a glob of the crate's root"),
            ("self::super", "a path the house does not fold"),
            ("#[path", "a file mounted from elsewhere"),
        ] {
            if squeezed.contains(needle) {
                out.push(format!("src/{}: {what} (`{needle}`)", f.path));
            }
        }
        let includes = squeezed.matches("include!(").count();
        let built = squeezed.matches("include!(concat!(env!(\"\"").count()
            + squeezed.matches("include!(concat!(env!( ").count();
        if includes > built {
            out.push(format!("src/{}: code pasted by `include!`", f.path));
        }
    }
    out
}

/// Every edge that runs up the picture, as "from -> to (layer -> layer)".
fn upward(layers: &[String], edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    // Top first: a smaller rank stands higher. lib.rs (the facade) stands
    // above every layer: its re-exports are for the binary and the tests.
    let rank = |p: &str| match p {
        "lib.rs" => Some(-1),
        _ => layer_of(p)
            .and_then(|l| layers.iter().position(|x| x == l))
            .map(|r| r as isize),
    };
    let name = |r: isize| usize::try_from(r).map_or("lib.rs (the facade)", |r| layers[r].as_str());
    let mut out = Vec::new();
    for (from, tos) in edges {
        let Some(rf) = rank(from) else { continue };
        for to in tos {
            if let Some(rt) = rank(to)
                && rt < rf
            {
                out.push(format!(
                    "{from} -> {to} ({} is above {})",
                    name(rt),
                    name(rf)
                ));
            }
        }
    }
    out
}

/// The circles: every group of two or more files that reach each other.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.keys().chain(edges.values().flatten()).collect();
    let reach = |start: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(n) = todo.pop() {
            for m in edges.get(n).into_iter().flatten() {
                if seen.insert(m) {
                    todo.push(m);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<&String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reaches[n].contains(n) {
            continue;
        }
        let group: Vec<String> = nodes
            .iter()
            .filter(|m| reaches[n].contains(*m) && reaches[*m].contains(n))
            .map(|m| (*m).clone())
            .collect();
        for m in &group {
            done.insert(m.clone());
        }
        out.push(group);
    }
    out
}

/// Every function longer than `max` lines, as "path:line: name, N lines",
/// counted from the `fn` line to the closing brace.
fn long_functions(files: &[File], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let code = code_of(&f.text, true);
        let b = code.as_bytes();
        let mut from = 0;
        while let Some(k) = code[from..].find("fn ") {
            let at = from + k;
            from = at + 3;
            if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
                continue;
            }
            let name: String = code[at + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                continue;
            }
            // The body's opening brace: the first `{` outside the
            // signature's brackets; a `;` first means no body.
            let mut depth = 0i32;
            let mut open = None;
            for (i, c) in code[at..].char_indices() {
                match c {
                    '(' | '[' | '<' => depth += 1,
                    ')' | ']' | '>' => depth -= 1,
                    ';' if depth <= 0 => break,
                    '{' if depth <= 0 => {
                        open = Some(at + i);
                        break;
                    }
                    _ => {}
                }
            }
            let Some(open) = open else { continue };
            let mut braces = 0;
            let mut close = code.len();
            for (i, c) in code[open..].char_indices() {
                match c {
                    '{' => braces += 1,
                    '}' => {
                        braces -= 1;
                        if braces == 0 {
                            close = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let first = code[..at].matches('\n').count() + 1;
            let last = code[..close].matches('\n').count() + 1;
            if last - first + 1 > max {
                out.push(format!(
                    "src/{}:{first}: {name}, {} lines",
                    f.path,
                    last - first + 1
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (Vec<String>, Vec<File>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
        (layers_of(&arch), read_tree(&root.join("src")))
    }

    #[test]
    fn every_folder_of_src_is_a_layer_of_the_picture_and_back() {
        let (layers, files) = tree();
        assert!(
            layers.len() >= 5,
            "ARCHITECTURE.md opens with the picture of the layers: {layers:?}"
        );
        let folders: BTreeSet<&str> = files.iter().filter_map(|f| layer_of(&f.path)).collect();
        let drawn: BTreeSet<&str> = layers.iter().map(String::as_str).collect();
        assert_eq!(
            folders, drawn,
            "the folders of src/ and the layers ARCHITECTURE.md draws"
        );
    }

    #[test]
    fn no_import_runs_up_a_layer() {
        let (layers, files) = tree();
        let up = upward(&layers, &edges(&files));
        assert!(
            up.is_empty(),
            "imports that run up the layers of ARCHITECTURE.md:\n{}",
            up.join("\n")
        );
    }

    #[test]
    fn no_files_use_each_other_in_a_circle() {
        let (_, files) = tree();
        let c = circles(&edges(&files));
        assert!(
            c.is_empty(),
            "circles of files that use each other:\n{c:#?}"
        );
    }

    /// The checks can fail: an upward import and a circle planted in a copy
    /// of the real tree are both found.
    #[test]
    fn a_planted_upward_import_and_circle_are_found() {
        let (layers, mut files) = tree();
        let bottom = layers.last().unwrap().clone();
        // A file of the bottom layer that the command line reaches.
        let e = edges(&files);
        let mut reached = BTreeSet::new();
        let mut todo = vec!["cli/mod.rs".to_string()];
        while let Some(n) = todo.pop() {
            for m in e.get(&n).into_iter().flatten() {
                if reached.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        let low = files
            .iter_mut()
            .find(|f| layer_of(&f.path) == Some(bottom.as_str()) && reached.contains(&f.path))
            .unwrap();
        low.text
            .push_str("\nfn planted() { crate::cli::run_main(); }\n");
        let low_path = low.path.clone();
        let e = edges(&files);
        let up = upward(&layers, &e);
        assert!(
            up.iter()
                .any(|u| u.starts_with(&format!("{low_path} -> cli/mod.rs"))),
            "{up:?}"
        );
        assert!(
            circles(&e).iter().any(|c| c.contains(&low_path)),
            "the planted edge closes a circle"
        );
    }

    #[test]
    fn paths_are_read_from_code_only() {
        let f = File {
            path: "a/b.rs".into(),
            module: vec!["a".into(), "b".into()],
            text: String::new(),
        };
        let code = code_of(
            "use crate::{x::{self, Y}, z};\n// crate::c1\nlet s = \"see crate::c2\"; let c = '\"'; \
             let r = r#\"crate::c3\"#; super::w::f(); fn f<'a>(_: &'a str) {}\n\
             #[cfg(test)]\nmod tests { use crate::t; }\n",
            false,
        );
        let got = paths_in(&f, &code, &BTreeSet::new());
        let want: Vec<Vec<String>> = [vec!["x"], vec!["x", "Y"], vec!["z"], vec!["a", "w", "f"]]
            .iter()
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn no_function_is_over_120_lines() {
        let (_, files) = tree();
        let long = long_functions(&files, 120);
        assert!(
            long.is_empty(),
            "functions over 120 lines; split them into named steps:\n{}",
            long.join("\n")
        );
    }

    #[test]
    fn a_long_function_is_measured_from_fn_to_its_closing_brace() {
        let body = "    let x = \"{\";\n".repeat(121);
        let text = format!("fn short(a: [u8; 2]) -> u8 {{ a[0] }}\nfn long() {{\n{body}}}\n");
        let f = File {
            path: "x.rs".into(),
            module: vec!["x".into()],
            text,
        };
        assert_eq!(long_functions(&[f], 120), ["src/x.rs:2: long, 123 lines"]);
    }

    /// The repository explains itself: its code cites its own docs, never a
    /// document it does not hold.
    #[test]
    fn no_code_cites_a_document_outside_the_repository() {
        let (_, files) = tree();
        let needle = concat!("SP", "EC");
        let cites: Vec<String> = files
            .iter()
            .flat_map(|f| {
                f.text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| l.contains(needle))
                    .map(move |(n, l)| format!("src/{}:{}: {}", f.path, n + 1, l.trim()))
            })
            .collect();
        assert!(
            cites.is_empty(),
            "cite ARCHITECTURE.md or docs/ instead:\n{}",
            cites.join("\n")
        );
    }

    #[test]
    fn no_file_hides_an_import_from_the_house() {
        let (_, files) = tree();
        let hidden = hiding_places(&files);
        assert!(
            hidden.is_empty(),
            "write the path out instead:\n{}",
            hidden.join("\n")
        );
    }

    #[test]
    fn aliases_macros_and_path_strings_are_read_too() {
        let file = |path: &str, text: &str| {
            let module: Vec<String> = path
                .trim_end_matches(".rs")
                .split('/')
                .map(String::from)
                .collect();
            let mut module = module;
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            File {
                path: path.into(),
                module,
                text: text.into(),
            }
        };
        let mut files = vec![
            file(
                "base/a.rs",
                "macro_rules! m { () => { $crate::cli::go() } }\n",
            ),
            file(
                "base/b.rs",
                "#[serde(serialize_with = \"crate::cli::go\")]\nstruct S;\n",
            ),
            file("base/c.rs", "fn f() { crate::RULES; }\n"),
            file("cli/mod.rs", "pub fn go() {}\n"),
            file("lib.rs", "mod base;\nmod cli;\npub use cli::go as RULES;\n"),
        ];
        let layers = vec!["cli".to_string(), "base".to_string()];
        let up = upward(&layers, &edges(&files));
        for from in ["base/a.rs", "base/b.rs"] {
            assert!(
                up.iter()
                    .any(|u| u.starts_with(&format!("{from} -> cli/mod.rs"))),
                "{from}: {up:?}"
            );
        }
        assert!(
            up.iter().any(|u| u.starts_with("base/c.rs -> lib.rs")),
            "{up:?}"
        );
        files.push(file(
            "base/d.rs",
            "use crate as c;\n#[path = \"../cli/x.rs\"]\nmod x;\n",
        ));
        let hidden = hiding_places(&files);
        assert_eq!(hidden.len(), 2, "{hidden:?}");
    }
}
