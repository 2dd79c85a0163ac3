//! `deal merge-driver BASE OURS THEIRS`: git's merge driver for deal files
//! (README, "Merging deal files"), registered by `deal hook install` as
//! `merge.deal.driver` for `deals/**/*.md`. git runs it with the three
//! versions in temporary files; the merged text goes to OURS, and a
//! non-zero exit tells git the path is conflicted.

use std::path::PathBuf;

use clap::Args;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::rules::merge::{Labels, bytes_merge, merge};

/// What git passes a merge driver: `%O %A %B --marker-size %L --path %P`.
#[derive(Debug, Args)]
pub struct MergeDriverArgs {
    /// The common ancestor's version (%O)
    pub base: PathBuf,
    /// Ours (%A): the merged result is written here
    pub ours: PathBuf,
    /// Theirs (%B)
    pub theirs: PathBuf,
    /// Conflict marker length (%L)
    #[arg(long, default_value_t = 7)]
    pub marker_size: usize,
    /// The path being merged (%P), for messages
    #[arg(long)]
    pub path: Option<String>,
}

pub fn run(_ctx: &Ctx, a: MergeDriverArgs) -> Result<i32, Error> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| Error::io(p, e));
    let (base, ours, theirs) = (read(&a.base)?, read(&a.ours)?, read(&a.theirs)?);
    let labels = Labels {
        ours: "ours",
        theirs: "theirs",
    };
    let marker = a.marker_size.max(1);
    let (bytes, conflicts) = match (
        std::str::from_utf8(&base),
        std::str::from_utf8(&ours),
        std::str::from_utf8(&theirs),
    ) {
        (Ok(b), Ok(o), Ok(t)) => {
            let m = merge(b, o, t, marker, &labels);
            (m.text.into_bytes(), m.conflicts)
        }
        // Not text deal reads: git's own text merge.
        _ => match bytes_merge(&base, &ours, &theirs, marker, &labels) {
            Some((b, clean)) => (b, usize::from(!clean)),
            None => (ours.clone(), 1),
        },
    };
    std::fs::write(&a.ours, bytes).map_err(|e| Error::io(&a.ours, e))?;
    if conflicts > 0 {
        eprintln!(
            "deal: {} conflict{} in {}: edit the lines between the markers, then `git add` it (or `deal resolve` for a deal in two places)",
            conflicts,
            if conflicts == 1 { "" } else { "s" },
            a.path.as_deref().unwrap_or("the deal file")
        );
        return Ok(1);
    }
    Ok(0)
}
