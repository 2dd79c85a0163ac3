//! The git index file read and rewritten directly, for the one edit a
//! recorded change makes (a few entries removed or added).
//!
//! libgit2 verifies the index's SHA-1 trailer on every read and computes it
//! again on write, with the collision-detecting SHA-1: on the 1 MB index of
//! 10,000 deals that was a third of `deal move`. git itself does not verify
//! the trailer when it reads. Here the entries are located without copying,
//! unchanged entries are written back byte for byte, and the trailer is
//! computed once with a plain SHA-1. Measured on the benchmark repository
//! (median of 40): `deal move` 17 ms with libgit2's index, 10.4 ms with
//! this one (`git mv` + `git commit`: 25.4 ms).
//!
//! Only what is understood is rewritten: index versions 2 and 3, and the
//! extensions `TREE` (cache-tree: the touched folders and their parents are
//! invalidated, as git does), `REUC` (kept as is), and the optional caches
//! `UNTR`, `FSMN`, `EOIE` and `IEOT` (dropped: git rebuilds them, and
//! their positions would be wrong after an insert). Anything else (version
//! 4, a split index `link`, a sparse index `sdir`, an unknown required
//! extension, a malformed file) returns `None`, and the caller uses
//! libgit2.

use std::ops::Range;
use std::path::Path;

use git2::Oid;

/// One entry, located in the file's bytes.
#[derive(Debug, Clone)]
pub(super) struct RawEntry {
    /// The whole entry, padding included.
    span: Range<usize>,
    path: Range<usize>,
    pub(super) stage: u8,
    pub(super) mode: u32,
    pub(super) id: Oid,
}

/// An index file: its bytes, entries and extensions.
pub(super) struct RawIndex {
    bytes: Vec<u8>,
    version: u32,
    entries: Vec<RawEntry>,
    /// (signature, data range) of each extension, in order.
    extensions: Vec<([u8; 4], Range<usize>)>,
    /// The file's modification time (seconds) when read: entries modified
    /// in that second or later are "racily clean" (see [`RawIndex::edited`]).
    stamp: i64,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// Offsets in an on-disk entry (git's `ondisk_cache_entry`).
const MTIME_S: usize = 8;
const MODE: usize = 24;
const SIZE: usize = 36;
const OID: usize = 40;
const FLAGS: usize = 60;
const NAME: usize = 62;

impl RawIndex {
    /// Parses an index file's bytes; `None` for anything not understood.
    pub(super) fn parse(bytes: Vec<u8>) -> Option<RawIndex> {
        let len = bytes.len();
        if len < 12 + 20 || &bytes[..4] != b"DIRC" {
            return None;
        }
        let version = be32(&bytes, 4)?;
        if version != 2 && version != 3 {
            return None;
        }
        let count = be32(&bytes, 8)? as usize;
        let end = len - 20;
        let mut entries = Vec::with_capacity(count.min(len / NAME));
        let mut pos = 12;
        for _ in 0..count {
            let flags = be16(&bytes, pos + FLAGS)?;
            let extended = flags & 0x4000 != 0;
            if extended && version < 3 {
                return None;
            }
            let name = pos + NAME + if extended { 2 } else { 0 };
            let nul = bytes.get(name..end)?.iter().position(|b| *b == 0)?;
            // git's ondisk_ce_size: the fixed part and the name, padded
            // with 1 to 8 NULs to a multiple of 8.
            let size = (name - pos + nul + 8) & !7;
            if pos + size > end {
                return None;
            }
            let id = Oid::from_bytes(bytes.get(pos + OID..pos + OID + 20)?).ok()?;
            entries.push(RawEntry {
                span: pos..pos + size,
                path: name..name + nul,
                stage: ((flags >> 12) & 3) as u8,
                mode: be32(&bytes, pos + MODE)?,
                id,
            });
            pos += size;
        }
        let mut extensions = Vec::new();
        while pos < end {
            let sig: [u8; 4] = bytes.get(pos..pos + 4)?.try_into().ok()?;
            let size = be32(&bytes, pos + 4)? as usize;
            let data = pos + 8..pos.checked_add(8 + size)?;
            if data.end > end {
                return None;
            }
            match &sig {
                b"TREE" | b"REUC" | b"UNTR" | b"FSMN" | b"EOIE" | b"IEOT" => {}
                // Unknown optional extensions (upper case) may be dropped;
                // a required one (`link`, `sdir`, …) may not.
                s if s[0].is_ascii_uppercase() => {}
                _ => return None,
            }
            extensions.push((sig, data.clone()));
            pos = data.end;
        }
        (pos == end).then_some(RawIndex {
            bytes,
            version,
            entries,
            extensions,
            stamp: i64::MAX,
        })
    }

    /// Reads and parses the index file at `path`.
    pub(super) fn read(path: &Path) -> Option<RawIndex> {
        let bytes = std::fs::read(path).ok()?;
        let stamp = std::fs::metadata(path)
            .ok()?
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs() as i64;
        RawIndex::parse(bytes).map(|r| RawIndex { stamp, ..r })
    }

    pub(super) fn path_of(&self, e: &RawEntry) -> &[u8] {
        &self.bytes[e.path.clone()]
    }

    pub(super) fn has_conflicts(&self) -> bool {
        self.entries.iter().any(|e| e.stage != 0)
    }

    /// The position of `path` at stage 0, or where it would go.
    fn find(&self, path: &[u8]) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| (self.path_of(e), e.stage).cmp(&(path, 0)))
    }

    /// The stage-0 entry at `path`.
    pub(super) fn get(&self, path: &[u8]) -> Option<&RawEntry> {
        self.find(path).ok().map(|i| &self.entries[i])
    }

    /// The entries under folder `dir` (`a/b`), each as (name, mode, id),
    /// or `None` when one is in conflict or in a subfolder.
    pub(super) fn folder(&self, dir: &str) -> Option<Vec<(Vec<u8>, u32, Oid)>> {
        let prefix = format!("{dir}/");
        let prefix = prefix.as_bytes();
        let start = self.entries.partition_point(|e| self.path_of(e) < prefix);
        let mut out = Vec::new();
        for e in &self.entries[start..] {
            let Some(name) = self.path_of(e).strip_prefix(prefix) else {
                break;
            };
            if e.stage != 0 || name.contains(&b'/') {
                return None;
            }
            out.push((name.to_vec(), e.mode, e.id));
        }
        Some(out)
    }

    /// The raw bytes of the stage-0 entry at `path`, to put it back later.
    pub(super) fn entry_bytes(&self, path: &[u8]) -> Option<Vec<u8>> {
        self.get(path).map(|e| self.bytes[e.span.clone()].to_vec())
    }

    /// This index's bytes with the stage-0 entries at `remove` taken out
    /// and the encoded entries `add` (see [`encode`]) put in, in git's
    /// order; the folders above every changed path lose their cache-tree
    /// entries; the SHA-1 trailer closes it.
    ///
    /// Racily clean entries are smudged (size 0) so git re-checks them by
    /// content: those modified in or after the second the old index was
    /// written (its own timestamp vouched for them, the new one would not;
    /// git smudges these too), and those modified in the last two seconds.
    pub(super) fn edited(&self, remove: &[Vec<u8>], add: &[Vec<u8>]) -> Vec<u8> {
        let recent = racy_since();
        // The new entries by path, sorted, replacing any stage-0 entry there.
        let mut added: Vec<(&[u8], &[u8])> = add
            .iter()
            .filter_map(|e| entry_path(e).map(|p| (p, e.as_slice())))
            .collect();
        added.sort_by(|a, b| a.0.cmp(b.0));
        let gone: std::collections::HashSet<&[u8]> = remove.iter().map(Vec::as_slice).collect();
        let replaced: std::collections::HashSet<&[u8]> = added.iter().map(|(p, _)| *p).collect();
        // A stage-0 entry added at a path resolves any conflict there (its
        // stages 1 to 3 go, as with `git add`).
        let kept: Vec<&RawEntry> = self
            .entries
            .iter()
            .filter(|e| {
                let p = self.path_of(e);
                !(replaced.contains(p) || (e.stage == 0 && gone.contains(p)))
            })
            .collect();
        let mut out =
            Vec::with_capacity(self.bytes.len() + add.iter().map(Vec::len).sum::<usize>());
        out.extend_from_slice(b"DIRC");
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&((kept.len() + added.len()) as u32).to_be_bytes());
        let mut next_new = added.iter().peekable();
        let smudged = |mut entry: Vec<u8>| {
            let mtime = be32(&entry, MTIME_S).unwrap_or(0) as i64;
            if mtime >= recent || mtime >= self.stamp {
                entry[SIZE..SIZE + 4].copy_from_slice(&0u32.to_be_bytes());
            }
            entry
        };
        for e in kept {
            let p = self.path_of(e);
            while let Some((np, bytes)) = next_new.peek() {
                if (*np, 0u8) < (p, e.stage) {
                    out.extend_from_slice(&smudged(bytes.to_vec()));
                    next_new.next();
                } else {
                    break;
                }
            }
            out.extend_from_slice(&smudged(self.bytes[e.span.clone()].to_vec()));
        }
        for (_, bytes) in next_new {
            out.extend_from_slice(&smudged(bytes.to_vec()));
        }
        let changed: Vec<&[u8]> = remove
            .iter()
            .map(Vec::as_slice)
            .chain(added.iter().map(|(p, _)| *p))
            .collect();
        for (sig, data) in &self.extensions {
            let data = &self.bytes[data.clone()];
            let kept: Option<Vec<u8>> = match sig {
                b"TREE" => invalidate_tree(data, &changed),
                b"REUC" => Some(data.to_vec()),
                _ => None,
            };
            if let Some(d) = kept {
                out.extend_from_slice(sig);
                out.extend_from_slice(&(d.len() as u32).to_be_bytes());
                out.extend_from_slice(&d);
            }
        }
        use sha1::Digest as _;
        let sum = sha1::Sha1::digest(&out);
        out.extend_from_slice(&sum);
        out
    }
}

/// The path of an encoded entry (see [`encode`]).
fn entry_path(e: &[u8]) -> Option<&[u8]> {
    let name = e.get(NAME..)?;
    let nul = name.iter().position(|b| *b == 0)?;
    Some(&name[..nul])
}

/// An index entry's on-disk bytes (version 2 layout, stage 0), from the
/// entry [`super::index::index_entry`] builds for libgit2: one reading of
/// the file's stat data serves both writers.
pub(super) fn encode(e: &git2::IndexEntry) -> Vec<u8> {
    let stat: [u32; 10] = [
        e.ctime.seconds() as u32,
        e.ctime.nanoseconds(),
        e.mtime.seconds() as u32,
        e.mtime.nanoseconds(),
        e.dev,
        e.ino,
        e.mode,
        e.uid,
        e.gid,
        e.file_size,
    ];
    let path = &e.path;
    let mut out = Vec::with_capacity(NAME + path.len() + 8);
    for v in stat {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(e.id.as_bytes());
    out.extend_from_slice(&(path.len().min(0xfff) as u16).to_be_bytes());
    out.extend_from_slice(path);
    let size = (NAME + path.len() + 8) & !7;
    out.resize(size, 0);
    out
}

/// The `TREE` extension with every folder above a path in `changed`
/// (the root included) marked invalid (entry count -1, no id), as git's
/// `cache_tree_invalidate_path` does; `None` when it cannot be parsed (it
/// is then dropped, which git also accepts).
fn invalidate_tree(data: &[u8], changed: &[&[u8]]) -> Option<Vec<u8>> {
    // Every folder above a changed path.
    let mut folders: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
    for c in changed {
        for (i, b) in c.iter().enumerate() {
            if *b == b'/' {
                folders.insert(&c[..i]);
            }
        }
    }
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0;
    // (full path of the node, subtrees still to read) from the root down.
    let mut stack: Vec<(Vec<u8>, usize)> = Vec::new();
    while pos < data.len() {
        let nul = data[pos..].iter().position(|b| *b == 0)? + pos;
        let name = &data[pos..nul];
        let lf = data[nul..].iter().position(|b| *b == b'\n')? + nul;
        let counts = std::str::from_utf8(&data[nul + 1..lf]).ok()?;
        let (entries, subtrees) = counts.split_once(' ')?;
        let entries: i64 = entries.parse().ok()?;
        let subtrees: usize = subtrees.parse().ok()?;
        let mut next = lf + 1;
        if entries >= 0 {
            next = next.checked_add(20)?;
            if next > data.len() {
                return None;
            }
        }
        while stack.last().is_some_and(|(_, left)| *left == 0) {
            stack.pop();
        }
        let full: Vec<u8> = match stack.last_mut() {
            Some((parent, left)) => {
                *left -= 1;
                let mut p = parent.clone();
                if !p.is_empty() {
                    p.push(b'/');
                }
                p.extend_from_slice(name);
                p
            }
            None if name.is_empty() => Vec::new(),
            None => return None,
        };
        let above = full.is_empty() || folders.contains(full.as_slice());
        out.extend_from_slice(name);
        out.push(0);
        if above {
            out.extend_from_slice(format!("-1 {subtrees}\n").as_bytes());
        } else {
            out.extend_from_slice(&data[nul + 1..next]);
        }
        stack.push((full, subtrees));
        pos = next;
    }
    Some(out)
}

/// The second from which an entry's modification time makes it "racily
/// clean" for an index written now: the last two seconds.
pub(super) fn racy_since() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        - 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_extension_loses_the_folders_above_a_change() {
        let id = [7u8; 20];
        let mut t = Vec::new();
        let mut node = |name: &str, n: i64, subs: usize| {
            t.extend_from_slice(name.as_bytes());
            t.push(0);
            t.extend_from_slice(format!("{n} {subs}\n").as_bytes());
            t.extend_from_slice(&id);
        };
        node("", 3, 2);
        node("deals", 2, 2);
        node("a", 1, 0);
        node("b", 1, 0);
        node("docs", 1, 0);
        let out = invalidate_tree(&t, &[b"deals/a/x.md"]).unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        assert!(
            text.starts_with("\x00-1 2\ndeals\x00-1 2\na\x00-1 0\nb\x001 0\n"),
            "{text:?}"
        );
        assert!(text.contains("docs\x001 0\n"), "{text:?}");
        assert!(invalidate_tree(b"\0x 1\n", &[]).is_none());
        assert!(invalidate_tree(b"\x001 0\nshort", &[]).is_none());
    }

    /// Runs git in `dir` with a fixed identity; its stdout, whether or not
    /// it succeeds (a merge stops on its conflict).
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = super::super::indexedit::tests::git_run(dir, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn an_added_entry_resolves_a_conflict_and_git_reads_the_result() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q", "-b", "main"]);
        std::fs::write(d.join("f.txt"), "base\n").unwrap();
        std::fs::write(d.join("g.txt"), "g\n").unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "base"]);
        git(d, &["checkout", "-q", "-b", "side"]);
        std::fs::write(d.join("f.txt"), "side\n").unwrap();
        git(d, &["commit", "-q", "-am", "side"]);
        git(d, &["checkout", "-q", "main"]);
        std::fs::write(d.join("f.txt"), "main\n").unwrap();
        git(d, &["commit", "-q", "-am", "main"]);
        git(d, &["merge", "-q", "side"]);
        let path = d.join(".git/index");
        let raw = RawIndex::read(&path).unwrap();
        assert!(raw.has_conflicts());
        std::fs::write(d.join("f.txt"), "resolved\n").unwrap();
        let meta = std::fs::metadata(d.join("f.txt")).unwrap();
        let id = Oid::hash_object(git2::ObjectType::Blob, b"resolved\n").unwrap();
        git(d, &["hash-object", "-w", "f.txt"]);
        let bytes = raw.edited(
            &[b"g.txt".to_vec()],
            &[encode(&super::super::index::index_entry(
                &meta, 0o100644, id, "f.txt",
            ))],
        );
        std::fs::write(&path, &bytes).unwrap();
        // git reads it: the conflict is gone, g.txt is staged as deleted.
        assert_eq!(
            git(d, &["ls-files", "--stage"]),
            format!("100644 {id} 0\tf.txt\n")
        );
        assert_eq!(git(d, &["ls-files", "--unmerged"]), "");
        // fsck checks the index's SHA-1 trailer too.
        let fsck = std::process::Command::new("git")
            .current_dir(d)
            .args(["fsck", "--no-dangling"])
            .output()
            .unwrap();
        assert!(fsck.status.success(), "{fsck:?}");
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        let fsck = std::process::Command::new("git")
            .current_dir(d)
            .args(["fsck", "--no-dangling"])
            .output()
            .unwrap();
        assert!(!fsck.status.success(), "a wrong trailer must fail fsck");
        std::fs::write(&path, &bytes).unwrap();
        let again = RawIndex::read(&path).unwrap();
        assert!(!again.has_conflicts());
        assert_eq!(again.get(b"f.txt").map(|e| e.id), Some(id));
    }

    #[test]
    fn garbage_is_not_an_index() {
        assert!(RawIndex::parse(Vec::new()).is_none());
        assert!(RawIndex::parse(b"DIRC\0\0\0\x02\0\0\0\x05".repeat(3)).is_none());
        let mut v4 = b"DIRC\0\0\0\x04\0\0\0\0".to_vec();
        v4.extend_from_slice(&[0; 20]);
        assert!(RawIndex::parse(v4).is_none());
        let mut empty = b"DIRC\0\0\0\x02\0\0\0\0".to_vec();
        empty.extend_from_slice(&[0; 20]);
        assert!(RawIndex::parse(empty).is_some());
    }
}
