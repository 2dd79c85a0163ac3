//! YAML as text: splitting front-matter, positions for messages, the quick scan, the line editor that changes one field and keeps the rest byte for byte. Uses base/.

pub mod edit;
pub mod emit;
pub mod frontmatter;
pub mod mapping;
pub mod positions;
pub mod quick;
