//! What a pipeline is: `pipeline.yaml` (config), the note templates, a deal and its fields, the body's outline, objections. Uses base/ and yaml/.

pub mod body;
pub mod config;
pub mod deal;
pub mod fields;
pub mod notes;
pub mod objection;

#[cfg(test)]
mod tests;
