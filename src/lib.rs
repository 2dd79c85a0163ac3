//! `deal`: a sales pipeline kept as Markdown files with YAML front-matter in
//! git. See ARCHITECTURE.md for the map of modules.

// Errors carry their path, line, key, excerpt and help; they are cold paths,
// so their size does not matter next to keeping them whole.
#![allow(clippy::result_large_err)]

/// `eprintln!` for the whole crate (it shadows std's): a line on stderr
/// that never panics. Output to a closed stderr (`deal list 2>&1 | head`)
/// is dropped, and the command goes on to exit with its own code
/// (docs/safety.md, "Pipes").
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod audit;
pub mod board;
pub mod body;
pub mod charts;
pub mod check;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod conflict;
pub mod criteria;
pub mod deal;
pub mod diag;
pub mod due;
pub mod edit;
pub mod error;
pub mod example;
pub mod expr;
pub mod fields;
pub mod forecast;
pub mod frontmatter;
pub mod history;
pub mod import;
pub mod leads;
pub mod lock;
pub mod merge;
pub mod money;
pub mod notes;
pub mod notify;
pub mod objection;
pub mod output;
pub mod pipeline;
pub mod quickyaml;
pub mod repo;
pub mod report;
pub mod review;
pub mod safepath;
pub mod serve;
pub mod slug;
pub mod stats;
pub mod time;
pub mod transition;
pub mod trend;
pub mod worktree;
pub mod yamlpos;
