//! Recording a change as one commit.
//!
//! The commit holds only the deal's rename and edit: its tree is HEAD's
//! with the change applied (the touched folders written from the index
//! where the index matches HEAD there, else read from HEAD), so whatever
//! else the user has staged stays staged. The steps run in git's own
//! order: objects first (harmless if left behind), then the working tree
//! and the index, then HEAD, compare-and-swap. If a step fails, the ones
//! before it are rolled back, so the working tree, the index and HEAD end
//! exactly as they were; a kill leaves nothing, the change staged, or the
//! change committed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{FileMode, Oid, build::TreeUpdateBuilder};

use crate::base::error::Error;
use crate::store::worktree::{Change, fault_step, write_worktree};
use crate::store::worktree::{undo_all, undo_each};

use super::identity::Ident;
use super::index::*;
use super::repository::*;

/// The commit to make, or none (`--no-commit`: staged only).
pub struct Message {
    pub text: String,
}

/// Where HEAD pointed when the command started.
#[derive(Debug, Clone)]
pub struct Head {
    /// The ref to update: the branch HEAD names, or `HEAD` when detached.
    pub refname: String,
    /// Its commit; `None` on an unborn branch.
    pub oid: Option<Oid>,
}

/// From this many files on, blobs are written by `git fast-import`.
pub(super) const BULK_BLOBS: usize = 64;

/// A test hook: debug builds run `DEAL_TEST_BEFORE_REF_UPDATE` (a shell
/// command) just before HEAD is moved, so tests can move HEAD under deal's
/// feet. Release builds have no hook.
pub(super) fn fault_point(workdir: &Path) {
    #[cfg(debug_assertions)]
    if let Ok(cmd) = std::env::var("DEAL_TEST_BEFORE_REF_UPDATE") {
        let _ = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(workdir)
            .status();
    }
    #[cfg(not(debug_assertions))]
    let _ = workdir;
}

impl Repo {
    /// Where HEAD points now.
    pub fn head(&self) -> Result<Head, Error> {
        let h = self
            .repo
            .find_reference("HEAD")
            .map_err(|e| git_err("cannot read HEAD", e))?;
        Ok(match h.symbolic_target().ok().flatten() {
            Some(name) => Head {
                refname: name.to_string(),
                oid: self.repo.refname_to_id(name).ok(),
            },
            None => Head {
                refname: "HEAD".into(),
                oid: h.target(),
            },
        })
    }

    /// Builds the commit for `changes` on top of `head` (not yet on any ref).
    pub(super) fn make_commit(
        &self,
        changes: &[Change],
        blobs: &[Oid],
        head: &Head,
        msg: &str,
        ident: &Ident,
    ) -> Result<Oid, Error> {
        let r = &self.repo;
        let parent = match head.oid {
            Some(o) => Some(
                r.find_commit(o)
                    .map_err(|e| git_err("cannot read HEAD", e))?,
            ),
            None => None,
        };
        let base = match &parent {
            Some(p) => p
                .tree()
                .map_err(|e| git_err("cannot read HEAD's tree", e))?,
            None => {
                let empty = r
                    .treebuilder(None)
                    .and_then(|b| b.write())
                    .map_err(|e| git_err("cannot write a tree", e))?;
                r.find_tree(empty)
                    .map_err(|e| git_err("cannot write a tree", e))?
            }
        };
        let tree_oid = match self.tree_from_index(changes, blobs, &base)? {
            Some(t) => t,
            None => self.tree_from_head(changes, blobs, &base)?,
        };
        if self.gpgsign()? {
            return self.commit_tree_signed(tree_oid, head.oid, msg);
        }
        let tree = r
            .find_tree(tree_oid)
            .map_err(|e| git_err("cannot read the new tree", e))?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        r.commit(None, &ident.author, &ident.committer, msg, &tree, &parents)
            .map_err(|e| git_err("cannot write the commit", e))
    }

    /// HEAD's tree `base` with `changes` applied, reading the folders they
    /// touch from `base`.
    pub(super) fn tree_from_head(
        &self,
        changes: &[Change],
        blobs: &[Oid],
        base: &git2::Tree,
    ) -> Result<Oid, Error> {
        let r = &self.repo;
        let mut up = TreeUpdateBuilder::new();
        for (change, &blob) in changes.iter().zip(blobs) {
            let new_rel = self.rel(change.new)?;
            let mut mode = FileMode::Blob;
            if let Some(old) = change.old {
                let old_rel = self.rel(old)?;
                if let Ok(e) = base.get_path(Path::new(&old_rel)) {
                    if e.filemode() == i32::from(FileMode::BlobExecutable) {
                        mode = FileMode::BlobExecutable;
                    }
                    if old_rel != new_rel {
                        up.remove(&old_rel);
                    }
                }
            }
            up.upsert(&new_rel, blob, mode);
            for g in &change.gone {
                let g = self.rel(g)?;
                if g != new_rel && base.get_path(Path::new(&g)).is_ok() {
                    up.remove(&g);
                }
            }
        }
        up.create_updated(r, base)
            .map_err(|e| git_err("cannot build the commit's tree", e))
    }

    /// [`Repo::tree_from_head`], built the way `git commit` builds it: the
    /// folders the change touches are written from the index's entries
    /// there, which this process has read already, instead of read from
    /// HEAD. A stage folder of a thousand deals is a 50 KB tree object,
    /// often stored as a delta on a chain fifty long, and reading two of
    /// them was a third of a move. The index is used only where its entries
    /// hash to exactly HEAD's folder (anything staged there, or a subfolder,
    /// and `None` sends the caller to HEAD's trees).
    pub(super) fn tree_from_index(
        &self,
        changes: &[Change],
        blobs: &[Oid],
        base: &git2::Tree,
    ) -> Result<Option<Oid>, Error> {
        // Each touched folder's entries, as HEAD has them.
        // Folder → (HEAD has it, its files, changed).
        type Folder = (bool, Vec<(Vec<u8>, u32, Oid)>, bool);
        let mut folders: std::collections::BTreeMap<String, Folder> =
            std::collections::BTreeMap::new();
        for rel in self.touched(changes)? {
            let Some((dir, _)) = rel.rsplit_once('/') else {
                return Ok(None);
            };
            if folders.contains_key(dir) {
                continue;
            }
            // A folder HEAD lacks is empty in HEAD: whatever the index holds
            // there is staged, not the commit's.
            let head_id = match base.get_path(Path::new(dir)) {
                Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => Some(e.id()),
                Ok(_) => return Ok(None),
                Err(_) => None,
            };
            let entries = match head_id {
                Some(id) => match index_folder(self, dir, id) {
                    Some(entries) => entries,
                    None => return Ok(None),
                },
                None => Vec::new(),
            };
            folders.insert(dir.to_string(), (head_id.is_some(), entries, false));
        }
        // The change, folder by folder: the moved file keeps its mode.
        let split = |p: &Path| -> Result<(String, Vec<u8>), Error> {
            let rel = self.rel(p)?;
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", &rel));
            Ok((dir.to_string(), name.as_bytes().to_vec()))
        };
        for (change, &blob) in changes.iter().zip(blobs) {
            let (new_dir, new_name) = split(change.new)?;
            let mut mode = u32::from(FileMode::Blob);
            if let Some(old) = change.old {
                let (dir, name) = split(old)?;
                let Some((_, list, changed)) = folders.get_mut(&dir) else {
                    return Ok(None);
                };
                if let Some(i) = list.iter().position(|(n, _, _)| *n == name) {
                    if list[i].1 == u32::from(FileMode::BlobExecutable) {
                        mode = list[i].1;
                    }
                    list.remove(i);
                    *changed = true;
                }
            }
            for g in &change.gone {
                let (dir, name) = split(g)?;
                let Some((_, list, changed)) = folders.get_mut(&dir) else {
                    return Ok(None);
                };
                let before = list.len();
                list.retain(|(n, _, _)| *n != name);
                *changed |= list.len() != before;
            }
            let Some((_, list, changed)) = folders.get_mut(&new_dir) else {
                return Ok(None);
            };
            *changed = true;
            match list.binary_search_by(|(n, _, _)| n.as_slice().cmp(&new_name)) {
                Ok(i) => list[i] = (new_name, mode, blob),
                Err(i) => list.insert(i, (new_name, mode, blob)),
            }
        }
        let odb = self
            .repo
            .odb()
            .map_err(|e| git_err("cannot open the object database", e))?;
        let mut up = TreeUpdateBuilder::new();
        for (dir, (in_head, list, changed)) in &folders {
            if !changed {
                continue;
            }
            if list.is_empty() {
                if *in_head {
                    up.remove(dir);
                }
                continue;
            }
            let id = odb
                .write(git2::ObjectType::Tree, &tree_bytes(list))
                .map_err(|e| git_err("cannot write a tree", e))?;
            up.upsert(dir, id, FileMode::Tree);
        }
        up.create_updated(&self.repo, base)
            .map(Some)
            .map_err(|e| git_err("cannot build the commit's tree", e))
    }

    /// `git commit-tree -S`: git signs the commit as it would sign its own
    /// (openpgp, ssh or x509, with the user's signing key and program).
    pub(super) fn commit_tree_signed(
        &self,
        tree: Oid,
        parent: Option<Oid>,
        msg: &str,
    ) -> Result<Oid, Error> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.workdir)
            .args(["commit-tree", "-S", &tree.to_string()]);
        if let Some(p) = parent {
            cmd.args(["-p", &p.to_string()]);
        }
        cmd.args(["-F", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The io error underneath, when there is one, is kept as the source.
        let refuse = |why: String, source: Option<std::io::Error>| {
            let message = format!("commit.gpgsign is true, and signing the commit failed: {why}");
            let help = "check user.signingkey and gpg.format (`git commit -S` must work), or pass --no-commit; deal never commits unsigned when signing is on";
            match source {
                Some(e) => Error::git_from(message, help, e),
                None => Error::git(message, help),
            }
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| refuse(format!("cannot run git: {e}"), Some(e)))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(msg.as_bytes())
                .map_err(|e| refuse(e.to_string(), Some(e)))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| refuse(e.to_string(), Some(e)))?;
        if !out.status.success() {
            return Err(refuse(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
                None,
            ));
        }
        Oid::from_str(String::from_utf8_lossy(&out.stdout).trim())
            .map_err(|_| refuse("git printed no commit id".into(), None))
    }

    /// Moves `head.refname` from `from` to `to`, only if it is still at `from`.
    pub(super) fn swap_ref(
        &self,
        head: &Head,
        from: Option<Oid>,
        to: Oid,
        log: &str,
    ) -> Result<(), Error> {
        let res = match from {
            Some(f) => self
                .repo
                .reference_matching(&head.refname, to, true, f, log)
                .map(|_| ()),
            None => self
                .repo
                .reference(&head.refname, to, false, log)
                .map(|_| ()),
        };
        res.map_err(|e| {
            // A lock left by a killed git or deal blocks every update of
            // the ref: say so, and how to clear it.
            let lock = self.repo.path().join(format!("{}.lock", head.refname));
            if lock.exists() {
                return Error::git_from(
                    format!(
                        "{} is locked ({} exists): another git process is running, or one was killed; nothing was changed",
                        head.refname,
                        lock.display()
                    ),
                    format!(
                        "wait for it to finish; if no git command is running, remove the stale lock: rm {}",
                        lock.display()
                    ),
                    e,
                );
            }
            Error::git_from(
                format!(
                    "{} moved while deal was working (another commit?); nothing was changed",
                    head.refname
                ),
                "run the command again",
                e,
            )
        })
    }

    /// Records `changes` in one commit: writes the working tree and the
    /// index, and with a message commits it and moves HEAD (only if HEAD is
    /// still `head`). Returns the new commit. On any failure everything is
    /// rolled back.
    ///
    /// Git's own order: objects, then the working tree and the index, then
    /// HEAD. A kill between any two steps leaves nothing changed (stray
    /// objects aside), the change in the working tree, the change staged, or
    /// the change committed: never a HEAD whose change the index undoes.
    pub fn record_all(
        &self,
        changes: &[Change],
        message: Option<&Message>,
        head: &Head,
        ident: Option<&Ident>,
    ) -> Result<Option<Oid>, Error> {
        // Objects first: each file's blob, written once, serves the commit's
        // tree and the index entry.
        let blobs = self.write_blobs(changes)?;
        let commit = match (message, ident) {
            (Some(m), Some(id)) => Some(self.make_commit(changes, &blobs, head, &m.text, id)?),
            _ => None,
        };
        fault_step("objects");
        let saved = self.index_entries(changes)?;
        let mut done = Vec::new();
        for change in changes {
            match write_worktree(change) {
                Ok(w) => done.push(w),
                Err(e) => return Err(undo_all(e, &done, changes)),
            }
        }
        fault_step("worktree");
        if let Err(e) = self.update_index(changes, &blobs) {
            return Err(undo_all(e, &done, changes));
        }
        fault_step("index");
        if let Some(new) = commit {
            fault_point(&self.workdir);
            let subject = message
                .map(|m| m.text.lines().next().unwrap_or(""))
                .unwrap_or("");
            if let Err(e) = self.swap_ref(head, head.oid, new, &format!("deal: {subject}")) {
                let mut left = undo_each(&done, changes);
                left.extend(self.restore_index(&saved).err());
                return Err(e.after_undo(left));
            }
            fault_step("head");
        }
        Ok(commit)
    }

    /// The id of the blob git would store for `bytes` at `rel`.
    pub fn blob_id_for(&self, rel: &str, bytes: &[u8]) -> Result<Oid, Error> {
        let conv = self.conversions(rel, &self.autocrlf());
        if !conv.is_empty() {
            return self.git_blob(rel, bytes, false, &conv);
        }
        Oid::hash_object(git2::ObjectType::Blob, bytes)
            .map_err(|e| git_err("cannot hash the deal", e))
    }

    /// `core.autocrlf` when it converts on the way in (`true`, `input`).
    fn autocrlf(&self) -> Option<String> {
        let cfg = self.repo.config().ok()?.snapshot().ok()?;
        match cfg.get_bool("core.autocrlf") {
            Ok(true) => Some("core.autocrlf=true".into()),
            Ok(false) => None,
            Err(_) => cfg
                .get_string("core.autocrlf")
                .ok()
                .filter(|v| v.eq_ignore_ascii_case("input"))
                .map(|_| "core.autocrlf=input".into()),
        }
    }

    /// What would make git store other bytes than the file's for `rel`
    /// (`git add`'s conversions: a `filter` driver such as git-crypt's or
    /// git-lfs's, `text`/`eol`/`crlf` end-of-line conversion with
    /// `core.autocrlf`, `ident`, `working-tree-encoding`), as
    /// `attribute=value` for messages; empty when the bytes go in as they
    /// are. Any attribute set at all counts, so a path git might convert is
    /// always handed to git (docs/safety.md, "git's own rules").
    pub fn conversions(&self, rel: &str, autocrlf: &Option<String>) -> Vec<String> {
        let mut out: Vec<String> = autocrlf.iter().cloned().collect();
        if !self.may_have_attributes(rel) {
            return out;
        }
        for name in [
            "filter",
            "text",
            "eol",
            "crlf",
            "ident",
            "working-tree-encoding",
        ] {
            let v = self
                .repo
                .get_attr(Path::new(rel), name, git2::AttrCheckFlags::FILE_THEN_INDEX)
                .ok()
                .flatten();
            match git2::AttrValue::from_string(v) {
                git2::AttrValue::Unspecified => {}
                git2::AttrValue::True => out.push(name.to_string()),
                git2::AttrValue::False => out.push(format!("-{name}")),
                git2::AttrValue::String(s) => out.push(format!("{name}={s}")),
                git2::AttrValue::Bytes(_) => out.push(name.to_string()),
            }
        }
        out
    }

    /// Whether any attributes file could apply to `rel`: a `.gitattributes`
    /// in its folder or one above it in the work tree (or staged there),
    /// the repository's `info/attributes`, the user's (`core.attributesFile`,
    /// else `$XDG_CONFIG_HOME/git/attributes`) or the system's. A stat or
    /// two per folder, so that a write in a repository without attributes
    /// (most) asks libgit2 nothing per file.
    fn may_have_attributes(&self, rel: &str) -> bool {
        static GLOBAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let global = *GLOBAL.get_or_init(|| {
            let cfg = self.repo.config().ok().and_then(|mut c| c.snapshot().ok());
            let user = cfg
                .as_ref()
                .and_then(|c| c.get_path("core.attributesFile").ok())
                .or_else(|| {
                    std::env::var_os("XDG_CONFIG_HOME")
                        .filter(|x| !x.is_empty())
                        .map(|x| PathBuf::from(x).join("git/attributes"))
                        .or_else(|| {
                            std::env::var_os("HOME")
                                .map(|h| PathBuf::from(h).join(".config/git/attributes"))
                        })
                });
            let system = ["/etc/gitattributes", "/usr/local/etc/gitattributes"];
            user.is_some_and(|u| u.exists())
                || self.repo.commondir().join("info/attributes").exists()
                || self.repo.path().join("info/attributes").exists()
                || (std::env::var_os("GIT_ATTR_NOSYSTEM").is_none()
                    && system.iter().any(|p| Path::new(p).exists()))
        });
        if global {
            return true;
        }
        // Each folder asked once per process (an import writes thousands of
        // files into a few folders).
        thread_local! {
            static FOLDERS: std::cell::RefCell<std::collections::HashMap<PathBuf, bool>> =
                Default::default();
        }
        let mut dir = Path::new(rel).parent();
        while let Some(d) = dir {
            let known = FOLDERS.with(|f| f.borrow().get(d).copied());
            let has = known.unwrap_or_else(|| {
                let file = d.join(".gitattributes");
                let has = self.workdir.join(&file).exists()
                    || self.index_id(&file.to_string_lossy()).is_some();
                FOLDERS.with(|f| f.borrow_mut().insert(d.to_path_buf(), has));
                has
            });
            if has {
                return true;
            }
            dir = d.parent();
        }
        false
    }

    /// The blob git makes of `bytes` at `rel` (`git hash-object --stdin
    /// --path`: the clean filter and conversions `git add` applies), written
    /// to the object database when `write`. A filter that fails is an error
    /// naming the attributes (`conv`); never other bytes than git's.
    fn git_blob(
        &self,
        rel: &str,
        bytes: &[u8],
        write: bool,
        conv: &[String],
    ) -> Result<Oid, Error> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.workdir)
            .arg("hash-object")
            .args(write.then_some("-w"))
            .arg("--stdin")
            .arg(format!("--path={rel}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The io error underneath, when there is one, is kept as the source.
        let refuse = |why: String, source: Option<std::io::Error>| {
            let message = format!(
                "{rel} must be stored through {} (git's own conversion for it), and that failed: {why}; nothing was changed",
                conv.join(", ")
            );
            let help = "make `git add` work for that file (the filter's program installed and configured, as for git), or remove the attribute from .gitattributes";
            match source {
                Some(e) => Error::git_from(message, help, e),
                None => Error::git(message, help),
            }
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| refuse(format!("cannot run git: {e}"), Some(e)))?;
        // Fed from a thread: a filter may write before it has read it all.
        let stdin = child.stdin.take();
        let out = std::thread::scope(|sc| {
            sc.spawn(move || {
                if let Some(mut w) = stdin {
                    let _ = w.write_all(bytes);
                }
            });
            child.wait_with_output()
        })
        .map_err(|e| refuse(e.to_string(), Some(e)))?;
        if !out.status.success() {
            return Err(refuse(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
                None,
            ));
        }
        Oid::from_str(String::from_utf8_lossy(&out.stdout).trim())
            .map_err(|_| refuse("git printed no object id".into(), None))
    }

    /// Writes each change's bytes as a blob; returns their ids, in order.
    /// A few go through libgit2. Many (an import) go to one `git
    /// fast-import`, which writes a single pack: libgit2 rescans the pack
    /// folder before every object it writes, which took a third of a
    /// 44,000-row import.
    pub(super) fn write_blobs(&self, changes: &[Change]) -> Result<Vec<Oid>, Error> {
        let one = |bytes: &[u8]| {
            self.repo
                .blob(bytes)
                .map_err(|e| git_err("cannot write the deal to git", e))
        };
        // Stored as `git add` would store them: a file with a filter or an
        // end-of-line conversion goes through git itself.
        let autocrlf = self.autocrlf();
        let convs: Vec<Vec<String>> = changes
            .iter()
            .map(|c| Ok(self.conversions(&self.rel(c.new)?, &autocrlf)))
            .collect::<Result<_, Error>>()?;
        if convs.iter().any(|c| !c.is_empty()) {
            return changes
                .iter()
                .zip(&convs)
                .map(|(c, conv)| {
                    if conv.is_empty() {
                        one(c.new_bytes)
                    } else {
                        self.git_blob(&self.rel(c.new)?, c.new_bytes, true, conv)
                    }
                })
                .collect();
        }
        if changes.len() < BULK_BLOBS {
            return changes.iter().map(|c| one(c.new_bytes)).collect();
        }
        let ids: Vec<Oid> = changes
            .iter()
            .map(|c| Oid::hash_object(git2::ObjectType::Blob, c.new_bytes))
            .collect::<Result<_, _>>()
            .map_err(|e| git_err("cannot hash the deal", e))?;
        let spawned = Command::new("git")
            .arg("-C")
            .arg(&self.workdir)
            .args(["fast-import", "--quiet", "--done"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let written = spawned.ok().and_then(|mut child| {
            let mut w = std::io::BufWriter::new(child.stdin.take()?);
            let fed = changes.iter().try_for_each(|c| {
                write!(w, "blob\ndata {}\n", c.new_bytes.len())?;
                w.write_all(c.new_bytes)?;
                w.write_all(b"\n")
            });
            let fed = fed
                .and_then(|_| w.write_all(b"done\n"))
                .and_then(|_| w.flush());
            drop(w);
            let out = child.wait_with_output().ok()?;
            (fed.is_ok() && out.status.success()).then_some(())
        });
        // Whatever fast-import did, every blob must be there now.
        let odb = self
            .repo
            .odb()
            .map_err(|e| git_err("cannot open the object database", e))?;
        if written.is_some() {
            let _ = odb.refresh();
        }
        for (c, id) in changes.iter().zip(&ids) {
            if !odb.exists(*id) {
                one(c.new_bytes)?;
            }
        }
        Ok(ids)
    }
}
