//! Writing deal files in the working tree so that the write can be undone:
//! a new file never replaces an existing one, an edit in place goes through
//! a temporary file and a rename, and [`WorktreeUndo`] puts things back.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::repo::Change;

/// What writing the working tree did, so it can be undone.
pub struct WorktreeUndo {
    created_dir: Option<PathBuf>,
}

impl WorktreeUndo {
    /// Puts the old file back and removes the new one.
    pub fn undo(&self, change: &Change) {
        match (change.old, change.old_bytes) {
            (Some(old), Some(bytes)) if old != change.new => {
                let _ = std::fs::write(old, bytes);
                let _ = std::fs::remove_file(change.new);
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

/// Writes the change to the working tree: the new file (never over an
/// existing one, unless it is the same file), then removes the old one.
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
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(change.new)
        .and_then(|mut f| f.write_all(change.new_bytes));
    if let Err(e) = res {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(change.new);
        }
        if let Some(d) = &undo.created_dir {
            let _ = std::fs::remove_dir(d);
        }
        return Err(Error::io(change.new, e));
    }
    // The deal keeps its permissions (an executable bit git records).
    if let Some(old) = change.old
        && let Ok(m) = std::fs::metadata(old)
    {
        let _ = std::fs::set_permissions(change.new, m.permissions());
    }
    if let Some(old) = change.old
        && let Err(e) = std::fs::remove_file(old)
    {
        let _ = std::fs::remove_file(change.new);
        if let Some(d) = &undo.created_dir {
            let _ = std::fs::remove_dir(d);
        }
        return Err(Error::io(old, e));
    }
    Ok(undo)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// failure never leaves half a deal.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.deal-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    // A new file, never one planted there (a link would be written through).
    let _ = std::fs::remove_file(&tmp);
    let keep = std::fs::metadata(path).ok().map(|m| m.permissions());
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
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
