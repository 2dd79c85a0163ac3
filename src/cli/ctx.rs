//! What every command shares: the [`Ctx`] (where the pipeline is searched
//! from, colour, verbosity, "now"), the write lock, and the warning for
//! unreadable deal files.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::base::error::Error;
use crate::cli::output::Style;
use crate::reports::forecast::Unreadable;

/// What every command shares.
pub struct Ctx {
    /// Where the pipeline root is searched from (`-C`, else the current folder).
    pub start: PathBuf,
    pub style: Style,
    pub quiet: bool,
    pub verbose: bool,
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// With `-v`: a line on stderr saying what was read.
    pub fn trace(&self, what: impl FnOnce() -> String) {
        if self.verbose {
            eprintln!("deal: {}", what());
        }
    }

    /// With `-v`: the pipeline root, pipeline.yaml and the deal files read.
    pub fn trace_pipeline(&self, p: &crate::store::pipeline::Pipeline, source: &str) {
        self.trace(|| {
            format!(
                "pipeline root {}; read {} ({} stages, {} team members, qualification {}); {} deal files from {}/ in the {source}, {} unreadable",
                crate::base::diag::display_path(&p.root),
                crate::model::config::FILE,
                p.cfg.stages.len(),
                p.cfg.team.len(),
                p.cfg.qualification.as_str(),
                p.deals.len() + p.problems.len() + p.unparsed.len(),
                p.cfg.deals_dir,
                p.problems.len(),
            )
        });
    }
}

/// Takes the repository's write lock (docs/safety.md, "One writer at a time") for
/// a command that writes; hold the guard until the commit is made.
pub fn lock_for_write(ctx: &Ctx) -> Result<Option<crate::store::lock::WriteLock>, Error> {
    crate::store::lock::acquire(&ctx.start)
}

/// Warns on stderr about each deal file that could not be read.
pub fn warn_unreadable(list: &[Unreadable]) {
    for u in list {
        eprintln!(
            "warning: {}:{}: {} (left out; `deal check` shows how to fix it)",
            u.path, u.line, u.message
        );
    }
}
