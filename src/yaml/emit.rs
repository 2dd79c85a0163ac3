//! Writing YAML: a string as a scalar that reads back as itself, plain
//! where YAML would read it unchanged, else double-quoted.

/// Quotes a string for YAML when it would not survive as a plain scalar.
pub fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || " .-_@+".contains(c))
        && !s.starts_with([' ', '-', '@'])
        && !s.ends_with(' ')
        && serde_yaml::from_str::<serde_yaml::Value>(s)
            .ok()
            .is_some_and(|v| v.as_str() == Some(s));
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_round_trip() {
        for s in ["Alice", "a: b", "yes", "O'Neil", "", "- x", "123", "x@y.z"] {
            let y = format!("k: {}\n", yaml_scalar(s));
            let v: serde_yaml::Value = serde_yaml::from_str(&y).unwrap();
            assert_eq!(v["k"].as_str(), Some(s), "{y}");
        }
    }
}
