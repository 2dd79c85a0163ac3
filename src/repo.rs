//! Every git2 call lives here: discovery, identity, init, and (later) the
//! index and commits.

use std::path::{Path, PathBuf};

use git2::Repository;

/// The repository that contains `path`, if any.
pub fn discover(path: &Path) -> Option<Repository> {
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

/// The git identity (`user.name`, `user.email`) in effect at `path`.
pub fn identity(path: &Path) -> Option<(String, String)> {
    let cfg = match discover(path) {
        Some(r) => r.config().ok()?,
        None => git2::Config::open_default().ok()?,
    };
    let name = cfg.get_string("user.name").ok()?;
    let email = cfg.get_string("user.email").ok()?;
    (!name.trim().is_empty() && !email.trim().is_empty()).then_some((name, email))
}

/// Runs `git init` in `dir`.
pub fn init(dir: &Path) -> Result<(), git2::Error> {
    Repository::init(dir).map(|_| ())
}
