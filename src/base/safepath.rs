//! No read or write through a symlink (docs/safety.md, "Symbolic
//! links"): the paths deal uses inside the pipeline root (stage folders,
//! `deals/`, `templates/` and below, `pipeline.yaml`, `.gitignore`) and
//! below the report's output folder are checked component by component
//! with `symlink_metadata`. The base itself (the root, resolved to its real
//! path, or the `-o` folder) may be reached through a link: only what a
//! cloned repository can plant below it counts.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::base::error::Error;

/// The first component of `rel` below `base` that is a symbolic link, if
/// any. Components that do not exist (yet) end the walk.
pub fn first_link(base: &Path, rel: &Path) -> Option<PathBuf> {
    let mut p = base.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(n) => p.push(n),
            Component::CurDir => continue,
            // `..`, a root or a prefix leave the base: refuse as a link would be.
            _ => return Some(base.join(rel)),
        }
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => return Some(p),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The error for a symbolic link deal refuses to follow (exit 2).
pub fn link_error(link: &Path) -> Error {
    Error::usage(
        format!(
            "{}: a symbolic link; deal never reads or writes through a link inside the pipeline",
            crate::base::diag::display_path(link)
        ),
        format!(
            "replace it with a real file or folder (`rm {}`), or remove it; a link could point outside the repository",
            link.display()
        ),
    )
}

/// [`first_link`] as an error.
pub fn check(base: &Path, rel: &Path) -> Result<(), Error> {
    match first_link(base, rel) {
        Some(link) => Err(link_error(&link)),
        None => Ok(()),
    }
}

/// Creates `rel` below `base` as folders, refusing any symlink on the way.
pub fn create_dirs(base: &Path, rel: &Path) -> Result<PathBuf, Error> {
    check(base, rel)?;
    let dir = base.join(rel);
    std::fs::create_dir_all(&dir).map_err(|e| match in_the_way(base, rel) {
        Some(p) => Error::usage(
            format!(
                "{} is in the way: it is a file where a folder is needed",
                crate::base::diag::display_path(&p)
            ),
            "move it away, or pass another folder",
        ),
        None => Error::io(&dir, e),
    })?;
    // A link planted between the check and the creation is caught here.
    check(base, rel)?;
    Ok(dir)
}

/// The first of `base` and the folders of `rel` below it that exists and
/// is not a folder.
fn in_the_way(base: &Path, rel: &Path) -> Option<PathBuf> {
    let mut p = base.to_path_buf();
    let mut steps = vec![p.clone()];
    for c in rel.components() {
        p.push(c);
        steps.push(p.clone());
    }
    steps
        .into_iter()
        .find(|s| std::fs::symlink_metadata(s).is_ok_and(|m| !m.is_dir()))
}

/// Writes `bytes` to `rel` below `base` so that an existing symlink is
/// never followed: every folder on the way is checked, the bytes go to a
/// new temporary file in the same folder, which is renamed over the target
/// (a rename replaces a link, it never writes through it).
pub fn write_file(base: &Path, rel: &Path, bytes: &[u8]) -> Result<(), Error> {
    let path = base.join(rel);
    if let Some(parent) = rel.parent() {
        check(base, parent)?;
    }
    let dir = path.parent().unwrap_or(base);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.deal-tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let res = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(&path, e)
    })
}

/// Writes `bytes` to the file `name` in `dir`, a folder the caller has
/// checked (no link on the way): the file is opened with `O_NOFOLLOW`, so a
/// symlink planted there is an error naming it, never written through. One
/// open per file, for the report's ten thousand pages (a temporary file and
/// a rename for each cost a third of `deal report`).
pub fn write_in_checked_dir(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = dir.join(name);
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    check(dir, Path::new(name))?;
    match opts.open(&path) {
        Ok(mut f) => rewrite(&mut f, bytes).map_err(|e| Error::io(&path, e)),
        Err(_) if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) => {
            Err(link_error(&path))
        }
        Err(_) if path.is_dir() => Err(Error::usage(
            format!(
                "{} is a folder where the report writes a page",
                crate::base::diag::display_path(&path)
            ),
            "rename or remove it, and run the report again",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(Error::usage(
            format!(
                "{} cannot be written: permission denied",
                crate::base::diag::display_path(&path)
            ),
            "make it writable (`chmod u+w`) or remove it, and run the report again",
        )),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Makes the open file `f` hold `bytes`, leaving it untouched when it does
/// already: a report rewritten into its own folder changes only the pages
/// that changed, so their modification times say which did (for `rsync`
/// or an upload), and ten thousand unchanged pages cost a read each, not a
/// truncation and a write (two thirds of the report's system time).
fn rewrite(f: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file; remove it, and run the report again",
        ));
    }
    let len = meta.len();
    if len == bytes.len() as u64 {
        let mut old = Vec::with_capacity(bytes.len());
        f.read_to_end(&mut old)?;
        if old == bytes {
            return Ok(());
        }
        f.seek(SeekFrom::Start(0))?;
    }
    if len > 0 {
        f.set_len(0)?;
    }
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_link_and_ignores_the_base() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        std::fs::create_dir_all(real.join("a/b")).unwrap();
        std::os::unix::fs::symlink(&real, t.path().join("via")).unwrap();
        std::os::unix::fs::symlink(real.join("a"), real.join("l")).unwrap();
        let via = t.path().join("via");
        assert_eq!(first_link(&via, Path::new("a/b/c.md")), None);
        assert_eq!(first_link(&via, Path::new("l/b")), Some(via.join("l")));
        assert!(first_link(&via, Path::new("../x")).is_some());
    }
}
