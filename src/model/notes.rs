//! Templates, built in and overridden, and the note kinds they scaffold.
//!
//! The built-in templates live in the project's `templates/` folder and are
//! compiled into the binary. A pipeline's own `templates/` folder overrides
//! them file by file, under the same names (`notes/problem.md`, …).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::error::ConfigError;
use crate::model::body;

/// Which qualification framework `deal note X qualification` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Qualification {
    #[default]
    Bant,
    Meddic,
    Meddpicc,
}

impl Qualification {
    pub fn as_str(self) -> &'static str {
        match self {
            Qualification::Bant => "bant",
            Qualification::Meddic => "meddic",
            Qualification::Meddpicc => "meddpicc",
        }
    }
}

/// The templates compiled into the binary, by name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "pipeline.yaml",
        include_str!("../../templates/pipeline.yaml"),
    ),
    (
        "notes/qualification-bant.md",
        include_str!("../../templates/notes/qualification-bant.md"),
    ),
    (
        "notes/qualification-meddic.md",
        include_str!("../../templates/notes/qualification-meddic.md"),
    ),
    (
        "notes/qualification-meddpicc.md",
        include_str!("../../templates/notes/qualification-meddpicc.md"),
    ),
    (
        "notes/problem.md",
        include_str!("../../templates/notes/problem.md"),
    ),
    (
        "notes/proposal.md",
        include_str!("../../templates/notes/proposal.md"),
    ),
    (
        "notes/objections.md",
        include_str!("../../templates/notes/objections.md"),
    ),
    (
        "notes/handoff.md",
        include_str!("../../templates/notes/handoff.md"),
    ),
    (
        "notes/call.md",
        include_str!("../../templates/notes/call.md"),
    ),
    (
        "report/layout.html",
        include_str!("../../templates/report/layout.html"),
    ),
    (
        "report/index.html",
        include_str!("../../templates/report/index.html"),
    ),
    (
        "report/deal.html",
        include_str!("../../templates/report/deal.html"),
    ),
];

/// A built-in template's text.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The kinds of note `deal note DEAL KIND` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    Qualification,
    Problem,
    Proposal,
    Objections,
    Handoff,
    Call,
}

impl NoteKind {
    pub const ALL: [NoteKind; 6] = [
        NoteKind::Qualification,
        NoteKind::Problem,
        NoteKind::Proposal,
        NoteKind::Objections,
        NoteKind::Handoff,
        NoteKind::Call,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Qualification => "qualification",
            NoteKind::Problem => "problem",
            NoteKind::Proposal => "proposal",
            NoteKind::Objections => "objections",
            NoteKind::Handoff => "handoff",
            NoteKind::Call => "call",
        }
    }

    /// The template file of this note.
    pub fn template(self, q: Qualification) -> String {
        match self {
            NoteKind::Qualification => format!("notes/qualification-{}.md", q.as_str()),
            k => format!("notes/{}.md", k.as_str()),
        }
    }

    /// The section heading of this note (matched as docs/reference.md, "Criteria", says).
    pub fn heading(self) -> &'static str {
        match self {
            NoteKind::Qualification => "Qualification",
            NoteKind::Problem => "Problem statement",
            NoteKind::Proposal => "Proposal",
            NoteKind::Objections => "Objections",
            NoteKind::Handoff => "Handoff",
            NoteKind::Call => "Call",
        }
    }

    /// The note that scaffolds a section with this heading, if any.
    pub fn for_section(heading: &str) -> Option<NoteKind> {
        let h = body::normalize_heading(heading);
        NoteKind::ALL
            .into_iter()
            .find(|k| body::normalize_heading(k.heading()) == h)
    }
}

/// Where templates come from: the pipeline's `templates/` folder first, then
/// the built-in ones.
#[derive(Debug, Clone)]
pub struct Templates {
    dir: Option<PathBuf>,
}

impl Templates {
    pub fn new(root: &Path) -> Templates {
        Templates {
            dir: Some(root.join("templates")),
        }
    }

    pub fn builtin_only() -> Templates {
        Templates { dir: None }
    }

    /// The text of template `name`, and the file it came from (None: built in).
    pub fn source(&self, name: &str) -> Result<(String, Option<PathBuf>), ConfigError> {
        // A name that climbs out (`../../secret.txt`, an absolute path)
        // is refused as what it is, before any file is looked at.
        if Path::new(name).components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        }) {
            return Err(ConfigError {
                path: Path::new("templates").join(name),
                line: None,
                col: None,
                key: None,
                message: "a template name that leaves the templates folder".into(),
                help: Some(
                    "name a template inside templates/, e.g. {% include \"deal.html\" %}".into(),
                ),
                excerpt: None,
            });
        }
        if let Some(dir) = &self.dir {
            let p = dir.join(name);
            // Overrides must be plain files in real folders: a symlink
            // could point outside the root.
            if let Some(base) = dir.parent()
                && let Some(link) =
                    crate::base::safepath::first_link(base, &Path::new("templates").join(name))
            {
                return Err(ConfigError::symlink(link));
            }
            if let Ok(meta) = std::fs::symlink_metadata(&p)
                && meta.is_file()
            {
                let text = std::fs::read_to_string(&p).map_err(|e| ConfigError {
                    path: p.clone(),
                    line: None,
                    col: None,
                    key: None,
                    message: format!("cannot read template: {e}"),
                    help: Some("the template must be a UTF-8 text file".into()),
                    excerpt: None,
                })?;
                if let Err((line, m)) = crate::base::expr::check_template_depth(&text) {
                    return Err(ConfigError {
                        path: p.clone(),
                        line: Some(line),
                        col: None,
                        key: None,
                        message: format!("template error: {m}"),
                        help: Some(
                            "simplify the tag, or delete the template to use the built-in one"
                                .into(),
                        ),
                        excerpt: None,
                    });
                }
                return Ok((text, Some(p)));
            }
        }
        builtin(name)
            .map(|t| (t.to_string(), None))
            .ok_or_else(|| ConfigError {
                path: PathBuf::from(name),
                line: None,
                col: None,
                key: None,
                message: "no such template".into(),
                help: None,
                excerpt: None,
            })
    }

    /// Renders template `name` with `ctx`. Errors name the template file and line.
    pub fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, ConfigError> {
        let (text, origin) = self.source(name)?;
        let mut env = minijinja::Environment::new();
        env.set_fuel(Some(1_000_000));
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        let shown = origin
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("<built-in>/{name}")));
        let fail = |e: minijinja::Error| {
            let line = e.line();
            let mut msg = e.kind().to_string();
            if let Some(d) = e.detail() {
                msg.push_str(": ");
                msg.push_str(d);
            }
            ConfigError {
                path: shown.clone(),
                line,
                col: None,
                key: None,
                message: format!("template error: {msg}"),
                help: Some(format!(
                    "fix the template, or delete it to use the built-in `{name}`"
                )),
                excerpt: line.and_then(|l| {
                    crate::base::diag::line_of(&text, l)
                        .map(|t| crate::base::diag::excerpt(l, t, 1))
                }),
            }
        };
        env.add_template_owned(name.to_string(), text.clone())
            .map_err(&fail)?;
        let t = env.get_template(name).map_err(&fail)?;
        t.render(minijinja::Value::from(minijinja::value::Serde(ctx)))
            .map_err(&fail)
    }

    /// The sub-headings a note's template defines, for `filled: all`.
    pub fn required_headings(
        &self,
        kind: NoteKind,
        q: Qualification,
    ) -> Result<Vec<String>, ConfigError> {
        let text = self.render(&kind.template(q), &sample_context())?;
        let o = body::outline(&text);
        let top = o.headings.iter().map(|h| h.level).min().unwrap_or(1);
        Ok(o.headings
            .iter()
            .filter(|h| h.level > top)
            .map(|h| h.text.clone())
            .collect())
    }

    /// Every text block the note templates hold: prompt text, never content.
    pub fn prompts(&self, q: Qualification) -> HashSet<String> {
        let mut out = HashSet::new();
        for k in NoteKind::ALL {
            if let Ok(text) = self.render(&k.template(q), &sample_context()) {
                for (_, b) in body::outline(&text).blocks {
                    out.insert(b);
                }
            }
        }
        out
    }
}

/// The context note templates are rendered with.
#[derive(Debug, Serialize)]
pub struct NoteContext {
    pub slug: String,
    pub title: String,
    pub company: String,
    pub owner: String,
    pub today: String,
    pub now: String,
}

fn sample_context() -> NoteContext {
    NoteContext {
        slug: "sample".into(),
        title: "Sample".into(),
        company: "Sample".into(),
        owner: "sample".into(),
        today: "2000-01-01".into(),
        now: "2000-01-01T00:00:00Z".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_headings_come_from_the_templates() {
        let t = Templates::builtin_only();
        let b = t
            .required_headings(NoteKind::Qualification, Qualification::Bant)
            .unwrap();
        assert_eq!(b, ["Budget", "Authority", "Need", "Timeline"]);
        let m = t
            .required_headings(NoteKind::Qualification, Qualification::Meddpicc)
            .unwrap();
        assert_eq!(m.len(), 8);
        assert_eq!(
            NoteKind::for_section("Problem Statement"),
            Some(NoteKind::Problem)
        );
    }
}
