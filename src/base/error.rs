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
}

/// One thing a failed write could not put back.
#[derive(Debug)]
pub struct Unrestored {
    /// A file as shown to the user, or `the git index`.
    pub what: String,
    /// How it was left, a phrase after `what` (`still holds the changed
    /// text`).
    pub state: String,
    /// What the user can run to put it right (a command and what it does).
    pub fix: String,
    /// Why putting it back failed.
    pub error: Error,
}

impl Error {
    /// This error, as the cause of a write that was undone: itself when
    /// everything was put back (`left` empty), else a
    /// [`Error::RollbackFailed`] naming what was not.
    pub fn after_undo(self, left: Vec<Unrestored>) -> Error {
        if left.is_empty() {
            return self;
        }
        Error::RollbackFailed(Box::new(RollbackFailed { cause: self, left }))
    }
}

impl fmt::Display for RollbackFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = self.cause.headline();
        // The cause's promise no longer holds once the undo failed.
        let cause = cause
            .strip_suffix("; nothing was changed")
            .unwrap_or(&cause);
        write!(
            f,
            "{cause}; undoing it failed too, so the change is left half undone:"
        )?;
        for u in &self.left {
            let why = u.error.headline();
            let why = why.lines().next().unwrap_or("");
            write!(f, "\n  {} {} ({why})", u.what, u.state)?;
        }
        let mut help = String::from("`git status` shows what is left");
        for u in &self.left {
            help.push_str("; ");
            help.push_str(&u.fix);
        }
        write!(f, "{}", HelpLine(&help))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;
    use std::io::ErrorKind;

    fn config_error() -> ConfigError {
        ConfigError {
            path: PathBuf::from("/nowhere/pipeline.yaml"),
            line: Some(3),
            col: Some(5),
            key: Some("stages".into()),
            message: "expected a list".into(),
            help: Some("write `stages:` as a list".into()),
            excerpt: None,
        }
    }

    fn left(what: &str, state: &str, fix: &str) -> Unrestored {
        Unrestored {
            what: what.into(),
            state: state.into(),
            fix: fix.into(),
            error: Error::io("deals/lead/acme.md", ErrorKind::PermissionDenied.into()),
        }
    }

    #[test]
    fn only_a_refusal_exits_one_and_every_other_kind_two() {
        let rollback = Error::git("HEAD moved", "").after_undo(vec![left("a", "b", "c")]);
        let kinds = [
            (
                Error::Refused {
                    message: "no".into(),
                    help: String::new(),
                },
                1,
            ),
            (Error::usage("bad flag", ""), 2),
            (Error::git("locked", ""), 2),
            (Error::from(config_error()), 2),
            (Error::io("x.md", ErrorKind::NotFound.into()), 2),
            (rollback, 2),
        ];
        for (e, code) in kinds {
            assert_eq!(e.exit_code(), code, "{e:?}");
        }
    }

    #[test]
    fn a_message_shows_its_help_on_a_line_of_its_own_only_when_there_is_help() {
        let with = Error::usage("no deal `acme`", "type more of the slug");
        assert_eq!(
            with.to_string(),
            "no deal `acme`\n   = help: type more of the slug"
        );
        assert_eq!(
            Error::git("cannot read HEAD: bad", "").to_string(),
            "cannot read HEAD: bad"
        );
    }

    #[test]
    fn a_git_error_keeps_the_git2_error_as_its_source_and_its_own_text() {
        let g = git2::Error::from_str("object not found");
        let e = Error::git_from(format!("cannot read HEAD: {}", g.message()), "", g);
        assert_eq!(e.to_string(), "cannot read HEAD: object not found");
        let src = e.source().expect("a source");
        let git = src.downcast_ref::<git2::Error>().expect("a git2 error");
        assert_eq!(git.message(), "object not found");
        assert!(Error::git("no identity", "").source().is_none());
    }

    #[test]
    fn the_source_chain_of_a_failed_undo_reaches_the_git2_error_that_started_it() {
        let cause = Error::git_from("HEAD moved", "", git2::Error::from_str("ref changed"));
        let e = cause.after_undo(vec![left("a", "b", "c")]);
        let first = e.source().expect("the cause");
        assert_eq!(first.to_string(), "HEAD moved");
        let root = first.source().expect("the git2 error");
        assert_eq!(
            root.downcast_ref::<git2::Error>().unwrap().message(),
            "ref changed"
        );
    }

    #[test]
    fn an_undo_that_put_everything_back_leaves_the_error_as_it_was() {
        let e = Error::usage("cannot move", "try again").after_undo(Vec::new());
        assert!(matches!(e, Error::Usage { .. }));
        assert_eq!(e.to_string(), "cannot move\n   = help: try again");
    }

    #[test]
    fn a_failed_undo_names_what_was_left_how_and_what_to_run() {
        let e = Error::git(
            "refs/heads/main moved while deal was working; nothing was changed",
            "run the command again",
        )
        .after_undo(vec![
            left(
                "deals/lead/acme.md",
                "still holds the changed text, not the text it had",
                "`git checkout HEAD -- deals/lead/acme.md` brings back its last committed text",
            ),
            left(
                "the git index",
                "still stages the change at deals/lead/acme.md",
                "`git reset -q -- deals/lead/acme.md` sets those index entries back as HEAD has them",
            ),
        ]);
        assert_eq!(
            e.to_string(),
            "refs/heads/main moved while deal was working; undoing it failed too, so the change is left half undone:\n  \
             deals/lead/acme.md still holds the changed text, not the text it had (deals/lead/acme.md: permission denied)\n  \
             the git index still stages the change at deals/lead/acme.md (deals/lead/acme.md: permission denied)\n   \
             = help: `git status` shows what is left; `git checkout HEAD -- deals/lead/acme.md` brings back its last committed text; \
             `git reset -q -- deals/lead/acme.md` sets those index entries back as HEAD has them"
        );
        assert!(matches!(e, Error::RollbackFailed(_)));
    }

    #[test]
    fn a_closed_pipe_is_found_through_a_wrapping_io_error_and_nowhere_else() {
        let wrapped = std::io::Error::other(std::io::Error::from(ErrorKind::BrokenPipe));
        assert!(Error::io("-", wrapped).is_broken_pipe());
        assert!(Error::io("-", ErrorKind::BrokenPipe.into()).is_broken_pipe());
        let other = std::io::Error::other(std::io::Error::from(ErrorKind::NotFound));
        assert!(!Error::io("-", other).is_broken_pipe());
        let git = Error::git_from("x", "", std::io::Error::from(ErrorKind::BrokenPipe));
        assert!(!git.is_broken_pipe());
    }

    #[test]
    fn an_io_error_shows_the_path_and_gives_the_io_error_as_source() {
        let e = Error::io("/nowhere/x.md", ErrorKind::NotFound.into());
        assert_eq!(e.to_string(), "/nowhere/x.md: entity not found");
        let src = e
            .source()
            .unwrap()
            .downcast_ref::<std::io::Error>()
            .unwrap();
        assert_eq!(src.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn a_config_error_shows_without_its_trailing_newline() {
        let e = Error::from(config_error());
        assert_eq!(
            e.to_string(),
            "/nowhere/pipeline.yaml:3:5: stages: expected a list\n   = help: write `stages:` as a list"
        );
    }
}
