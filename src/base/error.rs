//! The command layer's error type, and how each error maps to an exit code.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok, or nothing to do |
//! | 1 | findings: `check` found errors, a move was refused by its criteria |
//! | 2 | usage, configuration or input error |

use std::fmt;
use std::path::PathBuf;

use crate::model::config::ConfigError;

#[derive(Debug)]
pub enum Error {
    /// A malformed `pipeline.yaml` or template. Exit 2.
    Config(Box<ConfigError>),
    /// Bad arguments, unknown deal or stage, bad input. Exit 2.
    Usage { message: String, help: String },
    /// git refused or is not set up (no identity, locked index). Exit 2.
    Git { message: String, help: String },
    /// The process refused the action (criteria not met). Exit 1.
    Refused { message: String, help: String },
    /// A file could not be read or written. Exit 2.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Refused { .. } => 1,
            _ => 2,
        }
    }

    /// Whether this is a write to a closed pipe (`deal list | head -1`),
    /// which ends the command quietly with exit 0.
    pub fn is_broken_pipe(&self) -> bool {
        let Error::Io { source, .. } = self else {
            return false;
        };
        // Also through wrappers (a csv writer's error inside an io::Error).
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(source);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return true;
                }
                if let Some(inner) = io.get_ref() {
                    cur = Some(inner);
                    continue;
                }
            }
            cur = e.source();
        }
        false
    }

    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn git(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Git {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn help_line(f: &mut fmt::Formatter<'_>, help: &str) -> fmt::Result {
    if !help.is_empty() {
        write!(f, "\n   = help: {help}")?;
    }
    Ok(())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "{}", e.to_string().trim_end()),
            Error::Usage { message, help }
            | Error::Git { message, help }
            | Error::Refused { message, help } => {
                write!(f, "{message}")?;
                help_line(f, help)
            }
            Error::Io { path, source } => {
                write!(f, "{}: {source}", crate::base::diag::display_path(path))
            }
        }
    }
}

impl std::error::Error for Error {}
