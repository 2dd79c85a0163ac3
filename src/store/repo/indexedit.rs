//! The one seam between a change and the git index file: where the index
//! is (`GIT_INDEX_FILE`, else the repository's), its lock, and the two
//! writers that read and edit it, chosen in one place
//! ([`Repo::index_edit`]).
//!
//! - The raw writer ([`rawindex`]) reads and rewrites the file itself. It
//!   exists for speed on large indexes: libgit2 verifies the SHA-1 trailer
//!   on every read and computes it again on every write, which was a third
//!   of `deal move` on the 1 MB index of 10,000 deals; this one copies the
//!   entries it does not touch byte for byte and hashes once. It knows only
//!   index versions 2 and 3 and the extensions listed in [`rawindex`]
//!   (the cache-tree invalidated as git does, resolve-undo kept, the
//!   optional caches dropped for git to rebuild).
//! - libgit2's [`git2::Index`] writes every other index: version 4, an
//!   unknown required extension, a file that is not yet there (a new
//!   repository), and one that turned into such a form before the raw
//!   writer took the lock. Neither writes a split or sparse index
//!   ([`unwritable_index`] says what to run).

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::base::error::Error;

use super::rawindex::{self, RawIndex};
use super::repository::*;

/// What the index is opened for; [`Repo::index_edit`] chooses the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Open {
    /// To look at entries: libgit2's index as this process holds it.
    Read,
    /// To save entries or stage a change: libgit2's index read again when
    /// the file changed on disk since this process read it.
    Edit,
    /// To stage a change again after the raw writer declined the file
    /// (read again under `index.lock`, it was in a form it does not write).
    Declined,
}

/// The index as one writer reads and edits it. Edits are kept until
/// [`IndexEdit::write`].
pub(super) enum IndexEdit<'r> {
    Raw(RawEdit<'r>),
    Lib(LibEdit),
}

/// The raw writer: the file as this process first read it (modes, entries
/// to save, conflicts), and the edits to apply to the file as it is when
/// written.
pub(super) struct RawEdit<'r> {
    repo: &'r Repo,
    index: &'r RawIndex,
    /// Paths whose stage-0 entry goes.
    remove: Vec<Vec<u8>>,
    /// Encoded entries that go in ([`rawindex::encode`]).
    add: Vec<Vec<u8>>,
}

/// libgit2's writer: its index, edited in memory.
pub(super) struct LibEdit {
    index: git2::Index,
}

/// What [`IndexEdit::write`] did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Written {
    Done,
    /// The raw writer found the file, read again under its lock, in a form
    /// it does not rewrite; nothing was written, and libgit2 must
    /// ([`Open::Declined`]).
    Declined,
}

/// The index entries a failed record puts back, by the writer that saved
/// them: as libgit2 entries, or as the raw bytes of the entries at each
/// touched path.
pub(super) enum Saved {
    Lib(Vec<(String, Option<git2::IndexEntry>)>),
    Raw(Vec<(String, Option<Vec<u8>>)>),
}

impl Repo {
    /// The index's writer for `open`: the only place the choice is made.
    /// The raw writer whenever it could read the file when this process
    /// first looked ([`Repo::raw`]: a format it knows), for speed; libgit2
    /// for any other file, and after the raw writer declined
    /// ([`Open::Declined`]). The choice holds for the whole process, so the
    /// writer that saved entries is the one that puts them back.
    pub(super) fn index_edit(&self, open: Open) -> Result<IndexEdit<'_>, Error> {
        let raw = match open {
            Open::Read | Open::Edit => self.raw(),
            Open::Declined => None,
        };
        if let Some(index) = raw {
            return Ok(IndexEdit::Raw(RawEdit {
                repo: self,
                index,
                remove: Vec::new(),
                add: Vec::new(),
            }));
        }
        let index = match open {
            Open::Read => self.staged_index()?,
            Open::Edit | Open::Declined => self.fresh_index()?,
        };
        Ok(IndexEdit::Lib(LibEdit { index }))
    }

    /// The index file (`GIT_INDEX_FILE`'s, when set) read directly, if this
    /// process may rewrite it itself: not for a format [`rawindex`] does
    /// not know. Read once per repository opened.
    pub(super) fn raw(&self) -> Option<&RawIndex> {
        self.raw
            .get_or_init(|| RawIndex::read(&self.index_path()))
            .as_ref()
    }

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
            let Some(fresh) = RawIndex::read(&path) else {
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
}

impl IndexEdit<'_> {
    /// The mode and blob of the stage-0 entry at `rel` (repository-relative),
    /// as this writer sees it: the raw writer the file as first read,
    /// libgit2 its index with the edits made so far.
    pub(super) fn entry(&self, rel: &str) -> Option<(u32, Oid)> {
        match self {
            IndexEdit::Raw(w) => w.index.get(rel.as_bytes()).map(|e| (e.mode, e.id)),
            IndexEdit::Lib(w) => w.index.get_path(Path::new(rel), 0).map(|e| (e.mode, e.id)),
        }
    }

    /// The entries under folder `dir` (`a/b`), each as (name, mode, id), or
    /// `None` when one is in conflict or in a subfolder.
    pub(super) fn folder(&self, dir: &str) -> Option<Vec<(Vec<u8>, u32, Oid)>> {
        let index = match self {
            IndexEdit::Raw(w) => return w.index.folder(dir),
            IndexEdit::Lib(w) => &w.index,
        };
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
        Some(out)
    }

    /// Whether any path is unmerged (has entries at stages 1 to 3).
    pub(super) fn has_conflicts(&self) -> bool {
        match self {
            IndexEdit::Raw(w) => w.index.has_conflicts(),
            IndexEdit::Lib(w) => w.index.has_conflicts(),
        }
    }

    /// The stage-0 entries at `touched` as they are now, so a failed
    /// record can put them back ([`Saved::restore`]).
    pub(super) fn save(&self, touched: Vec<String>) -> Saved {
        match self {
            IndexEdit::Raw(w) => Saved::Raw(
                touched
                    .into_iter()
                    .map(|rel| {
                        let e = w.index.entry_bytes(rel.as_bytes());
                        (rel, e)
                    })
                    .collect(),
            ),
            IndexEdit::Lib(w) => Saved::Lib(
                touched
                    .into_iter()
                    .map(|rel| {
                        let e = w.index.get_path(Path::new(&rel), 0);
                        (rel, e)
                    })
                    .collect(),
            ),
        }
    }

    /// Removes the stage-0 entry at `rel`, if there is one.
    pub(super) fn remove(&mut self, rel: &str) -> Result<(), Error> {
        match self {
            IndexEdit::Raw(w) => w.remove.push(rel.as_bytes().to_vec()),
            IndexEdit::Lib(w) => {
                if w.index.get_path(Path::new(rel), 0).is_some() {
                    w.index
                        .remove_path(Path::new(rel))
                        .map_err(|e| git_err("cannot update the git index", e))?;
                }
            }
        }
        Ok(())
    }

    /// Stages `entry` (stage 0), replacing whatever is at its path.
    pub(super) fn stage(&mut self, entry: git2::IndexEntry) -> Result<(), Error> {
        match self {
            IndexEdit::Raw(w) => {
                w.add.push(rawindex::encode(&entry));
                Ok(())
            }
            IndexEdit::Lib(w) => w
                .index
                .add(&entry)
                .map_err(|e| git_err("cannot update the git index", e)),
        }
    }

    /// Writes the edits to the index file, racily clean entries smudged.
    pub(super) fn write(self) -> Result<Written, Error> {
        match self {
            IndexEdit::Raw(w) => Ok(if w.repo.edit_raw(&w.remove, &w.add)? {
                Written::Done
            } else {
                Written::Declined
            }),
            IndexEdit::Lib(mut w) => {
                smudge_racy(&mut w.index);
                w.index.write().map_err(|e| {
                    git_err(
                        "cannot write the git index (is another git process running?)",
                        e,
                    )
                })?;
                Ok(Written::Done)
            }
        }
    }
}

impl Saved {
    /// The repository-relative paths whose entries were saved.
    pub(super) fn paths(&self) -> Vec<&String> {
        match self {
            Saved::Raw(entries) => entries.iter().map(|(rel, _)| rel).collect(),
            Saved::Lib(entries) => entries.iter().map(|(rel, _)| rel).collect(),
        }
    }

    /// Puts the saved entries back, by the writer that saved them.
    pub(super) fn restore(&self, repo: &Repo) -> Result<(), Error> {
        match self {
            Saved::Raw(entries) => restore_raw(repo, entries),
            Saved::Lib(entries) => restore_lib(repo, entries),
        }
    }
}

/// Puts back entries saved from the index file read directly: every saved
/// path's entry taken out, the saved bytes put in.
fn restore_raw(repo: &Repo, entries: &[(String, Option<Vec<u8>>)]) -> Result<(), Error> {
    let remove: Vec<Vec<u8>> = entries
        .iter()
        .map(|(rel, _)| rel.as_bytes().to_vec())
        .collect();
    let add: Vec<Vec<u8>> = entries.iter().filter_map(|(_, e)| e.clone()).collect();
    if repo.edit_raw(&remove, &add)? {
        return Ok(());
    }
    Err(Error::git(
        "the git index is locked, or no longer in a form deal rewrites",
        "",
    ))
}

/// Puts back entries saved through libgit2: every entry is tried and the
/// index written even when one fails; the first failure is returned.
fn restore_lib(repo: &Repo, entries: &[(String, Option<git2::IndexEntry>)]) -> Result<(), Error> {
    let mut index = repo.fresh_index()?;
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

/// Marks entries modified in the last two seconds as "racily clean" the way
/// git does (size 0), so that a file edited in the same clock tick as this
/// index write is re-checked by content, never trusted by its stat data.
fn smudge_racy(index: &mut git2::Index) {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Runs git in `dir` with a fixed identity and no user or system
    /// configuration.
    pub(in crate::store::repo) fn git_run(dir: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = std::process::Command::new("git");
        cmd.current_dir(dir).env("GIT_CONFIG_NOSYSTEM", "1");
        cmd.env("HOME", dir);
        cmd.args(["-c", "user.name=t", "-c", "user.email=t@example.com"]);
        cmd.args(args).output().unwrap()
    }

    /// [`git_run`], asserting success; returns stdout.
    pub(in crate::store::repo) fn git(dir: &Path, args: &[&str]) -> String {
        let out = git_run(dir, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "git {args:?}: {err}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A repository with `a.md` and `b.md` committed (a version 2 index).
    pub(in crate::store::repo) fn committed() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q", "-b", "main"]);
        for name in ["a", "b"] {
            std::fs::write(d.join(format!("{name}.md")), format!("{name}\n")).unwrap();
        }
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "start"]);
        t
    }

    fn open(t: &tempfile::TempDir) -> Repo {
        Repo::open(t.path()).unwrap()
    }

    fn is_raw(repo: &Repo, open: Open) -> bool {
        matches!(repo.index_edit(open).unwrap(), IndexEdit::Raw(_))
    }

    /// Whether the index file is one the raw writer reads: the test the
    /// choice was made by before the seam.
    fn raw_reads(t: &tempfile::TempDir) -> bool {
        RawIndex::read(&t.path().join(".git/index")).is_some()
    }

    /// `c.md` written to the work tree and its blob to the repository, as
    /// an entry to stage.
    fn new_entry(repo: &Repo, t: &tempfile::TempDir) -> (git2::IndexEntry, Oid) {
        let path = t.path().join("c.md");
        std::fs::write(&path, "c\n").unwrap();
        let id = repo.repo.blob(b"c\n").unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let entry = super::super::index::index_entry(&meta, 0o100644, id, "c.md");
        (entry, id)
    }

    #[test]
    fn the_raw_writer_is_chosen_for_a_version_2_or_3_index() {
        let t = committed();
        let repo = open(&t);
        assert!(raw_reads(&t));
        assert!(is_raw(&repo, Open::Read));
        assert!(is_raw(&repo, Open::Edit));
        assert!(!is_raw(&repo, Open::Declined), "declined means libgit2");
        // An intent-to-add entry has an extended flag: git writes version 3.
        let t = committed();
        std::fs::write(t.path().join("n.md"), "n\n").unwrap();
        git(t.path(), &["add", "-N", "n.md"]);
        let bytes = std::fs::read(t.path().join(".git/index")).unwrap();
        assert_eq!(&bytes[4..8], &[0, 0, 0, 3]);
        assert!(raw_reads(&t));
        assert!(is_raw(&open(&t), Open::Edit));
    }

    #[test]
    fn libgit2_is_chosen_for_a_version_4_index_and_a_missing_one() {
        let t = committed();
        git(t.path(), &["update-index", "--index-version", "4"]);
        let repo = open(&t);
        assert!(!raw_reads(&t));
        for how in [Open::Read, Open::Edit, Open::Declined] {
            assert!(!is_raw(&repo, how), "{how:?}");
        }
        // A new repository has no index file yet.
        let fresh = tempfile::tempdir().unwrap();
        git(fresh.path(), &["init", "-q", "-b", "main"]);
        assert!(!fresh.path().join(".git/index").exists());
        assert!(!is_raw(&open(&fresh), Open::Edit));
    }

    #[test]
    fn the_choice_is_made_once_per_repository_opened() {
        let t = committed();
        let repo = open(&t);
        assert!(is_raw(&repo, Open::Edit));
        // The file turns into version 4 afterwards: the repository opened
        // keeps the raw writer (it declines when it writes), a new one
        // starts with libgit2.
        git(t.path(), &["update-index", "--index-version", "4"]);
        assert!(is_raw(&repo, Open::Edit));
        assert!(!is_raw(&open(&t), Open::Edit));
    }

    /// Stages `c.md`, removes `a.md` and writes, by the writer for `how`;
    /// git then lists `b.md` and `c.md`.
    fn stage_and_remove(how: Open) {
        let t = committed();
        let repo = open(&t);
        let b = git(t.path(), &["rev-parse", ":b.md"]);
        let (entry, c) = new_entry(&repo, &t);
        let mut edit = repo.index_edit(how).unwrap();
        assert_eq!(edit.entry("a.md").map(|(mode, _)| mode), Some(0o100644));
        edit.stage(entry).unwrap();
        edit.remove("a.md").unwrap();
        edit.remove("never-there.md").unwrap();
        assert_eq!(edit.write().unwrap(), Written::Done);
        assert_eq!(
            git(t.path(), &["ls-files", "--stage"]),
            format!("100644 {} 0\tb.md\n100644 {c} 0\tc.md\n", b.trim())
        );
        assert!(!t.path().join(".git/index.lock").exists());
    }

    #[test]
    fn the_raw_writer_stages_and_removes_entries() {
        stage_and_remove(Open::Edit);
    }

    #[test]
    fn libgit2_stages_and_removes_entries() {
        stage_and_remove(Open::Declined);
    }

    #[test]
    fn only_libgit2_sees_its_own_edits_before_they_are_written() {
        let t = committed();
        let repo = open(&t);
        for (how, sees) in [(Open::Edit, false), (Open::Declined, true)] {
            let (entry, c) = new_entry(&repo, &t);
            let mut edit = repo.index_edit(how).unwrap();
            edit.stage(entry).unwrap();
            assert_eq!(edit.entry("c.md").map(|(_, id)| id), sees.then_some(c));
        }
    }

    /// Saves `a.md` and `c.md` (absent), stages a new `a.md` and `c.md`,
    /// writes, and restores: git lists what it listed before.
    fn save_and_restore(how: Open) -> Saved {
        let t = committed();
        let repo = open(&t);
        let before = git(t.path(), &["ls-files", "--stage"]);
        let edit = repo.index_edit(how).unwrap();
        let saved = edit.save(vec!["a.md".into(), "c.md".into()]);
        assert_eq!(saved.paths(), ["a.md", "c.md"]);
        std::fs::write(t.path().join("a.md"), "a2\n").unwrap();
        let a2 = repo.repo.blob(b"a2\n").unwrap();
        let meta = std::fs::symlink_metadata(t.path().join("a.md")).unwrap();
        let mut edit = repo.index_edit(how).unwrap();
        edit.stage(super::super::index::index_entry(
            &meta, 0o100644, a2, "a.md",
        ))
        .unwrap();
        edit.stage(new_entry(&repo, &t).0).unwrap();
        assert_eq!(edit.write().unwrap(), Written::Done);
        assert_ne!(git(t.path(), &["ls-files", "--stage"]), before);
        saved.restore(&repo).unwrap();
        assert_eq!(git(t.path(), &["ls-files", "--stage"]), before);
        saved
    }

    #[test]
    fn the_raw_writer_puts_saved_entries_back() {
        assert!(matches!(save_and_restore(Open::Edit), Saved::Raw(_)));
    }

    #[test]
    fn libgit2_puts_saved_entries_back() {
        assert!(matches!(save_and_restore(Open::Declined), Saved::Lib(_)));
    }

    #[test]
    fn the_raw_writer_puts_an_intent_to_add_entry_back_as_it_was() {
        let t = committed();
        std::fs::write(t.path().join("n.md"), "n\n").unwrap();
        git(t.path(), &["add", "-N", "n.md"]);
        let status = git(t.path(), &["status", "--porcelain"]);
        assert_eq!(status, " A n.md\n");
        let repo = open(&t);
        let saved = repo
            .index_edit(Open::Edit)
            .unwrap()
            .save(vec!["n.md".into()]);
        let mut edit = repo.index_edit(Open::Edit).unwrap();
        edit.remove("n.md").unwrap();
        assert_eq!(edit.write().unwrap(), Written::Done);
        assert_eq!(git(t.path(), &["status", "--porcelain"]), "?? n.md\n");
        saved.restore(&repo).unwrap();
        assert_eq!(git(t.path(), &["status", "--porcelain"]), status);
    }

    #[test]
    fn the_raw_writer_declines_an_index_that_changed_form_and_writes_nothing() {
        let t = committed();
        let repo = open(&t);
        let saved = repo
            .index_edit(Open::Edit)
            .unwrap()
            .save(vec!["a.md".into()]);
        git(t.path(), &["update-index", "--index-version", "4"]);
        let before = std::fs::read(t.path().join(".git/index")).unwrap();
        let mut edit = repo.index_edit(Open::Edit).unwrap();
        edit.remove("a.md").unwrap();
        assert_eq!(edit.write().unwrap(), Written::Declined);
        assert_eq!(std::fs::read(t.path().join(".git/index")).unwrap(), before);
        assert!(!t.path().join(".git/index.lock").exists());
        let err = saved.restore(&repo).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the git index is locked, or no longer in a form deal rewrites"
        );
    }

    #[test]
    fn a_write_to_a_locked_index_is_refused_by_either_writer() {
        let t = committed();
        let repo = open(&t);
        let lock = t.path().join(".git/index.lock");
        std::fs::write(&lock, "").unwrap();
        let mut raw = repo.index_edit(Open::Edit).unwrap();
        raw.remove("a.md").unwrap();
        let err = raw.write().unwrap_err().to_string();
        assert!(err.starts_with("the git index is locked ("), "{err}");
        let mut lib = repo.index_edit(Open::Declined).unwrap();
        lib.remove("a.md").unwrap();
        let err = lib.write().unwrap_err().to_string();
        assert!(
            err.starts_with("cannot write the git index (is another git process running?)"),
            "{err}"
        );
        assert!(lock.exists(), "another process's lock is left alone");
    }

    #[test]
    fn a_folder_is_listed_alike_by_both_writers_and_refused_with_a_subfolder() {
        let t = committed();
        for rel in ["d/x.md", "d/y.md", "e/sub/z.md"] {
            let p = t.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, rel).unwrap();
        }
        git(t.path(), &["add", "-A"]);
        let repo = open(&t);
        let raw = repo.index_edit(Open::Read).unwrap();
        let lib = repo.index_edit(Open::Declined).unwrap();
        let names: Vec<Vec<u8>> = raw.folder("d").unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(names, [b"x.md".to_vec(), b"y.md".to_vec()]);
        assert_eq!(raw.folder("d"), lib.folder("d"));
        assert_eq!(raw.folder("e"), None);
        assert_eq!(lib.folder("e"), None);
        assert!(!raw.has_conflicts() && !lib.has_conflicts());
    }
}
