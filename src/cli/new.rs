//! `deal new TITLE …`: lead capture. Creates the deal in the first stage,
//! with `created` and `stages.<first>` set, and commits.

use std::path::PathBuf;

use crate::base::error::Error;
use crate::cli::args::NewArgs;
use crate::cli::ctx::Ctx;
use crate::cli::record::outcome;
use crate::cli::record::{Recording, person, record, refuse_new_errors};
use crate::cli::set::{parse_assignment, typed_value};
use crate::model::config::{Config, yaml_scalar};
use crate::store::pipeline::{Pipeline, files_named, find_root};
use crate::yaml::edit::{self, Op};
use serde_yaml::{Mapping, Value};

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
        crate::rules::transition::check_member(cfg, o, "--owner")?;
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

pub fn run(ctx: &Ctx, a: NewArgs) -> Result<i32, Error> {
    if !a.commit.no_commit {
        crate::store::repo::prefetch_vars(&ctx.start);
    }
    crate::store::repo::cache_big_trees();
    let root = find_root(&ctx.start)?;
    let cfg = &crate::model::config::load(&root)?;
    // A form or webhook payload, read first so that a bad one is refused
    // before any other work.
    let lead = match &a.json {
        Some(src) => {
            let text = if src == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| Error::io("-", e))?;
                s
            } else {
                std::fs::read_to_string(src).map_err(|e| Error::io(src, e))?
            };
            Some(crate::intake::leads::read_payload(cfg, &text)?)
        }
        None => None,
    };
    let title = a
        .title
        .clone()
        .or_else(|| lead.as_ref().map(|l| l.title.clone()))
        .unwrap_or_default()
        .trim()
        .to_string();
    if title.is_empty() {
        return Err(Error::usage(
            "the title is empty",
            "deal new \"Acme Corp, Kubernetes migration\"",
        ));
    }
    let slug = match &a.slug {
        Some(s) if is_slug(s) => s.clone(),
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
        None => slugify(&title),
    };
    if slug.is_empty() {
        return Err(Error::usage(
            format!("cannot make a slug from the title \"{title}\""),
            "pass --slug, e.g. --slug acme-corp",
        ));
    }
    let first = cfg.stages.first().ok_or_else(|| {
        Error::usage("pipeline.yaml has no stages", "add stages to pipeline.yaml")
    })?;
    let rel = PathBuf::from(&cfg.deals_dir)
        .join(&first.dir)
        .join(format!("{slug}.md"));
    let taken = |r: &std::path::Path| {
        Error::usage(
            format!(
                "a deal with the slug `{slug}` exists already: {}",
                r.display()
            ),
            format!("pass --slug to name this one differently, e.g. --slug {slug}-2"),
        )
    };
    // The slug is taken, unless by the new file an interrupted `deal new`
    // left whole (checked against this run's text below).
    let mut left = None;
    let named = files_named(&root, cfg, &slug);
    if let Some(r) = named
        .first()
        .map(|e| e.rel.clone())
        .or_else(|| case_twin(&root, cfg, &slug))
    {
        left = (named.len() == 1 && r == rel)
            .then(|| left_behind(&root, &rel))
            .flatten();
        if left.is_none() {
            return Err(taken(&r));
        }
    }
    // The owner: --owner, else routing, else the git user's team member.
    let owner = match (&a.owner, &cfg.routing) {
        (None, Some(_)) => {
            let mut probe = Mapping::new();
            if let Some(l) = &lead {
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
            let mut all = Pipeline::load(&root)?;
            // The file an interrupted run of this lead left is not an
            // earlier lead: counted, it would turn the round-robin on.
            if left.is_some() {
                all.deals.retain(|d| d.rel != rel);
            }
            match crate::intake::leads::route(cfg, &probe, &all.deals) {
                Some(o) => o,
                None => owner_of(cfg, &root, None)?,
            }
        }
        _ => owner_of(cfg, &root, a.owner.as_deref())?,
    };
    let now = format_ts(ctx.now);
    let mut fm = format!("title: {}\n", yaml_scalar(&title));
    if let Some(c) = a.company.as_deref().filter(|c| !c.trim().is_empty()) {
        fm.push_str(&format!("company: {}\n", yaml_scalar(c.trim())));
    }
    fm.push_str(&format!("owner: {}\n", yaml_scalar(&owner)));
    if let Some(v) = &a.value {
        fm.push_str(&format!(
            "value: {}\n",
            typed_value(cfg, "value", v, ctx.now)?
        ));
        // The currency the amount names (`USD 12`) is the deal's.
        if let Some(named) = crate::model::fields::amount_currency(v) {
            let given = a
                .set
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
                        fm.push_str(&format!("currency: {}\n", yaml_scalar(&code)));
                    }
                }
            }
        }
    }
    if let Some(s) = a.source.as_deref().filter(|s| !s.trim().is_empty()) {
        fm.push_str(&format!("source: {}\n", yaml_scalar(s.trim())));
    }
    fm.push_str(&format!("created: {now}\n"));
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
    fm.push_str(&format!("stages:\n  {}: {now}\n", first.id));
    let heading = crate::base::diag::one_line(&title);
    let mut text = format!("---\n{fm}---\n\n# {heading}\n");
    if let Some(l) = &lead
        && let Some(b) = &l.body
    {
        text.push_str(&format!("\n## Inbound message\n{}\n", b.trim_end()));
    }
    let mut ops = Vec::new();
    if let Some(l) = &lead {
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
                typed_value(cfg, k, v, ctx.now)?
            };
            ops.push(Op::set(k, yaml));
        }
    }
    {
        for s in &a.set {
            let (k, v) = parse_assignment(s)?;
            crate::cli::set::refuse_odd_key(&k, &slug, None, a.new_field)?;
            ops.push(Op::set(&k, typed_value(cfg, &k, &v, ctx.now)?));
        }
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
    // A rerun after a kill: the file left behind is this lead (its own
    // `created` time aside), so it is recorded as it is.
    if let Some(old) = &left {
        if !same_lead(old, &text, &now) {
            return Err(taken(&rel));
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
