//! Every git2 call lives here: discovery, identity, init, and recording one
//! deal's change as one commit.
//!
//! A recorded change is built from HEAD's tree, not from the index, so the
//! commit holds only that deal's rename and edit and whatever else the user
//! has staged stays staged. The steps run in git's own order: objects
//! first (harmless if left behind), then the working tree and the index,
//! then HEAD, compare-and-swap. If a step fails, the ones before it are
//! rolled back, so the working tree, the index and HEAD end exactly as they
//! were; a kill leaves nothing, the change staged, or the change committed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{FileMode, Oid, Repository, Signature, build::TreeUpdateBuilder};

use crate::error::Error;
use crate::pipeline::{Content, Entry};
use crate::worktree::write_worktree;

/// Sets libgit2's global options, once; `main` calls it before any
/// thread starts (libgit2 reads these globals unsynchronised).
///
/// - libgit2 re-hashes every object it reads to verify it; git itself does
///   not on ordinary reads (fsck does). History walks read tens of
///   thousands of trees, and the SHA-1 took half of `deal audit`'s time.
/// - libgit2 keeps trees of up to 4 KB in its object cache; a stage folder
///   of a thousand deals is a 50 KB tree, stored as a delta on a chain up
///   to 50 long, and a move read it four times over (a fifth of `deal
///   move`). Trees of up to 4 MB stay cached.
pub fn set_options() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_hash_verification(false);
        // SAFETY: called once, from `main` before any thread is spawned
        // (and from `discover`, for library callers, before any git work).
        let _ = unsafe { git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 4 << 20) };
    });
}

/// A blob's bytes as a deal file's content, unless it is larger than
/// `max`.
pub fn blob_content(odb: &git2::Odb, id: Oid, max: usize) -> Content {
    match odb.read(id) {
        Ok(o) if o.len() > max => Content::TooBig(o.len() as u64),
        Ok(o) => Content::Bytes(o.data().to_vec()),
        Err(e) => Content::Unreadable(format!(
            "git object {id} cannot be read ({}); a partial clone may lack it: run `git fetch --refetch`",
            e.message()
        )),
    }
}

/// The files of folder `dir` in `index` (stage 0, name, mode, id), if
/// they are exactly HEAD's tree `want` there: no conflict, no subfolder,
/// nothing staged (checked by hashing them as a tree).
fn index_folder(index: &git2::Index, dir: &str, want: Oid) -> Option<Vec<(Vec<u8>, u32, Oid)>> {
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
    let id = Oid::hash_object(git2::ObjectType::Tree, &tree_bytes(&out)).ok()?;
    (id == want).then_some(out)
}

/// A tree object's bytes for files `entries`, sorted by name (files only,
/// so git's order is plain byte order).
fn tree_bytes(entries: &[(Vec<u8>, u32, Oid)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 60);
    for (name, mode, id) in entries {
        out.extend_from_slice(format!("{mode:o} ").as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(id.as_bytes());
    }
    out
}

/// `git var -l` in `dir`, its output captured.
fn var_list(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["var", "-l"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// `git var -l` started ahead of need: the folder it runs in, and the
/// running process.
static PREFETCH: std::sync::Mutex<Option<(PathBuf, std::process::Child)>> =
    std::sync::Mutex::new(None);

/// Starts `git var -l` in `dir` (a folder of the repository a command is
/// about to commit to) in the background: git's answer then arrives while
/// the command loads the deal and checks its criteria on the other core,
/// instead of after them (a tenth of `deal move`). [`Repo`] takes it when
/// it needs the identities; a command that ends first leaves it to exit.
pub fn prefetch_vars(dir: &Path) {
    let Ok(mut slot) = PREFETCH.lock() else {
        return;
    };
    if slot.is_none()
        && let Ok(dir) = std::fs::canonicalize(dir)
        && let Ok(child) = var_list(&dir).spawn()
    {
        *slot = Some((dir, child));
    }
}

/// The repository that contains `path`, if any.
pub fn discover(path: &Path) -> Option<Repository> {
    set_options();
    Repository::discover(path).ok()
}

/// The pipeline root's path inside its repository's work tree (empty when
/// the root is the work tree itself, or when there is no repository).
pub fn prefix_in_repo(root: &Path) -> PathBuf {
    discover(root)
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .and_then(|w| std::fs::canonicalize(w).ok())
        .and_then(|w| root.strip_prefix(&w).ok().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// The git identity (`user.name`, `user.email`) in effect at `path`, as
/// git resolves it (`GIT_CONFIG_GLOBAL`, `GIT_CONFIG_NOSYSTEM`, includes).
pub fn identity(path: &Path) -> Option<(String, String)> {
    let name = git_config(path, "user.name")?;
    let email = git_config(path, "user.email")?;
    Some((name, email))
}

/// A config value as `git config --get` resolves it in `dir` (every file git
/// reads, with its environment), or `None` when unset or git cannot run.
pub fn git_config(dir: &Path, key: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["config", "--get", key])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let v = String::from_utf8(out.stdout).ok()?;
    let v = v.trim_end_matches('\n');
    (out.status.success() && !v.trim().is_empty()).then(|| v.to_string())
}

/// `git var GIT_AUTHOR_IDENT` (or `GIT_COMMITTER_IDENT`) in `dir`: the
/// identity and date git would put on a commit, or git's refusal.
fn git_var_ident(dir: &Path, var: &str) -> Result<(String, String, git2::Time), String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["var", var])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let fatal = err
            .lines()
            .find_map(|l| l.strip_prefix("fatal: "))
            .unwrap_or(err.trim());
        return Err(fatal.to_string());
    }
    let line = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    parse_ident(&line).ok_or_else(|| format!("git printed an identity deal cannot read: {line}"))
}

/// `Name <email> 1700000000 +0100` into its parts.
fn parse_ident(line: &str) -> Option<(String, String, git2::Time)> {
    let lt = line.rfind('<')?;
    let gt = line.rfind('>')?;
    let name = line[..lt].trim().to_string();
    let email = line.get(lt + 1..gt)?.to_string();
    let mut rest = line[gt + 1..].split_whitespace();
    let secs: i64 = rest.next()?.parse().ok()?;
    let z = rest.next().unwrap_or("+0000");
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let d = z.trim_start_matches(['+', '-']);
    let h: i32 = d.get(..2)?.parse().ok()?;
    let m: i32 = d.get(2..4)?.parse().ok()?;
    Some((name, email, git2::Time::new(secs, sign * (h * 60 + m))))
}

/// Runs `git init` in `dir`.
pub fn init(dir: &Path) -> Result<(), git2::Error> {
    Repository::init(dir).map(|_| ())
}

fn git_err(what: &str, e: git2::Error) -> Error {
    Error::git(format!("{what}: {}", e.message()), "")
}

/// One deal file's change: where it was, where it goes, and its new bytes.
/// Paths are absolute; both are inside the work tree.
pub struct Change<'a> {
    pub old: Option<&'a Path>,
    pub old_bytes: Option<&'a [u8]>,
    pub new: &'a Path,
    pub new_bytes: &'a [u8],
    /// Other places of the same deal that are gone from the working tree
    /// (a move staged with `--no-commit`, a hand `git mv`): removed from the
    /// commit and the index too, so the deal is never in two places.
    pub gone: Vec<PathBuf>,
}

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

/// A repository opened for recording changes.
pub struct Repo {
    repo: Repository,
    workdir: PathBuf,
    /// `git var -l`, read once when a commit needs it.
    vars: std::cell::OnceCell<Vec<(String, String)>>,
}

/// Author and committer.
pub struct Ident {
    pub author: Signature<'static>,
    pub committer: Signature<'static>,
}

impl Repo {
    /// The repository whose work tree holds `root`, if any (a bare
    /// repository does not count).
    pub fn open(root: &Path) -> Option<Repo> {
        let repo = discover(root)?;
        let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
        Some(Repo {
            repo,
            workdir,
            vars: std::cell::OnceCell::new(),
        })
    }

    /// [`Repo::open`], or an error saying the pipeline is not in a git
    /// repository, with `help` saying why the command needs one.
    pub fn require(root: &Path, help: &str) -> Result<Repo, Error> {
        Repo::open(root).ok_or_else(|| {
            Error::usage(
                format!(
                    "{} is not in a git repository",
                    crate::diag::display_path(root)
                ),
                help,
            )
        })
    }

    /// The git2 repository, for the history walks of [`crate::history`].
    pub fn git(&self) -> &Repository {
        &self.repo
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// `abs` relative to the work tree, with `/` separators, as git names it.
    pub fn rel(&self, abs: &Path) -> Result<String, Error> {
        let r = abs.strip_prefix(&self.workdir).map_err(|_| {
            Error::git(
                format!("{} is outside the repository", abs.display()),
                "run deal inside the repository's work tree",
            )
        })?;
        let s = r.to_str().ok_or_else(|| {
            Error::git(format!("{} is not a UTF-8 path", r.display()), "rename it")
        })?;
        Ok(s.replace('\\', "/"))
    }

    /// Author and committer exactly as `git commit` would take them: asked
    /// of git itself (`git var GIT_AUTHOR_IDENT`), so `GIT_CONFIG_GLOBAL`,
    /// `GIT_CONFIG_NOSYSTEM`, includes, conditional includes and
    /// `GIT_AUTHOR_*`/`GIT_COMMITTER_*` all count. Where git would refuse
    /// to commit for lack of identity, this refuses too.
    /// `git var -l` in the work tree: git's own resolution of the commit
    /// identities and of every config value (GIT_CONFIG_GLOBAL,
    /// GIT_CONFIG_NOSYSTEM, includes, `git -c`, GIT_AUTHOR_*), in one
    /// process: three `git var`/`git config` runs cost a third of a move.
    fn vars(&self) -> &[(String, String)] {
        self.vars.get_or_init(|| {
            let early = PREFETCH.lock().ok().and_then(|mut slot| slot.take());
            let out = match early {
                Some((dir, child)) if dir.starts_with(&self.workdir) => child.wait_with_output(),
                other => {
                    if let Some((_, mut child)) = other {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    var_list(&self.workdir).output()
                }
            };
            match out {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                    .lines()
                    // A key with no value (`[commit] gpgsign`) has no `=`.
                    .map(|l| l.split_once('=').unwrap_or((l, "")))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                _ => Vec::new(),
            }
        })
    }

    /// The last value `git var -l` gives for `key`.
    fn var(&self, key: &str) -> Option<&str> {
        self.vars()
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn ident(&self) -> Result<Ident, Error> {
        let sig = |var: &str| -> Result<Signature<'static>, Error> {
            // `git var -l` leaves out an identity git would refuse; then
            // `git var <VAR>` says why.
            // `git var -l` is lenient: it also prints an identity guessed
            // from the host name. Only an email someone set counts here;
            // anything else asks git's strict `git var <VAR>`.
            let who = if var == "GIT_AUTHOR_IDENT" {
                "author"
            } else {
                "committer"
            };
            let explicit = |email: &str| {
                let env = |k: &str| std::env::var(k).ok();
                [
                    env(&format!("GIT_{}_EMAIL", who.to_uppercase())),
                    self.var(&format!("{who}.email")).map(str::to_string),
                    self.var("user.email").map(str::to_string),
                    env("EMAIL"),
                ]
                .into_iter()
                .flatten()
                .any(|e| e.trim() == email)
            };
            let known = self
                .var(var)
                .and_then(parse_ident)
                .filter(|(name, email, _)| !name.trim().is_empty() && explicit(email));
            let (name, email, time) = match known {
                Some(k) => Ok(k),
                None => git_var_ident(&self.workdir, var),
            }
            .map_err(|why| {
                let what = ["user.name", "user.email"]
                    .into_iter()
                    .find(|k| git_config(&self.workdir, k).is_none())
                    .map(|k| format!("`{k}` is not set"))
                    .unwrap_or(why);
                Error::git(
                    format!("git has no identity: {what}, so deal cannot commit"),
                    "run `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`, or pass --no-commit",
                )
            })?;
            Signature::new(&name, &email, &time).map_err(|e| git_err("bad git identity", e))
        };
        Ok(Ident {
            author: sig("GIT_AUTHOR_IDENT")?,
            committer: sig("GIT_COMMITTER_IDENT")?,
        })
    }

    /// Refuses when another git process holds the index.
    pub fn check_unlocked(&self) -> Result<(), Error> {
        let lock = self.repo.path().join("index.lock");
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

    /// Whether the index has an entry at `rel`.
    /// Whether the index holds something at `rel` that HEAD does not: a
    /// file the user staged there (not merely HEAD's copy of a deal whose
    /// move an interrupted command left in the work tree only).
    pub fn staged_at(&self, rel: &str) -> bool {
        let Some(id) = self
            .repo
            .index()
            .ok()
            .and_then(|i| i.get_path(Path::new(rel), 0).map(|e| e.id))
        else {
            return false;
        };
        let head = self.repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        head.and_then(|t| t.get_path(Path::new(rel)).ok().map(|e| e.id())) != Some(id)
    }

    /// Whether `commit.gpgsign` is on, as git resolves it.
    fn gpgsign(&self) -> bool {
        // git's booleans: a key with no value is true.
        self.var("commit.gpgsign").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "true" | "yes" | "on" | "1"
            )
        })
    }

    /// Builds the commit for `changes` on top of `head` (not yet on any ref).
    fn make_commit(
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
        if self.gpgsign() {
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
    fn tree_from_head(
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
    fn tree_from_index(
        &self,
        changes: &[Change],
        blobs: &[Oid],
        base: &git2::Tree,
    ) -> Result<Option<Oid>, Error> {
        let Ok(index) = self.repo.index() else {
            return Ok(None);
        };
        // Each touched folder's entries, as HEAD has them.
        // Folder → (HEAD has it, its files, changed).
        type Folder = (bool, Vec<(Vec<u8>, u32, Oid)>, bool);
        let mut folders: std::collections::BTreeMap<String, Folder> =
            std::collections::BTreeMap::new();
        let mut paths = Vec::new();
        for change in changes {
            paths.extend(change.old.map(Path::to_path_buf));
            paths.push(change.new.to_path_buf());
            paths.extend(change.gone.iter().cloned());
        }
        for p in &paths {
            let rel = self.rel(p)?;
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
                Some(id) => match index_folder(&index, dir, id) {
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
    fn commit_tree_signed(&self, tree: Oid, parent: Option<Oid>, msg: &str) -> Result<Oid, Error> {
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
        let refuse = |why: String| {
            Error::git(
                format!("commit.gpgsign is true, and signing the commit failed: {why}"),
                "check user.signingkey and gpg.format (`git commit -S` must work), or pass --no-commit; deal never commits unsigned when signing is on",
            )
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| refuse(format!("cannot run git: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(msg.as_bytes())
                .map_err(|e| refuse(e.to_string()))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| refuse(e.to_string()))?;
        if !out.status.success() {
            return Err(refuse(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        Oid::from_str(String::from_utf8_lossy(&out.stdout).trim())
            .map_err(|_| refuse("git printed no commit id".into()))
    }

    /// Moves `head.refname` from `from` to `to`, only if it is still at `from`.
    fn swap_ref(&self, head: &Head, from: Option<Oid>, to: Oid, log: &str) -> Result<(), Error> {
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
        res.map_err(|_| {
            // A lock left by a killed git or deal blocks every update of
            // the ref: say so, and how to clear it.
            let lock = self.repo.path().join(format!("{}.lock", head.refname));
            if lock.exists() {
                return Error::git(
                    format!(
                        "{} is locked ({} exists): another git process is running, or one was killed; nothing was changed",
                        head.refname,
                        lock.display()
                    ),
                    format!(
                        "wait for it to finish; if no git command is running, remove the stale lock: rm {}",
                        lock.display()
                    ),
                );
            }
            Error::git(
                format!(
                    "{} moved while deal was working (another commit?); nothing was changed",
                    head.refname
                ),
                "run the command again",
            )
        })
    }

    /// Records `change`: writes the working tree and the index, and with a
    /// message commits it and moves HEAD (only if HEAD is still `head`).
    /// Returns the new commit. On any failure everything is rolled back.
    pub fn record(
        &self,
        change: &Change,
        message: Option<&Message>,
        head: &Head,
        ident: Option<&Ident>,
    ) -> Result<Option<Oid>, Error> {
        self.record_all(std::slice::from_ref(change), message, head, ident)
    }

    /// [`Repo::record`] for several files in one commit.
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
                Err(e) => {
                    for (w, c) in done.iter().zip(changes) {
                        w.undo(c);
                    }
                    return Err(e);
                }
            }
        }
        fault_step("worktree");
        let undo_files = |done: &[crate::worktree::WorktreeUndo]| {
            for (w, c) in done.iter().zip(changes) {
                w.undo(c);
            }
        };
        if let Err(e) = self.update_index(changes, &blobs) {
            undo_files(&done);
            return Err(e);
        }
        fault_step("index");
        if let Some(new) = commit {
            fault_point(&self.workdir);
            let subject = message
                .map(|m| m.text.lines().next().unwrap_or(""))
                .unwrap_or("");
            if let Err(e) = self.swap_ref(head, head.oid, new, &format!("deal: {subject}")) {
                undo_files(&done);
                self.restore_index(&saved);
                return Err(e);
            }
            fault_step("head");
        }
        Ok(commit)
    }

    /// Writes each change's bytes as a blob; returns their ids, in order.
    /// A few go through libgit2. Many (an import) go to one `git
    /// fast-import`, which writes a single pack: libgit2 rescans the pack
    /// folder before every object it writes, which took a third of a
    /// 44,000-row import.
    fn write_blobs(&self, changes: &[Change]) -> Result<Vec<Oid>, Error> {
        let one = |bytes: &[u8]| {
            self.repo
                .blob(bytes)
                .map_err(|e| git_err("cannot write the deal to git", e))
        };
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

    /// The index entries (stage 0) at every path `changes` touch, as they
    /// are now, so a failed record can put them back.
    fn index_entries(
        &self,
        changes: &[Change],
    ) -> Result<Vec<(String, Option<git2::IndexEntry>)>, Error> {
        let index = self.fresh_index()?;
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
                    let e = index.get_path(Path::new(&rel), 0);
                    out.push((rel, e));
                }
            }
        }
        Ok(out)
    }

    /// Puts back index entries saved by [`Repo::index_entries`].
    fn restore_index(&self, saved: &[(String, Option<git2::IndexEntry>)]) {
        let Ok(mut index) = self.fresh_index() else {
            return;
        };
        for (rel, e) in saved {
            match e {
                Some(e) => {
                    let _ = index.add(e);
                }
                None => {
                    let _ = index.remove_path(Path::new(rel));
                }
            }
        }
        let _ = index.write();
    }

    /// The index as it is on disk now (not as this process last saw it), so
    /// a write never drops what another git command staged meanwhile. The
    /// file is read again only when its stamp (mtime to the nanosecond,
    /// size, inode) changed since this process read it: a forced re-read
    /// parsed and checksummed the 1 MB index of 10,000 deals twice more per
    /// move.
    fn fresh_index(&self) -> Result<git2::Index, Error> {
        let mut index = self
            .repo
            .index()
            .map_err(|e| git_err("cannot read the git index", e))?;
        index
            .read(false)
            .map_err(|e| git_err("cannot read the git index", e))?;
        Ok(index)
    }

    fn update_index(&self, changes: &[Change], blobs: &[Oid]) -> Result<(), Error> {
        self.check_unlocked()?;
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

    fn index_one(&self, index: &mut git2::Index, change: &Change, blob: Oid) -> Result<(), Error> {
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
}

/// From this many files on, blobs are written by `git fast-import`.
const BULK_BLOBS: usize = 64;

/// An index entry for a file written at `path` (repository-relative), with
/// its stat data as git records it.
fn index_entry(meta: &std::fs::Metadata, mode: u32, id: Oid, path: &str) -> git2::IndexEntry {
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
fn smudge_racy(index: &mut git2::Index) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let racy: Vec<git2::IndexEntry> = index
        .iter()
        .filter(|e| e.file_size != 0 && i64::from(e.mtime.seconds()) >= now - 2)
        .collect();
    for mut e in racy {
        e.file_size = 0;
        let _ = index.add(&e);
    }
}

/// A test hook for crash safety: a debug build with `DEAL_TEST_KILL_AT`
/// set to a step's name (`objects`, `worktree`, `index`, `head`) kills
/// itself with SIGKILL right after that step; `DEAL_TEST_STEP_DELAY_MS`
/// sleeps after each step, so a test can kill it anywhere in between.
/// Release builds have no hook.
pub fn fault_step(step: &str) {
    #[cfg(debug_assertions)]
    {
        if let Some(ms) = std::env::var("DEAL_TEST_STEP_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if std::env::var("DEAL_TEST_KILL_AT").is_ok_and(|v| v == step) {
            let _ = Command::new("kill")
                .args(["-9", &std::process::id().to_string()])
                .status();
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// A test hook: debug builds run `DEAL_TEST_BEFORE_REF_UPDATE` (a shell
/// command) just before HEAD is moved, so tests can move HEAD under deal's
/// feet. Release builds have no hook.
fn fault_point(workdir: &Path) {
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
    /// The commit `rev` names (any revision git understands).
    pub fn commit_of(&self, rev: &str) -> Result<Oid, Error> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| {
                Error::usage(
                    format!("`{rev}` is not a commit here: {}", e.message()),
                    "give a branch, tag, commit id or an expression like HEAD~3",
                )
            })
    }

    /// The last commit reachable from HEAD made at or before `t`.
    pub fn commit_before(&self, t: chrono::DateTime<chrono::Utc>) -> Result<Option<Oid>, Error> {
        let mut walk = self
            .repo
            .revwalk()
            .map_err(|e| git_err("cannot walk history", e))?;
        if walk.push_head().is_err() {
            return Ok(None);
        }
        let _ = walk.set_sorting(git2::Sort::TIME);
        for oid in walk.flatten() {
            if let Ok(c) = self.repo.find_commit(oid)
                && c.time().seconds() <= t.timestamp()
            {
                return Ok(Some(oid));
            }
        }
        Ok(None)
    }

    /// The pipeline root's files at `commit`: `pipeline.yaml`'s text, every
    /// file path under the root (for `file` criteria), and the `.md` files
    /// under `deals_dir` (read lazily by the caller's choice of `deals_dir`).
    /// `root` is the pipeline root in the work tree.
    pub fn tree_at(&self, commit: Oid, root: &Path) -> Result<git2::Tree<'_>, Error> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| git_err("cannot read the commit", e))?;
        let tree = c
            .tree()
            .map_err(|e| git_err("cannot read the commit's tree", e))?;
        let prefix = self.rel(root)?;
        if prefix.is_empty() {
            return Ok(tree);
        }
        let entry = tree.get_path(Path::new(&prefix)).map_err(|_| {
            Error::usage(
                format!("the pipeline folder {prefix} does not exist at that commit"),
                "give a later commit",
            )
        })?;
        self.repo
            .find_tree(entry.id())
            .map_err(|e| git_err("cannot read the pipeline's tree", e))
    }

    /// The bytes of `rel` in `tree`, if it is a blob.
    pub fn blob_in(&self, tree: &git2::Tree, rel: &str) -> Option<Vec<u8>> {
        let e = tree.get_path(Path::new(rel)).ok()?;
        let blob = self.repo.find_blob(e.id()).ok()?;
        Some(blob.content().to_vec())
    }

    /// Every file under `tree` (paths relative to it), and the `.md` files
    /// under `dir` with their bytes (none for symlinks or files over
    /// `max_bytes`, which the caller reports).
    pub fn files_in(
        &self,
        tree: &git2::Tree,
        dir: &str,
        max_bytes: usize,
    ) -> (Vec<String>, Vec<Entry>) {
        let mut all = Vec::new();
        let mut deals = Vec::new();
        let dir_slash = format!("{}/", dir.trim_end_matches('/'));
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |parent, e| {
            if e.kind() != Some(git2::ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let path = format!("{parent}{}", e.name().unwrap_or(""));
            if path.starts_with(&dir_slash) && is_deal_candidate(&path) {
                {
                    let content = if e.filemode() == i32::from(FileMode::Link) {
                        Content::Symlink
                    } else {
                        self.blob(e.id(), max_bytes)
                    };
                    deals.push(Entry {
                        rel: PathBuf::from(&path),
                        content,
                    });
                }
            }
            all.push(path);
            git2::TreeWalkResult::Ok
        });
        (all, deals)
    }
}

impl Repo {
    /// The index a commit will record: `GIT_INDEX_FILE` when git sets it
    /// (`git commit -a`, `git commit PATH` and finishing a merge with `-a`
    /// run their hooks on a temporary index), else the repository's own.
    fn staged_index(&self) -> Result<git2::Index, Error> {
        let read = |e| git_err("cannot read the git index", e);
        match std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()) {
            Some(p) => {
                let p = PathBuf::from(p);
                // git sets it relative to the folder the hook runs in.
                let p = if p.is_absolute() {
                    p
                } else {
                    std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
                };
                git2::Index::open(&p).map_err(read)
            }
            None => self.repo.index().map_err(read),
        }
    }

    /// The staged bytes of `rel` (relative to the pipeline root `root`).
    pub fn index_blob(&self, root: &Path, rel: &str) -> Result<Option<Vec<u8>>, Error> {
        let index = self.staged_index()?;
        let prefix = self.rel(root)?;
        let path = if prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{prefix}/{rel}")
        };
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

    /// A blob's bytes, unless it is larger than `max`.
    pub fn blob(&self, id: Oid, max: usize) -> Content {
        match self.repo.odb() {
            Ok(odb) => blob_content(&odb, id, max),
            Err(e) => {
                Content::Unreadable(format!("cannot open the object database: {}", e.message()))
            }
        }
    }
}

impl Repo {
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
        let busy = ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"]
            .iter()
            .find(|f| self.repo.path().join(f).exists());
        let unmerged = self.repo.index().is_ok_and(|i| i.has_conflicts());
        match (busy, unmerged) {
            (None, false) => Ok(()),
            (what, _) => Err(Error::git(
                format!(
                    "a {} is in progress{}; nothing was changed",
                    match what.copied() {
                        Some("CHERRY_PICK_HEAD") => "cherry-pick",
                        Some("REVERT_HEAD") => "revert",
                        _ => "merge",
                    },
                    if unmerged {
                        ", with unmerged paths"
                    } else {
                        ""
                    }
                ),
                "finish it (resolve, `git add`, `git commit`) or abort it (`git merge --abort`), then run the command again; with --no-commit the change is only staged, into the merge",
            )),
        }
    }

    /// The blob id at `path` (repository-relative) in commit `c`'s tree.
    pub fn blob_id_at(&self, c: Oid, path: &str) -> Option<Oid> {
        let tree = self.repo.find_commit(c).ok()?.tree().ok()?;
        tree.get_path(Path::new(path)).ok().map(|e| e.id())
    }
}

/// Whether a file path under the deals folder is a deal or should be one
/// (see [`crate::pipeline::name_kind`]): not in a hidden folder, not
/// `.gitkeep`.
fn is_deal_candidate(path: &str) -> bool {
    let mut segs: Vec<&str> = path.split('/').collect();
    let name = segs.pop().unwrap_or("");
    !segs.iter().any(|s| s.starts_with('.'))
        && crate::pipeline::name_kind(name) != crate::pipeline::NameKind::Ignored
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
    /// Where git looks for hooks: `core.hooksPath` (relative to the work
    /// tree when relative), else the repository's `hooks` folder (shared by
    /// all worktrees).
    pub fn hooks_dir(&self) -> PathBuf {
        if let Ok(cfg) = self.repo.config()
            && let Ok(p) = cfg.get_path("core.hooksPath")
        {
            return if p.is_absolute() {
                p
            } else {
                self.workdir.join(p)
            };
        }
        self.repo.commondir().join("hooks")
    }
}

impl Repo {
    /// The merge-base of two commits.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Oid, Error> {
        self.repo.merge_base(a, b).map_err(|e| {
            Error::usage(
                format!("the two revisions share no history: {}", e.message()),
                "give a base on the same history as HEAD",
            )
        })
    }
}
