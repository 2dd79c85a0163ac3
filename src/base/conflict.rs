//! Merge-conflict markers (docs/reference.md, "Check rules", `conflict`): a line starting
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

/// The length of a marker line made of `c` (7 or more, then a space or the
/// end of the line), if `line` is one.
fn marker(line: &str, c: u8) -> Option<usize> {
    let n = line.bytes().take_while(|&b| b == c).count();
    (n >= 7 && (n == line.len() || line.as_bytes()[n] == b' ')).then_some(n)
}

/// The first complete conflict in `text`, if any. git writes markers of 7
/// characters, and longer ones (8 for a rename/rename conflict, more with
/// `conflict-marker-size`); the three markers of one conflict have the same
/// length, and the middle one stands alone on its line.
pub fn find(text: &str) -> Option<Conflict> {
    // Most files have no `=======` at all: one fast substring search.
    if !text.contains("=======") {
        return None;
    }
    let mut start: Option<(usize, usize)> = None;
    let mut middle = None;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let n = i + 1;
        if let Some(len) = marker(line, b'<') {
            // A later opening marker starts over: the conflict is the
            // innermost complete one.
            start = Some((n, len));
            middle = None;
        } else if let Some((_, len)) = start
            && line.len() == len
            && line.bytes().all(|b| b == b'=')
        {
            middle = Some(n);
        } else if let (Some((s, len)), Some(m)) = (start, middle)
            && marker(line, b'>') == Some(len)
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
        // The 8-character markers of a rename/rename conflict.
        let t = "<<<<<<<< HEAD:a.md\nx\n========\ny\n>>>>>>>> b:c.md\n";
        assert_eq!(find(t).map(|c| (c.start, c.end)), Some((1, 5)));
        // Mismatched lengths are not one conflict.
        assert_eq!(find("<<<<<<< a\nx\n========\ny\n>>>>>>> b\n"), None);
        // CRLF and diff3 style.
        let t = "<<<<<<< ours\r\na\r\n||||||| base\r\nb\r\n=======\r\nc\r\n>>>>>>> theirs\r\n";
        assert_eq!(find(t).map(|c| c.start), Some(1));
    }
}
