//! Every git2 call that changes a repository, and the reads around them,
//! split by job:
//!
//! - [`repository`]: opening a repository, libgit2's options, trees and blobs
//!   at a commit, revisions and hooks;
//! - [`identity`]: who commits (`git var -l`, started early);
//! - [`index`]: what is staged, conflicts, and the index entries a change
//!   updates;
//! - [`indexedit`]: the index file and its two writers (read and rewritten
//!   directly, or by libgit2), chosen in one place;
//! - [`record`]: recording a change as one commit.
//!
//! History walks (tree diffs, first-parent lines) are [`crate::store::history`].

mod identity;
mod index;
mod indexedit;
mod rawindex;
mod record;
mod repository;

pub use identity::*;
pub use record::*;
pub use repository::*;
