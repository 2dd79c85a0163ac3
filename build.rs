//! Embeds `example-pipeline/` (less its pipeline.yaml) for `deal init --example`.

use std::fmt::Write;
use std::path::Path;

fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name != ".gitkeep" {
            continue;
        }
        if p.is_dir() {
            if name == "report" {
                continue;
            }
            if let Ok(rel) = p.strip_prefix(base) {
                println!(
                    "cargo:rerun-if-changed=example-pipeline/{}",
                    rel.to_string_lossy()
                );
            }
            walk(&p, base, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if rel != "pipeline.yaml" {
                out.push(rel);
            }
        }
    }
}

fn main() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("example-pipeline");
    // Watch what is embedded, not the folder itself: the README's demo writes
    // its report into example-pipeline/report/, and that must not rebuild us.
    if let Ok(rd) = std::fs::read_dir(&base) {
        let mut top: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
        top.sort();
        for name in top {
            let name = name.to_string_lossy();
            if name == "report" || (name.starts_with('.') && name != ".gitkeep") {
                continue;
            }
            println!("cargo:rerun-if-changed=example-pipeline/{name}");
        }
    }
    let mut files = Vec::new();
    walk(&base, &base, &mut files);
    // A folder's mtime does not change when a file in it is edited: watch
    // each embedded file too, so an edited sample deal is re-embedded.
    for f in &files {
        println!("cargo:rerun-if-changed=example-pipeline/{f}");
    }
    let mut src = String::from(
        "/// Files of example-pipeline/, by path relative to it.\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let abs = base.join(f);
        writeln!(
            src,
            "    ({f:?}, include_str!({:?})),",
            abs.to_string_lossy()
        )
        .unwrap();
    }
    src.push_str("];\n");
    writeln!(
        src,
        "/// example-pipeline/pipeline.yaml.\npub const PIPELINE: &str = include_str!({:?});",
        base.join("pipeline.yaml").to_string_lossy()
    )
    .unwrap();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("example_files.rs");
    std::fs::write(out, src).unwrap();
}
