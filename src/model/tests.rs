//! The parsers of front-matter, deal files and pipeline.yaml, and the
//! front-matter editor, on generated input: none of them panics on any
//! text, and an edit the editor accepts re-parses to exactly the values it
//! set, with the body kept byte for byte.

use std::path::Path;

use proptest::prelude::*;

/// The pipeline.yaml the integration tests start from: the default stages,
/// team alice/bob/dana, BANT.
fn default_config() -> String {
    let team = [
        ("alice", "Alice Smith", "alice@example.com"),
        ("bob", "Bob Jones", "bob@example.com"),
        ("dana", "Dana Lee", "dana@example.com"),
    ]
    .map(|(h, n, e)| (h.to_string(), n.to_string(), e.to_string()));
    crate::model::config::default_yaml(&team, crate::model::notes::Qualification::Bant)
}

/// [`default_config`], loaded once: the same for every case, and loading
/// it was most of a case's time in a debug build.
static DEFAULT_CONFIG: std::sync::LazyLock<crate::model::config::Config> =
    std::sync::LazyLock::new(|| {
        crate::model::config::parse(
            &default_config(),
            Path::new("pipeline.yaml"),
            &crate::model::notes::Templates::builtin_only(),
        )
        .unwrap()
    });

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    /// The splitter and the parser return a value or an error for any bytes.
    #[test]
    fn splitter_and_parser_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(text) = crate::yaml::frontmatter::as_text(&data)
            && let Ok(s) = crate::yaml::frontmatter::split(text)
        {
            let _ = crate::yaml::mapping::parse_mapping(&text[s.yaml.clone()], s.yaml_line);
            let _ = crate::model::body::outline(&text[s.body..]);
        }
    }

    /// Front-matter-like text (fences, keys, YAML punctuation) never panics
    /// the splitter, parser, position index or typer.
    #[test]
    fn yamlish_text_never_panics(lines in proptest::collection::vec(
        prop_oneof![
            Just("---".to_string()), Just("...".to_string()), Just("\u{feff}---".to_string()),
            "[a-z_]{1,8}: [a-z0-9 :\\[\\]{}&*!|>'\"#,-]{0,20}",
            "  [a-z]{1,5}: [a-z0-9\\[\\]{}*&-]{0,10}",
            "- [a-z0-9{}\\[\\]:]{0,10}",
            "#{1,4} [A-Za-z ()]{0,20}",
            "[ -~]{0,30}",
        ], 0..16)) {
        let text = lines.join("\n");
        let cfg = &*DEFAULT_CONFIG;
        if let Ok(s) = crate::yaml::frontmatter::split(&text) {
            let yaml = &text[s.yaml.clone()];
            if let Ok(m) = crate::yaml::mapping::parse_mapping(yaml, s.yaml_line) {
                let _ = crate::model::deal::type_fields(&m, cfg);
            }
            let _ = crate::yaml::positions::first_duplicate_key(yaml);
            let _ = crate::yaml::positions::locate(yaml, &crate::yaml::positions::parse_path("a.b[0].c"));
        }
    }
}

/// `deal::lookup`, with `-1` read as the editor reads it: the last item of
/// the list at that point.
fn lookup_last<'m>(m: &'m serde_yaml::Mapping, path: &str) -> Option<&'m serde_yaml::Value> {
    let mut cur: Option<&serde_yaml::Value> = None;
    for (i, seg) in path.split('.').enumerate() {
        let next = match (i, cur) {
            (0, _) => m.get(seg),
            (_, Some(serde_yaml::Value::Mapping(mm))) => mm.get(seg),
            (_, Some(serde_yaml::Value::Sequence(s))) if seg == "-1" => s.last(),
            (_, Some(serde_yaml::Value::Sequence(s))) => {
                seg.parse::<usize>().ok().and_then(|n| s.get(n))
            }
            _ => None,
        };
        cur = Some(next?);
    }
    cur.filter(|v| !v.is_null())
}

fn key_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("owner".to_string()),
        Just("stages.outreach".to_string()),
        Just("stages.won".to_string()),
        Just("waived.discovery".to_string()),
        Just("lost".to_string()),
        Just("lost.reason".to_string()),
        Just("next_step.due".to_string()),
        Just("objections.0.resolved".to_string()),
        Just("objections.1.response".to_string()),
        Just("contact.email".to_string()),
        Just("a.b.c".to_string()),
        Just("tags.-1".to_string()),
        Just("objections.-1".to_string()),
        "[a-z]{1,3}(\\.[a-z0-9]{1,3}){0,2}",
        "[a-z]{1,3}\\.-?[0-2](\\.[a-z]{1,3})?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    /// The front-matter editor never panics, and an edit it accepts re-parses
    /// to exactly the values set, with the body byte for byte as it was.
    #[test]
    fn editor_never_panics_and_keeps_what_it_accepts(
        lines in proptest::collection::vec(prop_oneof![
            "[a-z]{1,6}: [a-z0-9 '\"#:{}\\[\\],-]{0,16}",
            "  [a-z]{1,6}: [a-z0-9 '\"#-]{0,12}",
            "    [a-z]{1,4}: [a-z0-9]{0,6}",
            "- [a-z]{1,5}: [a-z0-9]{0,6}",
            "  - [a-z]{1,5}: [a-z0-9]{0,6}",
            Just("stages:".to_string()),
            Just("objections:".to_string()),
            Just("lost:".to_string()),
            Just("# a comment".to_string()),
            Just(String::new()),
            "[ -~]{0,20}",
        ], 0..14),
        ops in proptest::collection::vec((key_path(), prop_oneof![
            Just(None),
            Just(Some(String::new())),
            Just(Some("2026-11-27T12:00:00Z".to_string())),
            Just(Some("\"quoted: #x\"".to_string())),
            Just(Some("true".to_string())),
            "[a-z0-9]{1,6}".prop_map(Some),
        ]), 1..5),
        crlf in any::<bool>(),
    ) {
        use crate::yaml::edit::{Op, apply};
        let nl = if crlf { "\r\n" } else { "\n" };
        let body = format!("{nl}# Body{nl}text{nl}");
        let text = format!("---{nl}{}{nl}---{body}", lines.join(nl));
        let ops: Vec<Op> = ops
            .into_iter()
            .map(|(k, v)| match v {
                None => Op::remove(&k),
                Some(v) => Op::set(&k, v),
            })
            .collect();
        if let Ok(out) = apply(&text, &ops) {
            prop_assert!(out.ends_with(&body));
            let s = crate::yaml::frontmatter::split(&out).unwrap();
            let m = crate::yaml::mapping::parse_mapping(&out[s.yaml.clone()], s.yaml_line).unwrap();
            let mut last = std::collections::HashMap::new();
            for op in &ops {
                match op {
                    Op::Set(p, v) => {
                        let key = p.join(".");
                        last.retain(|e: &String, _| !key.starts_with(&format!("{e}.")) && !e.starts_with(&format!("{key}.")));
                        last.insert(key, Some(v.clone()));
                    }
                    Op::Remove(p) => {
                        let key = p.join(".");
                        last.retain(|k: &String, _| k != &key && !k.starts_with(&format!("{key}.")));
                        last.insert(key, None);
                    }
                }
            }
            for (k, v) in last {
                let got = lookup_last(&m, &k);
                match v {
                    // `lookup` reads null as absent.
                    Some(v) if v.is_empty() => prop_assert!(got.is_none(), "{k}"),
                    Some(v) => {
                        let want: serde_yaml::Value = serde_yaml::from_str(&v).unwrap();
                        prop_assert_eq!(got, Some(&want), "{}", k);
                    }
                    // A removed list item leaves the next one (or, for `-1`,
                    // the one before it) at its place.
                    None => prop_assert!(got.is_none() || k.contains(".0") || k.contains(".1") || k.contains(".-1"), "{k} was removed"),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, .. ProptestConfig::default() })]

    /// YAML-ish punctuation, nested and unbalanced, never panics the
    /// parsers, and the depth bound agrees with itself on balanced input.
    // `select` picks uniformly among the pieces as a `prop_oneof!` of
    // `Just`s would, in a fiftieth of the time in a debug build.
    #[test]
    fn nested_yaml_never_panics(parts in proptest::collection::vec(
        proptest::sample::select(vec![
            "[", "]", "{", "}", ": ", ", ", "\n", "- ", "'", "\"", "#", "a", "&x ", "*x", "? ", "|\n",
        ]), 0..200)) {
        let s = format!("k: {}", parts.concat());
        let _ = crate::yaml::positions::flow_too_deep(&s);
        let _ = crate::yaml::mapping::parse_mapping(&s, 1);
        let _ = crate::model::config::parse(&s, Path::new("pipeline.yaml"), &crate::model::notes::Templates::builtin_only());
        let _ = crate::yaml::positions::first_duplicate_key(&s);
    }
}
