//! Merging three versions of a deal file (docs/reference.md, "Merging deal
//! files"): git's merge driver for `deals/**/*.md` and `deal resolve`
//! during a merge.
//!
//! The front-matter merges by leaf key path (`next_step.due`,
//! `contact.email`): a leaf changed on one side only is taken; the same leaf
//! changed to two different values is a conflict, never a silent choice.
//! `objections` items are matched by their position at the base, and items
//! appended on both sides are all kept (ours, then theirs). `stages` and
//! `waived` are mappings, so entries added on both sides are distinct leaves
//! and all kept. The result is ours with theirs' changes applied as lossless
//! edits (`edit`), so ours' layout and comments stay. The body merges as
//! git's text merge does (libgit2's `merge_file`).
//!
//! A conflict is written as git writes one: markers of `marker` characters
//! around the conflicting lines, so `deal check` reports `conflict`. A
//! merge whose result does not come out as intended is reported the same
//! way, with markers around the whole front-matter: never a clean, broken
//! file.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::{Mapping, Value};

use crate::yaml::edit::{self, Op};

/// The merged text, and how many conflicts it holds (0: clean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub conflicts: usize,
}

/// A key path: mapping keys, and list positions as decimal strings.
type Path = Vec<String>;

/// What a three-way merge of the parsed front-matter decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// Edits that turn ours into the merged front-matter.
    pub ops: Vec<Op>,
    /// Leaves both sides changed differently: the path, and theirs' value
    /// (`None`: theirs removed it).
    pub conflicts: Vec<(Path, Option<Value>)>,
    /// The intended merged front-matter (ours' value at conflicting leaves).
    pub merged: Mapping,
}

/// Labels of the conflict markers.
pub struct Labels<'a> {
    pub ours: &'a str,
    pub theirs: &'a str,
}

const OBJECTIONS: &str = "objections";

/// Collects the leaves of `v` under `prefix`: scalars, sequences and empty
/// mappings are leaves; non-empty mappings with string keys recurse.
fn flatten(v: &Value, prefix: &mut Path, out: &mut BTreeMap<Path, Value>) -> Option<()> {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                let k = k.as_str()?;
                if k.contains('.') || k.is_empty() {
                    return None;
                }
                prefix.push(k.to_string());
                flatten(v, prefix, out)?;
                prefix.pop();
            }
        }
        Value::Tagged(_) => return None,
        _ => {
            out.insert(prefix.clone(), v.clone());
        }
    }
    Some(())
}

/// A side's leaves, with `objections` items before `base_len` flattened
/// under their position and the items after it returned apart.
fn leaves(m: &Mapping, base_len: Option<usize>) -> Option<(BTreeMap<Path, Value>, Vec<Value>)> {
    let mut out = BTreeMap::new();
    let mut appended = Vec::new();
    for (k, v) in m {
        let key = k.as_str()?;
        if key.contains('.') || key.is_empty() {
            return None;
        }
        match (key, v, base_len) {
            (OBJECTIONS, Value::Sequence(items), Some(n)) => {
                for (i, item) in items.iter().enumerate() {
                    if i < n {
                        flatten(item, &mut vec![key.to_string(), i.to_string()], &mut out)?;
                    } else {
                        appended.push(item.clone());
                    }
                }
            }
            _ => flatten(v, &mut vec![key.to_string()], &mut out)?,
        }
    }
    Some((out, appended))
}

fn objections_len(m: &Mapping) -> Option<Option<usize>> {
    match m.get(OBJECTIONS) {
        None | Some(Value::Null) => Some(None),
        Some(Value::Sequence(s)) => Some(Some(s.len())),
        Some(_) => None,
    }
}

/// Sets `path` to `v` in `m`, creating mappings (and list items, for
/// `objections.<i>`) on the way.
fn insert(m: &mut Value, path: &[String], v: Value) {
    let Some((first, rest)) = path.split_first() else {
        *m = v;
        return;
    };
    if let Value::Sequence(items) = m
        && let Ok(i) = first.parse::<usize>()
    {
        while items.len() <= i {
            items.push(Value::Mapping(Mapping::new()));
        }
        insert(&mut items[i], rest, v);
        return;
    }
    if !matches!(m, Value::Mapping(_)) {
        *m = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(map) = m else { return };
    let key = Value::String(first.clone());
    let is_list = first == OBJECTIONS && path.len() > 1 && rest[0].parse::<usize>().is_ok();
    let child = map.entry(key).or_insert_with(|| {
        if is_list {
            Value::Sequence(Vec::new())
        } else {
            Value::Mapping(Mapping::new())
        }
    });
    insert(child, rest, v);
}

/// A leaf value as the YAML text `edit` writes: plain scalars where they
/// read back the same, else quoted; collections in flow style.
fn yaml_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => crate::yaml::emit::yaml_scalar(s),
        Value::Bool(_) | Value::Number(_) => serde_yaml::to_string(v)
            .unwrap_or_default()
            .trim()
            .to_string(),
        _ => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// Edits that set every leaf of `item` as a new last item of `objections`.
fn append_ops(item: &Value, ops: &mut Vec<Op>) {
    let mut flat = BTreeMap::new();
    let ok = matches!(item, Value::Mapping(m) if !m.is_empty())
        && flatten(item, &mut Vec::new(), &mut flat).is_some();
    if !ok {
        ops.push(Op::Set(
            vec![OBJECTIONS.into(), edit::APPEND.into()],
            yaml_text(item),
        ));
        return;
    }
    // Keys in the item's own order: the first opens the item.
    let mut order = Vec::new();
    if let Value::Mapping(m) = item {
        for k in m.keys().filter_map(Value::as_str) {
            order.push(k.to_string());
        }
    }
    let mut first = true;
    for k in order {
        for (path, v) in flat.iter().filter(|(p, _)| p[0] == k) {
            let mut p = vec![
                OBJECTIONS.to_string(),
                if first {
                    edit::APPEND.into()
                } else {
                    "-1".into()
                },
            ];
            p.extend(path.iter().cloned());
            ops.push(Op::Set(p, yaml_text(v)));
            first = false;
        }
    }
}

/// Three-way merges parsed front-matter. `None` when a side's shape is
/// beyond the leaf rules (a non-string key, a key with a dot, a tag): the
/// caller merges such files as text.
pub fn plan(base: &Mapping, ours: &Mapping, theirs: &Mapping) -> Option<Plan> {
    let (bl, ol, tl) = (
        objections_len(base)?,
        objections_len(ours)?,
        objections_len(theirs)?,
    );
    // Items matched by position need both sides to keep every base item;
    // otherwise the list merges as one leaf.
    let by_item = match bl {
        None => Some(0),
        Some(n) => (ol.unwrap_or(0) >= n && tl.unwrap_or(0) >= n).then_some(n),
    };
    let (b, _) = leaves(base, by_item)?;
    let (o, o_new) = leaves(ours, by_item)?;
    let (t, t_new) = leaves(theirs, by_item)?;
    let mut out = Plan::default();
    let mut merged: BTreeMap<Path, Value> = BTreeMap::new();
    let paths: BTreeSet<&Path> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    for p in paths {
        let (bv, ov, tv) = (b.get(p), o.get(p), t.get(p));
        let take = if ov == tv || tv == bv {
            ov
        } else if ov == bv {
            tv
        } else {
            out.conflicts.push((p.clone(), tv.cloned()));
            ov
        };
        if let Some(v) = take {
            merged.insert(p.clone(), v.clone());
        }
    }
    // A leaf that is also a parent of another leaf cannot be written.
    let keys: Vec<&Path> = merged.keys().collect();
    for w in keys.windows(2) {
        if w[1].len() > w[0].len() && w[1].starts_with(w[0]) {
            let p = w[0].clone();
            if !out.conflicts.iter().any(|(c, _)| *c == p) {
                out.conflicts.push((p.clone(), t.get(&p).cloned()));
            }
        }
    }
    // Appended objections: ours, then theirs (one copy when both appended
    // the very same items).
    let same = o_new == t_new;
    let extra: Vec<Value> = if same { Vec::new() } else { t_new.clone() };
    // The intended mapping, in ours' key order, then new keys.
    let mut whole = Value::Mapping(Mapping::new());
    for (p, v) in &merged {
        insert(&mut whole, p, v.clone());
    }
    if let Value::Mapping(m) = &mut whole {
        let appended: Vec<Value> = o_new.iter().chain(extra.iter()).cloned().collect();
        if !appended.is_empty() {
            let list = m
                .entry(Value::String(OBJECTIONS.into()))
                .or_insert_with(|| Value::Sequence(Vec::new()));
            if let Value::Sequence(items) = list {
                items.extend(appended);
            } else {
                *list = Value::Sequence(appended);
            }
        }
    }
    let Value::Mapping(whole) = whole else {
        return None;
    };
    out.merged = whole;
    // Edits to ours: removals (deepest first), then sets.
    // A removed leaf takes with it every parent left with no leaf.
    let mut removed: Vec<Path> = Vec::new();
    for p in o.keys().filter(|p| !merged.contains_key(*p)) {
        let top = (1..=p.len())
            .map(|n| p[..n].to_vec())
            .find(|q| !merged.keys().any(|k| k.starts_with(q)))
            .unwrap_or_else(|| p.clone());
        if !removed.contains(&top) {
            removed.push(top);
        }
    }
    removed.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in removed {
        out.ops.push(Op::Remove(p));
    }
    for (p, v) in &merged {
        if o.get(p) != Some(v) {
            out.ops.push(Op::Set(p.clone(), yaml_text(v)));
        }
    }
    for item in &extra {
        append_ops(item, &mut out.ops);
    }
    Some(out)
}

/// git's text merge of three texts (libgit2's `merge_file`), with markers
/// of `marker` characters: the result and whether it is clean.
pub fn text_merge(
    base: &str,
    ours: &str,
    theirs: &str,
    marker: usize,
    l: &Labels,
) -> (String, bool) {
    match bytes_merge(
        base.as_bytes(),
        ours.as_bytes(),
        theirs.as_bytes(),
        marker,
        l,
    ) {
        Some((b, clean)) => match String::from_utf8(b) {
            Ok(s) => (s, clean),
            Err(_) => (conflict_block(ours, theirs, marker, l), false),
        },
        None => (conflict_block(ours, theirs, marker, l), false),
    }
}

/// [`text_merge`] of any bytes; `None` when libgit2 cannot merge them.
pub fn bytes_merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    marker: usize,
    l: &Labels,
) -> Option<(Vec<u8>, bool)> {
    if ours == theirs || theirs == base {
        return Some((ours.to_vec(), true));
    }
    if ours == base {
        return Some((theirs.to_vec(), true));
    }
    let mut bi = git2::MergeFileInput::new();
    bi.content(base);
    let mut oi = git2::MergeFileInput::new();
    oi.content(ours);
    let mut ti = git2::MergeFileInput::new();
    ti.content(theirs);
    let mut opts = git2::MergeFileOptions::new();
    opts.marker_size(marker.clamp(1, u16::MAX as usize) as u16)
        .our_label(l.ours)
        .their_label(l.theirs)
        .ancestor_label("base");
    let r = git2::merge_file(&bi, &oi, &ti, Some(&mut opts)).ok()?;
    Some((r.content().to_vec(), r.is_automergeable()))
}

/// `ours` and `theirs` as one conflict: markers around the whole of both.
fn conflict_block(ours: &str, theirs: &str, marker: usize, l: &Labels) -> String {
    let nl = |s: &str| {
        if s.is_empty() || s.ends_with('\n') {
            s.to_string()
        } else {
            format!("{s}\n")
        }
    };
    format!(
        "{} {}\n{}{}\n{}{} {}\n",
        "<".repeat(marker),
        l.ours,
        nl(ours),
        "=".repeat(marker),
        nl(theirs),
        ">".repeat(marker),
        l.theirs
    )
}

/// Markers around the lines where `a` and `b` differ (one block from the
/// first differing line to the last).
fn around_difference(a: &str, b: &str, marker: usize, l: &Labels) -> String {
    let al: Vec<&str> = a.split_inclusive('\n').collect();
    let bl: Vec<&str> = b.split_inclusive('\n').collect();
    let pre = al.iter().zip(&bl).take_while(|(x, y)| x == y).count();
    let max_suf = al.len().min(bl.len()) - pre;
    let suf = al
        .iter()
        .rev()
        .zip(bl.iter().rev())
        .take(max_suf)
        .take_while(|(x, y)| x == y)
        .count();
    let mut out: String = al[..pre].concat();
    out.push_str(&conflict_block(
        &al[pre..al.len() - suf].concat(),
        &bl[pre..bl.len() - suf].concat(),
        marker,
        l,
    ));
    out.push_str(&al[al.len() - suf..].concat());
    out
}

/// The parts of a deal file: front-matter text and its parsed mapping, the
/// text before the YAML (fence, BOM), between YAML and body (fence), body.
struct Parts<'a> {
    head: &'a str,
    yaml: &'a str,
    fence: &'a str,
    body: &'a str,
    map: Mapping,
}

fn parts(text: &str) -> Option<Parts<'_>> {
    let s = crate::yaml::frontmatter::split(text).ok()?;
    let map = crate::yaml::mapping::parse_mapping(&text[s.yaml.clone()], s.yaml_line).ok()?;
    Some(Parts {
        head: &text[..s.yaml.start],
        yaml: &text[s.yaml.clone()],
        fence: &text[s.yaml.end..s.body],
        body: &text[s.body..],
        map,
    })
}

/// Merges three versions of a deal file.
pub fn merge(base: &str, ours: &str, theirs: &str, marker: usize, l: &Labels) -> Merged {
    merge_pinned(base, ours, theirs, &[], marker, l)
}

/// [`merge`], with the top-level keys in `pinned` taken from ours whatever
/// theirs did (`deal resolve` keeps the kept copy's `stages`, `waived`,
/// `lost` and `owner`).
pub fn merge_pinned(
    base: &str,
    ours: &str,
    theirs: &str,
    pinned: &[&str],
    marker: usize,
    l: &Labels,
) -> Merged {
    // A side beyond the leaf rules: git's text merge, and a clean result
    // that does not parse is a conflict too.
    let whole_text = || {
        let (text, clean) = text_merge(base, ours, theirs, marker, l);
        if clean && parts(&text).is_none() {
            return Merged {
                text: conflict_block(ours, theirs, marker, l),
                conflicts: 1,
            };
        }
        let conflicts = usize::from(!clean);
        Merged { text, conflicts }
    };
    if ours == theirs || theirs == base {
        return Merged {
            text: ours.to_string(),
            conflicts: 0,
        };
    }
    if ours == base && pinned.is_empty() {
        return Merged {
            text: theirs.to_string(),
            conflicts: 0,
        };
    }
    let (Some(b), Some(o), Some(t)) = (parts(base), parts(ours), parts(theirs)) else {
        return whole_text();
    };
    let mut tmap = t.map.clone();
    for k in pinned {
        match o.map.get(*k) {
            Some(v) => {
                tmap.insert(Value::String((*k).into()), v.clone());
            }
            None => {
                tmap.remove(*k);
            }
        }
    }
    let Some(plan) = plan(&b.map, &o.map, &tmap) else {
        return whole_text();
    };
    let (body, body_clean) = text_merge(b.body, o.body, t.body, marker, l);
    let mut conflicts = usize::from(!body_clean);
    // Ours with every agreed change.
    let ours_fm_doc = format!("{}{}{}", o.head, o.yaml, o.fence);
    let whole_fm = |conflicts: usize| {
        let block = conflict_block(o.yaml, t.yaml, marker, l);
        Merged {
            text: format!("{}{block}{}{body}", o.head, o.fence),
            conflicts: conflicts + 1,
        }
    };
    let Ok(merged_doc) = edit::apply(&ours_fm_doc, &plan.ops) else {
        return whole_fm(conflicts);
    };
    // It must read back as intended.
    let reads_back = edit::mapping_of(&merged_doc)
        .is_ok_and(|m| Value::Mapping(m) == Value::Mapping(plan.merged.clone()));
    if !reads_back {
        return whole_fm(conflicts);
    }
    if plan.conflicts.is_empty() {
        return Merged {
            text: format!("{merged_doc}{body}"),
            conflicts,
        };
    }
    // Theirs' values at the conflicting leaves, on the same text: the
    // markers then sit around just those lines.
    let theirs_ops: Vec<Op> = plan
        .conflicts
        .iter()
        .map(|(p, v)| match v {
            Some(v) => Op::Set(p.clone(), yaml_text(v)),
            None => Op::Remove(p.clone()),
        })
        .collect();
    let Ok(theirs_doc) = edit::apply(&merged_doc, &theirs_ops) else {
        return whole_fm(conflicts);
    };
    let s = crate::yaml::frontmatter::split(&merged_doc).ok();
    let st = crate::yaml::frontmatter::split(&theirs_doc).ok();
    let (Some(s), Some(st)) = (s, st) else {
        return whole_fm(conflicts);
    };
    let yaml = around_difference(
        &merged_doc[s.yaml.clone()],
        &theirs_doc[st.yaml.clone()],
        marker,
        l,
    );
    conflicts += plan.conflicts.len();
    Merged {
        text: format!(
            "{}{yaml}{}{body}",
            &merged_doc[..s.yaml.start],
            &merged_doc[s.yaml.end..s.body]
        ),
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Labels = Labels {
        ours: "ours",
        theirs: "theirs",
    };

    fn m(base: &str, ours: &str, theirs: &str) -> Merged {
        merge(base, ours, theirs, 7, &L)
    }

    #[test]
    fn disjoint_leaves_and_both_sides_stages_merge() {
        let base = "---\ntitle: A\nowner: bob\nnext_step:\n  action: Call\n  due: 2026-12-01\nstages:\n  prospecting: 2026-11-01\n---\n# A\n";
        let ours = base.replace("due: 2026-12-01", "due: 2026-12-05").replace(
            "  prospecting: 2026-11-01\n",
            "  prospecting: 2026-11-01\n  outreach: 2026-11-03\n",
        );
        let theirs = base.replace("owner: bob", "owner: dana").replace(
            "  prospecting: 2026-11-01\n",
            "  prospecting: 2026-11-01\n  qualification: 2026-11-04\n",
        );
        let r = m(base, &ours, &theirs);
        assert_eq!(r.conflicts, 0, "{}", r.text);
        let fm = edit::mapping_of(&r.text).unwrap();
        assert_eq!(crate::yaml::mapping::lookup(&fm, "owner").unwrap(), "dana");
        assert_eq!(
            crate::yaml::mapping::lookup(&fm, "next_step.due").unwrap(),
            "2026-12-05"
        );
        assert!(crate::yaml::mapping::lookup(&fm, "stages.outreach").is_some());
        assert!(crate::yaml::mapping::lookup(&fm, "stages.qualification").is_some());
    }

    #[test]
    fn one_leaf_two_values_is_a_conflict_around_its_line() {
        let base = "---\ntitle: A\nvalue: 100\nowner: bob\n---\n";
        let r = m(
            base,
            &base.replace("100", "200"),
            &base.replace("100", "300"),
        );
        assert_eq!(r.conflicts, 1);
        assert_eq!(
            r.text,
            "---\ntitle: A\n<<<<<<< ours\nvalue: 200\n=======\nvalue: 300\n>>>>>>> theirs\nowner: bob\n---\n"
        );
        assert!(crate::base::conflict::find(&r.text).is_some());
    }

    #[test]
    fn objections_added_on_both_sides_are_all_kept() {
        let base = "---\ntitle: A\nobjections:\n  - objection: Price\n    resolved: false\n---\n";
        let ours = "---\ntitle: A\nobjections:\n  - objection: Price\n    resolved: true\n    response: Discount\n  - objection: Timing\n    resolved: false\n---\n";
        let theirs = "---\ntitle: A\nobjections:\n  - objection: Price\n    resolved: false\n  - objection: Legal\n    resolved: false\n---\n";
        let r = m(base, ours, theirs);
        assert_eq!(r.conflicts, 0, "{}", r.text);
        let fm = edit::mapping_of(&r.text).unwrap();
        let items = fm.get("objections").unwrap().as_sequence().unwrap();
        let names: Vec<&str> = items
            .iter()
            .map(|i| i.get("objection").unwrap().as_str().unwrap())
            .collect();
        assert_eq!(names, ["Price", "Timing", "Legal"]);
        assert_eq!(items[0].get("resolved").unwrap(), &Value::Bool(true));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const STAGES: [&str; 4] = ["prospecting", "outreach", "qualification", "discovery"];
        const LEAVES: [&str; 7] = [
            "title",
            "owner",
            "value",
            "next_step.action",
            "next_step.due",
            "contact.email",
            "contact.name",
        ];

        /// One side's edit of the front-matter, at the leaf level.
        #[derive(Debug, Clone)]
        enum E {
            Set(usize, String),
            Remove(usize),
            Stage(usize, u8),
            Waive(usize, u8),
            Object(u8),
            Resolve(usize, u8),
        }

        fn edit_strategy() -> impl Strategy<Value = E> {
            prop_oneof![
                (0..LEAVES.len(), "[a-c]{1,2}").prop_map(|(i, v)| E::Set(i, v)),
                // `title` stays: a deal always has one (an empty `{}` front-matter
                // is not one the line editor extends).
                (1..LEAVES.len()).prop_map(E::Remove),
                (0..STAGES.len(), 1u8..4).prop_map(|(i, d)| E::Stage(i, d)),
                (0..STAGES.len(), 0u8..3).prop_map(|(i, r)| E::Waive(i, r)),
                (0u8..4).prop_map(E::Object),
                (0usize..3, 0u8..3).prop_map(|(i, r)| E::Resolve(i, r)),
            ]
        }

        fn get<'a>(m: &'a mut Mapping, k: &str) -> &'a mut Mapping {
            let e = m
                .entry(Value::String(k.into()))
                .or_insert_with(|| Value::Mapping(Mapping::new()));
            if !e.is_mapping() {
                *e = Value::Mapping(Mapping::new());
            }
            e.as_mapping_mut().unwrap()
        }

        /// Applies an edit to the model; the leaf it decides (for the
        /// rules), or `None` for an append.
        fn apply(m: &mut Mapping, base_items: usize, e: &E) -> Vec<String> {
            match e {
                E::Set(i, _) | E::Remove(i) => {
                    let path: Vec<&str> = LEAVES[*i].split('.').collect();
                    let (parent, leaf) = if path.len() == 2 {
                        (get(m, path[0]), path[1])
                    } else {
                        (&mut *m, path[0])
                    };
                    match e {
                        E::Set(_, v) => {
                            let val = if leaf == "value" {
                                Value::Number((v.len() as u64 * 100).into())
                            } else {
                                Value::String(v.clone())
                            };
                            parent.insert(Value::String(leaf.into()), val);
                        }
                        _ => {
                            parent.remove(leaf);
                        }
                    }
                    if path.len() == 2 && get(m, path[0]).is_empty() {
                        m.remove(path[0]);
                    }
                    vec![LEAVES[*i].to_string()]
                }
                E::Stage(i, d) => {
                    get(m, "stages").insert(
                        Value::String(STAGES[*i].into()),
                        Value::String(format!("2026-11-0{d}")),
                    );
                    vec![format!("stages.{}", STAGES[*i])]
                }
                E::Waive(i, r) => {
                    get(m, "waived").insert(
                        Value::String(STAGES[*i].into()),
                        Value::String(format!("reason {r}")),
                    );
                    vec![format!("waived.{}", STAGES[*i])]
                }
                E::Object(t) => {
                    let list = m
                        .entry(Value::String(OBJECTIONS.into()))
                        .or_insert_with(|| Value::Sequence(Vec::new()));
                    let mut item = Mapping::new();
                    item.insert("objection".into(), Value::String(format!("concern {t}")));
                    item.insert("resolved".into(), Value::Bool(false));
                    list.as_sequence_mut().unwrap().push(Value::Mapping(item));
                    Vec::new()
                }
                E::Resolve(i, r) => {
                    if *i >= base_items {
                        return Vec::new();
                    }
                    let list = m.get_mut(OBJECTIONS).unwrap().as_sequence_mut().unwrap();
                    let item = list[*i].as_mapping_mut().unwrap();
                    item.insert("resolved".into(), Value::Bool(true));
                    item.insert("response".into(), Value::String(format!("answer {r}")));
                    vec![
                        format!("objections.{i}.resolved"),
                        format!("objections.{i}.response"),
                    ]
                }
            }
        }

        /// Every leaf an edit can decide.
        fn universe(n: usize) -> Vec<String> {
            let mut out: Vec<String> = LEAVES.iter().map(|l| l.to_string()).collect();
            for s in STAGES {
                out.push(format!("stages.{s}"));
                out.push(format!("waived.{s}"));
            }
            for i in 0..n {
                out.push(format!("objections.{i}.resolved"));
                out.push(format!("objections.{i}.response"));
            }
            out
        }

        /// Sets (or removes, dropping a parent left empty) one leaf.
        fn set_leaf(m: &mut Mapping, leaf: &str, v: Option<Value>) {
            let path: Vec<&str> = leaf.split('.').collect();
            if path[0] == OBJECTIONS {
                let i: usize = path[1].parse().unwrap();
                let item = m.get_mut(OBJECTIONS).unwrap().as_sequence_mut().unwrap()[i]
                    .as_mapping_mut()
                    .unwrap();
                match v {
                    Some(v) => item.insert(path[2].into(), v),
                    None => item.remove(path[2]),
                };
                return;
            }
            let (parent, key) = if path.len() == 2 {
                (get(m, path[0]), path[1])
            } else {
                (&mut *m, path[0])
            };
            match v {
                Some(v) => {
                    parent.insert(key.into(), v);
                }
                None => {
                    parent.remove(key);
                }
            }
            if path.len() == 2 && get(m, path[0]).is_empty() {
                m.remove(path[0]);
            }
        }

        fn leaf_value(m: &Mapping, leaf: &str) -> Option<Value> {
            crate::yaml::mapping::lookup(m, leaf).cloned()
        }

        fn text(m: &Mapping) -> String {
            format!(
                "---\n{}---\n# Deal\n\nNotes.\n",
                serde_yaml::to_string(m).unwrap()
            )
        }

        fn base_strategy() -> impl Strategy<Value = (Mapping, usize)> {
            (proptest::collection::vec(edit_strategy(), 0..8), 0usize..3).prop_map(|(edits, n)| {
                let mut m = Mapping::new();
                m.insert("title".into(), "Deal".into());
                for e in &edits {
                    if !matches!(e, E::Object(_) | E::Resolve(..)) {
                        apply(&mut m, 0, e);
                    }
                }
                for i in 0..n {
                    apply(&mut m, 0, &E::Object(i as u8 + 5));
                }
                (m, n)
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// Any three texts merge without a panic; a clean result of
            /// three deal files is a deal file.
            #[test]
            fn any_text_merges_without_panic(
                base in "(---\n)?([a-z_]{1,6}: [a-z0-9 :\\[\\]{}-]{0,8}\n|  - [a-z]{0,4}\n|# x\n){0,6}(---\n)?[a-z \n]{0,20}",
                ours in "(---\n)?([a-z_]{1,6}: [a-z0-9 :\\[\\]{}-]{0,8}\n|  - [a-z]{0,4}\n|# x\n){0,6}(---\n)?[a-z \n]{0,20}",
                theirs in "(---\n)?([a-z_]{1,6}: [a-z0-9 :\\[\\]{}-]{0,8}\n|  - [a-z]{0,4}\n|# x\n){0,6}(---\n)?[a-z \n]{0,20}",
            ) {
                let r = merge(&base, &ours, &theirs, 7, &L);
                if r.conflicts == 0 && parts(&ours).is_some() && parts(&theirs).is_some() && parts(&base).is_some() {
                    prop_assert!(parts(&r.text).is_some(), "a clean, broken merge:\n{}", r.text);
                }
            }

            /// The rules of docs/reference.md, "Merging deal files": disjoint
            /// edits and additions to `objections`, `stages` and `waived`
            /// merge cleanly, to exactly both sides' changes; the same leaf
            /// changed to two values is always a conflict, never a choice.
            #[test]
            fn merges_follow_the_leaf_rules(
                (base, n) in base_strategy(),
                ours_edits in proptest::collection::vec(edit_strategy(), 0..6),
                theirs_edits in proptest::collection::vec(edit_strategy(), 0..6),
            ) {
                let mut ours = base.clone();
                let mut touched_o = BTreeSet::new();
                for e in &ours_edits {
                    touched_o.extend(apply(&mut ours, n, e));
                }
                let mut theirs = base.clone();
                let mut touched_t = BTreeSet::new();
                for e in &theirs_edits {
                    touched_t.extend(apply(&mut theirs, n, e));
                }
                // A leaf each side changed from the base, to different values.
                let changed = |m: &Mapping, leaf: &str| leaf_value(m, leaf) != leaf_value(&base, leaf);
                let clash = touched_o.intersection(&touched_t).any(|leaf| {
                    changed(&ours, leaf)
                        && changed(&theirs, leaf)
                        && leaf_value(&ours, leaf) != leaf_value(&theirs, leaf)
                });
                let r = merge(&text(&base), &text(&ours), &text(&theirs), 7, &L);
                if clash {
                    prop_assert!(r.conflicts > 0, "a silent choice:\n{}", r.text);
                    prop_assert!(crate::base::conflict::find(&r.text).is_some(), "{}", r.text);
                } else {
                    prop_assert_eq!(r.conflicts, 0, "{}", r.text);
                    // Expected: ours, with every leaf theirs changed, then
                    // theirs' appended objections (one copy when both
                    // appended the very same items).
                    let mut want = ours.clone();
                    for leaf in universe(n) {
                        if changed(&theirs, &leaf) {
                            set_leaf(&mut want, &leaf, leaf_value(&theirs, &leaf));
                        }
                    }
                    let appended = |m: &Mapping| {
                        m.get(OBJECTIONS)
                            .and_then(Value::as_sequence)
                            .map(|s| s[n.min(s.len())..].to_vec())
                            .unwrap_or_default()
                    };
                    let (ao, at) = (appended(&ours), appended(&theirs));
                    if ao != at && !at.is_empty() {
                        let list = want
                            .entry(Value::String(OBJECTIONS.into()))
                            .or_insert_with(|| Value::Sequence(Vec::new()));
                        list.as_sequence_mut().unwrap().extend(at);
                    }
                    let got = edit::mapping_of(&r.text).unwrap();
                    prop_assert_eq!(Value::Mapping(got), Value::Mapping(want), "{}", r.text);
                }
            }
        }
    }
}
