//! The faces of `deal`: the clap definitions (`args`), one module per
//! command, completion, output, and `deal serve`. Each command takes its
//! parsed arguments and a [`Ctx`], prints its output, and returns the exit
//! code (0 or 1) or an [`Error`]. This file only dispatches.

use crate::base::error::Error;
use crate::cli::args::{Cli, Command};
use crate::cli::ctx::{Ctx, lock_for_write};
use crate::cli::output::Style;

pub mod args;
pub mod assign;
pub mod audit;
pub mod check;
pub mod complete;
pub mod ctx;
pub mod due;
pub mod edit;
pub mod entry;
pub mod flags;
pub mod forecast;
pub mod hook;
pub mod import;
pub mod init;
pub mod list;
pub mod merge_driver;
pub mod mv;
pub mod new;
pub mod note;
pub mod notify;
pub mod objection;
pub mod output;
pub mod record;
pub mod report;
pub mod resolve;
pub mod review;
pub mod serve;
pub mod set;
pub mod show;
pub mod trend;

/// Whether a command writes deals, the index or HEAD, and so takes the
/// write lock. Exhaustive on purpose: a new command must say which it is.
fn writes(cmd: &Command) -> bool {
    match cmd {
        Command::New(a) => !a.dry_run,
        Command::Import(a) => !a.dry_run,
        Command::Note(a) => !a.print,
        Command::Objection(a) => !matches!(a.action, objection::ObjectionAction::List { .. }),
        Command::Set(_)
        | Command::Unset(_)
        | Command::Move(_)
        | Command::Assign(_)
        | Command::Resolve(_) => true,
        // `edit` takes the lock itself, after the editor closes.
        Command::Edit(_) => false,
        // `init` creates the repository it would lock; `hook` writes only
        // hook files; `report` writes only its output folder.
        Command::Init(_)
        | Command::Check(_)
        | Command::List(_)
        | Command::Show(_)
        | Command::Report(_)
        | Command::Stats(_)
        | Command::Hook(_)
        | Command::MergeDriver(_)
        | Command::Due(_)
        // `notify` writes only its notes ref, never deals, the index or HEAD.
        | Command::Notify(_)
        | Command::Export(_)
        | Command::Audit(_)
        | Command::Review(_)
        | Command::Forecast(_)
        | Command::Trend(_)
        | Command::Completions { .. } => false,
        // `serve` takes the lock for each write it makes, not for its life.
        Command::Serve(_) => false,
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32, Error> {
    if let Some(why) = crate::base::time::bad_source_date_epoch() {
        return Err(Error::usage(
            why,
            "set it to a Unix time such as `$(git log -1 --format=%ct)`, or unset it to use the clock",
        ));
    }
    let start = match &cli.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let ctx = Ctx {
        start,
        style: Style::new(cli.color),
        quiet: cli.quiet,
        verbose: cli.verbose,
        now: crate::base::time::now(),
    };
    // Taken before any command reads a deal, held until it returns.
    let _lock = if writes(&cli.command) {
        lock_for_write(&ctx)?
    } else {
        None
    };
    match cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::New(a) => new::run(&ctx, a),
        Command::Set(a) => set::run(&ctx, a),
        Command::Unset(a) => set::run_unset(&ctx, a),
        Command::Edit(a) => edit::run(&ctx, a),
        Command::Move(a) => mv::run(&ctx, a),
        Command::Assign(a) => assign::run(&ctx, a),
        Command::Check(a) => check::run(&ctx, a),
        Command::List(a) => list::run(&ctx, a),
        Command::Show(a) => show::run(&ctx, a),
        Command::Note(a) => note::run(&ctx, a),
        Command::Report(a) => report::run_report(&ctx, a),
        Command::Stats(a) => report::run_stats(&ctx, a),
        Command::Hook(a) => hook::run(&ctx, a),
        Command::MergeDriver(a) => merge_driver::run(&ctx, a),
        Command::Objection(a) => objection::run(&ctx, a),
        Command::Due(a) => due::run(&ctx, a),
        Command::Notify(a) => notify::run(&ctx, a),
        Command::Forecast(a) => forecast::run(&ctx, a),
        Command::Trend(a) => trend::run(&ctx, a),
        Command::Serve(a) => serve::run(&ctx, a),
        Command::Import(a) => import::run_import(&ctx, a),
        Command::Export(a) => import::run_export(&ctx, a),
        Command::Audit(a) => audit::run(&ctx, a),
        Command::Review(a) => review::run(&ctx, a),
        Command::Resolve(a) => resolve::run(&ctx, a),
        Command::Completions { shell } => {
            use clap_complete::Shell;
            use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
            let env: &dyn EnvCompleter = match shell {
                Shell::Bash => &Bash,
                Shell::Elvish => &Elvish,
                Shell::Fish => &Fish,
                Shell::PowerShell => &Powershell,
                Shell::Zsh => &Zsh,
                _ => {
                    return Err(Error::usage(
                        format!("no completion for {shell}"),
                        "use bash, zsh, fish, elvish or powershell",
                    ));
                }
            };
            // The registration calls `deal` on PATH back with COMPLETE set
            // (see entry.rs), so it keeps working across upgrades.
            let mut out = Vec::new();
            env.write_registration("COMPLETE", "deal", "deal", "deal", &mut out)
                .map_err(|e| Error::io("stdout", e))?;
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&out)
                .map_err(|e| Error::io("stdout", e))?;
            Ok(0)
        }
    }
}
