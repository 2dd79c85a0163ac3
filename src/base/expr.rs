//! `expr` criteria: minijinja expressions over a deal's front-matter.
//!
//! The environment is a sandbox: it has no loader (so no `include` or
//! `import` can read a file), no custom functions with side effects, a small
//! recursion limit and bounded fuel, so that an expression from a stranger's
//! pull request can neither read anything nor run forever.

use minijinja::{Environment, Value};

/// Instructions an expression may spend before it is stopped.
const FUEL: u64 = 50_000;

/// The sandboxed environment expressions run in. `Environment::new()` has
/// the pure built-in filters and tests, and no loader: nothing can be read.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(32);
    env
}

/// How deep an expression may nest (docs/safety.md, "Bounded work").
pub const MAX_DEPTH: usize = 64;

/// Refuses an expression whose syntax tree could be deeper than
/// [`MAX_DEPTH`], before minijinja parses it: its parser, compiler and drop
/// recurse once per level, so 50,000 levels overflow the stack. The bound
/// counted in one linear pass is the bracket depth plus every operator,
/// filter, attribute, call and keyword (each is a level of the tree when
/// chained): plenty for a criterion, and never a stack overflow.
pub fn check_depth(src: &str) -> Result<(), String> {
    let b = src.as_bytes();
    let (mut i, mut depth, mut max_depth, mut ops) = (0, 0usize, 0usize, 0usize);
    let mut prev_word = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                i += 1;
                while i < b.len() && b[i] != c {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                prev_word = true;
            }
            b'(' | b'[' | b'{' => {
                if prev_word {
                    ops += 1; // a call or a subscript
                }
                depth += 1;
                max_depth = max_depth.max(depth);
                prev_word = false;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                prev_word = true;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'~' | b'|' | b'.' | b'<' | b'>' | b'=' | b'!' => {
                ops += 1;
                prev_word = false;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i + 1 < b.len() && (b[i + 1].is_ascii_alphanumeric() || b[i + 1] == b'_') {
                    i += 1;
                }
                let word = &src[start..=i];
                if matches!(word, "and" | "or" | "not" | "if" | "else" | "is" | "in") {
                    ops += 1;
                    prev_word = false;
                } else {
                    prev_word = true;
                }
            }
            c if c.is_ascii_digit() => prev_word = true,
            _ => {
                if !c.is_ascii_whitespace() && c != b',' && c != b':' {
                    prev_word = false;
                }
            }
        }
        if max_depth + ops > MAX_DEPTH {
            return Err(format!(
                "the expression nests deeper than {MAX_DEPTH} levels (brackets and chained operators)"
            ));
        }
        i += 1;
    }
    Ok(())
}

/// [`check_depth`] for every `{{ … }}` and `{% … %}` tag of a template.
pub fn check_template_depth(text: &str) -> Result<(), (usize, String)> {
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let close_pat = if rest[open..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        let body_start = open + 2;
        let end = rest[body_start..]
            .find(close_pat)
            .map(|e| body_start + e)
            .unwrap_or(rest.len());
        if let Err(m) = check_depth(&rest[body_start..end]) {
            let line = text[..offset + open].matches('\n').count() + 1;
            return Err((line, m));
        }
        let next = (end + 2).min(rest.len());
        offset += next;
        rest = &rest[next..];
    }
    Ok(())
}

/// Checks an expression's syntax, as `pipeline.yaml` is loaded.
pub fn check_syntax(env: &Environment<'static>, src: &str) -> Result<(), String> {
    check_depth(src)?;
    env.compile_expression(src)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Evaluates an expression against a front-matter mapping. `Ok(true)` when
/// the result is truthy; `Err` carries the evaluation error to show.
pub fn eval(
    env: &Environment<'static>,
    src: &str,
    ctx: &serde_yaml::Mapping,
) -> Result<bool, String> {
    check_depth(src)?;
    let expr = env.compile_expression(src).map_err(|e| describe(&e))?;
    let value = expr
        .eval(Value::from(minijinja::value::Serde(ctx)))
        .map_err(|e| describe(&e))?;
    Ok(value.is_true())
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.kind().to_string();
    if let Some(d) = e.detail() {
        s.push_str(": ");
        s.push_str(d);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(y: &str) -> serde_yaml::Mapping {
        serde_yaml::from_str(y).unwrap()
    }

    #[test]
    fn objections_expression() {
        let env = environment();
        let e = "objections | rejectattr('resolved') | list | length == 0";
        assert_eq!(eval(&env, e, &map("title: x")), Ok(true));
        let m = map(
            "objections:\n  - {objection: price, resolved: true}\n  - {objection: risk, resolved: false}\n",
        );
        assert_eq!(eval(&env, e, &m), Ok(false));
    }

    #[test]
    fn runaway_expressions_run_out_of_fuel() {
        let env = environment();
        let r = eval(&env, "range(100000) | list | length > 0", &map("a: 1"));
        assert!(r.is_err(), "{r:?}");
    }

    #[test]
    fn deep_expressions_are_refused_before_parsing() {
        let env = environment();
        let n = 50_000;
        for e in [
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            format!("{}x", "not ".repeat(n)),
            vec!["x"; n].join(" and "),
            format!("x{}", "|length".repeat(n)),
            format!("x{}", "()".repeat(n)),
            vec!["1 if x else"; n].join(" ") + " 2",
            vec!["2"; n].join("**"),
        ] {
            let r = check_syntax(&env, &e);
            assert!(r.as_ref().is_err_and(|m| m.contains("64")), "{r:?}");
        }
        check_syntax(
            &env,
            "objections | rejectattr('resolved') | list | length == 0",
        )
        .unwrap();
        check_syntax(&env, &format!("[{}]", vec!["1"; 10_000].join(", "))).unwrap();
    }

    #[test]
    fn syntax_errors_are_reported() {
        let env = environment();
        assert!(check_syntax(&env, "objections |").is_err());
    }
}
