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

/// Checks an expression's syntax, as `pipeline.yaml` is loaded.
pub fn check_syntax(env: &Environment<'static>, src: &str) -> Result<(), String> {
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
    fn syntax_errors_are_reported() {
        let env = environment();
        assert!(check_syntax(&env, "objections |").is_err());
    }
}
