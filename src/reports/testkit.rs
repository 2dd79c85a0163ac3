//! Small hand-built pipelines for the reports' unit tests: a config from
//! its `pipeline.yaml` text and deals from their front-matter, with no
//! files behind them.

use std::path::{Path, PathBuf};

use crate::model::config::{self, Config};
use crate::model::deal::{Deal, Place};
use crate::model::notes::Templates;
use crate::store::pipeline::Pipeline;

/// A config from a `pipeline.yaml` text.
pub fn config(yaml: &str) -> Config {
    config::parse(yaml, Path::new("pipeline.yaml"), &Templates::builtin_only())
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// Three stages in EUR: `lead` (probability 0.1), `proposal` (0.5) and
/// `negotiation` (0.8), so a category of each kind.
pub fn three_stages() -> Config {
    config(
        "currency: EUR\nstages:\n  - id: lead\n    probability: 0.1\n  - id: proposal\n    probability: 0.5\n  - id: negotiation\n    probability: 0.8\n",
    )
}

/// A deal `slug` sitting at `place`, with this front-matter (lines ending
/// in a newline).
pub fn deal(cfg: &Config, slug: &str, place: Place, yaml: &str) -> Deal {
    let text = format!("---\n{yaml}---\n# Notes\n");
    let rel = PathBuf::from(format!("deals/{slug}.md"));
    Deal::parse(slug.into(), rel, place, text.into_bytes(), cfg)
        .unwrap_or_else(|e| panic!("{slug}: {}", e.message))
}

/// Deals from `places`, `slug:place` words (`a:lead b:won`, a place
/// being a stage id, `won` or `lost`), and pairwise their front-matter.
pub fn deals(cfg: &Config, places: &str, yaml: &[&str]) -> Vec<Deal> {
    let places: Vec<&str> = places.split_whitespace().collect();
    assert_eq!(places.len(), yaml.len(), "a front-matter for each deal");
    places
        .iter()
        .zip(yaml)
        .map(|(word, y)| {
            let (slug, id) = word.split_once(':').expect("slug:place");
            let place = Place::parse(id, cfg).unwrap_or_else(|| panic!("no place {id}"));
            deal(cfg, slug, place, y)
        })
        .collect()
}

/// A pipeline of these deals, every file read.
pub fn pipeline(cfg: Config, deals: Vec<Deal>) -> Pipeline {
    Pipeline {
        root: PathBuf::from("."),
        cfg,
        deals,
        problems: Vec::new(),
        unparsed: Vec::new(),
    }
}
