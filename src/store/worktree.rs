//! Writing deal files in the working tree so that the write can be undone:
//! a new file is written whole under a temporary name and linked into place
//! (never over an existing one), an edit in place goes through
//! a temporary file and a rename, and [`WorktreeUndo`] puts things back.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::base::error::Error;
use crate::store::repo::Change;

/// What writing the working tree did, so it can be undone.
pub struct WorktreeUndo {
    created_dir: Option<PathBuf>,
}

impl WorktreeUndo {
    /// Puts the old file back and removes the new one.
    pub fn undo(&self, change: &Change) {
        match (change.old, change.old_bytes) {
            (Some(old), Some(bytes)) if old != change.new => {
                if std::fs::rename(change.new, old).is_err() {
                    let _ = std::fs::remove_file(change.new);
                }
                let _ = write_atomic(old, bytes);
            }
            (Some(old), Some(bytes)) => {
                let _ = write_atomic(old, bytes);
            }
            _ => {
                let _ = std::fs::remove_file(change.new);
            }
        }
        if let Some(d) = &self.created_dir {
            let _ = std::fs::remove_dir(d);
        }
    }
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
        crate::store::repo::fault_step("tmp");
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
    crate::store::repo::fault_step("renamed");
    if let Err(e) = std::fs::rename(&tmp, change.new) {
        let _ = std::fs::rename(change.new, old);
        let _ = std::fs::remove_file(&tmp);
        undo_dir();
        return Err(Error::io(change.new, e));
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
