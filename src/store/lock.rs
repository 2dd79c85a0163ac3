//! One writer at a time (docs/safety.md, "One writer at a time"): every
//! command that writes takes an operating-system lock on `deal.lock` in the
//! git directory before it reads the deal, and holds it until its commit is
//! done. The lock is the kernel's (`flock`), so it goes away when the
//! process dies, however it dies; the file only names the last holder.
//!
//! Readers never lock, and no git hook runs under the lock, so nothing
//! can deadlock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::base::error::Error;

/// The lock file's name in the git directory.
pub const FILE: &str = "deal.lock";

/// How long a writer waits for another one before giving up.
const WAIT: Duration = Duration::from_secs(10);

/// A held write lock; released when dropped or when the process ends.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Takes the write lock of the repository that holds `start` (its git
/// directory, so each linked worktree has its own), waiting up to 10
/// seconds. `Ok(None)` when `start` is in no git repository: there is no
/// index or HEAD to protect, and nowhere shared to put the lock.
pub fn acquire(start: &Path) -> Result<Option<WriteLock>, Error> {
    // A repository git refuses (dubious ownership, a format deal cannot
    // write) is an error: never a write without the lock.
    let Some(repo) = crate::store::repo::find(start)? else {
        return Ok(None);
    };
    acquire_in(repo.path()).map(Some)
}

/// Takes the lock on `deal.lock` in `git_dir`.
pub fn acquire_in(git_dir: &Path) -> Result<WriteLock, Error> {
    let path = git_dir.join(FILE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::usage(
            format!(
                "{} is a symbolic link; deal never writes through one",
                path.display()
            ),
            format!("remove it: rm {}", path.display()),
        ));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let deadline = Instant::now() + wait();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = crate::base::diag::one_line(holder.trim());
                let holder = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    holder
                };
                return Err(Error::git(
                    format!(
                        "another deal command is writing to this repository: {holder} holds {} (waited {} s)",
                        path.display(),
                        wait().as_secs()
                    ),
                    "wait for it to finish and run the command again; the lock goes away when that process ends",
                ));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
    // Name the holder, for whoever waits next.
    let args: Vec<String> = std::env::args().collect();
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = writeln!(
        file,
        "pid {} ({})",
        std::process::id(),
        crate::base::diag::one_line(&args.join(" "))
    );
    Ok(WriteLock { file })
}

/// 10 seconds; debug builds let tests shorten it with
/// `DEAL_TEST_LOCK_WAIT_MS`.
fn wait() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("DEAL_TEST_LOCK_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    WAIT
}
