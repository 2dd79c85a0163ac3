//! `deal init [DIR]`: create a pipeline.

use std::path::Path;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::model::config::{self};
use crate::model::notes::Qualification;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the pipeline in (default: the current folder, or -C)
    pub path: Option<PathBuf>,
    /// Add sample deals to try the commands on
    #[arg(long)]
    pub example: bool,
    /// Which qualification note `deal note X qualification` scaffolds
    #[arg(long, value_enum, default_value_t = QualificationArg::Bant)]
    pub qualification: QualificationArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QualificationArg {
    Bant,
    Meddic,
    Meddpicc,
}

impl From<QualificationArg> for Qualification {
    fn from(q: QualificationArg) -> Qualification {
        match q {
            QualificationArg::Bant => Qualification::Bant,
            QualificationArg::Meddic => Qualification::Meddic,
            QualificationArg::Meddpicc => Qualification::Meddpicc,
        }
    }
}

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

impl InitUndo {
    /// Notes what is in `dir` before anything is written (the deals
    /// folder `deals_dir`, `.gitignore`), armed to undo what follows.
    fn arm(dir: &Path, deals_dir: &str) -> InitUndo {
        InitUndo {
            dir: dir.to_path_buf(),
            deals: dir.join(deals_dir),
            deals_existed: std::fs::symlink_metadata(dir.join(deals_dir)).is_ok(),
            gi_before: std::fs::read(dir.join(".gitignore")).ok(),
            made_git: false,
            armed: true,
        }
    }
}

pub fn run(ctx: &Ctx, a: InitArgs) -> Result<i32, Error> {
    let asked = match &a.path {
        Some(p) => ctx.start.join(p),
        None => ctx.start.clone(),
    };
    refuse_existing(&asked)?;
    let dir = make_root(&asked)?;
    // As every other command resolves it: config or environment.
    let identity = crate::store::repo::commit_identity(&dir);
    let team = team_of(identity.as_ref(), a.example);
    let q: Qualification = a.qualification.into();
    let yaml = config::default_yaml(&team, q);
    // Validate before writing anything, so a bad built-in never half-creates a pipeline.
    let cfg = config::parse(
        &yaml,
        &dir.join(config::FILE),
        &crate::model::notes::Templates::builtin_only(),
    )?;
    // An enclosing repository (a monorepo, or the clone of deal itself):
    // the pipeline joins it, and the user is told where commits will go.
    let enclosing = crate::store::repo::discover(&dir)
        .and_then(|r| r.workdir().and_then(|w| std::fs::canonicalize(w).ok()))
        .filter(|w| *w != dir);
    let had_repo = enclosing.is_some() || crate::store::repo::discover(&dir).is_some();
    let folders = stage_folders(&cfg);
    for f in &folders {
        crate::base::safepath::check(&dir, &Path::new(&cfg.deals_dir).join(f))?;
    }
    let mut undo = InitUndo::arm(&dir, &cfg.deals_dir);
    write_pipeline(&dir, &cfg, &yaml, &folders, a.example)?;
    let written = planned_files(&cfg, &folders, a.example);
    if !had_repo {
        undo.made_git = std::fs::symlink_metadata(dir.join(".git")).is_err();
        crate::store::repo::init(&dir).map_err(|e| {
            Error::git(
                format!("git init failed: {}; nothing was left behind", e.message()),
                "",
            )
        })?;
    }
    let unborn = crate::store::repo::Repo::open(&dir)
        .and_then(|r| r.head().ok())
        .is_some_and(|h| h.oid.is_none());
    let committed = match commit_plan(had_repo, a.example, identity.is_some(), unborn) {
        CommitPlan::History => {
            // Authored by the example's own team: no git identity needed.
            crate::intake::example::write_history(&dir, &cfg, &yaml)?;
            Some(Committed::History)
        }
        CommitPlan::Nothing => None,
        CommitPlan::One(subject) => {
            first_commit(&dir, &written, subject)?.map(|c| Committed::One(c, unborn))
        }
    };
    undo.armed = false;
    if !ctx.quiet {
        let said = Said {
            shown: crate::base::diag::display_path(&dir),
            deals_dir: &cfg.deals_dir,
            had_repo,
            enclosing: enclosing.as_deref(),
            committed: committed.as_ref(),
            has_identity: identity.is_some(),
            example: a.example,
            first: team.first(),
        };
        print!("{}", said.text());
    }
    Ok(0)
}

/// Refuses, before anything is created: a `pipeline.yaml` reached through
/// a link or there already, and a folder in a git directory.
fn refuse_existing(dir: &Path) -> Result<(), Error> {
    let cfg_path = dir.join(config::FILE);
    if let Some(link) = crate::base::safepath::first_link(dir, Path::new(config::FILE)) {
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
    Ok(())
}

/// Creates the pipeline folder and returns its real path; refuses it in a
/// git directory, or with a `.gitignore` that is a link.
fn make_root(dir: &Path) -> Result<std::path::PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // The folder itself may be reached through a link; below it, none counts.
    let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    refuse_git_dir(&dir)?;
    crate::base::safepath::check(&dir, Path::new(".gitignore"))?;
    Ok(dir)
}

/// The team pipeline.yaml starts with: the git identity, if any, then
/// (with --example) the example's team, whose handles the sample deals
/// name as owners; each handle once.
fn team_of(identity: Option<&(String, String)>, example: bool) -> Vec<(String, String, String)> {
    let mut team: Vec<(String, String, String)> = identity
        .iter()
        .map(|(n, e)| (handle_for(n, e), n.clone(), e.clone()))
        .collect();
    if example {
        for t in crate::intake::example::team() {
            if !team.iter().any(|x| x.0 == t.0) {
                team.push(t);
            }
        }
    }
    team
}

/// The folders below the deals folder: one per stage, then won and lost.
fn stage_folders(cfg: &config::Config) -> Vec<String> {
    let mut folders: Vec<String> = cfg.stages.iter().map(|s| s.dir.clone()).collect();
    folders.push(config::WON.into());
    folders.push(config::LOST.into());
    folders
}

/// `.gitignore` with the report's output folder ignored, or `None` when
/// it already is (as `report/` or `/report/`).
fn with_report_ignored(existing: &str) -> Option<String> {
    if existing
        .lines()
        .any(|l| l.trim() == "report/" || l.trim() == "/report/")
    {
        return None;
    }
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    Some(format!("{existing}{sep}# deal report output\n/report/\n"))
}

/// Writes pipeline.yaml, a `.gitkeep` in each of `folders`, the report's
/// line in `.gitignore`, and with --example the sample deals.
fn write_pipeline(
    dir: &Path,
    cfg: &config::Config,
    yaml: &str,
    folders: &[String],
    example: bool,
) -> Result<(), Error> {
    write(dir, Path::new(config::FILE), yaml)?;
    for f in folders {
        let d = crate::base::safepath::create_dirs(dir, &Path::new(&cfg.deals_dir).join(f))?;
        write(&d, Path::new(".gitkeep"), "")?;
    }
    let gi_rel = Path::new(".gitignore");
    let existing = std::fs::read_to_string(dir.join(gi_rel)).unwrap_or_default();
    if let Some(text) = with_report_ignored(&existing) {
        write(dir, gi_rel, &text)?;
    }
    if example {
        crate::intake::example::write_into(dir, cfg)?;
    }
    Ok(())
}

/// The files this init writes, root-relative, sorted, for the first commit.
fn planned_files(cfg: &config::Config, folders: &[String], example: bool) -> Vec<String> {
    let mut written: Vec<String> = vec![config::FILE.to_string(), ".gitignore".to_string()];
    written.extend(
        folders
            .iter()
            .map(|f| format!("{}/{f}/.gitkeep", cfg.deals_dir)),
    );
    if example {
        written.extend(crate::intake::example::paths(cfg));
    }
    written.sort();
    written.dedup();
    written
}

/// What `init` is to commit.
#[derive(Debug, PartialEq)]
enum CommitPlan {
    /// The example's dated history.
    History,
    /// One commit with this subject.
    One(&'static str),
    Nothing,
}

/// The first commit: a new repository, or one without commits, gets the
/// pipeline committed, so `trend`, `audit` and `review HEAD` work from
/// the start (a new repository with --example gets the example's dated
/// history instead). Inside a repository with commits, only --example
/// commits (its sample deals, as one commit); nothing else is committed
/// for someone else's repository. Without a git identity, nothing is.
fn commit_plan(had_repo: bool, example: bool, has_identity: bool, unborn: bool) -> CommitPlan {
    if !had_repo && example {
        CommitPlan::History
    } else if !has_identity || !(unborn || example) {
        CommitPlan::Nothing
    } else if example {
        CommitPlan::One("deal: a new pipeline, with the example's sample deals")
    } else {
        CommitPlan::One("deal: a new pipeline")
    }
}

/// What `init` did, for the lines it prints.
struct Said<'a> {
    /// The pipeline folder as shown to the user.
    shown: String,
    deals_dir: &'a str,
    had_repo: bool,
    /// The repository the pipeline joined, when it is not its own.
    enclosing: Option<&'a Path>,
    committed: Option<&'a Committed>,
    has_identity: bool,
    example: bool,
    /// The first of the team: handle, name, email.
    first: Option<&'a (String, String, String)>,
}

impl Said<'_> {
    /// What was created, where commits go, what was committed, who the
    /// team is, and what to run next.
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let shown = &self.shown;
        let mut out = String::new();
        let _ = writeln!(out, "Created a pipeline in {shown}:");
        let _ = writeln!(
            out,
            "  {:<25}the process: 7 stages, exit criteria, team",
            config::FILE
        );
        let _ = writeln!(
            out,
            "  {:<25}one folder per stage, plus won/ and lost/",
            format!("{}/<stage>/", self.deals_dir)
        );
        if !self.had_repo && matches!(self.committed, Some(Committed::History)) {
            out.push_str("  .git/                    a new git repository, with the example's history: dated commits of each sample deal's moves\n");
        } else if !self.had_repo {
            out.push_str("  .git/                    a new git repository\n");
        }
        if let Some(w) = self.enclosing {
            let _ = writeln!(
                out,
                "  (no git init: {shown} is inside the git repository at {}, and deal's commits go there.\n   For a repository of its own: `cd {shown} && git init`{}.)",
                w.display(),
                if self.committed.is_some() {
                    " (then commit the files there)"
                } else {
                    ", before your first commit"
                }
            );
        }
        out.push_str(&self.commit_line());
        match self.first {
            Some((h, n, e)) => {
                let _ = writeln!(out, "Team: {h} ({n} <{e}>) with every role.");
            }
            None => out
                .push_str("No git identity found: add yourself under `team:` in pipeline.yaml.\n"),
        }
        out.push_str(
            "Next: `deal check` validates it; `deal show <slug>` lists a deal's exit checklist.\n",
        );
        out
    }

    /// What was committed, or why nothing was and how to commit.
    fn commit_line(&self) -> String {
        match self.committed {
            Some(Committed::History) => String::new(),
            Some(Committed::One(c, first)) => format!(
                "Committed {} ({c}): pipeline.yaml, .gitignore and the stage folders{}.\n",
                if *first {
                    "them as the first commit"
                } else {
                    "them in one commit"
                },
                if self.example {
                    ", with the sample deals"
                } else {
                    ""
                }
            ),
            None if !self.has_identity => "Not committed: git has no identity to commit as. Set it, then commit:\n  git config --global user.name \"Your Name\" && git config --global user.email you@example.com\n  git add -A && git commit -m \"deal: a new pipeline\"\n".to_string(),
            None => format!(
                "Not committed (the repository has commits of its own): `git add {} && git commit` when ready.\n",
                if self.enclosing.is_some() {
                    self.shown.to_string()
                } else {
                    ".".to_string()
                }
            ),
        }
    }
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
    let changes: Vec<crate::store::worktree::Change> = files
        .iter()
        .map(|(p, b)| crate::store::worktree::Change {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> config::Config {
        let yaml = config::default_yaml(&[], Qualification::Bant);
        config::parse(
            &yaml,
            Path::new("pipeline.yaml"),
            &crate::model::notes::Templates::builtin_only(),
        )
        .unwrap()
    }

    fn said<'a>(committed: Option<&'a Committed>) -> Said<'a> {
        Said {
            shown: "sales".into(),
            deals_dir: "deals",
            had_repo: false,
            enclosing: None,
            committed,
            has_identity: true,
            example: false,
            first: None,
        }
    }

    #[test]
    fn a_handle_is_the_emails_local_part_else_the_name() {
        assert_eq!(handle_for("Ana Lima", "ana@example.com"), "ana");
        assert_eq!(handle_for("Ana Lima", "@example.com"), "ana-lima");
    }

    #[test]
    fn the_folders_are_the_stages_then_won_and_lost() {
        let c = cfg();
        let f = stage_folders(&c);
        assert_eq!(f.len(), c.stages.len() + 2);
        assert_eq!(f[0], c.stages[0].dir);
        assert_eq!(&f[f.len() - 2..], [config::WON, config::LOST]);
    }

    #[test]
    fn the_plan_of_files_is_sorted_and_keeps_each_folder() {
        let c = cfg();
        let folders = stage_folders(&c);
        let plan = planned_files(&c, &folders, false);
        assert_eq!(plan.len(), folders.len() + 2);
        assert!(plan.windows(2).all(|w| w[0] < w[1]));
        assert!(plan.contains(&format!("{}/won/.gitkeep", c.deals_dir)));
        assert!(plan.contains(&".gitignore".to_string()));
        let with = planned_files(&c, &folders, true);
        assert!(with.len() > plan.len());
        assert!(plan.iter().all(|f| with.contains(f)));
    }

    #[test]
    fn gitignore_gains_the_report_line_once_on_a_line_of_its_own() {
        assert_eq!(
            with_report_ignored("").as_deref(),
            Some("# deal report output\n/report/\n")
        );
        assert_eq!(
            with_report_ignored("target").as_deref(),
            Some("target\n# deal report output\n/report/\n")
        );
        assert_eq!(with_report_ignored("x\n  report/ \n"), None);
        assert_eq!(with_report_ignored("/report/\n"), None);
    }

    #[test]
    fn only_a_new_repository_or_the_example_is_committed() {
        use CommitPlan::*;
        assert_eq!(commit_plan(false, true, false, true), History);
        assert_eq!(
            commit_plan(false, false, true, true),
            One("deal: a new pipeline")
        );
        assert_eq!(commit_plan(true, false, true, false), Nothing);
        assert_eq!(
            commit_plan(true, true, true, false),
            One("deal: a new pipeline, with the example's sample deals")
        );
        assert_eq!(commit_plan(false, false, false, true), Nothing);
    }

    #[test]
    fn the_example_team_joins_the_identity_without_repeating_a_handle() {
        let me = ("Ana Lima".to_string(), "ana@example.com".to_string());
        assert_eq!(
            team_of(Some(&me), false),
            vec![("ana".to_string(), me.0.clone(), me.1.clone())]
        );
        let example = crate::intake::example::team();
        let both = team_of(Some(&me), true);
        assert_eq!(both[0].0, "ana");
        let mut handles: Vec<&str> = both.iter().map(|t| t.0.as_str()).collect();
        handles.sort();
        handles.dedup();
        assert_eq!(handles.len(), both.len());
        assert!(example.iter().all(|t| both.iter().any(|b| b.0 == t.0)));
        assert!(team_of(None, false).is_empty());
    }

    #[test]
    fn a_first_commit_is_said_with_its_id() {
        let c = Committed::One("abc1234".into(), true);
        let text = said(Some(&c)).text();
        assert!(
            text.starts_with(
                "Created a pipeline in sales:\n  pipeline.yaml            the process"
            )
        );
        assert!(text.contains("\n  deals/<stage>/           one folder per stage"));
        assert!(text.contains("\n  .git/                    a new git repository\n"));
        assert!(text.contains(
            "\nCommitted them as the first commit (abc1234): pipeline.yaml, .gitignore and the stage folders.\n"
        ));
        assert!(text.contains("\nNo git identity found: add yourself"));
        assert!(text.ends_with("lists a deal's exit checklist.\n"));
    }

    #[test]
    fn inside_another_repository_the_text_says_where_commits_go() {
        let w = Path::new("/work/mono");
        let mut s = said(None);
        s.had_repo = true;
        s.enclosing = Some(w);
        let text = s.text();
        assert!(!text.contains(".git/"));
        assert!(text.contains(
            "  (no git init: sales is inside the git repository at /work/mono, and deal's commits go there.\n   For a repository of its own: `cd sales && git init`, before your first commit.)\n"
        ));
        assert!(text.contains(
            "Not committed (the repository has commits of its own): `git add sales && git commit` when ready.\n"
        ));
        s.has_identity = false;
        assert!(
            s.commit_line()
                .starts_with("Not committed: git has no identity")
        );
    }
}
