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

mod base;
mod cli;
mod intake;
mod model;
mod reports;
mod rules;
mod store;
mod yaml;

/// The `deal` command: runs the command the process's arguments name and
/// returns its exit code (0 ok, 1 findings, 2 usage or configuration
/// error); src/main.rs exits with it.
pub use cli::entry::main;

/// The command line as clap defines it: every command, flag and help text
/// (the tests parse commands with it and walk its subcommands).
pub use cli::args::Cli;

/// The `pipeline.yaml` that `deal init` writes, for a team and a
/// qualification framework (the tests' pipelines start from it).
pub use model::config::default_yaml;
pub use model::notes::Qualification;

/// The rule ids `deal check` runs, in the order `-v` lists them.
pub use rules::check::RULES;

/// The first line of `deal review`'s Markdown, which a workflow looks for
/// to edit its own earlier comment.
pub use reports::review::MARKER;

#[cfg(test)]
mod house;
