//! Command-line definition: the single source of truth for flags, help text
//! and shell completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Qualification;
use crate::output::ColorChoice;

const AFTER_HELP: &str = "\
A pipeline is a folder with pipeline.yaml and deals/<stage>/<slug>.md files, usually in git.
The folder a deal sits in is its stage. Each stage has exit criteria: the observable signal
that a deal may move on. `deal check` enforces them; `deal show DEAL` lists what is missing.

Exit codes: 0 ok, 1 findings (check errors, a refused move), 2 usage or configuration error.
Every time-dependent figure uses SOURCE_DATE_EPOCH when it is set.";

#[derive(Debug, Parser)]
#[command(
    name = "deal",
    version,
    about = "A sales pipeline kept as Markdown files in git, with exit criteria enforced at every stage",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Run as if started in DIR (the pipeline root is searched from there upwards)
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,

    /// When to colour output (NO_COLOR is honoured)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a pipeline: pipeline.yaml with the seven default stages, the stage folders, git
    #[command(after_help = "\
Writes pipeline.yaml (prospecting, outreach, qualification, discovery, proposal, negotiation,
close, then won or lost), one folder per stage under deals/, and a .gitignore for report/.
The git user (user.name, user.email) joins the team with every role. Runs `git init` when
DIR is not inside a repository. Refuses, changing nothing, if pipeline.yaml exists.

Example:
  deal init sales && cd sales && deal check")]
    Init(InitArgs),

    /// Validate every deal against the pipeline's rules and exit criteria
    #[command(after_help = "\
Rules (errors): parse, schema, unknown-stage-folder, symlink, duplicate-slug, exit-criteria,
missing-lost-reason, unknown-owner. Warnings: rotting, next-step-missing, next-step-overdue,
speed-to-lead, currency-mismatch. Warnings fail the run only with --deny-warnings.

Exit codes: 0 no errors, 1 errors found, 2 malformed pipeline.yaml or bad usage.

Examples:
  deal check                          the whole pipeline
  deal check deals/05-proposal        only the deals under that folder
  deal check --format github          annotations for a GitHub Actions log")]
    Check(CheckArgs),

    /// One row per deal: slug, stage, owner, value, days in stage, criteria, next step
    #[command(after_help = "\
CRITERIA is met/total for the exit criteria of the deal's current stage.

Examples:
  deal list --stage proposal --owner bob
  deal list --rotting
  deal list --sort value --format json | jq '.[0]'")]
    List(ListArgs),

    /// A deal's stage, owner, age, exit checklist and history
    #[command(after_help = "\
DEAL is a slug, a unique prefix of one, or a path. The checklist shows ✔ or ✖ for each exit
criterion of the current stage, and the command that fixes each ✖.")]
    Show(ShowArgs),

    /// Append a scaffolded note (qualification, problem, proposal, objections, handoff, call)
    #[command(after_help = "\
Appends the note's section to the deal's body, from templates/notes/<kind>.md (built in, or
the pipeline's own templates/ folder), and adds its front-matter signals when missing:
  qualification  BANT, MEDDIC or MEDDPICC headings (pipeline.yaml `qualification`)
  problem        problem statement; adds problem.confirmed_by and problem.confirmed_on
  proposal       scope, pains, price, next step; adds proposal.reviewed_on and next_step
  objections     prepared responses; seeds `objections: []`
  handoff        agreed scope for delivery; adds delivery_owner and kickoff_on
  call           a dated entry that can repeat; sets last_activity
Where the section exists already it says so, changes nothing and exits 0. Edits are lossless:
only added lines (and last_activity for `call`). Nothing is committed.

Example:
  deal note acme qualification && $EDITOR deals/03-qualification/acme.md")]
    Note(NoteArgs),

    /// Print shell completions
    #[command(
        after_help = "Example:\n  deal completions bash > ~/.local/share/bash-completion/completions/deal"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

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

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
    Github,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Deal files or folders to check (default: the whole pipeline)
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only deals in this stage (a stage id, `won` or `lost`)
    #[arg(long)]
    pub stage: Option<String>,
    /// Only deals owned by this team handle
    #[arg(long)]
    pub owner: Option<String>,
    /// Only deals idle past their stage's rot_after_days
    #[arg(long)]
    pub rotting: bool,
    /// Sort by slug, stage, owner, value, days, criteria, due, or any front-matter field
    #[arg(long, default_value = "stage")]
    pub sort: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Slug, unique prefix, or path
    pub deal: String,
    /// Which note
    #[arg(value_enum)]
    pub kind: crate::notes::NoteKind,
    /// Print the scaffold without writing anything
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Slug, unique prefix, or path
    pub deal: String,
}
