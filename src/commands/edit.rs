//! `deal edit DEAL`: the deal file in `$VISUAL`/`$EDITOR`, judged and
//! committed as `deal set` is (README, "One writer at a time";
//! docs/reference.md, "deal edit").
//!
//! The editor works on a copy in the git directory
//! (`deal-edit/<slug>.md`), beside a note of the deal's path and blob id
//! when the copy was made (`deal-edit/<slug>.base`). The write lock is
//! taken only after the editor closes; then a deal whose blob changed
//! meanwhile, or a text that does not pass `set`'s judgement, is never
//! written: exit 1, the problem named, the copy kept, and `deal edit DEAL`
//! again reopens the copy.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use crate::cli::EditArgs;
use crate::commands::Ctx;
use crate::commands::set::{Change, commit_text, judge, one_deal};
use crate::error::Error;
use crate::pipeline::Pipeline;

/// The folder of copies in the git directory.
pub const DIR: &str = "deal-edit";

/// The git blob id of `bytes`, as `git hash-object` gives it.
fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// Writes `text` to `path`, never through a symlink, replacing it.
fn write_plain(path: &Path, text: &str) -> Result<(), Error> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::usage(
            format!(
                "{} is a symbolic link; deal never writes through one",
                path.display()
            ),
            format!("remove it: rm {}", path.display()),
        ));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
}

/// The copy of a deal and the note of what it was made from.
struct Copy {
    text: PathBuf,
    base: PathBuf,
}

impl Copy {
    fn new(git_dir: &Path, slug: &str) -> Result<Copy, Error> {
        let dir = git_dir.join(DIR);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if !m.is_dir() => {
                return Err(Error::usage(
                    format!("{} is not a folder", dir.display()),
                    format!("remove it: rm {}", dir.display()),
                ));
            }
            Ok(_) => {}
            Err(_) => std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?,
        }
        Ok(Copy {
            text: dir.join(format!("{slug}.md")),
            base: dir.join(format!("{slug}.base")),
        })
    }

    /// `(path, blob id)` the copy was made from, if there is a copy.
    fn read_base(&self) -> Option<(String, String)> {
        let b = std::fs::read_to_string(&self.base).ok()?;
        let (path, blob) = b.trim_end().split_once('\n')?;
        std::fs::symlink_metadata(&self.text).ok()?;
        Some((path.to_string(), blob.to_string()))
    }

    fn write_base(&self, rel: &Path, blob: &str) -> Result<(), Error> {
        write_plain(&self.base, &format!("{}\n{blob}\n", rel.display()))
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.text);
        let _ = std::fs::remove_file(&self.base);
    }
}

/// Runs `$VISUAL`, else `$EDITOR`, else `vi` on `path`, as git runs its
/// editor (through the shell, so `EDITOR="code --wait"` works).
fn run_editor(path: &Path) -> Result<(), Error> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(&editor)
        .arg(path)
        .status()
        .map_err(|e| {
            Error::usage(
                format!("cannot run the editor `{editor}`: {e}"),
                "set VISUAL or EDITOR to an editor that waits until you close the file",
            )
        })?;
    if !status.success() {
        return Err(Error::Refused {
            message: format!("the editor `{editor}` failed ({status}); nothing was written"),
            help: format!(
                "your text is kept in {}; `deal edit` with the same deal reopens it",
                path.display()
            ),
        });
    }
    Ok(())
}

pub fn run(ctx: &Ctx, a: EditArgs) -> Result<i32, Error> {
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    let d = one_deal(&p, &a.deal)?;
    let repo = git2::Repository::discover(&p.root).map_err(|_| {
        Error::usage(
            "deal edit keeps its copy in the git directory, and this pipeline is in no git repository",
            "run `git init` in the pipeline root, or edit the file by hand and run `deal check`",
        )
    })?;
    let copy = Copy::new(repo.path(), &d.slug)?;
    let shown = crate::diag::display_path(&p.root.join(&d.rel));
    let current = blob_id(d.text.as_bytes());
    match copy.read_base() {
        Some((path, blob)) if path == d.rel.display().to_string() && blob == current => {
            if !ctx.quiet {
                eprintln!(
                    "deal: reopening your copy from the last `deal edit {}` ({})",
                    d.slug,
                    copy.text.display()
                );
            }
        }
        Some(_) => {
            // The deal changed since the copy was made: the copy opens as
            // the user left it, and saving it now writes it over the
            // current deal, so bring the change in first.
            copy.write_base(&d.rel, &current)?;
            eprintln!(
                "deal: reopening your copy ({}); {shown} changed since it was made: bring that change into your copy (`git log -p -- {shown}`), or delete the copy to start from the current deal",
                copy.text.display()
            );
        }
        None => {
            write_plain(&copy.text, &d.text)?;
            copy.write_base(&d.rel, &current)?;
        }
    }
    // The editor runs without the lock: other writers go on meanwhile.
    run_editor(&copy.text)?;
    let edited = std::fs::read(&copy.text).map_err(|e| Error::io(&copy.text, e))?;
    let Ok(edited) = String::from_utf8(edited) else {
        return Err(kept(
            &copy,
            &d.slug,
            format!(
                "{}: the edited text is not UTF-8; nothing was written",
                copy.text.display()
            ),
        ));
    };
    let Some((_, base_blob)) = copy.read_base() else {
        return Err(Error::usage(
            format!("{} vanished while the editor was open", copy.base.display()),
            format!("run `deal edit {}` again", d.slug),
        ));
    };
    // Now the lock, then the deal as it is now.
    let _lock = crate::commands::lock_for_write(ctx)?;
    crate::repo::prefetch_vars(&ctx.start);
    let now_p = Pipeline::open_for(&p.root, &d.rel.display().to_string())?;
    let now_d = now_p
        .deals
        .iter()
        .find(|x| x.rel == d.rel)
        .filter(|x| blob_id(x.text.as_bytes()) == base_blob);
    let Some(now_d) = now_d else {
        return Err(kept(
            &copy,
            &d.slug,
            format!(
                "{shown} changed since you opened it (another command or person wrote it, or moved the deal); nothing was written"
            ),
        ));
    };
    if edited == now_d.text {
        copy.remove();
        if !ctx.quiet {
            println!("{} unchanged; nothing to commit", d.slug);
        }
        return Ok(0);
    }
    let guard = crate::commands::set::Guard {
        force: a.force.force,
        reason: a.force.reason.clone(),
    };
    let (edited, forced) = match judge(ctx, &now_p, now_d, &edited, Some(&guard)) {
        Ok(judged) => judged,
        Err(e) => {
            let why = match e {
                Error::Usage { message, .. } | Error::Refused { message, .. } => message,
                other => return Err(other),
            };
            // The lines named are the copy's.
            let why = why.replace(&format!("{shown}:"), &format!("{}:", copy.text.display()));
            return Err(kept(&copy, &d.slug, why));
        }
    };
    let change = Change {
        ops: Vec::new(),
        subject: format!("deal({}): edit", d.slug),
        trailers: forced,
        done: format!("Edited {}", d.slug),
        unchanged: String::new(),
        guard: None,
    };
    let code = commit_text(ctx, &now_p, now_d, &edited, change, false)?;
    copy.remove();
    Ok(code)
}

/// Exit 1 naming the problem; the copy stays for the next `deal edit`.
fn kept(copy: &Copy, slug: &str, why: String) -> Error {
    let why = if why.contains("nothing was written") {
        why
    } else {
        format!("{why}; nothing was written")
    };
    Error::Refused {
        message: why,
        help: format!(
            "your text is kept in {}; `deal edit {slug}` reopens it (delete it to start over from the deal as it is)",
            copy.text.display()
        ),
    }
}
