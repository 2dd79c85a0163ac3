//! Where deals live: the work tree and git (the repository, its index,
//! history, worktrees, the lock), the files listed under `deals_dir`, and the
//! pipeline read from either. Uses model/ and below.

pub mod files;
pub mod history;
pub mod lock;
pub mod pipeline;
pub mod repo;
pub mod worktree;

#[cfg(test)]
mod tests;
