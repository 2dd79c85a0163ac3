//! Reading git trees and history the way `git log` and `git diff` do:
//! tree-to-tree diffs pruned by subtree id (an unchanged folder costs one
//! id comparison), and HEAD's first-parent line.
//!
//! The diff is hand-written rather than `git2::Diff` with a pathspec: libgit2
//! matches the pathspec against every entry of both trees, while comparing
//! subtree ids skips the nine unchanged stage folders of a move outright.
//! It reads the two trees' raw objects and walks their entries in step, in
//! git's stored order, without building libgit2's parsed entry arrays (whose
//! octal-mode parsing and allocations dominated a profile of `deal audit`),
//! so its cost follows the size of the folders that changed.

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

    /// A submodule's entry (a commit id, not a file).
    pub fn is_submodule(&self) -> bool {
        self.mode == GITLINK
    }
}

/// One path that differs between two trees.
#[derive(Debug, Clone)]
pub struct Changed {
    pub path: String,
    pub old: Option<TreeFile>,
    pub new: Option<TreeFile>,
}

/// Every file under `tree` except below the folder `skip` (a path relative
/// to `tree`, with or without a trailing `/`; empty skips nothing).
pub fn list_except(tree: &Tree, skip: &str) -> Vec<TreeFile> {
    let skip = skip.trim_end_matches('/');
    let mut out = Vec::new();
    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |parent, e| {
        let path = format!("{parent}{}", e.name().unwrap_or(""));
        match e.kind() {
            Some(ObjectType::Tree) if !skip.is_empty() && path == skip => {
                git2::TreeWalkResult::Skip
            }
            Some(ObjectType::Blob) => {
                out.push(TreeFile {
                    path,
                    id: e.id(),
                    mode: e.filemode(),
                });
                git2::TreeWalkResult::Ok
            }
            _ => git2::TreeWalkResult::Ok,
        }
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

/// Git's order of tree entries (`base_name_compare`): by name, a folder
/// compared as if its name ended in `/`. Trees are stored in this order, so
/// two trees are walked in step without sorting or copying.
fn git_cmp(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {
            let next = |s: &[u8], dir: bool| match s.get(n) {
                Some(c) => *c,
                None if dir => b'/',
                None => 0,
            };
            next(a, a_dir).cmp(&next(b, b_dir))
        }
        o => o,
    }
}

/// One entry of a raw tree object: `<octal mode> <name>\0<20-byte id>`.
#[derive(Clone, Copy)]
struct RawEntry<'a> {
    mode: &'a [u8],
    name: &'a [u8],
    id: &'a [u8],
}

impl RawEntry<'_> {
    fn is_dir(&self) -> bool {
        self.mode == b"40000"
    }

    fn mode(&self) -> i32 {
        self.mode.iter().fold(0i32, |m, d| {
            m.wrapping_mul(8) + i32::from(d.wrapping_sub(b'0') & 7)
        })
    }

    fn oid(&self) -> Option<Oid> {
        Oid::from_bytes(self.id).ok()
    }
}

/// The entries of a raw tree object, in stored order; stops at the first
/// malformed entry.
fn raw_entries(data: &[u8]) -> impl Iterator<Item = RawEntry<'_>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let sp = rest.iter().position(|&b| b == b' ')?;
        let nul = sp + rest[sp..].iter().position(|&b| b == 0)?;
        let end = nul + 1 + 20;
        if end > rest.len() {
            return None;
        }
        let e = RawEntry {
            mode: &rest[..sp],
            name: &rest[sp + 1..nul],
            id: &rest[nul + 1..end],
        };
        rest = &rest[end..];
        Some(e)
    })
}

/// The id of the file at `path` (`/`-separated) under the tree `tree`,
/// read from the raw tree objects on the way down: `None` when a folder on
/// the way or the file is missing, or the last entry is a folder or a
/// submodule. Trees the object database lacks are added to `missing`.
pub fn file_id(odb: &git2::Odb, tree: Oid, path: &str, missing: &mut Vec<Oid>) -> Option<Oid> {
    let path = path.trim_matches('/');
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let at = dir_id(odb, tree, dir, missing)?;
    let obj = read_tree(odb, at, missing)?;
    let e = raw_entries(obj.data()).find(|e| e.name == name.as_bytes())?;
    (!e.is_dir() && e.mode() != GITLINK)
        .then(|| e.oid())
        .flatten()
}

/// The id of the folder at `path` (`/`-separated; empty: `tree` itself)
/// under the tree `tree`, from the raw tree objects on the way down: `None`
/// when a folder on the way is not there. Trees on the way the object
/// database lacks (a partial clone's) are added to `missing`, so that a
/// folder the clone never fetched is not taken for an empty one; the folder
/// found is not read here.
pub fn dir_id(odb: &git2::Odb, tree: Oid, path: &str, missing: &mut Vec<Oid>) -> Option<Oid> {
    let mut at = tree;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let obj = read_tree(odb, at, missing)?;
        let e = raw_entries(obj.data()).find(|e| e.name == part.as_bytes() && e.is_dir())?;
        at = e.oid()?;
    }
    // The folder itself is read by whoever asked for it, which notes it
    // when it is missing.
    Some(at)
}

/// Every file under the tree `tree` (not submodules), paths relative to
/// it, from the raw tree objects; trees the object database lacks are
/// added to `missing`.
pub fn list_raw(odb: &git2::Odb, tree: Oid, missing: &mut Vec<Oid>) -> Vec<TreeFile> {
    fn walk(
        odb: &git2::Odb,
        tree: Oid,
        prefix: &str,
        out: &mut Vec<TreeFile>,
        missing: &mut Vec<Oid>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(obj) = read_tree(odb, tree, missing) else {
            return;
        };
        for e in raw_entries(obj.data()) {
            let name = String::from_utf8_lossy(e.name);
            let Some(id) = e.oid() else { continue };
            if e.is_dir() {
                walk(
                    odb,
                    id,
                    &format!("{prefix}{name}/"),
                    out,
                    missing,
                    depth + 1,
                );
            } else if e.mode() != GITLINK {
                out.push(TreeFile {
                    path: format!("{prefix}{name}"),
                    id,
                    mode: e.mode(),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(odb, tree, "", &mut out, missing, 0);
    out
}

/// A submodule's mode in a tree.
const GITLINK: i32 = 0o160000;

/// A tree object, or `None` when it cannot be read (added to `missing`) or
/// is not a tree.
fn read_tree<'o>(
    odb: &'o git2::Odb,
    id: Oid,
    missing: &mut Vec<Oid>,
) -> Option<git2::OdbObject<'o>> {
    match odb.read(id) {
        Ok(o) if o.kind() == ObjectType::Tree => Some(o),
        Ok(_) => None,
        Err(_) => {
            missing.push(id);
            None
        }
    }
}

/// The files that differ between `old` and `new` (either may be absent),
/// paths relative to them, sorted by path.
pub fn diff(repo: &Repository, old: Option<&Tree>, new: Option<&Tree>) -> Vec<Changed> {
    let Ok(odb) = repo.odb() else {
        return Vec::new();
    };
    diff_raw(
        &odb,
        old.map(|t| t.id()),
        new.map(|t| t.id()),
        &mut Vec::new(),
    )
}

/// [`diff`] of two tree ids; trees the object database lacks are added to
/// `missing` (and read as empty).
pub fn diff_raw(
    odb: &git2::Odb,
    old: Option<Oid>,
    new: Option<Oid>,
    missing: &mut Vec<Oid>,
) -> Vec<Changed> {
    let mut out = Vec::new();
    diff_ids(odb, old, new, "", &mut out, 0, missing);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Depth guard: git refuses trees deeper than this too.
const MAX_DEPTH: usize = 64;

fn diff_ids(
    odb: &git2::Odb,
    old: Option<Oid>,
    new: Option<Oid>,
    prefix: &str,
    out: &mut Vec<Changed>,
    depth: usize,
    missing: &mut Vec<Oid>,
) {
    if depth > MAX_DEPTH || old == new {
        return;
    }
    // A tree that cannot be read (noted in `missing`) reads as empty.
    let a = old.and_then(|id| read_tree(odb, id, missing));
    let b = new.and_then(|id| read_tree(odb, id, missing));
    let mut xs = raw_entries(a.as_ref().map_or(&[][..], |o| o.data())).peekable();
    let mut ys = raw_entries(b.as_ref().map_or(&[][..], |o| o.data())).peekable();
    loop {
        let ord = match (xs.peek(), ys.peek()) {
            (Some(x), Some(y)) => git_cmp(x.name, x.is_dir(), y.name, y.is_dir()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match ord {
            Ordering::Less => side(odb, xs.next(), None, prefix, out, depth, missing),
            Ordering::Greater => side(odb, None, ys.next(), prefix, out, depth, missing),
            Ordering::Equal => {
                let (x, y) = (xs.next(), ys.next());
                if let (Some(x), Some(y)) = (x, y)
                    && (x.id != y.id || x.mode != y.mode)
                {
                    side(odb, Some(x), Some(y), prefix, out, depth, missing);
                }
            }
        }
    }
}

fn side(
    odb: &git2::Odb,
    old: Option<RawEntry>,
    new: Option<RawEntry>,
    prefix: &str,
    out: &mut Vec<Changed>,
    depth: usize,
    missing: &mut Vec<Oid>,
) {
    let name = old
        .or(new)
        .map(|x| String::from_utf8_lossy(x.name).into_owned());
    let path = format!("{prefix}{}", name.unwrap_or_default());
    let old_dir = old.filter(|x| x.is_dir()).and_then(|x| x.oid());
    let new_dir = new.filter(|x| x.is_dir()).and_then(|x| x.oid());
    if old_dir.is_some() || new_dir.is_some() {
        diff_ids(
            odb,
            old_dir,
            new_dir,
            &format!("{path}/"),
            out,
            depth + 1,
            missing,
        );
    }
    let file = |x: RawEntry| {
        Some(TreeFile {
            path: path.clone(),
            id: x.oid()?,
            mode: x.mode(),
        })
    };
    let old_file = old.filter(|x| !x.is_dir()).and_then(file);
    let new_file = new.filter(|x| !x.is_dir()).and_then(file);
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
    /// The commit's own trailers, as git reads them (its last paragraph).
    pub trailers: Vec<(String, String)>,
    /// Every `deal` trailer block of its message, a squash's included
    /// ([`deal_blocks`]), in the order they appear.
    pub blocks: Vec<Block>,
    /// `Name <email>` of its author (which rebases and squashes keep).
    pub author: String,
    /// Author time, seconds since the epoch (which rebases and
    /// cherry-picks keep, where they rewrite the committer time).
    pub author_time: i64,
    /// The commits its message says it reverts ("This reverts commit …").
    pub reverts: Vec<Oid>,
    /// Its subject line.
    pub subject: String,
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

/// The trailer keys `deal` writes (README, "Commits"). A paragraph of a
/// message is one of `deal`'s trailer blocks when it has one of these.
pub const DEAL_KEYS: &[&str] = &[
    "Deal",
    "From-Stage",
    "To-Stage",
    "Owner",
    "Previous-Owner",
    "Forced",
    "Forced-By",
    "Lost-Reason",
    "Imported",
    "Resolved",
    "Objection",
    "Criteria-Change",
];

/// One of `deal`'s trailer blocks, wherever a message holds it: a commit's
/// own trailers, or one squashed commit's inside a squash's body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    pub trailers: Vec<(String, String)>,
    /// `Name <email>` of the squashed commit that wrote it, where the
    /// squash names it (`git merge --squash`'s `Author:` line).
    pub author: Option<String>,
    /// That commit's author time, where the squash names it (its `Date:`
    /// line), seconds since the epoch.
    pub date: Option<i64>,
}

impl Block {
    /// The value of trailer `key` (any case), if the block has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// `Key: value` where the key is a trailer token (letters, digits, `-`,
/// starting with a letter or digit) followed directly by `:`.
fn trailer_line(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    let token = !k.is_empty()
        && k.len() <= 64
        && k.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    token.then(|| (k, v.trim()))
}

/// A line with its indentation and one list marker (`* `, `- `) taken off:
/// how squash messages nest each squashed message.
fn unnest(line: &str) -> &str {
    let l = line.trim_start();
    let l = l
        .strip_prefix("* ")
        .or_else(|| l.strip_prefix("- "))
        .unwrap_or(l);
    l.trim()
}

/// Every `deal` trailer block in `message`, oldest first: its own last
/// paragraph, and the blocks a squash copied into its body (`git merge
/// --squash`'s "Squashed commit of the following:" with each message
/// indented, newest first as `git log` lists them, or a forge's list of
/// messages, oldest first, indented or as `* ` bullets).
///
/// A block is a paragraph (lines between blank lines, each taken without
/// its indentation and list marker) in which every line is `Key: value`
/// with a trailer token for a key, at least one key is one of
/// [`DEAL_KEYS`], and a `Deal:` value, if any, is one word (a slug). So
/// prose that mentions "Deal:" mid-sentence, or a paragraph with one line
/// of prose, is no block. A squashed message's subject (a bullet that is
/// not itself a trailer, or an indented line opening a paragraph) is not
/// part of the paragraph it opens, so a forge's compact list, each subject
/// followed directly by its indented trailers, gives one block each
/// (docs/reference.md, "Audit").
pub fn deal_blocks(message: &str) -> Vec<Block> {
    struct Para<'m> {
        lines: Vec<(&'m str, &'m str)>,
        whole: bool,
        /// It opened with a squashed message's subject (not part of it).
        subject: bool,
    }
    fn flush(out: &mut Vec<Block>, p: &mut Para, author: &Option<String>, date: Option<i64>) {
        let deal_key = p
            .lines
            .iter()
            .any(|(k, _)| DEAL_KEYS.iter().any(|d| d.eq_ignore_ascii_case(k)));
        let slug_ok = p.lines.iter().all(|(k, v)| {
            !k.eq_ignore_ascii_case("Deal") || (!v.is_empty() && !v.contains(char::is_whitespace))
        });
        if p.whole && !p.lines.is_empty() && deal_key && slug_ok {
            out.push(Block {
                trailers: p
                    .lines
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                author: author.clone(),
                date,
            });
        }
        p.lines.clear();
        p.whole = true;
        p.subject = false;
    }
    let mut out = Vec::new();
    let mut para = Para {
        lines: Vec::new(),
        whole: true,
        subject: false,
    };
    // `git merge --squash`: `commit <id>` / `Author: …` / `Date: …` at the
    // left margin before each squashed message.
    let mut author: Option<String> = None;
    let mut date: Option<i64> = None;
    let mut in_header = false;
    // Where the blocks under `commit <id>` headers start in `out`: git
    // lists them newest first.
    let mut listed_from: Option<usize> = None;
    for raw in message.lines() {
        let margin = !raw.starts_with([' ', '\t']);
        if margin && let Some(id) = raw.strip_prefix("commit ") {
            let id = id.trim();
            if id.len() >= 7 && id.chars().all(|c| c.is_ascii_hexdigit()) {
                flush(&mut out, &mut para, &author, date);
                listed_from.get_or_insert(out.len());
                author = None;
                date = None;
                in_header = true;
                continue;
            }
        }
        if in_header && margin {
            if let Some(a) = raw.strip_prefix("Author:") {
                author = Some(a.trim().to_string());
                continue;
            }
            if let Some(d) = raw.strip_prefix("Date:") {
                date = chrono::DateTime::parse_from_str(d.trim(), "%a %b %e %H:%M:%S %Y %z")
                    .ok()
                    .map(|t| t.timestamp());
                continue;
            }
            if raw.starts_with("Merge:") || raw.starts_with("Commit:") {
                continue;
            }
        }
        let line = unnest(raw);
        if line.is_empty() {
            in_header = false;
            flush(&mut out, &mut para, &author, date);
            continue;
        }
        in_header = false;
        let kv = trailer_line(line);
        let indented = raw.starts_with([' ', '\t']);
        let bullet = {
            let l = raw.trim_start();
            l.starts_with("* ") || l.starts_with("- ")
        };
        // A squashed message's subject: a bullet that is not itself a
        // trailer (it starts a new message, blank line or not), or an
        // indented line opening a paragraph. The lines after it are that
        // message's block when every one is a trailer.
        if kv.is_none()
            && (bullet || (indented && para.lines.is_empty() && para.whole && !para.subject))
        {
            flush(&mut out, &mut para, &author, date);
            para.subject = true;
            continue;
        }
        match kv {
            Some(kv) if para.whole => para.lines.push(kv),
            _ => para.whole = false,
        }
    }
    flush(&mut out, &mut para, &author, date);
    if let Some(from) = listed_from {
        out[from..].reverse();
    }
    out
}

/// The commits a message says it reverts: `This reverts commit <id>.`, as
/// `git revert` writes it (a squash of reverts may hold several).
pub fn reverted(message: &str) -> Vec<String> {
    message
        .lines()
        .filter_map(|l| unnest(l).strip_prefix("This reverts commit "))
        .filter_map(|rest| {
            let id: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            (id.len() >= 7).then_some(id)
        })
        .collect()
}

/// Reads one commit.
pub fn commit(repo: &Repository, id: Oid) -> Option<Commit> {
    let c = repo.find_commit(id).ok()?;
    let message = String::from_utf8_lossy(c.message_bytes());
    let author = c.author();
    Some(Commit {
        id,
        time: c.time().seconds(),
        trailers: trailers(&message),
        blocks: deal_blocks(&message),
        author: format!(
            "{} <{}>",
            String::from_utf8_lossy(author.name_bytes()),
            String::from_utf8_lossy(author.email_bytes())
        ),
        author_time: author.when().seconds(),
        subject: message.lines().next().unwrap_or("").trim().to_string(),
        reverts: reverted(&message)
            .iter()
            .filter_map(|h| {
                Oid::from_str(h)
                    .ok()
                    .filter(|_| h.len() == 40)
                    .or_else(|| repo.revparse_single(h).ok().map(|o| o.id()))
            })
            .collect(),
        parents: c.parent_ids().collect(),
    })
}

/// The reason a commit gives for changing criteria: the newest
/// `Criteria-Change:` that says something in its own message (a squash's
/// body included), else in the commits a merge brought in. The one reading
/// of it, whatever way the change reached the main line.
pub fn criteria_reason(repo: &Repository, c: &Commit) -> Option<String> {
    fn said(blocks: &[Block], own: &[(String, String)]) -> Option<String> {
        blocks
            .iter()
            .rev()
            .filter_map(|b| b.get("Criteria-Change"))
            .chain(
                own.iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("Criteria-Change"))
                    .map(|(_, v)| v.as_str()),
            )
            .find(|r| r.chars().any(char::is_alphanumeric))
            .map(str::to_string)
    }
    said(&c.blocks, &c.trailers).or_else(|| {
        if !c.is_merge() {
            return None;
        }
        brought_in(repo, c)
            .iter()
            .rev()
            .find_map(|s| said(&s.blocks, &s.trailers))
    })
}

/// A commit's tree, parents and committer time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
}

/// Reads a commit's [`Header`] from its raw object, without parsing the
/// rest (authors, message) as `find_commit` does: `deal trend` walks a
/// first-parent line of thousands of commits and needs no more.
pub fn header(odb: &git2::Odb, id: Oid) -> Option<Header> {
    let obj = odb.read(id).ok()?;
    if obj.kind() != ObjectType::Commit {
        return None;
    }
    parse_header(obj.data())
}

fn parse_header(data: &[u8]) -> Option<Header> {
    let hex = |h: &[u8]| {
        std::str::from_utf8(h)
            .ok()
            .and_then(|h| Oid::from_str(h).ok())
    };
    let (mut tree, mut parents, mut time) = (None, Vec::new(), None);
    for line in data.split(|b| *b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(h) = line.strip_prefix(b"tree ") {
            tree = hex(h);
        } else if let Some(h) = line.strip_prefix(b"parent ") {
            parents.push(hex(h)?);
        } else if let Some(c) = line.strip_prefix(b"committer ") {
            // `Name <email> <seconds> <zone>`
            let c = std::str::from_utf8(c).ok()?;
            let mut back = c.rsplitn(3, ' ');
            back.next();
            time = back.next().and_then(|t| t.parse().ok());
        }
    }
    Some(Header {
        tree: tree?,
        parents,
        // A date git's fsck flags (`badDate`) reads as 0, as git log shows it.
        time: time.unwrap_or(0),
    })
}

/// Whether `ancestor` is reachable from `head` within `limit` commits
/// (breadth first over every parent). When it is, it is the merge-base of
/// the two, exactly: the usual pull request, branched from the base's tip.
/// libgit2's merge-base walks the whole history to say so (28 ms of a 42 ms
/// review on 20,000 commits); this costs the pull request's own commits.
/// `false` says nothing: the caller asks libgit2.
pub fn reaches(repo: &Repository, head: Oid, ancestor: Oid, limit: usize) -> bool {
    use std::collections::{HashSet, VecDeque};
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([head]);
    while let Some(id) = queue.pop_front() {
        if id == ancestor {
            return true;
        }
        if !seen.insert(id) || seen.len() > limit {
            if seen.len() > limit {
                return false;
            }
            continue;
        }
        if let Ok(c) = repo.find_commit(id) {
            queue.extend(c.parent_ids());
        }
    }
    false
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

/// One line of a deal's log: the short commit id, its author date
/// (`YYYY-MM-DD`) and subject.
#[derive(Debug, serde::Serialize)]
pub struct LogLine {
    pub id: String,
    pub date: String,
    pub subject: String,
}

/// The deal's last 30 commits, newest first, as `git log` lists them
/// (its file in any stage folder); none where git cannot say.
pub fn deal_log(root: &std::path::Path, deals_dir: &str, slug: &str) -> Vec<LogLine> {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args([
            "log",
            "-n",
            "30",
            "--no-show-signature",
            "--format=%h%x1f%as%x1f%s",
            "--",
            &format!(":(glob){deals_dir}/**/{slug}.md"),
        ])
        .stderr(std::process::Stdio::null())
        .output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, '\u{1f}');
            Some(LogLine {
                id: it.next()?.to_string(),
                date: it.next()?.to_string(),
                subject: it.next()?.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_commit_with_a_bad_date_reads_as_time_zero() {
        let tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        let bad = format!(
            "{tree}author A <a@x> 1700000000 +0000\ncommitter C <c@x> notadate +0000\n\nmsg\n"
        );
        assert_eq!(super::parse_header(bad.as_bytes()).map(|h| h.time), Some(0));
        let good = format!("{tree}committer C <c@x> 1700000000 +0100\n\nmsg\n");
        assert_eq!(
            super::parse_header(good.as_bytes()).map(|h| h.time),
            Some(1700000000)
        );
    }

    fn keys(b: &super::Block) -> Vec<String> {
        b.trailers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect()
    }

    #[test]
    fn a_commits_own_trailers_are_one_block() {
        let m = "deal(acme): qualification -> discovery\n\nDeal: acme\nFrom-Stage: qualification\nTo-Stage: discovery\nOwner: bob <bob@example.com>\n";
        let b = super::deal_blocks(m);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].get("to-stage"), Some("discovery"));
        assert_eq!(b[0].author, None);
    }

    #[test]
    fn git_merge_squash_blocks_are_indented_with_their_authors() {
        let m = "Squash branch work\n\nSquashed commit of the following:\n\ncommit 1111111111111111111111111111111111111111\nAuthor: Bob Jones <bob@example.com>\nDate:   Fri Nov 27 12:00:00 2026 +0000\n\n    deal(acme): outreach -> qualification\n    \n    Deal: acme\n    From-Stage: outreach\n    To-Stage: qualification\n    Owner: bob <bob@example.com>\n\ncommit 2222222\nAuthor: Carol <carol@example.com>\nDate:   Fri Nov 27 12:00:00 2026 +0000\n\n    Tighten discovery\n    \n    Criteria-Change: discovery needs a champion\n";
        // git lists the squashed commits newest first; blocks read oldest
        // first.
        let b = super::deal_blocks(m);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!(b[1].get("Deal"), Some("acme"));
        assert_eq!(b[1].author.as_deref(), Some("Bob Jones <bob@example.com>"));
        assert_eq!(b[1].date, Some(1795780800));
        assert_eq!(keys(&b[0]), ["Criteria-Change: discovery needs a champion"]);
        assert_eq!(b[0].author.as_deref(), Some("Carol <carol@example.com>"));
    }

    #[test]
    fn forge_squash_blocks_are_listed_plain_indented_or_as_bullets() {
        let m = "Acme's week (#3)\n\n* deal(acme): a -> b\n\nDeal: acme\nTo-Stage: b\n\n* deal(acme): b -> c\n\n  Deal: acme\n  To-Stage: c\n  Forced: CFO said so\n  Forced-By: bob\n\n* Deal: acme\n* To-Stage: d\n\nCo-authored-by: Bob Jones <bob@example.com>\n";
        let b = super::deal_blocks(m);
        let to: Vec<_> = b.iter().filter_map(|b| b.get("To-Stage")).collect();
        assert_eq!(to, ["b", "c", "d"], "{b:?}");
        assert_eq!(b[1].get("Forced-By"), Some("bob"));
    }

    #[test]
    fn a_compact_forge_squash_lists_each_subject_with_its_trailers() {
        // GitHub's squash: each bullet subject directly followed by its
        // indented trailers, no blank line in between.
        let m = "Feat branch (#2)\n\n* deal(acme): prospecting -> outreach\n  Deal: acme\n  From-Stage: prospecting\n  To-Stage: outreach\n  Owner: alice <alice@example.com>\n* deal(acme): outreach -> qualification\n  Deal: acme\n  To-Stage: qualification\n  Forced: CFO said so\n* Tidy the notes\n  and more prose about the Deal: acme\n\n  deal(beta): a -> b\n  Deal: beta\n  To-Stage: b\n";
        let b = super::deal_blocks(m);
        let to: Vec<_> = b.iter().filter_map(|b| b.get("To-Stage")).collect();
        assert_eq!(to, ["outreach", "qualification", "b"], "{b:?}");
        assert_eq!(b[1].get("Forced"), Some("CFO said so"));
        assert_eq!(b[0].trailers.len(), 4);
    }

    #[test]
    fn prose_that_mentions_deal_is_no_block() {
        for m in [
            "Notes\n\nWe talked about the Deal: acme with bob.\n",
            "Notes\n\nDeal: we lost it on price\nTo-Stage: lost\n",
            "Notes\n\nDeal: acme\nand then the customer called back\n",
            "Notes\n\nSee the Deal: acme\n",
            "Notes\n\nSigned-off-by: Bob <bob@example.com>\n",
            "Notes\n\n* We met the buyer\n  and the Deal: acme is close\n",
            "Notes\n\n  We met the buyer:\n  Deal: we lost it on price\n",
            "Notes\n\n* Deal: acme\n  but the buyer left\n",
        ] {
            assert_eq!(super::deal_blocks(m), Vec::new(), "{m:?}");
        }
    }

    #[test]
    fn reverts_are_read_from_git_reverts_message() {
        let m = "Revert \"deal(acme): a -> b\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n";
        assert_eq!(
            super::reverted(m),
            ["0123456789abcdef0123456789abcdef01234567"]
        );
        assert!(super::reverted("This reverts nothing\n").is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any text reads without panicking.
        #[test]
        fn any_message_reads(m in "(?s).{0,400}") {
            let _ = super::deal_blocks(&m);
            let _ = super::reverted(&m);
        }

        /// Blocks nested as each squash style nests them read back as
        /// written, between paragraphs of prose.
        #[test]
        fn nested_blocks_read_back(
            blocks in proptest::collection::vec(
                ("[a-z][a-z0-9-]{0,12}", "[a-z]{1,10}", "[A-Za-z][A-Za-z ,.]{0,30}"),
                1..4,
            ),
            style in 0usize..3,
        ) {
            let nest = |l: &str| match style {
                0 => format!("    {l}"),
                1 => format!("  {l}"),
                _ => l.to_string(),
            };
            let mut m = "Squash (#1)\n\nSome prose about the work.\n".to_string();
            for (slug, stage, reason) in &blocks {
                let reason = reason.trim();
                m.push_str(&format!("\n* deal({slug}): move\n\n"));
                for l in [
                    format!("Deal: {slug}"),
                    format!("To-Stage: {stage}"),
                    format!("Forced: {reason}"),
                ] {
                    m.push_str(&nest(&l));
                    m.push('\n');
                }
            }
            let got = super::deal_blocks(&m);
            proptest::prop_assert_eq!(got.len(), blocks.len());
            for (b, (slug, stage, reason)) in got.iter().zip(&blocks) {
                proptest::prop_assert_eq!(b.get("Deal"), Some(slug.as_str()));
                proptest::prop_assert_eq!(b.get("To-Stage"), Some(stage.as_str()));
                proptest::prop_assert_eq!(b.get("Forced"), Some(reason.trim()));
            }
        }
    }
}
