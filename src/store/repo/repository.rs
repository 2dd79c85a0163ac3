//! Opening a repository as git discovers it, libgit2's options, trees and
//! blobs at a commit, revisions and hooks: the [`Repo`] every job of
//! `store::repo` starts from.

use std::path::{Path, PathBuf};

use git2::{FileMode, Oid, Repository};

use crate::base::error::Error;

use super::rawindex;
use crate::store::files::{Content, Entry};

/// Sets libgit2's global options, once; `main` calls it before any
/// thread starts (libgit2 reads these globals unsynchronised).
///
/// libgit2 re-hashes every object it reads to verify it; git itself does
/// not on ordinary reads (fsck does). History walks read tens of thousands
/// of trees, and the SHA-1 took half of `deal audit`'s time.
pub fn set_options() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_hash_verification(false);
        // libgit2 kept every pack file it read open, without bound: a
        // repository of a thousand packs ran out of file descriptors under
        // a 1,024 limit (256 on macOS), and the reads failed as if the
        // objects were missing. Past this many it closes the least recently
        // used, as git does (`core.packedGitLimit`'s file count).
        // SAFETY: set once, on the first repository opened, before any
        // thread reads it.
        let _ = unsafe { git2::opts::set_mwindow_file_limit(open_packs()) };
    });
}

/// How many pack files libgit2 may keep open at once, over all handles: a
/// quarter of the process's descriptor limit, between 8 and 96, so that
/// the deal files a command reads meanwhile still have room.
fn open_packs() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given, nothing else.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    };
    (soft / 4).clamp(8, 96)
}

/// Lets libgit2 cache trees of up to 4 MB (from 4 KB), for a command about
/// to commit: a stage folder of a thousand deals is a 50 KB tree, often a
/// delta on a chain fifty long, and building a move's commit looked it up
/// more than once (27 ms against 10.5 ms for the move, median of 30). Not
/// for history walks: caching every tree they pass made `deal audit` a
/// quarter slower. Called at the start of `move`, `set` and `new`, before
/// any thread exists.
pub fn cache_big_trees() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: libgit2 reads this global unsynchronised; the commands call
    // this before they start any thread.
    ONCE.call_once(|| {
        let _ = unsafe { git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 4 << 20) };
    });
}

/// [`REFETCH`] naming the remote the clone's filter belongs to (the first
/// with a `partialclonefilter`, else `origin`).
pub fn refetch_help(git: &Repository) -> String {
    let remote = git
        .config()
        .ok()
        .and_then(|c| {
            let mut entries = c.entries(Some(r"remote\..*\.partialclonefilter")).ok()?;
            let e = entries.next()?.ok()?;
            let name = e.name().ok()?;
            let r = name
                .strip_prefix("remote.")?
                .strip_suffix(".partialclonefilter")?;
            Some(r.to_string())
        })
        .unwrap_or_else(|| "origin".into());
    REFETCH.replace("origin", &remote)
}

/// How to get back objects a clone lacks. `git fetch --refetch` alone
/// fetches through the clone's filter again, so the filter goes first.
pub const REFETCH: &str = "in a partial clone, fetch what it left out: `git config --unset remote.origin.partialclonefilter`, then `git fetch --refetch origin` (or clone again without --filter); otherwise `git fsck` names what the repository lost";

/// A blob's bytes as a deal file's content, unless it is larger than
/// `max`.
pub fn blob_content(odb: &git2::Odb, id: Oid, max: usize) -> Content {
    match read_blob(odb, id, max) {
        Ok(o) => Content::Bytes(o.data().to_vec()),
        Err(c) => c,
    }
}

/// A blob read from the object database, or the [`Content`] that says why
/// not: larger than `max`, or unreadable (a partial clone may lack it).
pub fn read_blob<'o>(
    odb: &'o git2::Odb,
    id: Oid,
    max: usize,
) -> Result<git2::OdbObject<'o>, Content> {
    match odb.read(id) {
        Ok(o) if o.len() > max => Err(Content::TooBig(o.len() as u64)),
        Ok(o) => Ok(o),
        Err(e) => Err(Content::Unreadable(format!(
            "git object {id} cannot be read ({}); {}",
            e.message(),
            REFETCH
        ))),
    }
}

/// The repository that contains `path`, if any, and if git would work in
/// it ([`find`]).
pub fn discover(path: &Path) -> Option<Repository> {
    find(path).ok().flatten()
}

/// The repository that contains `path`, found as git finds it
/// (docs/safety.md, "git's own rules"): `GIT_DIR` when it is set (its work
/// tree `GIT_WORK_TREE`, else `core.worktree`, else the current folder, as
/// git has it), else the nearest `.git` above `path`. `Ok(None)`: no
/// repository. An error where git itself would refuse the repository
/// (dubious ownership) or where deal could not write it (a SHA-256 object
/// format, the reftable ref format), with git's message and fix.
pub fn find(path: &Path) -> Result<Option<Repository>, Error> {
    let found = find_once(path);
    // libgit2 reads `safe.directory` only from the config files; git also
    // takes it from `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>` and
    // `GIT_CONFIG_PARAMETERS` (`git -c`). When git itself works here, so
    // does deal: libgit2's own ownership check is turned off and the
    // repository opened again.
    if found.is_err() && OWNER_REFUSED.swap(false, Ordering::Relaxed) && git_works_in(path) {
        // SAFETY: a process-wide libgit2 option, set once before the
        // repository is opened again; no other libgit2 call depends on it
        // meanwhile (ownership is only checked when a repository opens).
        let _ = unsafe { git2::opts::set_verify_owner_validation(false) };
        return find_once(path);
    }
    found
}

/// Set when libgit2 refused a repository for its owner ([`refused`]).
static OWNER_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
use std::sync::atomic::Ordering;

/// Whether git itself opens the repository at `path` (its whole config,
/// `safe.directory` from the environment included).
fn git_works_in(path: &Path) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["rev-parse", "--git-dir"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn find_once(path: &Path) -> Result<Option<Repository>, Error> {
    set_options();
    let found = match std::env::var_os("GIT_DIR").filter(|d| !d.is_empty()) {
        Some(gd) => {
            let gd = PathBuf::from(gd);
            refuse_format(&gd)?;
            match Repository::open_ext(
                &gd,
                git2::RepositoryOpenFlags::NO_SEARCH,
                std::iter::empty::<&std::ffi::OsStr>(),
            ) {
                Ok(r) => {
                    let work = std::env::var_os("GIT_WORK_TREE")
                        .filter(|w| !w.is_empty())
                        .map(PathBuf::from);
                    let has_core_worktree = r
                        .config()
                        .ok()
                        .is_some_and(|c| c.get_entry("core.worktree").is_ok());
                    match work {
                        Some(w) => {
                            let _ = r.set_workdir(&w, false);
                        }
                        None if !r.is_bare() && !has_core_worktree => {
                            if let Ok(cwd) = std::env::current_dir() {
                                let _ = r.set_workdir(&cwd, false);
                            }
                        }
                        None => {}
                    }
                    return Ok(Some(r));
                }
                // git: "fatal: not a git repository: '<GIT_DIR>'", never
                // a fall back to no repository (a write without the lock).
                Err(e) if e.code() == git2::ErrorCode::NotFound => {
                    return Err(Error::git_from(
                        format!(
                            "not a git repository: GIT_DIR is '{}' (git refuses it too); nothing was changed",
                            gd.display()
                        ),
                        "point GIT_DIR at a repository's git directory, or unset it",
                        e,
                    ));
                }
                Err(e) => return refused(&gd, e).map(|_| None),
            }
        }
        None => Repository::discover(path),
    };
    match found {
        Ok(repo) => {
            fix_gitlink_workdir(&repo, path);
            Ok(Some(repo))
        }
        Err(e) => {
            // libgit2 stops at a repository it will not open; name why.
            let start = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            match start
                .ancestors()
                .map(|d| d.join(".git"))
                .find(|g| g.exists())
            {
                Some(g) => {
                    let gd = if g.is_file() {
                        gitlink_target(&g).unwrap_or(g)
                    } else {
                        g
                    };
                    refuse_format(&gd)?;
                    refused(&gd, e).map(|_| None)
                }
                None => Ok(None),
            }
        }
    }
}

/// The git directory a `.git` file names (`gitdir: …`).
fn gitlink_target(file: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(file).ok()?;
    let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
    Some(if target.is_absolute() {
        target
    } else {
        file.parent()?.join(target)
    })
}

/// Refuses a repository whose format deal cannot write: objects named by
/// SHA-256 (`extensions.objectFormat`), refs in reftable
/// (`extensions.refStorage`). Read from the git directory's own config
/// before libgit2 opens it, so the message names the extension.
fn refuse_format(git_dir: &Path) -> Result<(), Error> {
    let Ok(cfg) = git2::Config::open(&git_dir.join("config")) else {
        return Ok(());
    };
    let get = |k: &str| cfg.get_string(k).ok().map(|v| v.to_ascii_lowercase());
    let bad = match (get("extensions.objectformat"), get("extensions.refstorage")) {
        (Some(f), _) if f != "sha1" => Some(format!("extensions.objectFormat = {f}")),
        (_, Some(r)) if r != "files" => Some(format!("extensions.refStorage = {r}")),
        _ => None,
    };
    match bad {
        Some(ext) => Err(Error::git(
            format!(
                "the repository at {} uses {ext}, which deal cannot write (it writes SHA-1 objects and files refs); nothing was changed",
                crate::base::diag::display_path(git_dir)
            ),
            "use deal in a repository made with the defaults (`git init`, or `git clone` of a SHA-1, files-refs repository)",
        )),
        None => Ok(()),
    }
}

/// `Ok(())` when libgit2's error `e` opening `git_dir` just means no
/// repository; git's own refusal otherwise.
fn refused(git_dir: &Path, e: git2::Error) -> Result<(), Error> {
    if e.code() == git2::ErrorCode::Owner {
        OWNER_REFUSED.store(true, Ordering::Relaxed);
        let top = git_dir
            .parent()
            .filter(|_| git_dir.ends_with(".git"))
            .unwrap_or(git_dir);
        let top = std::fs::canonicalize(top).unwrap_or_else(|_| top.to_path_buf());
        return Err(Error::git_from(
            format!(
                "detected dubious ownership in repository at '{}': it belongs to another user, and git will not work in it (nor will deal); nothing was changed",
                top.display()
            ),
            format!(
                "if you trust it, add an exception as git says: git config --global --add safe.directory {}",
                top.display()
            ),
            e,
        ));
    }
    if e.code() == git2::ErrorCode::NotFound {
        return Ok(());
    }
    Err(Error::git_from(
        format!(
            "cannot open the git repository at {}: {}",
            crate::base::diag::display_path(git_dir),
            e.message()
        ),
        "check it with `git status` there",
        e,
    ))
}

/// A work tree whose `.git` is a file naming the git folder (`git clone
/// --separate-git-dir`, `git init --separate-git-dir`) has its top where
/// that file is, as git has it. libgit2 took the git folder's parent for
/// the work tree, so every path was read one folder off. Linked worktrees
/// and submodules (`core.worktree`) are left as libgit2 opens them.
fn fix_gitlink_workdir(repo: &Repository, path: &Path) {
    let Some(workdir) = repo.workdir() else {
        return;
    };
    let start = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Some(top) = start.ancestors().find(|d| d.join(".git").exists()) else {
        return;
    };
    // The common case, a `.git` folder, costs two stats.
    let is_link = std::fs::symlink_metadata(top.join(".git")).is_ok_and(|m| m.is_file());
    if !is_link || std::fs::canonicalize(workdir).is_ok_and(|w| w == top) {
        return;
    }
    if repo.is_worktree()
        || repo
            .config()
            .ok()
            .is_some_and(|c| c.get_entry("core.worktree").is_ok())
    {
        return;
    }
    let _ = repo.set_workdir(top, false);
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

/// Runs `git init` in `dir`, on the branch `init.defaultBranch` names.
/// libgit2 reads only `~/.gitconfig` for it; `git config` reads every
/// place git does (`GIT_CONFIG_GLOBAL`, `GIT_CONFIG_SYSTEM`,
/// `GIT_CONFIG_COUNT`…), so `deal init` asks git when git is there.
pub fn init(dir: &Path) -> Result<(), git2::Error> {
    let branch = std::process::Command::new("git")
        .args(["config", "--get", "init.defaultBranch"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|b| !b.is_empty());
    match branch {
        Some(b) => {
            let mut opts = git2::RepositoryInitOptions::new();
            opts.initial_head(&b);
            Repository::init_opts(dir, &opts).map(|_| ())
        }
        None => Repository::init(dir).map(|_| ()),
    }
}

pub(super) fn git_err(what: &str, e: git2::Error) -> Error {
    Error::git_from(format!("{what}: {}", e.message()), "", e)
}

/// A repository opened for recording changes.
pub struct Repo {
    pub(super) repo: Repository,
    pub(super) workdir: PathBuf,
    /// `git var -l`, read once when a commit needs it.
    pub(super) vars: std::cell::OnceCell<Vec<(String, String)>>,
    /// The index file as read directly ([`rawindex`]), when this process
    /// may rewrite it itself; read once, for the checks before a commit.
    pub(super) raw: std::cell::OnceCell<Option<rawindex::RawIndex>>,
}

/// Whether a file path under the deals folder is a deal or should be one
/// (see [`crate::store::files::name_kind`]): not in a hidden folder, not
/// `.gitkeep`.
pub(super) fn is_deal_candidate(path: &str) -> bool {
    let mut segs: Vec<&str> = path.split('/').collect();
    let name = segs.pop().unwrap_or("");
    !segs.iter().any(|s| s.starts_with('.'))
        && crate::store::files::name_kind(name) != crate::store::files::NameKind::Ignored
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
            raw: std::cell::OnceCell::new(),
        })
    }

    /// [`Repo::open`], or an error saying the pipeline is not in a git
    /// repository, with `help` saying why the command needs one.
    pub fn require(root: &Path, help: &str) -> Result<Repo, Error> {
        // Git's own refusal (ownership, a format deal cannot write) first.
        find(root)?;
        Repo::open(root).ok_or_else(|| {
            Error::usage(
                format!(
                    "{} is not in a git repository",
                    crate::base::diag::display_path(root)
                ),
                help,
            )
        })
    }

    /// The git2 repository, for the history walks of [`crate::store::history`].
    pub fn git(&self) -> &Repository {
        &self.repo
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

    /// `rel` (relative to a folder) as a path in the repository, given the
    /// folder's own path there (`prefix`, empty at the top, as [`Repo::rel`]
    /// gives it).
    pub fn under(prefix: &str, rel: &str) -> String {
        let rel = rel.replace('\\', "/");
        if prefix.is_empty() {
            rel
        } else {
            format!("{prefix}/{rel}")
        }
    }

    /// The commit `rev` names (any revision git understands).
    pub fn commit_of(&self, rev: &str) -> Result<Oid, Error> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| {
                Error::usage_from(
                    format!("`{rev}` is not a commit here: {}", e.message()),
                    "give a branch, tag, commit id or an expression like HEAD~3",
                    e,
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
        let entry = tree.get_path(Path::new(&prefix)).map_err(|e| {
            Error::usage_from(
                format!("the pipeline folder {prefix} does not exist at that commit"),
                "give a later commit",
                e,
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

    /// A blob's bytes, unless it is larger than `max`.
    pub fn blob(&self, id: Oid, max: usize) -> Content {
        match self.repo.odb() {
            Ok(odb) => blob_content(&odb, id, max),
            Err(e) => {
                Content::Unreadable(format!("cannot open the object database: {}", e.message()))
            }
        }
    }

    /// The blob id at `path` (repository-relative) in commit `c`'s tree.
    pub fn blob_id_at(&self, c: Oid, path: &str) -> Option<Oid> {
        let tree = self.repo.find_commit(c).ok()?.tree().ok()?;
        tree.get_path(Path::new(path)).ok().map(|e| e.id())
    }

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

    /// The merge-base of two commits.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Oid, Error> {
        self.repo.merge_base(a, b).map_err(|e| {
            Error::usage_from(
                format!("the two revisions share no history: {}", e.message()),
                "give a base on the same history as HEAD",
                e,
            )
        })
    }
}

/// A tree object's bytes for files `entries`, sorted by name (files only,
/// so git's order is plain byte order).
pub(super) fn tree_bytes(entries: &[(Vec<u8>, u32, Oid)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 60);
    for (name, mode, id) in entries {
        out.extend_from_slice(format!("{mode:o} ").as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(id.as_bytes());
    }
    out
}
