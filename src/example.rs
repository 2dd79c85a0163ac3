//! The sample deals of `deal init --example`: the README's `example-pipeline/`,
//! compiled into the binary.

use std::path::Path;

use crate::config::Config;
use crate::error::Error;

mod files {
    include!(concat!(env!("OUT_DIR"), "/example_files.rs"));
}

/// The example's team members (handle, name, email), which its deals name as owners.
pub fn team() -> Vec<(String, String, String)> {
    let v: serde_yaml::Value = serde_yaml::from_str(files::PIPELINE).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(m) = v.get("team").and_then(|t| t.as_mapping()) {
        for (k, m) in m {
            let get = |key: &str| {
                m.get(key)
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            if let Some(h) = k.as_str() {
                out.push((h.to_string(), get("name"), get("email")));
            }
        }
    }
    out
}

/// Writes the sample deals (and the files they link) into a new pipeline.
pub fn write_into(dir: &Path, cfg: &Config) -> Result<(), Error> {
    for (rel, text) in files::FILES {
        // Only the deals and their attachments; README and the like stay out.
        let top = rel.split('/').next().unwrap_or("");
        if top != cfg.deals_dir && top != "contracts" {
            continue;
        }
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}
