//! The git index: what is staged, conflicts in progress, and the entries a
//! recorded change updates (from the blob already written and the file's
//! stat data), with racy entries smudged and a failed change put back.

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::base::error::Error;
use crate::base::error::Unrestored;
use crate::store::worktree::Change;

use super::rawindex;
use super::repository::*;

/// The files of folder `dir` in the index (stage 0, name, mode, id), if
/// they are exactly HEAD's tree `want` there: no conflict, no subfolder,
/// nothing staged (checked by hashing them as a tree).
pub(super) fn index_folder(repo: &Repo, dir: &str, want: Oid) -> Option<Vec<(Vec<u8>, u32, Oid)>> {
    let out = match repo.raw() {
        Some(raw) => raw.folder(dir)?,
        None => {
            let index = repo.staged_index().ok()?;
            let prefix = format!("{dir}/");
            let start = index.find_prefix(Path::new(&prefix)).ok()?;
            let mut out = Vec::new();
            for i in start..index.len() {
                let e = index.get(i)?;
                let Some(name) = e.path.strip_prefix(prefix.as_bytes()) else {
                    break;
                };
                let stage = (e.flags >> 12) & 3;
                if stage != 0 || name.contains(&b'/') {
                    return None;
                }
                out.push((name.to_vec(), e.mode, e.id));
            }
            out
        }
    };
    let id = Oid::hash_object(git2::ObjectType::Tree, &tree_bytes(&out)).ok()?;
    (id == want).then_some(out)
}

/// The index entries a failed record puts back: by libgit2, or as the
/// raw bytes of the entries at each touched path.
pub(super) enum Saved {
    Lib(Vec<(String, Option<git2::IndexEntry>)>),
    Raw(Vec<(String, Option<Vec<u8>>)>),
}

/// An index entry for a file written at `path` (repository-relative), with
/// its stat data as git records it.
pub(super) fn index_entry(
    meta: &std::fs::Metadata,
    mode: u32,
    id: Oid,
    path: &str,
) -> git2::IndexEntry {
    #[cfg(unix)]
    let (ctime, mtime, dev, ino, uid, gid) = {
        use std::os::unix::fs::MetadataExt;
        (
            git2::IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32),
            git2::IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32),
            meta.dev() as u32,
            meta.ino() as u32,
            meta.uid(),
            meta.gid(),
        )
    };
    #[cfg(not(unix))]
    let (ctime, mtime, dev, ino, uid, gid) = {
        let t = |st: std::io::Result<std::time::SystemTime>| {
            let d = st
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .unwrap_or_default();
            git2::IndexTime::new(d.as_secs() as i32, d.subsec_nanos())
        };
        (t(meta.created()), t(meta.modified()), 0, 0, 0, 0)
    };
    git2::IndexEntry {
        ctime,
        mtime,
        dev,
        ino,
        mode,
        uid,
        gid,
        file_size: meta.len() as u32,
        id,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// Marks entries modified in the last two seconds as "racily clean" the way
/// git does (size 0), so that a file edited in the same clock tick as this
/// index write is re-checked by content, never trusted by its stat data.
pub(super) fn smudge_racy(index: &mut git2::Index) {
    let recent = rawindex::racy_since();
    let racy: Vec<git2::IndexEntry> = index
        .iter()
        .filter(|e| e.file_size != 0 && i64::from(e.mtime.seconds()) >= recent)
        .collect();
    for mut e in racy {
        e.file_size = 0;
        let _ = index.add(&e);
    }
}

/// A git index deal cannot write, with what to do: git's split index and
/// sparse index are read by neither libgit2 nor [`rawindex`].
fn unwritable_index(e: Error) -> Error {
    let text = e.to_string();
    let fix = if text.contains("'link'") {
        "this index is a split index (core.splitIndex); turn it off for deal's writes: `git update-index --no-split-index`"
    } else if text.contains("'sdir'") {
        "this index is a sparse index; `git sparse-checkout set --no-sparse-index` (or `git sparse-checkout disable`) writes a full one"
    } else {
        return e;
    };
    Error::git_from(
        format!("{}; nothing was changed", text.lines().next().unwrap_or("")),
        fix,
        e,
    )
}

/// The pipeline as the index holds it (see [`Repo::index_view`]).
#[derive(Default)]
pub struct IndexView {
    pub files: Vec<String>,
    /// Root-relative path, blob id, file mode.
    pub deals: Vec<(PathBuf, Oid, u32)>,
    pub staged: std::collections::HashSet<PathBuf>,
}

impl Repo {
    /// Refuses when another git process holds the index.
    pub fn check_unlocked(&self) -> Result<(), Error> {
        let lock = self.index_lock();
        if lock.exists() {
            return Err(Error::git(
                format!(
                    "the git index is locked ({} exists): another git process is running, or one crashed",
                    lock.display()
                ),
                format!(
                    "wait for it to finish; if no git command is running (one was killed), remove the stale lock: rm {}",
                    lock.display()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the index holds something at `rel` that HEAD does not: a
    /// file the user staged there (not merely HEAD's copy of a deal whose
    /// move an interrupted command left in the work tree only).
    pub fn staged_at(&self, rel: &str) -> bool {
        let id = match self.raw() {
            Some(raw) => raw.get(rel.as_bytes()).map(|e| e.id),
            None => self
                .staged_index()
                .ok()
                .and_then(|i| i.get_path(Path::new(rel), 0).map(|e| e.id)),
        };
        let Some(id) = id else {
            return false;
        };
        let head = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        head.and_then(|t| t.get_path(Path::new(rel)).ok().map(|e| e.id())) != Some(id)
    }

    /// The blob the index holds at `rel` (repository-relative), if any.
    pub fn index_id(&self, rel: &str) -> Option<Oid> {
        match self.raw() {
            Some(raw) => raw.get(rel.as_bytes()).map(|e| e.id),
            None => self
                .staged_index()
                .ok()
                .and_then(|i| i.get_path(Path::new(rel), 0).map(|e| e.id)),
        }
    }

    /// Whether `rel` (repository-relative) is a new file that an earlier,
    /// interrupted run of the same command left behind whole: HEAD has
    /// nothing there, and the index either nothing or exactly `bytes` (as
    /// git would store them). A rerun then records that file instead of
    /// refusing it or taking another name (docs/safety.md, "No window for
    /// half a file").
    pub fn left_new(&self, rel: &str, bytes: &[u8]) -> bool {
        let head = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        if head.is_some_and(|t| t.get_path(Path::new(rel)).is_ok()) {
            return false;
        }
        match self.index_id(rel) {
            None => true,
            Some(id) => self.blob_id_for(rel, bytes).is_ok_and(|b| b == id),
        }
    }

    /// Whether `bytes` (the work tree's, as git would store them) at `rel`
    /// differ from HEAD's and the index holds them or HEAD's: a change an
    /// interrupted command left in the work tree or staged.
    pub fn left_change(&self, rel: &str, bytes: &[u8]) -> bool {
        let Ok(want) = self.blob_id_for(rel, bytes) else {
            return false;
        };
        let id = self.index_id(rel);
        let head = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        let head = head.and_then(|t| t.get_path(Path::new(rel)).ok().map(|e| e.id()));
        head != Some(want) && (id == Some(want) || id == head)
    }

    /// The index file (`GIT_INDEX_FILE`'s, when set) read directly, if this
    /// process may rewrite it itself: not for a format [`rawindex`] does
    /// not know.
    pub(super) fn raw(&self) -> Option<&rawindex::RawIndex> {
        self.raw
            .get_or_init(|| rawindex::RawIndex::read(&self.index_path()))
            .as_ref()
    }

    /// Every repository-relative path `changes` touch, once each.
    pub(super) fn touched(&self, changes: &[Change]) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for c in changes {
            let paths = c
                .old
                .into_iter()
                .chain(c.gone.iter().map(PathBuf::as_path))
                .chain([c.new]);
            for p in paths {
                let rel = self.rel(p)?;
                if seen.insert(rel.clone()) {
                    out.push(rel);
                }
            }
        }
        Ok(out)
    }

    /// The index entries (stage 0) at every path `changes` touch, as they
    /// are now, so a failed record can put them back.
    pub(super) fn index_entries(&self, changes: &[Change]) -> Result<Saved, Error> {
        let touched = self.touched(changes)?;
        if let Some(raw) = self.raw() {
            return Ok(Saved::Raw(
                touched
                    .into_iter()
                    .map(|rel| {
                        let e = raw.entry_bytes(rel.as_bytes());
                        (rel, e)
                    })
                    .collect(),
            ));
        }
        let index = self.fresh_index()?;
        Ok(Saved::Lib(
            touched
                .into_iter()
                .map(|rel| {
                    let e = index.get_path(Path::new(&rel), 0);
                    (rel, e)
                })
                .collect(),
        ))
    }

    /// Puts back index entries saved by [`Repo::index_entries`]. `Err`
    /// says the index still stages the change, and how to unstage it.
    pub(super) fn restore_index(&self, saved: &Saved) -> Result<(), Unrestored> {
        let (rels, res): (Vec<&String>, _) = match saved {
            Saved::Raw(entries) => (
                entries.iter().map(|(rel, _)| rel).collect(),
                self.restore_raw(entries),
            ),
            Saved::Lib(entries) => (
                entries.iter().map(|(rel, _)| rel).collect(),
                self.restore_lib(entries),
            ),
        };
        res.map_err(|error| {
            let paths: Vec<String> = rels
                .iter()
                .map(|rel| crate::base::diag::display_path(&self.workdir.join(rel)))
                .collect();
            let paths = paths.join(" ");
            Unrestored {
                what: "the git index".into(),
                state: format!("still stages the change at {paths}"),
                fix: format!(
                    "`git reset -q -- {paths}` sets those index entries back as HEAD has them"
                ),
                error,
            }
        })
    }

    /// Puts back entries saved from the index file read directly.
    fn restore_raw(&self, entries: &[(String, Option<Vec<u8>>)]) -> Result<(), Error> {
        let remove: Vec<Vec<u8>> = entries
            .iter()
            .map(|(rel, _)| rel.as_bytes().to_vec())
            .collect();
        let add: Vec<Vec<u8>> = entries.iter().filter_map(|(_, e)| e.clone()).collect();
        if self.edit_raw(&remove, &add)? {
            return Ok(());
        }
        Err(Error::git(
            "the git index is locked, or no longer in a form deal rewrites",
            "",
        ))
    }

    /// Puts back entries saved through libgit2: every entry is tried and
    /// the index written even when one fails; the first failure is
    /// returned.
    fn restore_lib(&self, entries: &[(String, Option<git2::IndexEntry>)]) -> Result<(), Error> {
        let mut index = self.fresh_index()?;
        let mut first = Ok(());
        for (rel, e) in entries {
            let put = match e {
                Some(e) => index.add(e),
                None => index.remove_path(Path::new(rel)),
            };
            if first.is_ok() {
                first = put.map_err(|e| git_err("cannot put the git index back", e));
            }
        }
        index
            .write()
            .map_err(|e| git_err("cannot write the git index", e))?;
        first
    }

    /// Rewrites the index file itself: under `index.lock`, taken before the
    /// file is read again (so nothing staged meanwhile is lost), without
    /// the stage-0 entries at `remove` and with the encoded entries `add`.
    /// `Ok(false)`: the file is in a form this does not rewrite, nothing
    /// was done, and libgit2 must.
    fn edit_raw(&self, remove: &[Vec<u8>], add: &[Vec<u8>]) -> Result<bool, Error> {
        let path = self.index_path();
        let lock = self.index_lock();
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return self.check_unlocked().map(|_| false);
            }
            Err(e) => return Err(Error::io(&lock, e)),
        };
        let done = (|| {
            let Some(fresh) = rawindex::RawIndex::read(&path) else {
                return Ok(false);
            };
            let bytes = fresh.edited(remove, add);
            use std::io::Write as _;
            f.write_all(&bytes)?;
            std::fs::rename(&lock, &path)?;
            Ok(true)
        })();
        match done {
            Ok(true) => Ok(true),
            Ok(false) => {
                let _ = std::fs::remove_file(&lock);
                Ok(false)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&lock);
                Err(Error::io(&path, e))
            }
        }
    }

    /// The index as it is on disk now (not as this process last saw it), so
    /// a write never drops what another git command staged meanwhile. The
    /// file is read again only when its stamp (mtime to the nanosecond,
    /// size, inode) changed since this process read it: a forced re-read
    /// parsed and checksummed the 1 MB index of 10,000 deals twice more per
    /// move.
    pub(super) fn fresh_index(&self) -> Result<git2::Index, Error> {
        let mut index = self.staged_index().map_err(unwritable_index)?;
        index
            .read(false)
            .map_err(|e| git_err("cannot read the git index", e))
            .map_err(unwritable_index)?;
        Ok(index)
    }

    pub(super) fn update_index(&self, changes: &[Change], blobs: &[Oid]) -> Result<(), Error> {
        self.check_unlocked()?;
        if let Some(raw) = self.raw() {
            let mut remove = Vec::new();
            let mut add = Vec::new();
            for (change, &blob) in changes.iter().zip(blobs) {
                let new_rel = self.rel(change.new)?;
                let exec = |rel: &str| raw.get(rel.as_bytes()).is_some_and(|e| e.mode == 0o100755);
                let old_rel = change.old.map(|o| self.rel(o)).transpose()?;
                let was_exec = exec(&new_rel) || old_rel.as_deref().is_some_and(exec);
                remove.extend(old_rel.map(String::into_bytes));
                for g in &change.gone {
                    remove.push(self.rel(g)?.into_bytes());
                }
                let meta =
                    std::fs::symlink_metadata(change.new).map_err(|e| Error::io(change.new, e))?;
                let mode = if was_exec { 0o100755 } else { 0o100644 };
                add.push(rawindex::encode(&index_entry(&meta, mode, blob, &new_rel)));
            }
            if self.edit_raw(&remove, &add)? {
                return Ok(());
            }
        }
        let mut index = self.fresh_index()?;
        for (change, &blob) in changes.iter().zip(blobs) {
            self.index_one(&mut index, change, blob)?;
        }
        smudge_racy(&mut index);
        index.write().map_err(|e| {
            git_err(
                "cannot write the git index (is another git process running?)",
                e,
            )
        })
    }

    pub(super) fn index_one(
        &self,
        index: &mut git2::Index,
        change: &Change,
        blob: Oid,
    ) -> Result<(), Error> {
        let new_rel = self.rel(change.new)?;
        // An executable deal stays executable where it moves (as in the
        // commit, and the file keeps its permissions).
        let exec = |rel: &str| {
            index
                .get_path(Path::new(rel), 0)
                .is_some_and(|e| e.mode == 0o100755)
        };
        let was_exec = exec(&new_rel)
            || change
                .old
                .and_then(|o| self.rel(o).ok())
                .is_some_and(|o| exec(&o));
        if let Some(old) = change.old {
            let old_rel = self.rel(old)?;
            if old_rel != new_rel && index.get_path(Path::new(&old_rel), 0).is_some() {
                index
                    .remove_path(Path::new(&old_rel))
                    .map_err(|e| git_err("cannot update the git index", e))?;
            }
        }
        for g in &change.gone {
            let g = self.rel(g)?;
            if g != new_rel && index.get_path(Path::new(&g), 0).is_some() {
                index
                    .remove_path(Path::new(&g))
                    .map_err(|e| git_err("cannot update the git index", e))?;
            }
        }
        // The entry from the blob already written and the file's stat data:
        // `add_path` would read, filter and hash the file again, and look
        // for attributes in every folder above it (most of a large import).
        let meta = std::fs::symlink_metadata(change.new).map_err(|e| Error::io(change.new, e))?;
        let mode = if was_exec { 0o100755 } else { 0o100644 };
        index
            .add(&index_entry(&meta, mode, blob, &new_rel))
            .map_err(|e| git_err("cannot update the git index", e))
    }

    /// The index a commit will record: `GIT_INDEX_FILE` when git sets it
    /// (`git commit -a`, `git commit PATH` and finishing a merge with `-a`
    /// run their hooks on a temporary index), else the repository's own.
    pub(super) fn staged_index(&self) -> Result<git2::Index, Error> {
        let read = |e| git_err("cannot read the git index", e);
        match self.alternate_index() {
            Some(p) => git2::Index::open(&p).map_err(read),
            None => self.repo.index().map_err(read),
        }
    }

    /// `GIT_INDEX_FILE`, when git (or a script) points at another index
    /// than the repository's. A relative one is read from the work tree's
    /// top, as git reads it (whatever folder it was started in, or `-C`).
    fn alternate_index(&self) -> Option<PathBuf> {
        let p = PathBuf::from(std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty())?);
        Some(if p.is_absolute() {
            p
        } else {
            self.workdir.join(p)
        })
    }

    /// The index file a change is staged in: `GIT_INDEX_FILE`, else the
    /// repository's.
    fn index_path(&self) -> PathBuf {
        self.alternate_index()
            .unwrap_or_else(|| self.repo.path().join("index"))
    }

    /// The lock git takes on that index.
    fn index_lock(&self) -> PathBuf {
        let mut s = self.index_path().into_os_string();
        s.push(".lock");
        PathBuf::from(s)
    }

    /// The staged bytes of `rel` (relative to the pipeline root `root`).
    pub fn index_blob(&self, root: &Path, rel: &str) -> Result<Option<Vec<u8>>, Error> {
        let index = self.staged_index()?;
        let path = Repo::under(&self.rel(root)?, rel);
        Ok(index
            .get_path(Path::new(&path), 0)
            .and_then(|e| self.repo.find_blob(e.id).ok())
            .map(|b| b.content().to_vec()))
    }

    /// The pipeline root's files in the index: every path under the root,
    /// the deal files (`.md` under `deals_dir`, with their blob ids), and
    /// which of those are staged: different from HEAD (added, modified,
    /// renamed; everything on an unborn branch).
    pub fn index_view(&self, root: &Path, deals_dir: &str) -> Result<IndexView, Error> {
        let index = self.staged_index()?;
        let prefix = self.rel(root)?;
        let pre = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let mut view = IndexView::default();
        let dir = format!("{pre}{}/", deals_dir.trim_end_matches('/'));
        for e in index.iter() {
            // Unmerged entries (stages 1 to 3 of a conflict) are not what a
            // commit would hold; git refuses to commit while they exist.
            if (e.flags >> 12) & 3 != 0 {
                continue;
            }
            let Ok(path) = String::from_utf8(e.path.clone()) else {
                continue;
            };
            let Some(rel) = path.strip_prefix(&pre) else {
                continue;
            };
            if path.starts_with(dir.as_str()) && is_deal_candidate(rel) {
                view.deals.push((PathBuf::from(rel), e.id, e.mode));
            }
            view.files.push(rel.to_string());
        }
        // What differs from HEAD.
        let head_tree = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        let mut opts = git2::DiffOptions::new();
        opts.pathspec(dir.trim_end_matches('/'));
        let diff = self
            .repo
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut opts))
            .map_err(|e| git_err("cannot compare the index with HEAD", e))?;
        for delta in diff.deltas() {
            if delta.status() == git2::Delta::Deleted {
                continue;
            }
            if let Some(p) = delta.new_file().path().and_then(|p| p.to_str())
                && let Some(rel) = p.strip_prefix(&pre)
            {
                view.staged.insert(PathBuf::from(rel));
            }
        }
        Ok(view)
    }

    /// The other parents of a merge being committed: `MERGE_HEAD` (a merge
    /// that stopped, then `git commit`), or the `GITHEAD_<id>` variables
    /// that `git merge` sets for its `pre-merge-commit` hook, which runs
    /// before `MERGE_HEAD` is written. Empty outside a merge.
    pub fn merge_parents(&self) -> Vec<Oid> {
        let mut out: Vec<Oid> = std::fs::read_to_string(self.repo.path().join("MERGE_HEAD"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| Oid::from_str(l.trim()).ok())
            .collect();
        for (k, _) in std::env::vars_os() {
            if let Some(id) = k.to_str().and_then(|k| k.strip_prefix("GITHEAD_"))
                && let Ok(oid) = Oid::from_str(id)
                && !out.contains(&oid)
                && self.repo.find_commit(oid).is_ok()
            {
                out.push(oid);
            }
        }
        out
    }

    /// Refuses to commit in the middle of a merge, a cherry-pick or a
    /// revert (or with unmerged paths in the index): a commit of deal's
    /// would have one parent and leave the operation half done.
    pub fn check_no_merge(&self) -> Result<(), Error> {
        // (operation, its state in the git directory)
        let ops = [
            ("merge", "MERGE_HEAD"),
            ("cherry-pick", "CHERRY_PICK_HEAD"),
            ("revert", "REVERT_HEAD"),
            ("rebase", "rebase-merge"),
            ("rebase", "rebase-apply"),
        ];
        let busy = ops.iter().find(|(_, f)| self.repo.path().join(f).exists());
        // An index only libgit2 reads must be readable now, before anything
        // is written.
        let unmerged = match self.raw() {
            Some(raw) => raw.has_conflicts(),
            None => self.fresh_index()?.has_conflicts(),
        };
        match (busy, unmerged) {
            (None, false) => Ok(()),
            (what, _) => {
                let op = what.map_or("merge", |(op, _)| *op);
                let abort = format!("git {op} --abort");
                Err(Error::git(
                    format!(
                        "a {op} is in progress{}; nothing was changed",
                        if unmerged {
                            ", with unmerged paths"
                        } else {
                            ""
                        }
                    ),
                    format!(
                        "finish it (resolve, `git add`, then `git commit` or `git {op} --continue`) or abort it (`{abort}`), then run the command again; with --no-commit the change is only staged"
                    ),
                ))
            }
        }
    }
}
