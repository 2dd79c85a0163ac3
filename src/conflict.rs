//! Merge-conflict markers (SPEC §4 "Merge conflicts"): a line starting
//! `<<<<<<< `, later a line that is exactly `=======`, later a line starting
//! `>>>>>>> `. A lone `=======` (a Markdown setext heading) is not one.
//!
//! One pass over the lines, so any file is scanned in linear time.

/// Where a conflict sits: the lines of its three markers (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    pub start: usize,
    pub middle: usize,
    pub end: usize,
}

/// The first complete conflict in `text`, if any.
pub fn find(text: &str) -> Option<Conflict> {
    // Most files have no `=======` at all: one fast substring search.
    if !text.contains("=======") {
        return None;
    }
    let mut start = None;
    let mut middle = None;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let n = i + 1;
        if line.starts_with("<<<<<<< ") || line == "<<<<<<<" {
            // A later opening marker starts over: the conflict is the
            // innermost complete one.
            start = Some(n);
            middle = None;
        } else if line == "=======" && start.is_some() {
            middle = Some(n);
        } else if (line.starts_with(">>>>>>> ") || line == ">>>>>>>")
            && let (Some(s), Some(m)) = (start, middle)
        {
            return Some(Conflict {
                start: s,
                middle: m,
                end: n,
            });
        }
    }
    None
}

impl Conflict {
    /// What is wrong, for messages.
    pub fn message(&self) -> String {
        format!(
            "merge-conflict markers (lines {}, {} and {}): the file was left half-merged",
            self.start, self.middle, self.end
        )
    }

    /// How to fix it.
    pub fn help(&self) -> String {
        "edit the file: keep the right side between `<<<<<<<` and `>>>>>>>`, delete the three marker lines, then `git add` it; \
if the same deal also sits in another stage folder (two branches moved it), run `deal resolve <slug> --keep <stage>`"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_git_markers_and_ignores_setext_headings() {
        let t = "a\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> other\n";
        assert_eq!(
            find(t),
            Some(Conflict {
                start: 2,
                middle: 4,
                end: 6
            })
        );
        assert_eq!(find("Title\n=======\n\ntext\n"), None);
        assert_eq!(find("<<<<<<< HEAD\nx\n=======\ny\n"), None);
        assert_eq!(find(">>>>>>> a\n=======\n<<<<<<< b\n"), None);
        // CRLF and diff3 style.
        let t = "<<<<<<< ours\r\na\r\n||||||| base\r\nb\r\n=======\r\nc\r\n>>>>>>> theirs\r\n";
        assert_eq!(find(t).map(|c| c.start), Some(1));
    }
}
