//! The Markdown body of a deal, as an outline of headings and content blocks.
//!
//! Parsed with pulldown-cmark, and only when a `section` criterion needs it.
//! What counts as content follows docs/reference.md, "Criteria": whitespace, HTML comments, the
//! templates' own prompt text and placeholder lines (`TBD`, `TODO`, `-`, `…`,
//! `?`) do not.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A heading in the body.
#[derive(Debug, Clone)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    /// [`normalize_heading`] of `text`, computed once.
    pub norm: String,
    /// Byte offset in the body.
    pub at: usize,
}

/// Headings and the text of each leaf block, in order.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    pub headings: Vec<Heading>,
    /// (byte offset, trimmed text) of each non-heading block with text.
    pub blocks: Vec<(usize, String)>,
    /// For each heading, where its section ends: the byte offset of the
    /// next heading of the same or a higher level (`usize::MAX`: the end).
    /// Computed once, so every section query is linear overall.
    ends: Vec<usize>,
}

/// Normalises a heading for matching: trimmed, a trailing parenthesised part
/// removed, case folded, inner white space collapsed.
pub fn normalize_heading(s: &str) -> String {
    let mut t = s.trim();
    if t.ends_with(')')
        && let Some(i) = t.rfind('(')
    {
        t = t[..i].trim_end();
    }
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether a block's text is a placeholder rather than content.
pub fn is_placeholder(text: &str) -> bool {
    let t = text.trim();
    t.is_empty()
        || ["tbd", "todo", "-", "…", "?", "..."]
            .iter()
            .any(|p| t.eq_ignore_ascii_case(p))
}

/// Parses a Markdown body into an outline.
pub fn outline(body: &str) -> Outline {
    let mut out = Outline::default();
    let mut buf = String::new();
    let mut start = 0usize;
    let mut in_heading: Option<u8> = None;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for (ev, range) in Parser::new_ext(body, opts).into_offset_iter() {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut out, &mut buf, start);
                in_heading = Some(level as u8);
                start = range.start;
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = buf.trim().to_string();
                out.headings.push(Heading {
                    level: in_heading.take().unwrap_or(1),
                    norm: normalize_heading(&text),
                    text,
                    at: start,
                });
                buf.clear();
            }
            Event::Start(Tag::Paragraph | Tag::CodeBlock(_) | Tag::TableCell | Tag::Item) => {
                flush(&mut out, &mut buf, start);
                start = range.start;
            }
            Event::End(
                TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::TableCell | TagEnd::Item,
            ) => {
                flush(&mut out, &mut buf, start);
            }
            Event::Text(t) | Event::Code(t) => buf.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buf.push(' '),
            Event::TaskListMarker(_) | Event::Rule => {}
            // HTML comments and raw HTML are never content.
            _ => {}
        }
    }
    flush(&mut out, &mut buf, start);
    out.ends = span_ends(&out.headings);
    out
}

/// [`Outline::ends`] in one pass, with a stack of open headings.
fn span_ends(headings: &[Heading]) -> Vec<usize> {
    let mut ends = vec![usize::MAX; headings.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (j, h) in headings.iter().enumerate() {
        while let Some(&top) = stack.last() {
            if h.level <= headings[top].level {
                ends[top] = h.at;
                stack.pop();
            } else {
                break;
            }
        }
        stack.push(j);
    }
    ends
}

fn flush(out: &mut Outline, buf: &mut String, at: usize) {
    let t = buf.trim();
    if !t.is_empty() {
        out.blocks.push((at, t.to_string()));
    }
    buf.clear();
}

impl Outline {
    /// The indices of headings matching `name` (normalised).
    pub fn find(&self, name: &str) -> Vec<usize> {
        let want = normalize_heading(name);
        self.headings
            .iter()
            .enumerate()
            .filter(|(_, h)| h.norm == want)
            .map(|(i, _)| i)
            .collect()
    }

    /// Byte range covered by heading `i`: up to the next heading of the same
    /// or a higher level.
    fn span(&self, i: usize) -> (usize, usize) {
        let end = self.ends.get(i).copied().unwrap_or(usize::MAX);
        (self.headings[i].at, end)
    }

    /// Whether heading `i` has real content under it (sub-sections included).
    /// Blocks are in order, so only those inside the span are looked at;
    /// same-level spans are disjoint and there are six levels, so asking
    /// every heading costs at most six passes over the blocks.
    pub fn has_content(&self, i: usize, prompts: &HashSet<String>) -> bool {
        let (from, to) = self.span(i);
        let first = self.blocks.partition_point(|(at, _)| *at <= from);
        self.blocks[first..]
            .iter()
            .take_while(|(at, _)| *at < to)
            .any(|(_, t)| !is_placeholder(t) && !prompts.contains(t))
    }

    /// Sub-headings directly or indirectly under heading `i`: the headings
    /// after it up to its span's end.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let (_, to) = self.span(i);
        let last = self.headings.partition_point(|h| h.at < to);
        (i + 1)..last.max(i + 1)
    }
}

/// Why a section does not pass, if it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionGap {
    NoHeading,
    Empty,
    /// `filled: all`: headings the template defines that are absent, and
    /// headings present with no content.
    Headings {
        missing: Vec<String>,
        empty: Vec<String>,
    },
}

impl SectionGap {
    pub fn describe(&self, section: &str) -> String {
        let quote = |v: &[String]| {
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            SectionGap::NoHeading => format!("no \"{section}\" heading"),
            SectionGap::Empty => format!("no content under \"{section}\""),
            SectionGap::Headings { missing, empty } => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("no heading {}", quote(missing)));
                }
                if !empty.is_empty() {
                    parts.push(format!("no content under {}", quote(empty)));
                }
                parts.join("; ")
            }
        }
    }
}

/// Checks a `section` criterion. `required`: `filled: all`'s sub-headings.
pub fn check_section(
    o: &Outline,
    heading: &str,
    required: Option<&[String]>,
    prompts: &HashSet<String>,
) -> Result<(), SectionGap> {
    let found = o.find(heading);
    if found.is_empty() {
        return Err(SectionGap::NoHeading);
    }
    let mut best: Option<SectionGap> = None;
    for &i in &found {
        let gap = match required {
            None => {
                if o.has_content(i, prompts) {
                    return Ok(());
                }
                SectionGap::Empty
            }
            Some(req) => {
                let kids: Vec<usize> = o.children(i).collect();
                let mut first_kid: std::collections::HashMap<&str, usize> =
                    std::collections::HashMap::new();
                for &k in &kids {
                    first_kid.entry(o.headings[k].norm.as_str()).or_insert(k);
                }
                let mut missing = Vec::new();
                let mut empty = Vec::new();
                let names: Vec<String> = if req.is_empty() {
                    kids.iter().map(|&k| o.headings[k].text.clone()).collect()
                } else {
                    req.to_vec()
                };
                for name in &names {
                    let want = normalize_heading(name);
                    match first_kid.get(want.as_str()) {
                        None => missing.push(name.clone()),
                        Some(&k) if !o.has_content(k, prompts) => empty.push(name.clone()),
                        Some(_) => {}
                    }
                }
                if !missing.is_empty() || !empty.is_empty() {
                    SectionGap::Headings { missing, empty }
                } else if !o.has_content(i, prompts) {
                    SectionGap::Empty
                } else {
                    return Ok(());
                }
            }
        };
        best = Some(match best {
            None => gap,
            Some(b) => b,
        });
    }
    Err(best.unwrap_or(SectionGap::NoHeading))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn heading_matching_ignores_case_and_parenthesis() {
        assert_eq!(normalize_heading(" Qualification (BANT) "), "qualification");
        assert_eq!(normalize_heading("Problem  Statement"), "problem statement");
    }

    #[test]
    fn comments_placeholders_and_prompts_are_not_content() {
        let body = "# Acme\n\n## Qualification (BANT)\n<!-- who signs -->\n\n### Budget\nTBD\n\n### Authority\n- \n\n?\n";
        let o = outline(body);
        let p = HashSet::new();
        assert_eq!(
            check_section(&o, "Qualification", None, &p),
            Err(SectionGap::Empty)
        );
        let mut prompts = HashSet::new();
        prompts.insert("Write here".to_string());
        let o = outline("## Need\nWrite here\n");
        assert_eq!(
            check_section(&o, "need", None, &prompts),
            Err(SectionGap::Empty)
        );
    }

    #[test]
    fn filled_all_names_the_gaps() {
        let all = req(&["Budget", "Authority", "Need", "Timeline"]);
        let p = HashSet::new();
        let body = "## Qualification\n### Budget\n50k approved.\n### Authority\n\n### Need\nTBD\n### Timeline\nQ1.\n";
        assert_eq!(
            check_section(&outline(body), "Qualification", Some(&all), &p),
            Err(SectionGap::Headings {
                missing: vec![],
                empty: req(&["Authority", "Need"])
            })
        );
        let body = "## Qualification\n### Budget\n50k.\n### Need\n\n### Timeline\nQ1.\n";
        assert_eq!(
            check_section(&outline(body), "Qualification", Some(&all), &p),
            Err(SectionGap::Headings {
                missing: req(&["Authority"]),
                empty: req(&["Need"])
            })
        );
        let body = "## Qualification\n### Budget\n50k.\n### Authority\nCFO signs.\n### Need\nSpeed.\n### Timeline\n- Q1 go-live\n";
        assert_eq!(
            check_section(&outline(body), "Qualification", Some(&all), &p),
            Ok(())
        );
    }

    #[test]
    fn headings_in_other_sections_do_not_count() {
        let all = req(&["Budget"]);
        let body = "## Qualification\n## Notes\n### Budget\n50k.\n";
        assert_eq!(
            check_section(&outline(body), "Qualification", Some(&all), &HashSet::new()),
            Err(SectionGap::Headings {
                missing: req(&["Budget"]),
                empty: vec![]
            })
        );
    }
}
