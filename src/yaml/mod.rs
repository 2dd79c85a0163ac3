//! YAML as text: splitting front-matter, the front-matter as values
//! (`mapping`), positions for messages, the quick scan, the line editor that
//! changes one field and keeps the rest byte for byte, and writing a scalar
//! (`emit`). Uses base/.

pub mod edit;
pub mod emit;
pub mod frontmatter;
pub mod mapping;
pub mod positions;
pub mod quick;
