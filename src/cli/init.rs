//! `deal init [DIR]`: create a pipeline.

use std::path::Path;

use crate::base::error::Error;
use crate::cli::args::InitArgs;
use crate::cli::ctx::Ctx;
use crate::model::config::{self, Qualification};

/// A team handle from a git identity: the email's local part as a slug.
pub fn handle_for(name: &str, email: &str) -> String {
    let local = email.split('@').next().unwrap_or("");
    let h = crate::base::slug::slugify(local);
    if h.is_empty() {
        crate::base::slug::slugify(name)
    } else {
        h
    }
}

/// Writes `rel` below the pipeline folder, never through a symlink.
fn write(dir: &Path, rel: &Path, text: &str) -> Result<(), Error> {
    crate::base::safepath::write_file(dir, rel, text.as_bytes())
}

/// Refuses a folder that is a bare repository or inside a git directory:
/// a pipeline there would be written among git's own files.
fn refuse_git_dir(dir: &Path) -> Result<(), Error> {
    // A repository git refuses, or whose format deal cannot write, is
    // refused here, before anything is created.
    let Some(repo) = crate::store::repo::find(dir)? else {
        return Ok(());
    };
    let git_dir = std::fs::canonicalize(repo.path()).unwrap_or(repo.path().to_path_buf());
    if repo.is_bare() || repo.workdir().is_none() || dir.starts_with(&git_dir) {
        return Err(Error::usage(
            format!(
                "{} is {}, which has no work tree; nothing was changed",
                crate::base::diag::display_path(dir),
                if repo.is_bare() {
                    "a bare git repository"
                } else {
                    "inside a git directory"
                }
            ),
            "clone it (`git clone <repo> sales`) and run `deal init` in the clone",
        ));
    }
    Ok(())
}

/// Removes, when dropped armed, what an unfinished `deal init` wrote in
/// `dir`: pipeline.yaml, the deals folder and `.git` when it made them,
/// `.gitignore` as it was; so an init that cannot finish leaves nothing
/// behind (docs/safety.md, "git's own rules").
struct InitUndo {
    dir: std::path::PathBuf,
    deals: std::path::PathBuf,
    deals_existed: bool,
    gi_before: Option<Vec<u8>>,
    made_git: bool,
    armed: bool,
}

impl Drop for InitUndo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let _ = std::fs::remove_file(self.dir.join(config::FILE));
        if !self.deals_existed {
            let _ = std::fs::remove_dir_all(&self.deals);
        }
        let gi = self.dir.join(".gitignore");
        match &self.gi_before {
            Some(b) => {
                let _ = std::fs::write(&gi, b);
            }
            None => {
                let _ = std::fs::remove_file(&gi);
            }
        }
        if self.made_git {
            let _ = std::fs::remove_dir_all(self.dir.join(".git"));
        }
    }
}

pub fn run(ctx: &Ctx, a: InitArgs) -> Result<i32, Error> {
    let dir = match &a.path {
        Some(p) => ctx.start.join(p),
        None => ctx.start.clone(),
    };
    let cfg_path = dir.join(config::FILE);
    if let Some(link) = crate::base::safepath::first_link(&dir, Path::new(config::FILE)) {
        return Err(crate::base::safepath::link_error(&link));
    }
    if cfg_path.exists() {
        return Err(Error::usage(
            format!(
                "{} exists already; nothing was changed",
                crate::base::diag::display_path(&cfg_path)
            ),
            "edit it, or run `deal init` in another folder",
        ));
    }
    // Refuse a git directory before creating anything inside it.
    if let Some(existing) = dir.ancestors().find(|d| d.is_dir())
        && let Ok(existing) = std::fs::canonicalize(existing)
    {
        refuse_git_dir(&existing)?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // The folder itself may be reached through a link; below it, none counts.
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    let cfg_path = dir.join(config::FILE);
    refuse_git_dir(&dir)?;
    let gi_rel = Path::new(".gitignore");
    crate::base::safepath::check(&dir, gi_rel)?;
    // As every other command resolves it: config or environment.
    let identity = crate::store::repo::commit_identity(&dir);
    let mut team: Vec<(String, String, String)> = identity
        .iter()
        .map(|(n, e)| (handle_for(n, e), n.clone(), e.clone()))
        .collect();
    if a.example {
        // The sample deals name the example's team as owners.
        for t in crate::intake::example::team() {
            if !team.iter().any(|x| x.0 == t.0) {
                team.push(t);
            }
        }
    }
    let q: Qualification = a.qualification.into();
    let yaml = config::default_yaml(&team, q);
    // Validate before writing anything, so a bad built-in never half-creates a pipeline.
    let cfg = config::parse(
        &yaml,
        &cfg_path,
        &crate::model::notes::Templates::builtin_only(),
    )?;
    // An enclosing repository (a monorepo, or the clone of deal itself):
    // the pipeline joins it, and the user is told where commits will go.
    let enclosing = crate::store::repo::discover(&dir)
        .and_then(|r| r.workdir().and_then(|w| std::fs::canonicalize(w).ok()))
        .filter(|w| *w != dir);
    let had_repo = enclosing.is_some() || crate::store::repo::discover(&dir).is_some();
    let deals = Path::new(&cfg.deals_dir);
    let mut folders: Vec<String> = cfg.stages.iter().map(|s| s.dir.clone()).collect();
    folders.push(config::WON.into());
    folders.push(config::LOST.into());
    for f in &folders {
        crate::base::safepath::check(&dir, &deals.join(f))?;
    }
    let mut undo = InitUndo {
        dir: dir.clone(),
        deals: dir.join(deals),
        deals_existed: std::fs::symlink_metadata(dir.join(deals)).is_ok(),
        gi_before: std::fs::read(dir.join(gi_rel)).ok(),
        made_git: false,
        armed: true,
    };
    write(&dir, Path::new(config::FILE), &yaml)?;
    for f in &folders {
        let d = crate::base::safepath::create_dirs(&dir, &deals.join(f))?;
        write(&d, Path::new(".gitkeep"), "")?;
    }
    let gi = dir.join(gi_rel);
    let existing = std::fs::read_to_string(&gi).unwrap_or_default();
    if !existing
        .lines()
        .any(|l| l.trim() == "report/" || l.trim() == "/report/")
    {
        let sep = if existing.is_empty() || existing.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        write(
            &dir,
            gi_rel,
            &format!("{existing}{sep}# deal report output\n/report/\n"),
        )?;
    }
    if a.example {
        crate::intake::example::write_into(&dir, &cfg)?;
    }
    // The files this init wrote, root-relative, for the first commit.
    let mut written: Vec<String> = vec![config::FILE.to_string(), ".gitignore".to_string()];
    written.extend(
        folders
            .iter()
            .map(|f| format!("{}/{f}/.gitkeep", cfg.deals_dir)),
    );
    if a.example {
        written.extend(crate::intake::example::paths(&cfg));
    }
    written.sort();
    written.dedup();
    if !had_repo {
        undo.made_git = std::fs::symlink_metadata(dir.join(".git")).is_err();
        crate::store::repo::init(&dir).map_err(|e| {
            Error::git(
                format!("git init failed: {}; nothing was left behind", e.message()),
                "",
            )
        })?;
    }
    // The first commit: a new repository, or one without commits, gets the
    // pipeline committed, so `trend`, `audit` and `review HEAD` work from
    // the start (a new repository with --example gets the example's dated
    // history instead). Inside a repository with commits, only --example
    // commits (its sample deals, as one commit); nothing else is committed
    // for someone else's repository.
    let unborn = crate::store::repo::Repo::open(&dir)
        .and_then(|r| r.head().ok())
        .is_some_and(|h| h.oid.is_none());
    let committed = if !had_repo && a.example {
        // Authored by the example's own team: no git identity needed.
        crate::intake::example::write_history(&dir, &cfg, &yaml)?;
        Some(Committed::History)
    } else if identity.is_none() || !(unborn || a.example) {
        None
    } else {
        let subject = if a.example {
            "deal: a new pipeline, with the example's sample deals"
        } else {
            "deal: a new pipeline"
        };
        first_commit(&dir, &written, subject)?.map(|c| Committed::One(c, unborn))
    };
    undo.armed = false;
    if !ctx.quiet {
        let shown = crate::base::diag::display_path(&dir);
        println!("Created a pipeline in {shown}:");
        println!(
            "  {:<25}the process: 7 stages, exit criteria, team",
            config::FILE
        );
        println!(
            "  {:<25}one folder per stage, plus won/ and lost/",
            format!("{}/<stage>/", cfg.deals_dir)
        );
        if !had_repo && matches!(committed, Some(Committed::History)) {
            println!(
                "  .git/                    a new git repository, with the example's history: dated commits of each sample deal's moves"
            );
        } else if !had_repo {
            println!("  .git/                    a new git repository");
        }
        if let Some(w) = &enclosing {
            println!(
                "  (no git init: {shown} is inside the git repository at {}, and deal's commits go there.\n   For a repository of its own: `cd {shown} && git init`{}.)",
                w.display(),
                if committed.is_some() {
                    " (then commit the files there)"
                } else {
                    ", before your first commit"
                }
            );
        }
        match &committed {
            Some(Committed::History) => {}
            Some(Committed::One(c, first)) => println!(
                "Committed {} ({c}): pipeline.yaml, .gitignore and the stage folders{}.",
                if *first {
                    "them as the first commit"
                } else {
                    "them in one commit"
                },
                if a.example {
                    ", with the sample deals"
                } else {
                    ""
                }
            ),
            None if identity.is_none() => println!(
                "Not committed: git has no identity to commit as. Set it, then commit:\n  git config --global user.name \"Your Name\" && git config --global user.email you@example.com\n  git add -A && git commit -m \"deal: a new pipeline\""
            ),
            None => println!(
                "Not committed (the repository has commits of its own): `git add {} && git commit` when ready.",
                if enclosing.is_some() {
                    shown.to_string()
                } else {
                    ".".to_string()
                }
            ),
        }
        match team.first() {
            Some((h, n, e)) => println!("Team: {h} ({n} <{e}>) with every role."),
            None => println!("No git identity found: add yourself under `team:` in pipeline.yaml."),
        }
        println!(
            "Next: `deal check` validates it; `deal show <slug>` lists a deal's exit checklist."
        );
    }
    Ok(0)
}

/// What `init` committed.
enum Committed {
    /// The example's dated history, in a new repository.
    History,
    /// One commit (its short id), and whether it is the repository's first.
    One(String, bool),
}

/// Commits the files `init` wrote (root-relative), and only those, through
/// the one record path; `None` when not in a git repository.
fn first_commit(dir: &Path, rels: &[String], subject: &str) -> Result<Option<String>, Error> {
    let Some(repo) = crate::store::repo::Repo::open(dir) else {
        return Ok(None);
    };
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = rels
        .iter()
        .map(|r| {
            let p = dir.join(r);
            std::fs::read(&p)
                .map(|b| (p.clone(), b))
                .map_err(|e| Error::io(&p, e))
        })
        .collect::<Result<_, _>>()?;
    let changes: Vec<crate::store::repo::Change> = files
        .iter()
        .map(|(p, b)| crate::store::repo::Change {
            old: Some(p),
            old_bytes: Some(b),
            new: p,
            new_bytes: b,
            gone: Vec::new(),
        })
        .collect();
    let ident = repo.ident()?;
    let head = repo.head()?;
    let msg = crate::store::repo::Message {
        text: format!("{subject}\n"),
    };
    let oid = repo.record_all(&changes, Some(&msg), &head, Some(&ident))?;
    Ok(oid.map(|o| o.to_string()[..7].to_string()))
}
