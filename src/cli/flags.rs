//! Flag groups and value enums that two or more commands share (`--wide`,
//! `--no-commit`, `--force --reason`, the stats and table formats), defined
//! once so their help reads the same everywhere. A command's own arguments
//! sit in its file; `Cli` and `Command` in `cli/args.rs`.

use clap::{Args, ValueEnum};

/// `--wide`, defined once for every command that prints a table.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct WideFlag {
    /// Print whole cells on a terminal too (when stdout is not a terminal they always are)
    #[arg(long)]
    pub wide: bool,
}

/// `--no-commit`, defined once for every command that commits.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct CommitFlag {
    /// Make the change and stage it, but do not commit (the default when pipeline.yaml says `commit: false`)
    #[arg(long)]
    pub no_commit: bool,
}

/// `--force --reason`: make an edit that breaks a criterion of a stage the
/// deal has left, waiving that stage as a forced move does.
#[derive(Debug, Args)]
pub struct ForceArgs {
    /// Make a change that breaks a criterion of a stage the deal has left,
    /// waiving that stage (needs --reason; recorded as a forced move is)
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why the waived stage's criterion no longer applies (with --force)
    #[arg(long, requires = "force")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StatsFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableFormat {
    Table,
    Json,
    Csv,
}
