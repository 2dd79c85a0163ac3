//! The command layer's error type, and how each error maps to an exit code.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok, or nothing to do |
//! | 1 | findings: `check` found errors, a move was refused by its criteria |
//! | 2 | usage, configuration or input error |
//!
//! Each kind is a variant callers can match. The error underneath (a git2
//! or io error) is kept as [`std::error::Error::source`], while the text
//! shown stays deal's own sentence.

use std::fmt;
use std::path::PathBuf;

use crate::base::diag;

/// The error underneath a [`Error::Usage`] or [`Error::Git`]: a git2 or an
/// io error, kept for [`std::error::Error::source`].
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed `pipeline.yaml` or template. Exit 2.
    #[error("{}", .0.to_string().trim_end())]
    Config(Box<ConfigError>),
    /// Bad arguments, unknown deal or stage, bad input. Exit 2.
    #[error("{message}{}", HelpLine(.help))]
    Usage {
        message: String,
        help: String,
        source: Option<Cause>,
    },
    /// git refused or is not set up (no identity, locked index). Exit 2.
    #[error("{message}{}", HelpLine(.help))]
    Git {
        message: String,
        help: String,
        source: Option<Cause>,
    },
    /// The process refused the action (criteria not met). Exit 1.
    #[error("{message}{}", HelpLine(.help))]
    Refused { message: String, help: String },
    /// A file could not be read or written. Exit 2.
    #[error("{}: {source}", diag::display_path(.path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A write failed, and putting things back failed too: the working
    /// tree or the index is left part-way ([`RollbackFailed`] says how).
    /// Exit 2.
    #[error(transparent)]
    RollbackFailed(Box<RollbackFailed>),
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
            source: None,
        }
    }

    /// [`Error::usage`] with the error underneath it as its source; the
    /// message says what it means, as without one.
    pub fn usage_from(
        message: impl Into<String>,
        help: impl Into<String>,
        source: impl Into<Cause>,
    ) -> Error {
        Error::Usage {
            message: message.into(),
            help: help.into(),
            source: Some(source.into()),
        }
    }

    pub fn git(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Git {
            message: message.into(),
            help: help.into(),
            source: None,
        }
    }

    /// [`Error::git`] with the git2 (or io) error underneath it as its
    /// source; the message says what it means, as without one.
    pub fn git_from(
        message: impl Into<String>,
        help: impl Into<String>,
        source: impl Into<Cause>,
    ) -> Error {
        Error::Git {
            message: message.into(),
            help: help.into(),
            source: Some(source.into()),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The error's sentence without its help line: what a
    /// [`RollbackFailed`] repeats of the error that started the undo, whose
    /// help no longer applies.
    fn headline(&self) -> String {
        match self {
            Error::Usage { message, .. }
            | Error::Git { message, .. }
            | Error::Refused { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// The `= help:` line after a message, when there is help.
struct HelpLine<'a>(&'a str);

impl fmt::Display for HelpLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.is_empty() {
            write!(f, "\n   = help: {}", self.0)?;
        }
        Ok(())
    }
}

/// A failed write whose undo failed too. It names what was left as the
/// write made it and what to run, since `nothing was changed` no longer
/// holds.
#[derive(Debug)]
pub struct RollbackFailed {
    /// Why the write stopped (and was being undone).
    pub cause: Error,
    /// What could not be put back; never empty.
    pub left: Vec<Unrestored>,
    /// What to run to see and finish the undo by hand.
    pub help: String,
}

/// One thing a failed write could not put back.
#[derive(Debug)]
pub struct Unrestored {
    /// A file as shown to the user, or `the git index`.
    pub what: String,
    /// How it was left, a phrase after `what` (`still holds the changed
    /// text`).
    pub state: String,
    /// Why putting it back failed.
    pub error: Error,
}

impl RollbackFailed {
    /// The error for `cause` with `left` not put back, as an [`Error`].
    pub fn error(cause: Error, left: Vec<Unrestored>, help: impl Into<String>) -> Error {
        Error::RollbackFailed(Box::new(RollbackFailed {
            cause,
            left,
            help: help.into(),
        }))
    }
}

impl fmt::Display for RollbackFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; undoing it failed too, so the change is left half undone:",
            self.cause.headline()
        )?;
        for u in &self.left {
            let why = u.error.headline();
            let why = why.lines().next().unwrap_or("");
            write!(f, "\n  {} {} ({why})", u.what, u.state)?;
        }
        write!(f, "{}", HelpLine(&self.help))
    }
}

impl std::error::Error for RollbackFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// A malformed `pipeline.yaml` (or a template it depends on).
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    pub help: Option<String>,
    pub excerpt: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", diag::display_path(&self.path))?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.col {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        writeln!(f, "{}", self.message)?;
        if let Some(e) = &self.excerpt {
            write!(f, "{e}")?;
        }
        if let Some(h) = &self.help {
            writeln!(f, "   = help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// A symbolic link inside the pipeline, which deal never follows.
    pub fn symlink(link: PathBuf) -> ConfigError {
        ConfigError {
            path: link,
            line: None,
            col: None,
            key: None,
            message: "a symbolic link; deal never reads or writes through a link inside the pipeline".into(),
            help: Some("replace it with a real file or folder; a link in a cloned repository could point anywhere".into()),
            excerpt: None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(Box::new(e))
    }
}
