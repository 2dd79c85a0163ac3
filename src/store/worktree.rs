//! Writing deal files in the working tree so that the write can be undone:
//! a new file is written whole under a temporary name and linked into place
//! (never over an existing one), an edit in place goes through
//! a temporary file and a rename, and [`WorktreeUndo`] puts things back.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::base::error::{Error, Unrestored};

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

/// A test hook for crash safety: a debug build with `DEAL_TEST_KILL_AT`
/// set to a step's name (`tmp`: a new file written under its temporary
/// name; `objects`, `worktree`, `index`, `head`) kills
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
            let _ = std::process::Command::new("kill")
                .args(["-9", &std::process::id().to_string()])
                .status();
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// What writing the working tree did, so it can be undone.
pub struct WorktreeUndo {
    created_dir: Option<PathBuf>,
}

impl WorktreeUndo {
    /// Puts the old file back and removes the new one. `Err` says what was
    /// left as the write made it.
    pub fn undo(&self, change: &Change) -> Result<(), Unrestored> {
        let res = match (change.old, change.old_bytes) {
            (Some(old), Some(bytes)) if old != change.new => undo_move(old, bytes, change.new),
            (Some(old), Some(bytes)) => write_atomic(old, bytes).map_err(|error| Unrestored {
                what: shown(old),
                state: "still holds the changed text, not the text it had".into(),
                fix: committed_text(old),
                error,
            }),
            _ => remove_new(change.new).map_err(|error| Unrestored {
                what: shown(change.new),
                state: "was written and could not be removed".into(),
                fix: format!("delete {}", shown(change.new)),
                error,
            }),
        };
        // A folder the write made and cannot remove now is left empty (or
        // holds what came since), which git does not track: not a failure.
        if let Some(d) = &self.created_dir {
            let _ = std::fs::remove_dir(d);
        }
        res
    }
}

/// Undoes the writes `done` (one per change, in order) after `cause`
/// stopped the write: `cause` itself when everything was put back, else
/// [`Error::RollbackFailed`] naming what was not.
pub fn undo_all(cause: Error, done: &[WorktreeUndo], changes: &[Change]) -> Error {
    cause.after_undo(undo_each(done, changes))
}

/// Undoes each write in `done` (one per change, in order); returns what
/// could not be put back.
pub fn undo_each(done: &[WorktreeUndo], changes: &[Change]) -> Vec<Unrestored> {
    done.iter()
        .zip(changes)
        .filter_map(|(w, c)| w.undo(c).err())
        .collect()
}

/// Puts a moved deal back: from `new` to `old`, with its old text `bytes`.
/// Where the rename back fails, the new file is removed and the old text
/// written afresh.
fn undo_move(old: &Path, bytes: &[u8], new: &Path) -> Result<(), Unrestored> {
    let back = std::fs::rename(new, old).is_ok();
    let stray = if back { None } else { remove_new(new).err() };
    let rewritten = write_atomic(old, bytes);
    let left = |what: &Path, state: String, fix: String, error: Error| {
        Err(Unrestored {
            what: shown(what),
            state,
            fix,
            error,
        })
    };
    match (stray, rewritten) {
        (None, Ok(())) => Ok(()),
        (None, Err(e)) if back => left(
            old,
            "is back in its place but still holds the changed text".into(),
            committed_text(old),
            e,
        ),
        (None, Err(e)) => left(
            old,
            format!(
                "is missing: {} was removed, and the old text could not be written back",
                shown(new)
            ),
            committed_text(old),
            e,
        ),
        (Some(e), Ok(())) => left(
            new,
            format!(
                "is still there beside {}: the deal sits in two places",
                shown(old)
            ),
            format!("delete {}", shown(new)),
            e,
        ),
        (Some(e), Err(_)) => left(
            new,
            format!(
                "still holds the changed deal; it could not be moved back to {}",
                shown(old)
            ),
            format!("move it back by hand: mv {} {}", shown(new), shown(old)),
            e,
        ),
    }
}

/// Removes a file the write made; one already gone is fine.
fn remove_new(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// A path as the messages show it.
fn shown(path: &Path) -> String {
    crate::base::diag::display_path(path)
}

/// The fix for a deal file left with the wrong text: git's copy of it.
fn committed_text(path: &Path) -> String {
    format!(
        "`git checkout HEAD -- {}` brings back its last committed text",
        shown(path)
    )
}

/// Writes the change to the working tree: an edit in place through a
/// temporary file; a new deal as a new file (never over an existing one);
/// a move as a rename (never over an existing file), then the new text.
pub fn write_worktree(change: &Change) -> Result<WorktreeUndo, Error> {
    let mut created_dir = None;
    if let Some(dir) = change.new.parent()
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        created_dir = Some(dir.to_path_buf());
    }
    let undo = WorktreeUndo { created_dir };
    if change.old == Some(change.new) {
        write_atomic(change.new, change.new_bytes)?;
        return Ok(undo);
    }
    let Some(old) = change.old else {
        // A new deal: written whole under a temporary name, then linked
        // into place (never over an existing file), so a kill never leaves
        // an empty or partial `<slug>.md` (docs/safety.md, "No window for
        // half a file").
        let undo_dir = || {
            if let Some(d) = &undo.created_dir {
                let _ = std::fs::remove_dir(d);
            }
        };
        let tmp = match write_tmp(change.new, change.new_bytes, None) {
            Ok(t) => t,
            Err(e) => {
                undo_dir();
                return Err(e);
            }
        };
        fault_step("tmp");
        if let Err(e) = rename_no_replace(&tmp, change.new) {
            let _ = std::fs::remove_file(&tmp);
            undo_dir();
            return Err(Error::io(change.new, e));
        }
        return Ok(undo);
    };
    // A move: the new text is written to a temporary file in the target
    // folder first; then the file is renamed (one name at every instant, so
    // a kill never leaves the deal in two places) and the temporary file
    // renamed over it, two renames apart.
    let undo_dir = || {
        if let Some(d) = &undo.created_dir {
            let _ = std::fs::remove_dir(d);
        }
    };
    let keep = std::fs::metadata(old).ok().map(|m| m.permissions());
    let tmp = match write_tmp(change.new, change.new_bytes, keep) {
        Ok(t) => t,
        Err(e) => {
            undo_dir();
            return Err(e);
        }
    };
    if let Err(e) = rename_no_replace(old, change.new) {
        let _ = std::fs::remove_file(&tmp);
        undo_dir();
        return Err(Error::usage_from(
            format!(
                "cannot move {} to {}: {e}; nothing was changed",
                crate::base::diag::display_path(old),
                crate::base::diag::display_path(change.new)
            ),
            "check that both folders are writable, then run the command again",
            e,
        ));
    }
    fault_step("renamed");
    if let Err(e) = std::fs::rename(&tmp, change.new) {
        let back = std::fs::rename(change.new, old);
        let _ = std::fs::remove_file(&tmp);
        undo_dir();
        let left = back.err().map(|b| Unrestored {
            what: shown(change.new),
            state: format!(
                "holds the deal's old text, but was not moved back to {}",
                shown(old)
            ),
            fix: format!(
                "move it back by hand: mv {} {}",
                shown(change.new),
                shown(old)
            ),
            error: Error::io(old, b),
        });
        return Err(Error::io(change.new, e).after_undo(left.into_iter().collect()));
    }
    Ok(undo)
}

/// Renames `from` to `to`, refusing (`AlreadyExists`) when `to` exists:
/// atomically where the system can (`renameat2` with `RENAME_NOREPLACE` on
/// Linux), else after a check.
fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
        let (Ok(f), Ok(t)) = (c(from), c(to)) else {
            return Err(std::io::Error::other("a path holds a NUL byte"));
        };
        // SAFETY: two valid NUL-terminated paths, resolved from the cwd.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        // A filesystem without the flag: fall back to check-then-rename.
        if e.raw_os_error() != Some(libc::EINVAL) && e.raw_os_error() != Some(libc::ENOSYS) {
            return Err(e);
        }
    }
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// failure never leaves half a deal.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let keep = std::fs::metadata(path).ok().map(|m| m.permissions());
    let tmp = write_tmp(path, bytes, keep)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Writes `bytes` to a new temporary file beside `path` (`.<name>.deal-tmp`)
/// with permissions `keep`, and returns its path.
fn write_tmp(
    path: &Path,
    bytes: &[u8],
    keep: Option<std::fs::Permissions>,
) -> Result<PathBuf, Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.deal-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    // A new file, never one planted there (a link would be written through).
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            match keep {
                Some(p) => f.set_permissions(p),
                None => Ok(()),
            }
        })
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(&tmp, e)
        })?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change<'a>(old: Option<(&'a Path, &'a [u8])>, new: &'a Path, bytes: &'a [u8]) -> Change<'a> {
        Change {
            old: old.map(|(p, _)| p),
            old_bytes: old.map(|(_, b)| b),
            new,
            new_bytes: bytes,
            gone: Vec::new(),
        }
    }

    #[test]
    fn undoing_a_move_puts_the_old_text_back_in_its_place_and_removes_the_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (
            dir.path().join("lead/acme.md"),
            dir.path().join("won/acme.md"),
        );
        std::fs::create_dir(dir.path().join("lead")).unwrap();
        std::fs::write(&old, "old").unwrap();
        let c = change(Some((&old, b"old")), &new, b"new");
        let undo = write_worktree(&c).unwrap();
        assert_eq!(std::fs::read(&new).unwrap(), b"new");
        assert!(undo.undo(&c).is_ok());
        assert_eq!(std::fs::read(&old).unwrap(), b"old");
        assert!(!dir.path().join("won").exists());
    }

    #[test]
    fn a_new_file_that_cannot_be_removed_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("acme.md");
        let c = change(None, &new, b"new");
        let undo = write_worktree(&c).unwrap();
        // Something else now sits at the name, which unlink refuses.
        std::fs::remove_file(&new).unwrap();
        std::fs::create_dir_all(new.join("inside")).unwrap();
        let left = undo.undo(&c).unwrap_err();
        assert_eq!(left.what, shown(&new));
        assert_eq!(left.state, "was written and could not be removed");
        assert_eq!(left.fix, format!("delete {}", shown(&new)));
        assert!(matches!(left.error, Error::Io { .. }));
    }

    #[test]
    fn undo_all_gives_the_cause_back_unless_something_was_left() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("acme.md");
        let c = change(None, &new, b"new");
        let done = vec![write_worktree(&c).unwrap()];
        let e = undo_all(
            Error::git("HEAD moved", ""),
            &done,
            std::slice::from_ref(&c),
        );
        assert!(matches!(e, Error::Git { .. }));
        assert!(!new.exists());

        let done = vec![write_worktree(&c).unwrap()];
        std::fs::remove_file(&new).unwrap();
        std::fs::create_dir_all(new.join("inside")).unwrap();
        let e = undo_all(
            Error::git("HEAD moved", ""),
            &done,
            std::slice::from_ref(&c),
        );
        let Error::RollbackFailed(r) = &e else {
            panic!("expected a failed rollback, got {e:?}");
        };
        assert_eq!(r.left.len(), 1);
        assert!(
            e.to_string()
                .contains("was written and could not be removed")
        );
    }
}
