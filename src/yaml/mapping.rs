//! Front-matter as YAML values: the text parsed into a mapping, with the
//! line, column and help of what stops it, and dotted key paths looked up
//! in it.

use serde_yaml::{Mapping, Value};

/// Why a file could not be read as a deal.
#[derive(Debug, Clone)]
pub struct ParseProblem {
    pub line: usize,
    pub col: Option<usize>,
    pub message: String,
    pub help: String,
    /// A source excerpt with a caret, when the column is known.
    pub excerpt: Option<String>,
}

/// Parses front-matter YAML into a mapping, with file positions in errors.
pub fn parse_mapping(yaml: &str, first_line: usize) -> Result<Mapping, ParseProblem> {
    if yaml.trim().is_empty() {
        return Ok(Mapping::new());
    }
    if let Some((pos, why, help)) = crate::yaml::positions::nesting_problem(yaml) {
        return Err(ParseProblem {
            line: pos.line + first_line - 1,
            col: Some(pos.col),
            message: format!("invalid YAML: {why}"),
            help: help.into(),
            excerpt: None,
        });
    }
    match serde_yaml::from_str::<Value>(yaml) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(other) => Err(ParseProblem {
            line: first_line,
            col: None,
            message: format!(
                "the front-matter is a {}, not a mapping of keys to values",
                kind_name(&other)
            ),
            help: "write `key: value` lines, starting with `title:` and `owner:`".into(),
            excerpt: None,
        }),
        Err(e) => {
            if let Some((key, pos, first)) = crate::yaml::positions::first_duplicate_key(yaml) {
                return Err(ParseProblem {
                    line: pos.line + first_line - 1,
                    col: Some(pos.col),
                    message: format!(
                        "duplicate key `{key}` (first on line {})",
                        first + first_line - 1
                    ),
                    help: "keep one of the two".into(),
                    excerpt: None,
                });
            }
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let (line, col) = e
                .location()
                .map(|l| (l.line() + first_line - 1, Some(l.column())))
                .unwrap_or((first_line, None));
            let help = if msg.contains("repetition limit") || msg.contains("recursion limit") {
                "the YAML expands too far (aliases or nesting); write the values out"
            } else {
                "fix the YAML; quote values that hold `: ` or start with a special character"
            };
            Err(ParseProblem {
                line,
                col,
                message: format!("invalid YAML: {msg}"),
                help: help.into(),
                excerpt: None,
            })
        }
    }
}

pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

/// Looks up a dotted path (`contact.email`, `objections.0.resolved`) in a
/// mapping. Null counts as absent.
pub fn lookup<'a>(m: &'a Mapping, path: &str) -> Option<&'a Value> {
    let mut cur: Option<&Value> = None;
    for (i, seg) in path.split('.').enumerate() {
        let next = if i == 0 {
            m.get(seg)
        } else {
            match cur? {
                Value::Mapping(mm) => mm.get(seg),
                Value::Sequence(s) => seg.parse::<usize>().ok().and_then(|n| s.get(n)),
                _ => None,
            }
        };
        cur = Some(next?);
    }
    cur.filter(|v| !v.is_null())
}

/// A scalar as text, for display.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
