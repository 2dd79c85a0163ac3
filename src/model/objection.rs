//! A deal's named objections (`objections: [{objection, response, resolved}]`),
//! the negotiation stage's exit signal: read from the front-matter, numbered
//! from 1 for people, and found by number or by text.

use serde_yaml::{Mapping, Value};

use crate::yaml::mapping::{lookup, scalar_text};

/// One item of `objections`, as read (a malformed item reads as empty
/// text; `deal check` reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objection {
    pub objection: String,
    pub response: Option<String>,
    pub resolved: bool,
}

/// The deal's objections, in file order (number N is index N - 1).
pub fn list(fm: &Mapping) -> Vec<Objection> {
    let Some(Value::Sequence(items)) = lookup(fm, "objections") else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let get = |k: &str| {
                item.as_mapping()
                    .and_then(|m| m.get(k))
                    .and_then(scalar_text)
                    .filter(|s| !s.trim().is_empty())
            };
            Objection {
                objection: get("objection").unwrap_or_default(),
                response: get("response"),
                resolved: item
                    .as_mapping()
                    .and_then(|m| m.get("resolved"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
        })
        .collect()
}

/// Why `find` found nothing, or too much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// A number outside 1..=len.
    Number { n: usize, len: usize },
    /// No objection's text contains the query.
    Text,
    /// Several objections' texts contain it: their numbers.
    Ambiguous(Vec<usize>),
}

/// The index of the objection `query` names: its 1-based number, its exact
/// text (ignoring case), or a piece of text only one objection contains.
pub fn find(items: &[Objection], query: &str) -> Result<usize, NotFound> {
    let q = query.trim();
    if let Ok(n) = q.parse::<usize>() {
        return if n >= 1 && n <= items.len() {
            Ok(n - 1)
        } else {
            Err(NotFound::Number {
                n,
                len: items.len(),
            })
        };
    }
    let low = q.to_lowercase();
    if let Some(i) = items
        .iter()
        .position(|o| o.objection.trim().to_lowercase() == low)
    {
        return Ok(i);
    }
    let hits: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, o)| !low.is_empty() && o.objection.to_lowercase().contains(&low))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [] => Err(NotFound::Text),
        [i] => Ok(*i),
        _ => Err(NotFound::Ambiguous(hits.iter().map(|i| i + 1).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_exact_text_and_unique_pieces() {
        let fm: Mapping = serde_yaml::from_str(
            "objections:\n  - {objection: Price is high, resolved: true, response: Phased}\n  - {objection: Timing}\n  - {objection: Price of support}\n",
        )
        .unwrap();
        let items = list(&fm);
        assert_eq!(items.len(), 3);
        assert!(items[0].resolved);
        assert_eq!(items[0].response.as_deref(), Some("Phased"));
        assert!(!items[1].resolved);
        assert_eq!(find(&items, "2"), Ok(1));
        assert_eq!(find(&items, "timing"), Ok(1));
        assert_eq!(find(&items, "support"), Ok(2));
        assert_eq!(find(&items, "price"), Err(NotFound::Ambiguous(vec![1, 3])));
        assert_eq!(find(&items, "4"), Err(NotFound::Number { n: 4, len: 3 }));
        assert_eq!(find(&items, "0"), Err(NotFound::Number { n: 0, len: 3 }));
        assert_eq!(find(&items, "legal"), Err(NotFound::Text));
    }
}
