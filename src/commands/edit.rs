//! `deal edit DEAL [--force --reason TEXT]`: the deal in `$VISUAL` or
//! `$EDITOR`, judged as `deal set` judges a change (README, "Editing
//! front-matter"; docs/reference.md), then written and committed through
//! the one record path.
//!
//! The editor works on a copy in the git directory (`deal-edit/<slug>.md`,
//! beside `<slug>.orig`, the text the copy was made from), never on the
//! deal itself. The write lock is taken after the editor closes: if the
//! deal changed meanwhile, or the result does not parse or breaks a stage
//! the deal has left, nothing is written, exit 1, and the copy is kept, so
//! `deal edit DEAL` again reopens it.

use std::path::{Path, PathBuf};

use crate::cli::EditArgs;
use crate::commands::Ctx;
use crate::commands::record::{Recording, owner_trailers, record, refuse_new_errors};
use crate::commands::set::{Guard, edited_owner, guard_left_stages, one_deal, outcome};
use crate::deal::Deal;
use crate::error::Error;
use crate::pipeline::Pipeline;

fn refused(message: String, copy: &Path) -> Error {
    Error::Refused {
        message: format!("{message}; nothing was written"),
        help: kept(copy),
    }
}

fn kept(copy: &Path) -> String {
    format!(
        "your edit is kept in {}: `deal edit` again reopens it (delete it to start over)",
        crate::diag::display_path(copy)
    )
}

/// Runs the editor on `file`: `$VISUAL`, else `$EDITOR`, through `sh` so
/// an editor given with arguments (`code --wait`) works.
fn run_editor(file: &Path) -> Result<(), Error> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|e| !e.trim().is_empty())
        })
        .ok_or_else(|| {
            Error::usage(
                "no editor: neither VISUAL nor EDITOR is set",
                "set one, e.g. `export EDITOR=nano`, or change fields with `deal set`",
            )
        })?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("deal-edit")
        .arg(file)
        .status()
        .map_err(|e| Error::io(file, e))?;
    if !status.success() {
        return Err(Error::usage(
            format!("the editor ({editor}) exited with {status}; nothing was written"),
            format!(
                "your edit is kept in {}: `deal edit` again reopens it",
                crate::diag::display_path(file)
            ),
        ));
    }
    Ok(())
}

pub fn run(ctx: &Ctx, a: EditArgs) -> Result<i32, Error> {
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    let d = one_deal(&p, &a.deal)?;
    let repo =
        crate::repo::Repo::require(&p.root, "deal edit keeps its copy in the git directory")?;
    let dir = repo.git().path().join("deal-edit");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let copy = dir.join(format!("{}.md", d.slug));
    let orig = dir.join(format!("{}.orig", d.slug));
    for f in [&copy, &orig] {
        if std::fs::symlink_metadata(f).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::usage(
                format!("{} is a symbolic link; deal never follows one", f.display()),
                "delete it, then run deal edit again",
            ));
        }
    }
    if !copy.exists() || !orig.exists() {
        std::fs::write(&orig, &d.text).map_err(|e| Error::io(&orig, e))?;
        std::fs::write(&copy, &d.text).map_err(|e| Error::io(&copy, e))?;
    }
    let (slug, rel): (String, PathBuf) = (d.slug.clone(), d.rel.clone());
    drop(p);
    run_editor(&copy)?;
    let text = std::fs::read_to_string(&copy).map_err(|e| Error::io(&copy, e))?;
    let base = std::fs::read_to_string(&orig).map_err(|e| Error::io(&orig, e))?;
    let done = |files: [&PathBuf; 2]| {
        for f in files {
            let _ = std::fs::remove_file(f);
        }
    };
    if text == base {
        done([&copy, &orig]);
        if !ctx.quiet {
            println!("{slug}: nothing changed");
        }
        return Ok(0);
    }
    // One writer at a time, from here to the commit.
    let _lock = crate::commands::lock_for_write(ctx)?;
    let p = Pipeline::open_for(&ctx.start, &slug)?;
    let d = one_deal(&p, &slug)?;
    if d.rel != rel || d.text != base {
        return Err(refused(
            format!(
                "{} changed since the copy was made (moved or edited meanwhile)",
                crate::diag::display_path(&p.root.join(&d.rel))
            ),
            &copy,
        ));
    }
    if let Err(e) = Deal::parse(
        d.slug.clone(),
        d.rel.clone(),
        d.place,
        text.as_bytes().to_vec(),
        &p.cfg,
    ) {
        return Err(refused(
            format!(
                "the edited deal does not parse (line {}): {}",
                e.line, e.message
            ),
            &copy,
        ));
    }
    let guard = Guard {
        force: a.force,
        reason: a.reason.clone(),
    };
    let (ops, forced) = match guard_left_stages(&p, d, &text, &guard, ctx.now) {
        Ok(x) => x,
        Err(Error::Refused { message, .. }) => {
            return Err(Error::Refused {
                message,
                help: kept(&copy),
            });
        }
        Err(e) => return Err(e),
    };
    let text = if ops.is_empty() {
        text
    } else {
        crate::edit::apply(&text, &ops).map_err(|e| refused(e.to_string(), &copy))?
    };
    if let Err(e) = refuse_new_errors(&p.cfg, &p.root, Some(d), &d.rel, &text, ctx.now) {
        return Err(refused(e.to_string(), &copy));
    }
    let old_owner = d.fields.owner.clone().unwrap_or_default();
    let new_owner = edited_owner(&text).unwrap_or_else(|| old_owner.clone());
    let mut trailers = vec![("Deal", d.slug.clone())];
    trailers.extend(forced);
    trailers.extend(owner_trailers(&p.cfg, &old_owner, &new_owner));
    let recorded = record(Recording {
        root: &p.root,
        cfg: &p.cfg,
        old_rel: Some(&d.rel),
        old_text: Some(&d.text),
        new_rel: &d.rel,
        new_text: &text,
        subject: format!("deal({}): edit", d.slug),
        body: None,
        trailers,
        no_commit: a.commit.no_commit,
    })?;
    done([&copy, &orig]);
    if !ctx.quiet {
        println!("Edited {}{}.", d.slug, outcome(&recorded));
    }
    Ok(0)
}
