//! What a pipeline is: `pipeline.yaml` (config) and its `triggers:`, the
//! note templates, a deal and its fields, the body's outline, objections,
//! the team's identities. Uses base/ and yaml/.

pub mod body;
pub mod config;
pub mod deal;
pub mod fields;
pub mod notes;
pub mod objection;
pub mod team;
pub mod triggers;

#[cfg(test)]
mod tests;
