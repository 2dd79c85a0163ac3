//! Reading git trees and history the way `git log` and `git diff` do:
//! tree-to-tree diffs pruned by subtree id (an unchanged folder costs one
//! id comparison), and HEAD's first-parent line.
//!
//! The diff is hand-written rather than `git2::Diff` with a pathspec: libgit2
//! matches the pathspec against every entry of both trees, while comparing
//! subtree ids skips the nine unchanged stage folders of a move outright.
//! It walks two sorted entry lists in step, so its cost follows the size of
//! the folders that changed.

use std::cmp::Ordering;

use git2::{ObjectType, Oid, Repository, Tree};

/// A file (blob or symlink) in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path relative to the tree listed, `/`-separated.
    pub path: String,
    pub id: Oid,
    pub mode: i32,
}

impl TreeFile {
    pub fn is_symlink(&self) -> bool {
        self.mode == i32::from(git2::FileMode::Link)
    }
}

/// One path that differs between two trees.
#[derive(Debug, Clone)]
pub struct Changed {
    pub path: String,
    pub old: Option<TreeFile>,
    pub new: Option<TreeFile>,
}

/// Every file under `tree`, paths relative to it.
pub fn list(tree: &Tree) -> Vec<TreeFile> {
    let mut out = Vec::new();
    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |parent, e| {
        if e.kind() == Some(ObjectType::Blob) {
            out.push(TreeFile {
                path: format!("{parent}{}", e.name().unwrap_or("")),
                id: e.id(),
                mode: e.filemode(),
            });
        }
        git2::TreeWalkResult::Ok
    });
    out
}

/// The subtree at `path` (`/`-separated; empty: `tree` itself), if any.
pub fn subtree<'r>(repo: &'r Repository, tree: &Tree<'r>, path: &str) -> Option<Tree<'r>> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return repo.find_tree(tree.id()).ok();
    }
    let e = tree.get_path(std::path::Path::new(path)).ok()?;
    if e.kind() != Some(ObjectType::Tree) {
        return None;
    }
    repo.find_tree(e.id()).ok()
}

struct Item {
    name: Vec<u8>,
    id: Oid,
    mode: i32,
    dir: bool,
}

fn items(tree: Option<&Tree>) -> Vec<Item> {
    let Some(t) = tree else {
        return Vec::new();
    };
    let mut v: Vec<Item> = t
        .iter()
        .map(|e| Item {
            name: e.name_bytes().to_vec(),
            id: e.id(),
            mode: e.filemode(),
            dir: e.kind() == Some(ObjectType::Tree),
        })
        .collect();
    // Git stores a folder as if its name ended in `/`; the walk below pairs
    // entries by plain name, so sort them that way (a file and a folder of
    // the same name pair up, and `side` handles both).
    v.sort_by(|a, b| a.name.cmp(&b.name).then(a.dir.cmp(&b.dir)));
    v
}

/// The files that differ between `old` and `new` (either may be absent),
/// paths relative to them, sorted by path.
pub fn diff(repo: &Repository, old: Option<&Tree>, new: Option<&Tree>) -> Vec<Changed> {
    let mut out = Vec::new();
    diff_into(repo, old, new, "", &mut out, 0);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Depth guard: git refuses trees deeper than this too.
const MAX_DEPTH: usize = 64;

fn diff_into(
    repo: &Repository,
    old: Option<&Tree>,
    new: Option<&Tree>,
    prefix: &str,
    out: &mut Vec<Changed>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    if let (Some(a), Some(b)) = (old, new)
        && a.id() == b.id()
    {
        return;
    }
    let a = items(old);
    let b = items(new);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let ord = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.name.cmp(&y.name),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match ord {
            Ordering::Less => {
                side(repo, Some(&a[i]), None, prefix, out, depth);
                i += 1;
            }
            Ordering::Greater => {
                side(repo, None, Some(&b[j]), prefix, out, depth);
                j += 1;
            }
            Ordering::Equal => {
                let (x, y) = (&a[i], &b[j]);
                if x.id != y.id || x.mode != y.mode {
                    side(repo, Some(x), Some(y), prefix, out, depth);
                }
                i += 1;
                j += 1;
            }
        }
    }
}

fn side(
    repo: &Repository,
    old: Option<&Item>,
    new: Option<&Item>,
    prefix: &str,
    out: &mut Vec<Changed>,
    depth: usize,
) {
    let name = old
        .or(new)
        .map(|x| String::from_utf8_lossy(&x.name).into_owned());
    let path = format!("{prefix}{}", name.unwrap_or_default());
    let file = |x: &Item| TreeFile {
        path: path.clone(),
        id: x.id,
        mode: x.mode,
    };
    let old_dir = old
        .filter(|x| x.dir)
        .and_then(|x| repo.find_tree(x.id).ok());
    let new_dir = new
        .filter(|x| x.dir)
        .and_then(|x| repo.find_tree(x.id).ok());
    if old_dir.is_some() || new_dir.is_some() {
        diff_into(
            repo,
            old_dir.as_ref(),
            new_dir.as_ref(),
            &format!("{path}/"),
            out,
            depth + 1,
        );
    }
    let old_file = old.filter(|x| !x.dir).map(file);
    let new_file = new.filter(|x| !x.dir).map(file);
    if old_file.is_some() || new_file.is_some() {
        out.push(Changed {
            path: path.clone(),
            old: old_file,
            new: new_file,
        });
    }
}

/// One commit on a first-parent line.
#[derive(Debug, Clone)]
pub struct Commit {
    pub id: Oid,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    pub trailers: Vec<(String, String)>,
    pub parents: Vec<Oid>,
}

impl Commit {
    /// The value of trailer `key` (any case), if the commit has it.
    pub fn trailer(&self, key: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

/// A commit's trailers, as git reads them.
pub fn trailers(message: &str) -> Vec<(String, String)> {
    git2::message_trailers_strs(message)
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads one commit.
pub fn commit(repo: &Repository, id: Oid) -> Option<Commit> {
    let c = repo.find_commit(id).ok()?;
    Some(Commit {
        id,
        time: c.time().seconds(),
        trailers: trailers(c.message().unwrap_or("")),
        parents: c.parent_ids().collect(),
    })
}

/// HEAD's first-parent line from `head` back to the root commit, newest
/// first.
pub fn first_parent(repo: &Repository, head: Oid) -> Vec<Commit> {
    let mut out = Vec::new();
    let mut next = Some(head);
    while let Some(id) = next {
        let Some(c) = commit(repo, id) else { break };
        next = c.parents.first().copied();
        out.push(c);
    }
    out
}

/// The commits reachable from `head` but not from `hide`, oldest first.
pub fn range(repo: &Repository, head: Oid, hide: Oid) -> Vec<Commit> {
    let Ok(mut walk) = repo.revwalk() else {
        return Vec::new();
    };
    if walk.push(head).is_err() || walk.hide(hide).is_err() {
        return Vec::new();
    }
    let _ = walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME | git2::Sort::REVERSE);
    walk.flatten().filter_map(|id| commit(repo, id)).collect()
}

/// The commits a merge brought in: reachable from its other parents but not
/// from its first parent, oldest first.
pub fn brought_in(repo: &Repository, merge: &Commit) -> Vec<Commit> {
    let Ok(mut walk) = repo.revwalk() else {
        return Vec::new();
    };
    for p in merge.parents.iter().skip(1) {
        let _ = walk.push(*p);
    }
    if let Some(p) = merge.parents.first() {
        let _ = walk.hide(*p);
    }
    let _ = walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME | git2::Sort::REVERSE);
    walk.flatten().filter_map(|id| commit(repo, id)).collect()
}
