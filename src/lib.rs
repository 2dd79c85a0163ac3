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

pub mod base;
pub mod cli;
pub mod intake;
pub mod model;
pub mod reports;
pub mod rules;
pub mod store;
pub mod yaml;

#[cfg(test)]
mod house;
