//! The git index: what is staged, conflicts in progress, and the entries a
//! recorded change updates (from the blob already written and the file's
//! stat data), with racy entries smudged and a failed change put back; all
//! through the one writer [`super::indexedit`] chooses.

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::base::error::Error;
use crate::base::error::Unrestored;
use crate::store::worktree::Change;

use super::indexedit::*;
use super::repository::*;

/// The files of folder `dir` in the index (stage 0, name, mode, id), if
/// they are exactly HEAD's tree `want` there: no conflict, no subfolder,
/// nothing staged (checked by hashing them as a tree).
pub(super) fn index_folder(repo: &Repo, dir: &str, want: Oid) -> Option<Vec<(Vec<u8>, u32, Oid)>> {
    let out = repo.index_edit(Open::Read).ok()?.folder(dir)?;
    let id = Oid::hash_object(git2::ObjectType::Tree, &tree_bytes(&out)).ok()?;
    (id == want).then_some(out)
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

/// The pipeline as the index holds it (see [`Repo::index_view`]).
#[derive(Default)]
pub struct IndexView {
    pub files: Vec<String>,
    /// Root-relative path, blob id, file mode.
    pub deals: Vec<(PathBuf, Oid, u32)>,
    pub staged: std::collections::HashSet<PathBuf>,
}

impl Repo {
    /// Whether the index holds something at `rel` that HEAD does not: a
    /// file the user staged there (not merely HEAD's copy of a deal whose
    /// move an interrupted command left in the work tree only).
    pub fn staged_at(&self, rel: &str) -> bool {
        let Some(id) = self.index_id(rel) else {
            return false;
        };
        let head = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        head.and_then(|t| t.get_path(Path::new(rel)).ok().map(|e| e.id())) != Some(id)
    }

    /// The blob the index holds at `rel` (repository-relative), if any.
    pub fn index_id(&self, rel: &str) -> Option<Oid> {
        let index = self.index_edit(Open::Read).ok()?;
        index.entry(rel).map(|(_, id)| id)
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
        Ok(self.index_edit(Open::Edit)?.save(touched))
    }

    /// Puts back index entries saved by [`Repo::index_entries`]. `Err`
    /// says the index still stages the change, and how to unstage it.
    pub(super) fn restore_index(&self, saved: &Saved) -> Result<(), Unrestored> {
        saved.restore(self).map_err(|error| {
            let paths: Vec<String> = saved
                .paths()
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

    /// Stages `changes` (their blobs `blobs`, already written) by the
    /// writer [`Repo::index_edit`] chooses; when the raw writer declines
    /// the file, by libgit2.
    pub(super) fn update_index(&self, changes: &[Change], blobs: &[Oid]) -> Result<(), Error> {
        self.check_unlocked()?;
        if self.stage_all(Open::Edit, changes, blobs)? == Written::Done {
            return Ok(());
        }
        self.stage_all(Open::Declined, changes, blobs).map(|_| ())
    }

    /// Every change staged through one writer, then written.
    fn stage_all(&self, open: Open, changes: &[Change], blobs: &[Oid]) -> Result<Written, Error> {
        let mut edit = self.index_edit(open)?;
        for (change, &blob) in changes.iter().zip(blobs) {
            self.stage_change(&mut edit, change, blob)?;
        }
        edit.write()
    }

    /// One change staged: the deal's old place and the places it is gone
    /// from lose their entries, and its new place gets one from the blob
    /// already written and the file's stat data.
    fn stage_change(&self, edit: &mut IndexEdit, change: &Change, blob: Oid) -> Result<(), Error> {
        let new_rel = self.rel(change.new)?;
        let old_rel = change.old.map(|o| self.rel(o)).transpose()?;
        // An executable deal stays executable where it moves (as in the
        // commit, and the file keeps its permissions).
        let exec = |rel: &str| edit.entry(rel).is_some_and(|(mode, _)| mode == 0o100755);
        let was_exec = exec(&new_rel) || old_rel.as_deref().is_some_and(exec);
        if let Some(old_rel) = old_rel.filter(|o| *o != new_rel) {
            edit.remove(&old_rel)?;
        }
        for g in &change.gone {
            let g = self.rel(g)?;
            if g != new_rel {
                edit.remove(&g)?;
            }
        }
        // The entry from the blob already written and the file's stat data:
        // `add_path` would read, filter and hash the file again, and look
        // for attributes in every folder above it (most of a large import).
        let meta = std::fs::symlink_metadata(change.new).map_err(|e| Error::io(change.new, e))?;
        let mode = if was_exec { 0o100755 } else { 0o100644 };
        edit.stage(index_entry(&meta, mode, blob, &new_rel))
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
        let unmerged = self.index_edit(Open::Edit)?.has_conflicts();
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

#[cfg(test)]
mod tests {
    use super::super::indexedit::tests::{committed, git};
    use super::*;

    /// `a.md` (executable in the index) moved to `d/a.md` and `b.md` gone,
    /// staged by [`Repo::update_index`]; `v4_after_open` turns the index
    /// into version 4 between opening and writing, so the raw writer
    /// declines and libgit2 stages it.
    fn staged_move(v4_before_open: bool, v4_after_open: bool) {
        let t = committed();
        git(t.path(), &["update-index", "--chmod=+x", "a.md"]);
        if v4_before_open {
            git(t.path(), &["update-index", "--index-version", "4"]);
        }
        let repo = Repo::open(t.path()).unwrap();
        assert_eq!(repo.raw().is_some(), !v4_before_open);
        if v4_after_open {
            git(t.path(), &["update-index", "--index-version", "4"]);
        }
        let (old, new) = (repo.workdir.join("a.md"), repo.workdir.join("d/a.md"));
        std::fs::create_dir_all(new.parent().unwrap()).unwrap();
        std::fs::rename(&old, &new).unwrap();
        let change = Change {
            old: Some(&old),
            old_bytes: Some(b"a\n"),
            new: &new,
            new_bytes: b"a\n",
            gone: vec![repo.workdir.join("b.md")],
        };
        let blob = repo.repo.blob(b"a\n").unwrap();
        repo.update_index(&[change], &[blob]).unwrap();
        assert!(!t.path().join(".git/index.lock").exists());
        assert_eq!(
            git(t.path(), &["ls-files", "--stage"]),
            format!("100755 {blob} 0\td/a.md\n")
        );
    }

    #[test]
    fn a_moved_executable_deal_stays_executable_by_the_raw_writer() {
        staged_move(false, false);
    }

    #[test]
    fn a_moved_executable_deal_stays_executable_by_libgit2() {
        staged_move(true, false);
    }

    #[test]
    fn a_move_the_raw_writer_declines_is_staged_by_libgit2() {
        staged_move(false, true);
    }
}
