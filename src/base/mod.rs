//! The leaves: values and text helpers that know nothing of deals or git: the
//! error type, diagnostics and escaping, time, money, slugs, template
//! expressions, conflict markers, safe paths. Uses nothing of the crate.

pub mod conflict;
pub mod diag;
pub mod error;
pub mod expr;
pub mod money;
pub mod safepath;
pub mod slug;
pub mod time;
