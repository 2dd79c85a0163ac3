//! `deal edit DEAL`: the deal file in `$VISUAL`/`$EDITOR`, judged and
//! committed as `deal set` is (README, "One writer at a time";
//! docs/reference.md, "deal edit").
//!
//! The editor works on a copy in the git directory, `deal-edit/<key>.md`,
//! where the key is the slug, preceded by the pipeline's folder in the
//! repository (escaped) when the pipeline is not at the repository's root,
//! so two pipelines of one repository never share a copy. Beside the copy,
//! `<key>.base` holds the deal's path and the very text the copy was made
//! from, and `<key>.lock` is held (`flock`, released when the process dies)
//! for as long as a session runs, so a second `deal edit` of the same deal
//! refuses instead of reopening or deleting the first one's copy.
//!
//! The write lock is taken only after the editor closes; then a deal that
//! changed meanwhile, or a text that does not pass `set`'s judgement, is
//! never written: exit 1, the problem named, the copy kept. `deal edit
//! DEAL` again reopens the copy; when the deal changed since the copy's
//! base, the copy reopens as a three-way merge (base, the deal now, the
//! copy) by the deal-file merge driver's rules (`crate::rules::merge`): both
//! changes when they merge cleanly, else git's conflict markers, which
//! are refused until resolved. A deal moved to another folder, or
//! removed, is never written from an old copy.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::ForceArgs;
use crate::cli::set::{Change, commit_text, judge};
use crate::store::pipeline::Pipeline;

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
    #[command(flatten)]
    pub force: ForceArgs,
}

/// The folder of copies in the git directory.
pub const DIR: &str = "deal-edit";

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

/// Reads a plain file (never through a symlink) as text.
fn read_plain(path: &Path) -> Option<String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    std::io::read_to_string(f).ok()
}

/// The copy's key: the slug, after the pipeline's folder in the repository
/// with every byte but `[A-Za-z0-9._-]` written `%XX` (a slug has no `%`,
/// so two pipelines never share a key).
fn key(pipeline_in_repo: &Path, slug: &str) -> String {
    let mut out = String::new();
    for b in pipeline_in_repo.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if !out.is_empty() {
        out.push_str("%2F");
    }
    out.push_str(slug);
    out
}

/// The copy of a deal, the note of what it was made from, and the lock
/// of the session that has it open.
struct Copy {
    text: PathBuf,
    base: PathBuf,
    before_merge: PathBuf,
    /// A copy found without its `.base` note, kept for the user.
    orphan: PathBuf,
    lock: PathBuf,
}

/// What a copy was made from: the deal's path in the pipeline and its text.
struct Base {
    rel: String,
    text: String,
}

impl Copy {
    fn new(git_dir: &Path, key: &str) -> Result<Copy, Error> {
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
            text: dir.join(format!("{key}.md")),
            base: dir.join(format!("{key}.base")),
            before_merge: dir.join(format!("{key}.before-merge.md")),
            orphan: dir.join(format!("{key}.without-base.md")),
            lock: dir.join(format!("{key}.lock")),
        })
    }

    /// Takes this deal's session lock, or names the session that has it.
    fn lock(&self, slug: &str) -> Result<std::fs::File, Error> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.lock)
            .map_err(|e| Error::io(&self.lock, e))?;
        match f.try_lock() {
            Ok(()) => {
                f.set_len(0).map_err(|e| Error::io(&self.lock, e))?;
                let _ = writeln!(f, "{}", std::process::id());
                Ok(f)
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&self.lock).unwrap_or_default();
                let pid = pid.trim();
                Err(Error::usage(
                    format!(
                        "another `deal edit {slug}` is open{} on {}; nothing was changed",
                        if pid.is_empty() {
                            String::new()
                        } else {
                            format!(" (process {pid})")
                        },
                        self.text.display()
                    ),
                    "finish that edit (save and close its editor) first; a session that died releases the deal by itself",
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&self.lock, e)),
        }
    }

    /// The copy's text and what it was made from, if there is a copy.
    fn read(&self) -> Option<(String, Base)> {
        let text = read_plain(&self.text)?;
        let b = read_plain(&self.base)?;
        let (rel, base) = b.split_once('\n')?;
        Some((
            text,
            Base {
                rel: rel.to_string(),
                text: base.to_string(),
            },
        ))
    }

    fn write_base(&self, rel: &Path, text: &str) -> Result<(), Error> {
        write_plain(&self.base, &format!("{}\n{text}", rel.display()))
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.text);
        let _ = std::fs::remove_file(&self.base);
        let _ = std::fs::remove_file(&self.before_merge);
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

/// Refuses before the editor opens when deal cannot commit as anyone (a
/// text written in the editor would then wait in the copy for nothing).
fn refuse_without_identity(root: &Path) -> Result<(), Error> {
    let Some(repo) = crate::store::repo::Repo::open(root) else {
        return Ok(());
    };
    match repo.ident() {
        Ok(_) => Ok(()),
        Err(Error::Git { message, .. }) => Err(Error::usage(
            message,
            "run `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`, then `deal edit` again (or edit the file by hand and run `deal check`)",
        )),
        Err(e) => Err(e),
    }
}

/// The deal's copy for this pipeline, in the git directory of the
/// repository the pipeline is in (refused when there is none).
fn copy_for(root: &Path, slug: &str) -> Result<Copy, Error> {
    let repo = git2::Repository::discover(root).map_err(|_| {
        Error::usage(
            "deal edit keeps its copy in the git directory, and this pipeline is in no git repository",
            "run `git init` in the pipeline root, or edit the file by hand and run `deal check`",
        )
    })?;
    let in_repo = repo
        .workdir()
        .and_then(|w| std::fs::canonicalize(w).ok())
        .and_then(|w| {
            std::fs::canonicalize(root)
                .ok()?
                .strip_prefix(&w)
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_default();
    Copy::new(repo.path(), &key(&in_repo, slug))
}

/// What is said when the deal changed since the copy was made and the
/// copy reopens with that change merged in (`conflicts` of them clashing).
fn merged_note(shown: &str, copy: &Path, before_merge: &Path, conflicts: usize) -> String {
    if conflicts == 0 {
        format!(
            "deal: {shown} changed since your copy was made; your copy ({}) reopened with that change merged in (your text before the merge: {})",
            copy.display(),
            before_merge.display()
        )
    } else {
        format!(
            "deal: {shown} changed since your copy was made, and {conflicts} of its changes conflict with yours: your copy ({}) reopened with git's conflict markers (<<<<<<< your copy … >>>>>>> the deal now); keep what you want and remove the markers, or it will not be written (your text before the merge: {})",
            copy.display(),
            before_merge.display()
        )
    }
}

impl Copy {
    /// Makes the copy ready for the editor: reopens an earlier copy (the
    /// deal's change since merged in), or starts one from the deal. Returns
    /// what to say again after the editor closes; refuses a copy made from
    /// the deal in another place.
    fn prepare(
        &self,
        ctx: &Ctx,
        d: &crate::model::deal::Deal,
        shown: &str,
    ) -> Result<Option<String>, Error> {
        match self.read() {
            Some((_, base)) if base.rel != d.rel.display().to_string() => Err(Error::Refused {
                message: format!(
                    "your copy from an earlier `deal edit {}` was made from {}, and the deal is now {shown} (moved since); nothing was written",
                    d.slug, base.rel
                ),
                help: format!(
                    "your text is kept in {}: bring its changes into the deal by hand (or with `deal set`), then delete the copy and its `.base` file to edit afresh",
                    self.text.display()
                ),
            }),
            Some((_, base)) if base.text == d.text => {
                if !ctx.quiet {
                    eprintln!(
                        "deal: reopening your copy from the last `deal edit {}` ({})",
                        d.slug,
                        self.text.display()
                    );
                }
                Ok(None)
            }
            Some((mine, base)) => self.merge_in(d, &mine, &base, shown).map(Some),
            None => {
                self.start_from(d)?;
                Ok(None)
            }
        }
    }

    /// The deal changed since the copy was made (a commit, a move back, a
    /// hand edit): brings that change into the copy, keeping the text from
    /// before the merge beside it, and says so.
    fn merge_in(
        &self,
        d: &crate::model::deal::Deal,
        mine: &str,
        base: &Base,
        shown: &str,
    ) -> Result<String, Error> {
        write_plain(&self.before_merge, mine)?;
        let merged = crate::rules::merge::merge(
            &base.text,
            mine,
            &d.text,
            7,
            &crate::rules::merge::Labels {
                ours: "your copy",
                theirs: "the deal now",
            },
        );
        write_plain(&self.text, &merged.text)?;
        self.write_base(&d.rel, &d.text)?;
        let note = merged_note(shown, &self.text, &self.before_merge, merged.conflicts);
        eprintln!("{note}");
        Ok(note)
    }

    /// Starts a fresh copy from the deal. A copy without its note (deleted
    /// by hand, or from an older deal) is never thrown away: it is kept
    /// beside, and said.
    fn start_from(&self, d: &crate::model::deal::Deal) -> Result<(), Error> {
        if let Some(orphan) = read_plain(&self.text).filter(|t| *t != d.text) {
            write_plain(&self.orphan, &orphan)?;
            eprintln!(
                "deal: a copy of {} without its note of what it was made from was kept as {} (deal never deletes it); this edit starts from the deal as it is",
                d.slug,
                self.orphan.display()
            );
        }
        write_plain(&self.text, &d.text)?;
        self.write_base(&d.rel, &d.text)
    }

    /// The text the editor left, and what the copy was made from.
    fn read_edited(&self, slug: &str) -> Result<(String, Base), Error> {
        let edited = std::fs::read(&self.text).map_err(|e| Error::io(&self.text, e))?;
        let Ok(edited) = String::from_utf8(edited) else {
            return Err(kept(
                self,
                slug,
                format!(
                    "{}: the edited text is not UTF-8; nothing was written",
                    self.text.display()
                ),
            ));
        };
        let Some((_, base)) = self.read() else {
            return Err(Error::usage(
                format!(
                    "{} vanished while the editor was open; nothing was written",
                    self.base.display()
                ),
                format!("run `deal edit {slug}` again"),
            ));
        };
        Ok((edited, base))
    }
}

pub fn run(ctx: &Ctx, a: EditArgs) -> Result<i32, Error> {
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    let d = p.one(&a.deal)?;
    let copy = copy_for(&p.root, &d.slug)?;
    // Held until this session ends (or its process dies).
    let _session = copy.lock(&d.slug)?;
    if p.cfg.commit {
        refuse_without_identity(&p.root)?;
    }
    let shown = crate::base::diag::display_path(&p.root.join(&d.rel));
    // Said before the editor opens, and again after it closes (a
    // full-screen editor hides what was said before it).
    let note = copy.prepare(ctx, d, &shown)?;
    // The editor runs without the write lock: other writers go on meanwhile.
    run_editor(&copy.text)?;
    if let Some(n) = &note {
        eprintln!("{n}");
    }
    let (edited, base) = copy.read_edited(&d.slug)?;
    // Now the lock, then the deal as it is now.
    let _lock = crate::cli::ctx::lock_for_write(ctx)?;
    crate::store::repo::prefetch_vars(&ctx.start);
    let now_p = Pipeline::open_for(&p.root, &d.rel.display().to_string()).ok();
    let now_d = now_p
        .as_ref()
        .and_then(|np| np.deals.iter().find(|x| x.rel == d.rel));
    let (Some(now_p), Some(now_d)) = (now_p.as_ref(), now_d) else {
        return Err(kept(
            &copy,
            &d.slug,
            format!(
                "{shown} was moved or removed since you opened it (another command or person did so); nothing was written"
            ),
        ));
    };
    if now_d.text != base.text {
        return Err(kept(
            &copy,
            &d.slug,
            format!(
                "{shown} changed since you opened it (another command or person wrote it); nothing was written; `deal edit {}` again reopens your copy with that change merged in",
                d.slug
            ),
        ));
    }
    if edited == now_d.text {
        copy.remove();
        if !ctx.quiet {
            println!("{} unchanged; nothing to commit", d.slug);
        }
        return Ok(0);
    }
    commit_edit(ctx, &a, &copy, now_p, now_d, &edited, &shown)
}

/// Judges the edited text as `deal set` would (a refusal keeps the copy,
/// naming the copy's lines), then commits it and removes the copy. The
/// deal now is at the path the session opened, so its slug is the same.
fn commit_edit(
    ctx: &Ctx,
    a: &EditArgs,
    copy: &Copy,
    now_p: &Pipeline,
    now_d: &crate::model::deal::Deal,
    edited: &str,
    shown: &str,
) -> Result<i32, Error> {
    let guard = crate::cli::set::Guard {
        force: a.force.force,
        reason: a.force.reason.clone(),
    };
    let (edited, forced) = match judge(ctx, now_p, now_d, edited, Some(&guard)) {
        Ok(judged) => judged,
        Err(e) => {
            let why = match e {
                Error::Usage { message, .. } | Error::Refused { message, .. } => message,
                other => return Err(other),
            };
            // The lines named are the copy's.
            let why = why.replace(&format!("{shown}:"), &format!("{}:", copy.text.display()));
            return Err(kept(copy, &now_d.slug, why));
        }
    };
    let change = Change {
        ops: Vec::new(),
        subject: format!("deal({}): edit", now_d.slug),
        trailers: forced,
        done: format!("Edited {}", now_d.slug),
        unchanged: String::new(),
        guard: None,
    };
    let written = commit_text(now_p, now_d, &edited, change, false)?;
    copy.remove();
    if !ctx.quiet {
        println!("{}", written.message);
    }
    Ok(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_pipelines_apart() {
        assert_eq!(key(Path::new(""), "acme"), "acme");
        assert_eq!(key(Path::new("sales/eu"), "acme"), "sales%2Feu%2Facme");
        assert_ne!(
            key(Path::new("a"), "b-acme"),
            key(Path::new("a%2Fb"), "acme")
        );
    }

    #[test]
    fn a_clean_merge_note_names_the_copy_and_the_text_before_it() {
        let note = merged_note(
            "deals/lead/acme.md",
            Path::new("/g/acme.md"),
            Path::new("/g/acme.before-merge.md"),
            0,
        );
        assert_eq!(
            note,
            "deal: deals/lead/acme.md changed since your copy was made; your copy (/g/acme.md) reopened with that change merged in (your text before the merge: /g/acme.before-merge.md)"
        );
    }

    #[test]
    fn a_conflicted_merge_note_counts_the_conflicts_and_names_the_markers() {
        let note = merged_note("d.md", Path::new("/g/c.md"), Path::new("/g/b.md"), 2);
        assert!(note.starts_with("deal: d.md changed since your copy was made, and 2 of its changes conflict with yours: your copy (/g/c.md) reopened with git's conflict markers"));
        assert!(note.ends_with("(your text before the merge: /g/b.md)"));
    }

    #[test]
    fn a_refusal_keeps_the_copy_and_says_nothing_was_written_once() {
        let copy = Copy {
            text: "/g/deal-edit/acme.md".into(),
            base: "/g/deal-edit/acme.base".into(),
            before_merge: "/g/deal-edit/acme.before-merge.md".into(),
            orphan: "/g/deal-edit/acme.without-base.md".into(),
            lock: "/g/deal-edit/acme.lock".into(),
        };
        let Error::Refused { message, help } = kept(&copy, "acme", "bad stage".into()) else {
            panic!("not a refusal");
        };
        assert_eq!(message, "bad stage; nothing was written");
        assert!(
            help.starts_with(
                "your text is kept in /g/deal-edit/acme.md; `deal edit acme` reopens it"
            )
        );
        let Error::Refused { message, .. } =
            kept(&copy, "acme", "gone; nothing was written here".into())
        else {
            panic!("not a refusal");
        };
        assert_eq!(message, "gone; nothing was written here");
    }
}
