//! `deal`: a sales pipeline kept as Markdown files with YAML front-matter in
//! git. See ARCHITECTURE.md for the map of modules.

// Errors carry their path, line, key, excerpt and help; they are cold paths,
// so their size does not matter next to keeping them whole.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod board;
pub mod body;
pub mod charts;
pub mod check;
pub mod cli;
pub mod commands;
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
pub mod notes;
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
