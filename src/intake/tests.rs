//! Every parser of the crate on any string (and any bytes): paths, YAML,
//! template expressions, import targets, dates, amounts, timestamps, slugs,
//! file names, pipeline.yaml and bodies each return a value or an error,
//! never a panic; and a CSV cell's formula guard undoes exactly.

use std::path::Path;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, .. ProptestConfig::default() })]

    /// Every path and YAML parser returns a value or an error for any
    /// string: nothing panics.
    #[test]
    fn path_and_yaml_parsers_never_panic(s in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = crate::yaml::positions::parse_path(&s);
        let _ = crate::yaml::positions::flow_too_deep(&s);
        let _ = crate::yaml::positions::first_duplicate_key(&s);
        let _ = crate::yaml::positions::locate(&s, &crate::yaml::positions::parse_path(&s));
        let _ = crate::yaml::mapping::parse_mapping(&s, 1);
        let _ = crate::yaml::edit::split_path(&s);
        let _ = crate::yaml::edit::mapping_of(&s);
        let _ = crate::yaml::frontmatter::split(&s);
        let _ = crate::base::expr::check_depth(&s);
        let _ = crate::base::expr::check_template_depth(&s);
        let _ = crate::base::expr::check_syntax(&crate::base::expr::environment(), &s);
        let _ = crate::intake::import::Target::parse(&s);
        let _ = crate::intake::import::parse_date(&s);
        let _ = crate::intake::import::parse_amount(&s);
        let _ = crate::intake::import::csv_unguard(&crate::intake::import::csv_guard(&s));
        let _ = crate::base::time::parse_timestamp(&s);
        let _ = crate::base::slug::slugify(&s);
        let _ = crate::store::files::name_kind(&s);
        let _ = crate::store::pipeline::rename_fix(Path::new(&s));
        let _ = crate::store::pipeline::slug_of(Path::new(&s));
        let _ = crate::base::safepath::first_link(Path::new("/nonexistent-deal-base"), Path::new(&s));
        let _ = crate::model::config::parse(&s, Path::new("pipeline.yaml"), &crate::model::notes::Templates::builtin_only());
        let _ = crate::model::body::outline(&s);
        if let Ok(text) = crate::yaml::frontmatter::as_text(&bytes) {
            let _ = crate::yaml::frontmatter::split(text);
            let _ = crate::yaml::mapping::parse_mapping(text, 1);
            let _ = crate::yaml::positions::flow_too_deep(text);
        }
        let guarded = crate::intake::import::csv_guard(&s);
        prop_assert_eq!(crate::intake::import::csv_unguard(&guarded), s.as_str());
    }
}
