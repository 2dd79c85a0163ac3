//! The files the store lists under `deals_dir`, from the work tree or a
//! commit's tree: each one's path and content (a path to read, blob bytes,
//! or why it is never read), and what its name makes it.

use std::path::PathBuf;

/// Where a file's bytes come from.
#[derive(Debug)]
pub enum Content {
    /// A file in the working tree, read when the pipeline loads.
    Path(PathBuf),
    /// Bytes from a git blob.
    Bytes(Vec<u8>),
    /// A symbolic link: never followed or read.
    Symlink,
    /// A git blob over the size limit (its size), never read.
    TooBig(u64),
    /// A git blob that cannot be read (missing from a partial clone, or
    /// corrupt), and why.
    Unreadable(String),
    /// Not a regular file (a FIFO, a socket, a device): never opened, so a
    /// reader never blocks on it; what it is.
    Special(&'static str),
}

/// A file found under `deals_dir`, path relative to the pipeline root.
#[derive(Debug)]
pub struct Entry {
    pub rel: PathBuf,
    pub content: Content,
}

/// What a file's name under `deals_dir` makes it (docs/safety.md, "File names").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// `*.md`, not hidden: read as a deal (`check` still flags a stem that
    /// is not a slug, such as `Acme.md`).
    Deal,
    /// Any other file (`x.MD`, `.hidden.md`, `notes.txt`): `bad-file-name`.
    Bad,
    /// `.gitkeep`, and deal's own temporary files mid-write.
    Ignored,
}

/// Classifies a file name found under `deals_dir`.
pub fn name_kind(name: &str) -> NameKind {
    if name == ".gitkeep" || name.ends_with(".deal-tmp") {
        NameKind::Ignored
    } else if name.ends_with(".md") && !name.starts_with('.') {
        NameKind::Deal
    } else {
        NameKind::Bad
    }
}
