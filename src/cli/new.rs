//! `deal new TITLE …`: lead capture. Creates the deal in the first stage,
//! with `created` and `stages.<first>` set, and commits.

use std::path::PathBuf;

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::record::outcome;
use crate::cli::record::{Recording, person, record, refuse_new_errors};
use crate::cli::set::parse_assignment;
use crate::intake::leads::Lead;
use crate::model::config::Config;
use crate::model::fields::typed_value;
use crate::store::pipeline::{Pipeline, files_named, find_root};
use crate::yaml::edit::{self, Op};
use crate::yaml::emit::yaml_scalar;
use chrono::{DateTime, Utc};
use serde_yaml::{Mapping, Value};

#[derive(Debug, Args)]
pub struct NewArgs {
    /// What the deal is, e.g. "Acme Corp, Kubernetes migration" (with --json: from the payload)
    #[arg(required_unless_present = "json")]
    pub title: Option<String>,
    /// A form or webhook payload (JSON), mapped to fields by pipeline.yaml's intake; - reads stdin
    #[arg(long, value_name = "FILE|-")]
    pub json: Option<String>,
    /// The prospect's company
    #[arg(long)]
    pub company: Option<String>,
    /// Team handle of the owner (default: the team member with the git user's email)
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::handles))]
    pub owner: Option<String>,
    /// Deal value, a number in the pipeline's currency
    #[arg(long)]
    pub value: Option<String>,
    /// Contact email (contact.email)
    #[arg(long)]
    pub email: Option<String>,
    /// Contact phone (contact.phone)
    #[arg(long)]
    pub phone: Option<String>,
    /// Lead source, e.g. inbound-form (speed-to-lead applies to inbound_sources)
    #[arg(long)]
    pub source: Option<String>,
    /// The slug (file name) to use instead of one made from the title
    #[arg(long)]
    pub slug: Option<String>,
    /// Any other front-matter field, as for `deal set` (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// With --set: add a field of your own although its name is within two edits of a known field
    #[arg(long)]
    pub new_field: bool,
    #[command(flatten)]
    pub commit: CommitFlag,
    /// Print the file that would be created, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Sets a dotted path in a mapping (for routing's look at a lead to be).
fn insert_path(m: &mut Mapping, path: &str, v: &str) {
    let mut cur = m;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            cur.insert(Value::String(p.to_string()), Value::String(v.to_string()));
            return;
        }
        let e = cur
            .entry(Value::String(p.to_string()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if !e.is_mapping() {
            *e = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(next) = e else { return };
        cur = next;
    }
}
use crate::base::slug::{is_slug, slugify};
use crate::base::time::format_ts;

/// A deal file whose name differs from `<slug>.md` only in case (`Acme.md`):
/// on macOS and Windows it is the same file, so the slug is taken.
fn case_twin(root: &std::path::Path, cfg: &Config, slug: &str) -> Option<std::path::PathBuf> {
    let want = format!("{slug}.md");
    let dirs = cfg
        .stages
        .iter()
        .map(|s| s.dir.as_str())
        .chain([crate::model::config::WON, crate::model::config::LOST]);
    for d in dirs {
        let rel = std::path::Path::new(&cfg.deals_dir).join(d);
        let Ok(rd) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().to_lowercase() == want {
                return Some(rel.join(e.file_name()));
            }
        }
    }
    None
}

/// The file at `rel` (root-relative), when it is a new deal file that an
/// interrupted `deal new` left whole: a plain file that HEAD lacks, staged
/// as it is or not at all (docs/safety.md, "No window for half a file").
fn left_behind(root: &std::path::Path, rel: &std::path::Path) -> Option<String> {
    let abs = root.join(rel);
    if !std::fs::symlink_metadata(&abs).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&abs).ok()?;
    let repo = crate::store::repo::Repo::open(root)?;
    let rel_repo = repo.rel(&abs).ok()?;
    repo.left_new(&rel_repo, text.as_bytes()).then_some(text)
}

/// Whether `left` is the text this run would write, `ours`, but for the
/// time it was made (`created`, and the first stage's date, which is the
/// same): the rerun of the same `deal new`.
fn same_lead(left: &str, ours: &str, now: &str) -> bool {
    let created = left
        .lines()
        .find_map(|l| l.strip_prefix("created: "))
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match created {
        Some(c) => left.replace(c, now) == ours,
        None => left == ours,
    }
}

/// The owner of a new lead: `--owner`, else the team member whose email is
/// the git user's.
fn owner_of(cfg: &Config, root: &std::path::Path, given: Option<&str>) -> Result<String, Error> {
    if let Some(o) = given {
        crate::model::fields::check_member(cfg, o, "--owner")?;
        return Ok(o.to_string());
    }
    let ident = crate::store::repo::identity(root);
    if let Some((_, email)) = &ident
        && let Some(h) = cfg.member_by_email(email)
    {
        return Ok(h.to_string());
    }
    let whom = match &ident {
        Some((_, email)) => format!("no team member has the git user's email ({email})"),
        None => "git has no user.email to find the owner by".to_string(),
    };
    Err(Error::usage(
        format!("who owns this lead? {whom}"),
        if cfg.team.is_empty() {
            "pass --owner <handle>".to_string()
        } else {
            format!(
                "pass --owner with one of: {}",
                cfg.team.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        },
    ))
}

/// The `--json` payload (a file, or `-` for stdin) read through the
/// intake mapping; None without `--json`.
fn read_lead(cfg: &Config, json: Option<&str>) -> Result<Option<Lead>, Error> {
    let Some(src) = json else {
        return Ok(None);
    };
    let text = if src == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Error::io("-", e))?;
        s
    } else {
        std::fs::read_to_string(src).map_err(|e| Error::io(src, e))?
    };
    Ok(Some(crate::intake::leads::read_payload(cfg, &text)?))
}

/// The lead's title: the argument, else the payload's, trimmed; refused
/// when empty.
fn title_of(given: Option<&str>, lead: Option<&Lead>) -> Result<String, Error> {
    let title = given
        .map(str::to_string)
        .or_else(|| lead.map(|l| l.title.clone()))
        .unwrap_or_default()
        .trim()
        .to_string();
    if title.is_empty() {
        return Err(Error::usage(
            "the title is empty",
            "deal new \"Acme Corp, Kubernetes migration\"",
        ));
    }
    Ok(title)
}

/// The new deal's slug: `--slug` when it is one (and not a name Windows
/// reserves), else one made from the title.
fn slug_for(given: Option<&str>, title: &str) -> Result<String, Error> {
    let slug = match given {
        Some(s) if is_slug(s) => s.to_string(),
        Some(s) if crate::base::slug::is_reserved(s) => {
            return Err(Error::usage(
                format!(
                    "`{s}` is reserved on Windows (a device name: a file `{s}.md` cannot be opened there)"
                ),
                format!("pick another slug, e.g. --slug {s}-deal"),
            ));
        }
        Some(s) => {
            return Err(Error::usage(
                format!("`{s}` is not a slug"),
                format!(
                    "slugs are lower-case ASCII letters, digits and `-`, e.g. --slug {}",
                    slugify(s)
                ),
            ));
        }
        None => slugify(title),
    };
    if slug.is_empty() {
        return Err(Error::usage(
            format!("cannot make a slug from the title \"{title}\""),
            "pass --slug, e.g. --slug acme-corp",
        ));
    }
    Ok(slug)
}

/// The refusal of a slug that a deal at `r` has already.
fn taken(slug: &str, r: &std::path::Path) -> Error {
    Error::usage(
        format!(
            "a deal with the slug `{slug}` exists already: {}",
            r.display()
        ),
        format!("pass --slug to name this one differently, e.g. --slug {slug}-2"),
    )
}

/// Refuses a slug that is taken, unless by the new file at `rel` that an
/// interrupted `deal new` left whole: that file's text is returned, to be
/// checked against this run's text.
fn left_or_taken(
    root: &std::path::Path,
    cfg: &Config,
    slug: &str,
    rel: &std::path::Path,
) -> Result<Option<String>, Error> {
    let named = files_named(root, cfg, slug);
    let Some(r) = named
        .first()
        .map(|e| e.rel.clone())
        .or_else(|| case_twin(root, cfg, slug))
    else {
        return Ok(None);
    };
    let left = (named.len() == 1 && r == rel)
        .then(|| left_behind(root, rel))
        .flatten();
    match left {
        Some(text) => Ok(Some(text)),
        None => Err(taken(slug, &r)),
    }
}

/// The owner: `--owner`, else routing (fed the payload, `--set` and
/// `--source`, as the lead will have them), else the git user's team
/// member. `rel` is the file an interrupted run left (`left`), which is
/// not an earlier lead.
fn route_owner(
    cfg: &Config,
    root: &std::path::Path,
    a: &NewArgs,
    lead: Option<&Lead>,
    left: bool,
    rel: &std::path::Path,
) -> Result<String, Error> {
    if a.owner.is_some() || cfg.routing.is_none() {
        return owner_of(cfg, root, a.owner.as_deref());
    }
    let mut probe = Mapping::new();
    if let Some(l) = lead {
        for (k, v) in &l.sets {
            insert_path(&mut probe, k, v);
        }
    }
    for s in &a.set {
        if let Ok((k, v)) = parse_assignment(s) {
            insert_path(&mut probe, &k, &v);
        }
    }
    if let Some(v) = &a.source {
        insert_path(&mut probe, "source", v);
    }
    let mut all = Pipeline::load(root)?;
    // The file an interrupted run of this lead left is not an
    // earlier lead: counted, it would turn the round-robin on.
    if left {
        all.deals.retain(|d| d.rel != rel);
    }
    match crate::intake::leads::route(cfg, &probe, &all.deals) {
        Some(o) => Ok(o),
        None => owner_of(cfg, root, None),
    }
}

/// The `value:` line of `--value`, and a `currency:` line when the amount
/// names a currency other than the pipeline's; refused when `--set` says
/// another currency.
fn value_lines(
    cfg: &Config,
    v: &str,
    sets: &[String],
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let mut out = format!("value: {}\n", typed_value(cfg, "value", v, now)?);
    // The currency the amount names (`USD 12`) is the deal's.
    let Some(named) = crate::model::fields::amount_currency(v) else {
        return Ok(out);
    };
    let given = sets
        .iter()
        .filter_map(|s| parse_assignment(s).ok())
        .find(|(k, _)| k == "currency")
        .map(|(_, c)| c);
    match given {
        Some(c) if !named.agrees(&c) => {
            return Err(Error::usage(
                format!(
                    "--value `{}` is an amount in {} but --set says currency={}",
                    v.trim(),
                    named.code_in(&c),
                    c.trim()
                ),
                "write the amount without a currency, or fix one of the two; nothing was written",
            ));
        }
        Some(_) => {}
        None => {
            let code = named.code_in(&cfg.currency);
            if !code.eq_ignore_ascii_case(&cfg.currency) {
                out.push_str(&format!("currency: {}\n", yaml_scalar(&code)));
            }
        }
    }
    Ok(out)
}

/// The front matter the flags give, in the order a new deal file has it:
/// title, company, owner, value, source, created, contact, stages.
/// `stamp` is `now` as written.
fn front_matter(
    cfg: &Config,
    a: &NewArgs,
    (title, owner, first): (&str, &str, &str),
    (now, stamp): (DateTime<Utc>, &str),
) -> Result<String, Error> {
    let mut fm = format!("title: {}\n", yaml_scalar(title));
    if let Some(c) = a.company.as_deref().filter(|c| !c.trim().is_empty()) {
        fm.push_str(&format!("company: {}\n", yaml_scalar(c.trim())));
    }
    fm.push_str(&format!("owner: {}\n", yaml_scalar(owner)));
    if let Some(v) = &a.value {
        fm.push_str(&value_lines(cfg, v, &a.set, now)?);
    }
    if let Some(s) = a.source.as_deref().filter(|s| !s.trim().is_empty()) {
        fm.push_str(&format!("source: {}\n", yaml_scalar(s.trim())));
    }
    fm.push_str(&format!("created: {stamp}\n"));
    let email = a.email.as_deref().filter(|s| !s.trim().is_empty());
    if let Some(e) = email
        && !crate::rules::criteria::is_email(e)
    {
        // The same rule as a `--json` payload's email and `format: email`.
        return Err(Error::usage(
            format!("--email `{}` is not an email address", e.trim()),
            "write e.g. `--email jane@acme.example`; nothing was written",
        ));
    }
    let phone = a.phone.as_deref().filter(|s| !s.trim().is_empty());
    if email.is_some() || phone.is_some() {
        fm.push_str("contact:\n");
        if let Some(e) = email {
            fm.push_str(&format!("  email: {}\n", yaml_scalar(e.trim())));
        }
        if let Some(ph) = phone {
            fm.push_str(&format!("  phone: {}\n", yaml_scalar(ph.trim())));
        }
    }
    fm.push_str(&format!("stages:\n  {first}: {stamp}\n"));
    Ok(fm)
}

/// The payload's fields (those no flag gives) and `--set`'s, written into
/// `text`, then the ICP score when pipeline.yaml sets icp rules.
fn apply_fields(
    cfg: &Config,
    a: &NewArgs,
    lead: Option<&Lead>,
    slug: &str,
    mut text: String,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let mut ops = Vec::new();
    if let Some(l) = lead {
        // Flags win over the payload.
        let flagged = |k: &str| match k {
            "company" => a.company.is_some(),
            "value" => a.value.is_some(),
            "source" => a.source.is_some(),
            "contact.email" => a.email.is_some(),
            "contact.phone" => a.phone.is_some(),
            _ => false,
        };
        for (k, v) in &l.sets {
            if flagged(k) {
                continue;
            }
            // Unmapped form answers are text as the form sent them: `0x1F`,
            // `1e3` or `true` stay strings, quoted as import quotes them.
            let yaml = if k.starts_with("form.") {
                yaml_scalar(v)
            } else {
                typed_value(cfg, k, v, now)?
            };
            ops.push(Op::set(k, yaml));
        }
    }
    for s in &a.set {
        let (k, v) = parse_assignment(s)?;
        crate::cli::set::refuse_odd_key(&k, slug, None, a.new_field)?;
        ops.push(Op::set(&k, typed_value(cfg, &k, &v, now)?));
    }
    if !ops.is_empty() {
        text = edit::apply(&text, &ops).map_err(|e| {
            let whose = match (lead.is_some(), a.set.is_empty()) {
                (true, true) => "the payload",
                (true, false) => "the payload or --set",
                _ => "--set",
            };
            Error::usage(
                format!("{whose}: {e}"),
                format!("check the keys of {whose}"),
            )
        })?;
    }
    // The ICP score, when pipeline.yaml sets icp rules.
    if let Some(op) = crate::intake::leads::icp_op(cfg, &text) {
        text =
            edit::apply(&text, &[op]).map_err(|e| Error::usage(format!("icp_score: {e}"), ""))?;
    }
    Ok(text)
}

pub fn run(ctx: &Ctx, a: NewArgs) -> Result<i32, Error> {
    if !a.commit.no_commit {
        crate::store::repo::prefetch_vars(&ctx.start);
    }
    crate::store::repo::cache_big_trees();
    let root = find_root(&ctx.start)?;
    let cfg = &crate::model::config::load(&root)?;
    // A form or webhook payload, read first so that a bad one is refused
    // before any other work.
    let lead = read_lead(cfg, a.json.as_deref())?;
    let title = title_of(a.title.as_deref(), lead.as_ref())?;
    let slug = slug_for(a.slug.as_deref(), &title)?;
    let first = cfg.stages.first().ok_or_else(|| {
        Error::usage("pipeline.yaml has no stages", "add stages to pipeline.yaml")
    })?;
    let rel = PathBuf::from(&cfg.deals_dir)
        .join(&first.dir)
        .join(format!("{slug}.md"));
    let left = left_or_taken(&root, cfg, &slug, &rel)?;
    let owner = route_owner(cfg, &root, &a, lead.as_ref(), left.is_some(), &rel)?;
    let now = format_ts(ctx.now);
    let fm = front_matter(cfg, &a, (&title, &owner, &first.id), (ctx.now, &now))?;
    let heading = crate::base::diag::one_line(&title);
    let mut text = format!("---\n{fm}---\n\n# {heading}\n");
    if let Some(l) = &lead
        && let Some(b) = &l.body
    {
        text.push_str(&format!("\n## Inbound message\n{}\n", b.trim_end()));
    }
    text = apply_fields(cfg, &a, lead.as_ref(), &slug, text, ctx.now)?;
    // A rerun after a kill: the file left behind is this lead (its own
    // `created` time aside), so it is recorded as it is.
    if let Some(old) = &left {
        if !same_lead(old, &text, &now) {
            return Err(taken(&slug, &rel));
        }
        text = old.clone();
    }
    crate::cli::record::refuse_too_big(&root, &rel, text.len())?;
    refuse_new_errors(cfg, &root, None, &rel, &text, ctx.now)?;
    if let Some(l) = &lead
        && !l.unmapped.is_empty()
        && !ctx.quiet
    {
        eprintln!(
            "note: payload keys that intake does not map were kept under form: {}",
            l.unmapped.join(", ")
        );
    }
    if a.dry_run {
        print!("{text}");
        if !ctx.quiet {
            eprintln!(
                "(dry run: would create {})",
                crate::base::diag::display_path(&root.join(&rel))
            );
        }
        return Ok(0);
    }
    let done = record(Recording {
        root: &root,
        cfg,
        old_rel: left.as_ref().map(|_| rel.as_path()),
        old_text: left.as_deref(),
        new_rel: &rel,
        new_text: &text,
        subject: format!("deal({slug}): new lead"),
        body: None,
        trailers: vec![
            ("Deal", slug.clone()),
            ("To-Stage", first.id.clone()),
            ("Owner", person(cfg, &owner)),
        ],
        no_commit: a.commit.no_commit,
    })?;
    if !ctx.quiet {
        println!(
            "Created {slug} in {}, owned by {owner}{}.",
            first.id,
            outcome(&done)
        );
        println!("  {}", crate::base::diag::display_path(&root.join(&rel)));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cli::import::tests::cfg;

    fn args(title: &str) -> NewArgs {
        NewArgs {
            title: Some(title.into()),
            json: None,
            company: None,
            owner: None,
            value: None,
            email: None,
            phone: None,
            source: None,
            slug: None,
            set: Vec::new(),
            new_field: false,
            commit: CommitFlag { no_commit: false },
            dry_run: false,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-03-10T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_slug_comes_from_the_title_unless_one_is_given() {
        assert_eq!(slug_for(None, "Acme Corp").unwrap(), "acme-corp");
        assert_eq!(slug_for(Some("acme-2"), "Acme Corp").unwrap(), "acme-2");
        let bad = slug_for(Some("Acme Corp"), "x").unwrap_err().to_string();
        assert!(bad.contains("`Acme Corp` is not a slug"), "{bad}");
        let reserved = slug_for(Some("con"), "x").unwrap_err().to_string();
        assert!(reserved.contains("reserved on Windows"), "{reserved}");
        let empty = slug_for(None, "!!!").unwrap_err().to_string();
        assert!(empty.contains("cannot make a slug"), "{empty}");
    }

    #[test]
    fn the_title_argument_wins_over_the_payload_and_may_not_be_blank() {
        let lead = Lead {
            sets: Vec::new(),
            body: None,
            title: "From the form".into(),
            unmapped: Vec::new(),
        };
        assert_eq!(title_of(Some(" Given "), Some(&lead)).unwrap(), "Given");
        assert_eq!(title_of(None, Some(&lead)).unwrap(), "From the form");
        assert!(title_of(Some("  "), None).is_err());
    }

    #[test]
    fn front_matter_has_the_flags_in_file_order() {
        let cfg = cfg();
        let mut a = args("Acme");
        a.company = Some(" Acme Inc ".into());
        a.value = Some("USD 1200".into());
        a.source = Some("website".into());
        a.email = Some("jane@acme.example".into());
        a.phone = Some("+1 555 0100".into());
        let fm = front_matter(
            &cfg,
            &a,
            ("Acme", "bob", "prospecting"),
            (now(), "2026-03-10T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            fm,
            "title: Acme\ncompany: Acme Inc\nowner: bob\nvalue: 1200\ncurrency: USD\n\
             source: website\ncreated: 2026-03-10T12:00:00Z\ncontact:\n  email: jane@acme.example\n  \
             phone: +1 555 0100\nstages:\n  prospecting: 2026-03-10T12:00:00Z\n"
        );
    }

    #[test]
    fn an_amount_in_one_currency_and_a_set_currency_of_another_are_refused() {
        let cfg = cfg();
        let sets = vec!["currency=GBP".to_string()];
        let e = value_lines(&cfg, "USD 12", &sets, now())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is an amount in USD but --set says currency=GBP"),
            "{e}"
        );
        // The pipeline's own currency needs no `currency:` line.
        assert_eq!(
            value_lines(&cfg, "EUR 12", &[], now()).unwrap(),
            "value: 12\n"
        );
    }

    #[test]
    fn a_bad_email_is_refused_before_anything_is_written() {
        let cfg = cfg();
        let mut a = args("Acme");
        a.email = Some("not-an-email".into());
        let e = front_matter(&cfg, &a, ("Acme", "bob", "prospecting"), (now(), "t"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--email `not-an-email` is not an email address"),
            "{e}"
        );
    }
}
