//! Splitting a deal file into its YAML front-matter and Markdown body.
//!
//! The split is done by hand so that byte offsets and line numbers are kept:
//! errors point at file lines, and lossless edits rewrite only the bytes they
//! mean to. A UTF-8 BOM and CRLF line endings are accepted.

/// The parts of a deal file, as byte ranges of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Bytes of a leading UTF-8 BOM (0 or 3).
    pub bom: usize,
    /// Byte range of the YAML between the fences.
    pub yaml: std::ops::Range<usize>,
    /// 1-based file line on which the YAML starts.
    pub yaml_line: usize,
    /// Byte offset where the body starts (after the closing fence's newline).
    pub body: usize,
    /// 1-based file line on which the body starts.
    pub body_line: usize,
    /// Whether the file uses CRLF line endings (judged by the opening fence).
    pub crlf: bool,
}

/// Why a file has no usable front-matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    Empty,
    Binary,
    NotUtf8 { line: usize },
    NoFrontMatter,
    Unterminated,
}

impl SplitError {
    /// The message and the help line for a finding.
    pub fn describe(&self) -> (String, &'static str) {
        match self {
            SplitError::Empty => (
                "the file is empty".into(),
                "a deal starts with a `---` line, then `title:` and `owner:`, then `---`",
            ),
            SplitError::Binary => (
                "this is a binary file, not a Markdown deal".into(),
                "move it out of the deals folder",
            ),
            SplitError::NotUtf8 { line } => (
                format!("the file is not valid UTF-8 (first bad byte on line {line})"),
                "re-save the file as UTF-8",
            ),
            SplitError::NoFrontMatter => (
                "no front-matter: the file must start with a `---` line".into(),
                "add `---`, `title: …`, `owner: …` and a closing `---` at the top",
            ),
            SplitError::Unterminated => (
                "the front-matter opened with `---` is never closed".into(),
                "add a line holding only `---` after the last front-matter key",
            ),
        }
    }

    /// The 1-based line the problem is on.
    pub fn line(&self) -> usize {
        match self {
            SplitError::NotUtf8 { line } => *line,
            _ => 1,
        }
    }
}

fn is_fence(line: &str, closing: bool) -> bool {
    let t = line.trim_end_matches(['\r', ' ', '\t']);
    t == "---" || (closing && t == "...")
}

/// Checks that `bytes` is text and returns it as `&str`.
pub fn as_text(bytes: &[u8]) -> Result<&str, SplitError> {
    if bytes.is_empty() {
        return Err(SplitError::Empty);
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(SplitError::Binary);
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        SplitError::NotUtf8 { line }
    })
}

/// Splits the text of a deal file.
pub fn split(text: &str) -> Result<Split, SplitError> {
    if text.is_empty() {
        return Err(SplitError::Empty);
    }
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let rest = &text[bom..];
    let first_end = rest.find('\n').map(|i| i + 1).unwrap_or(rest.len());
    let first = &rest[..first_end];
    if !is_fence(first.trim_end_matches('\n'), false) {
        return Err(SplitError::NoFrontMatter);
    }
    let crlf = first.ends_with("\r\n");
    let yaml_start = bom + first_end;
    let mut pos = yaml_start;
    let mut line = 2;
    while pos < text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i + 1)
            .unwrap_or(text.len());
        let l = text[pos..end].trim_end_matches('\n');
        if is_fence(l, true) {
            return Ok(Split {
                bom,
                yaml: yaml_start..pos,
                yaml_line: 2,
                body: end,
                body_line: line + 1,
                crlf,
            });
        }
        pos = end;
        line += 1;
    }
    Err(SplitError::Unterminated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_files() {
        let t = "---\ntitle: A\n---\n# Body\n";
        let s = split(t).unwrap();
        assert_eq!(&t[s.yaml.clone()], "title: A\n");
        assert_eq!(&t[s.body..], "# Body\n");
        assert_eq!(s.body_line, 4);
    }

    #[test]
    fn accepts_bom_and_crlf() {
        let t = "\u{feff}---\r\ntitle: A\r\n---\r\nbody\r\n";
        let s = split(t).unwrap();
        assert!(s.crlf);
        assert_eq!(&t[s.yaml.clone()], "title: A\r\n");
        assert_eq!(&t[s.body..], "body\r\n");
    }

    #[test]
    fn empty_front_matter_and_no_trailing_newline() {
        let s = split("---\n---").unwrap();
        assert_eq!(s.yaml, 4..4);
    }

    #[test]
    fn refuses_broken_files() {
        assert_eq!(split(""), Err(SplitError::Empty));
        assert_eq!(split("# hi\n"), Err(SplitError::NoFrontMatter));
        assert_eq!(split("---\ntitle: x\n"), Err(SplitError::Unterminated));
        assert_eq!(as_text(b"\0\x01"), Err(SplitError::Binary));
        assert_eq!(as_text(b"a\nb\xff"), Err(SplitError::NotUtf8 { line: 2 }));
    }
}
