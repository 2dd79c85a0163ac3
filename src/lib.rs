//! `deal`: a sales pipeline kept as Markdown files with YAML front-matter in
//! git. See ARCHITECTURE.md for the map of modules.

pub mod board;
pub mod body;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod criteria;
pub mod deal;
pub mod diag;
pub mod error;
pub mod example;
pub mod expr;
pub mod frontmatter;
pub mod notes;
pub mod output;
pub mod pipeline;
pub mod repo;
pub mod slug;
pub mod time;
pub mod yamlpos;
