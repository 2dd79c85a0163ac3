//! `deal review BASE[..HEAD]`: the pull request's deal changes, judged by
//! the base's rules, as Markdown for a PR comment or as JSON.
//!
//! Its cost follows the pull request: one tree diff of the deals folder
//! between the merge-base and HEAD (pruned by subtree id), the blobs of the
//! slugs it touched (found by lookups in each stage folder), and the names
//! of HEAD's files outside the deals folder, for `file` criteria.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::model::config::Config;
use crate::reports::review::{self, Sides, slug_key};
use crate::rules::criteria::Evaluator;
use crate::store::files::{Content, Entry};
use crate::store::history::{self, TreeFile};
use crate::store::pipeline::{MAX_DEAL_BYTES, Pipeline, find_root, slug_of};
use crate::store::repo::Repo;

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// BASE, or BASE..HEAD (HEAD defaults to HEAD)
    #[arg(value_name = "BASE[..HEAD]")]
    pub range: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReviewFormat::Markdown)]
    pub format: ReviewFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReviewFormat {
    Markdown,
    Json,
}

/// A deal file name: `.md` (any case) under the deals folder, not hidden.
fn deal_name(path: &str, dir_slash: &str) -> bool {
    path.starts_with(dir_slash)
        && path.to_ascii_lowercase().ends_with(".md")
        && !path[dir_slash.len()..]
            .split('/')
            .any(|s| s.starts_with('.'))
}

/// A deal folder's file name as `deal` names files: `<slug>.md`, or the
/// `.gitkeep` that `deal init` writes.
fn good_name(p: &std::path::Path) -> bool {
    use crate::store::files::{NameKind, name_kind};
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    match name_kind(&name) {
        NameKind::Ignored => true,
        NameKind::Deal => name
            .strip_suffix(".md")
            .is_some_and(crate::base::slug::is_slug),
        NameKind::Bad => false,
    }
}

/// The base's rules with HEAD's folders: `deals_dir` and each stage's `dir`
/// as HEAD's pipeline.yaml has them, for the stages both have.
fn head_layout(
    base: &crate::model::config::Config,
    head: &crate::model::config::Config,
) -> crate::model::config::Config {
    let mut c = base.clone();
    c.deals_dir = head.deals_dir.clone();
    for s in &mut c.stages {
        if let Some(h) = head.stages.iter().find(|h| h.id == s.id) {
            s.dir = h.dir.clone();
        }
    }
    c
}

/// `BASE..HEAD`, `BASE...HEAD` or `BASE` as (base, head): HEAD when the
/// range names none.
fn split_range(range: &str) -> (&str, &str) {
    match range.split_once("...").or_else(|| range.split_once("..")) {
        Some((b, h)) => (b, if h.is_empty() { "HEAD" } else { h }),
        None => (range, "HEAD"),
    }
}

/// The rules a review judges by: the merge-base's pipeline.yaml, HEAD's
/// (or why it cannot be read), and the base's rules with HEAD's folders.
struct Configs {
    base: Config,
    head: Result<Config, String>,
    layout: Config,
    /// Whether pipeline.yaml differs between the merge-base and HEAD.
    changed: bool,
}

impl Configs {
    /// The merge-base's config `base` with HEAD's (commit `h`), read only
    /// when its pipeline.yaml differs.
    fn read(
        repo: &Repo,
        root: &std::path::Path,
        base: Config,
        h: git2::Oid,
        (base_root, head_root): (&git2::Tree, &git2::Tree),
    ) -> Configs {
        let config_id = |t: &git2::Tree| t.get_name(crate::model::config::FILE).map(|e| e.id());
        let changed = config_id(base_root) != config_id(head_root);
        let head = if changed {
            Pipeline::config_at(repo, root, h).map_err(|e| e.to_string())
        } else {
            Ok(base.clone())
        };
        // HEAD's files are read where HEAD's pipeline.yaml puts them (its
        // deals_dir and stage folders), and judged by the base's rules.
        let layout = match &head {
            Ok(hc) => head_layout(&base, hc),
            Err(_) => base.clone(),
        };
        Configs {
            base,
            head,
            layout,
            changed,
        }
    }

    /// Each base stage's probability as HEAD's pipeline.yaml sets it (the
    /// base's own where HEAD lacks the stage or cannot be read).
    fn head_probability(&self) -> Vec<f64> {
        head_probability(&self.base, self.head.as_ref().ok())
    }
}

/// See [`Configs::head_probability`].
fn head_probability(base: &Config, head: Option<&Config>) -> Vec<f64> {
    base.stages
        .iter()
        .map(|s| match head {
            Some(hc) => hc
                .stages
                .iter()
                .find(|x| x.id == s.id)
                .map_or(s.probability, |x| x.probability),
            None => s.probability,
        })
        .collect()
}

/// What the pull request touched in the deals folder.
struct Touched {
    /// The tree diff of the deals folder, paths relative to it.
    changed: Vec<history::Changed>,
    /// The slugs of the deal files it changed, case folded.
    slugs: HashSet<String>,
    /// Those slugs' files at HEAD, paths from the pipeline root.
    at_head: Vec<TreeFile>,
}

impl Touched {
    /// Diffs the deals folders (`base_dd`, `head_dd`, each with a trailing
    /// `/`) and finds the touched slugs' files in HEAD's stage folders.
    fn find(
        git: &git2::Repository,
        (base_root, head_root): (&git2::Tree, &git2::Tree),
        (base_dd, head_dd): (&str, &str),
        layout: &Config,
    ) -> Touched {
        let changed = history::diff(
            git,
            history::subtree(git, base_root, base_dd).as_ref(),
            history::subtree(git, head_root, head_dd).as_ref(),
        );
        let slugs: HashSet<String> = changed
            .iter()
            .filter(|c| deal_name(&format!("{head_dd}{}", c.path), head_dd))
            .map(|c| slug_key(&slug_of(std::path::Path::new(&c.path))))
            .collect();
        // Their files at HEAD: the changed ones, and `<slug>.md` in each stage
        // or outcome folder (a lookup, not a listing of ten thousand names).
        let mut at_head: Vec<TreeFile> = changed
            .iter()
            .filter_map(|c| c.new.clone())
            .map(|f| TreeFile {
                path: format!("{head_dd}{}", f.path),
                ..f
            })
            .filter(|f| deal_name(&f.path, head_dd))
            .collect();
        let dirs: Vec<&str> = layout
            .stages
            .iter()
            .map(|s| s.dir.as_str())
            .chain([crate::model::config::WON, crate::model::config::LOST])
            .collect();
        for key in &slugs {
            for dir in &dirs {
                let path = format!("{head_dd}{dir}/{key}.md");
                if at_head.iter().any(|f| f.path == path) {
                    continue;
                }
                if let Ok(e) = head_root.get_path(std::path::Path::new(&path))
                    && e.kind() == Some(git2::ObjectType::Blob)
                {
                    at_head.push(TreeFile {
                        path,
                        id: e.id(),
                        mode: e.filemode(),
                    });
                }
            }
        }
        Touched {
            changed,
            slugs,
            at_head,
        }
    }

    /// The files at HEAD, grouped by slug key.
    fn by_slug(&self) -> BTreeMap<String, Vec<&TreeFile>> {
        let mut by_slug: BTreeMap<String, Vec<&TreeFile>> = BTreeMap::new();
        for f in &self.at_head {
            by_slug
                .entry(slug_key(&slug_of(std::path::Path::new(&f.path))))
                .or_default()
                .push(f);
        }
        by_slug
    }

    /// Changed files under HEAD's deals folder `head_dd` whose name is not
    /// one `deal` gives.
    fn bad_names(&self, head_dd: &str) -> Vec<PathBuf> {
        self.changed
            .iter()
            .filter(|c| c.new.is_some())
            .map(|c| PathBuf::from(format!("{head_dd}{}", c.path)))
            .filter(|p| !good_name(p))
            .collect()
    }

    /// The entries of the touched deals at the merge-base and at HEAD: each
    /// touched file at HEAD, the same file at the base where the pull
    /// request left it alone, and the base's side of each changed file.
    fn entries(
        &self,
        repo: &Repo,
        by_slug: &BTreeMap<String, Vec<&TreeFile>>,
        (base_dd, head_dd): (&str, &str),
    ) -> (Vec<Entry>, Vec<Entry>) {
        let entry = |f: &TreeFile, path: String| Entry {
            rel: PathBuf::from(path),
            content: if f.is_symlink() {
                Content::Symlink
            } else {
                repo.blob(f.id, MAX_DEAL_BYTES as usize)
            },
        };
        let changed_at_head: HashSet<String> = self
            .changed
            .iter()
            .map(|c| format!("{head_dd}{}", c.path))
            .collect();
        let mut head_entries = Vec::new();
        let mut base_entries = Vec::new();
        for key in &self.slugs {
            for f in by_slug.get(key).into_iter().flatten() {
                head_entries.push(entry(f, f.path.clone()));
                if !changed_at_head.contains(&f.path) {
                    // Unchanged: the same file is at the merge-base.
                    let rel = f.path.strip_prefix(head_dd).unwrap_or(&f.path);
                    base_entries.push(entry(f, format!("{base_dd}{rel}")));
                }
            }
        }
        for c in &self.changed {
            let path = format!("{base_dd}{}", c.path);
            if let Some(old) = &c.old
                && deal_name(&path, base_dd)
            {
                base_entries.push(entry(old, path));
            }
        }
        (base_entries, head_entries)
    }
}

/// A slug in two places at HEAD that the pull request touched: one it
/// brought in, or a copy it added beside one that was there.
fn duplicates(by_slug: &BTreeMap<String, Vec<&TreeFile>>) -> Vec<(String, Vec<PathBuf>)> {
    by_slug
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| {
            let mut paths: Vec<PathBuf> = v.iter().map(|f| PathBuf::from(&f.path)).collect();
            paths.sort();
            (k.clone(), paths)
        })
        .collect()
}

pub fn run(ctx: &Ctx, a: ReviewArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let repo = Repo::require(&root, "deal review compares commits")?;
    let (base, head) = split_range(&a.range);
    let b = repo.commit_of(base)?;
    let h = repo.commit_of(head)?;
    // The usual pull request starts at the base's tip; otherwise git's own
    // merge-base (libgit2's, which walks the history).
    let mb = if history::reaches(repo.git(), h, b, 2_000) {
        b
    } else {
        repo.merge_base(b, h)?
    };
    let git = repo.git();
    let base_cfg = Pipeline::config_at(&repo, &root, mb)?;
    let base_root = repo.tree_at(mb, &root)?;
    let head_root = repo.tree_at(h, &root)?;
    let cfgs = Configs::read(&repo, &root, base_cfg, h, (&base_root, &head_root));
    let base_cfg = &cfgs.base;
    let base_dd = format!("{}/", base_cfg.deals_dir.trim_end_matches('/'));
    let head_dd = format!("{}/", cfgs.layout.deals_dir.trim_end_matches('/'));
    let dds = (base_dd.as_str(), head_dd.as_str());
    let touched = Touched::find(git, (&base_root, &head_root), dds, &cfgs.layout);
    let by_slug = touched.by_slug();
    let duplicates = duplicates(&by_slug);
    let bad_names = touched.bad_names(&head_dd);
    let (base_entries, head_entries) = touched.entries(&repo, &by_slug, dds);
    let base_p = Pipeline::from_entries(root.clone(), base_cfg.clone(), base_entries);
    let head_p = Pipeline::from_entries(root.clone(), cfgs.layout.clone(), head_entries);
    head_p.warn_unreadable();
    // For `file` criteria: HEAD's files outside the deals folder (contracts
    // and the like), and the touched deals' own.
    let files: HashSet<String> = history::list_except(&head_root, &head_dd)
        .into_iter()
        .map(|f| f.path)
        .chain(touched.at_head.iter().map(|f| f.path.clone()))
        .collect();
    let ev = Evaluator::with_files(base_cfg, files);
    let commits = history::range(git, h, mb);
    let authors = authors(&repo, &root, &commits, &head_dd, &touched.slugs);
    let excusals = excusals(&repo, &root, &cfgs, &commits);
    let head_probability = cfgs.head_probability();
    let reweighted = reweighted(&repo, &root, h, &cfgs, &head_probability, &touched.slugs);
    let r = review::review(
        Sides {
            base_cfg,
            head_cfg: cfgs.head.as_ref().map_err(Clone::clone),
            base: &base_p.deals,
            head: &head_p.deals,
            head_problems: &head_p.problems,
            duplicates: &duplicates,
            config_changed: cfgs.changed,
            bad_names: &bad_names,
            base_id: mb.to_string(),
            head_id: h.to_string(),
            authors: &authors,
            excusals: &excusals,
            reweighted: &reweighted,
            head_probability: &head_probability,
        },
        &ev,
        &commits,
    );
    match a.format {
        ReviewFormat::Markdown => print!("{}", review::markdown(&r)),
        ReviewFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".into())
        ),
    }
    Ok(if r.violations > 0 { 1 } else { 0 })
}

/// Each explained `Criteria-Change:` commit with the weakenings its own
/// tree holds: it excuses its own and earlier ones, never a later one.
/// Read only when pipeline.yaml changed and HEAD's weakens the base's.
fn excusals(
    repo: &Repo,
    root: &std::path::Path,
    cfgs: &Configs,
    commits: &[history::Commit],
) -> Vec<(String, Vec<String>)> {
    let mut excusals = Vec::new();
    if cfgs.changed
        && let Ok(hc) = &cfgs.head
        && !review::weakenings(&cfgs.base, hc).is_empty()
    {
        for c in commits {
            // The one reading of a reason, a squash's body included.
            let Some(reason) = history::criteria_reason(repo.git(), c) else {
                continue;
            };
            let weak = match Pipeline::config_at(repo, root, c.id) {
                Ok(cfg) => review::weakenings(&cfgs.base, &cfg),
                Err(_) => Vec::new(),
            };
            excusals.push((reason.trim().to_string(), weak));
        }
    }
    excusals
}

/// By currency, how much the weighted value of the open deals the pull
/// request did not touch moves with HEAD's probabilities: HEAD's other
/// deals are read only when a probability changed.
fn reweighted(
    repo: &Repo,
    root: &std::path::Path,
    h: git2::Oid,
    cfgs: &Configs,
    head_probability: &[f64],
    touched: &HashSet<String>,
) -> BTreeMap<String, crate::base::money::Amount> {
    let base_cfg = &cfgs.base;
    let mut reweighted: BTreeMap<String, crate::base::money::Amount> = BTreeMap::new();
    if head_probability
        .iter()
        .zip(&base_cfg.stages)
        .any(|(p, s)| *p != s.probability)
        && let Ok((all, _)) = Pipeline::at_commit_with(repo, root, h, cfgs.layout.clone())
    {
        let factor = |p: f64| crate::base::money::from_f64(p).unwrap_or_default();
        for d in &all.deals {
            if touched.contains(&slug_key(&d.slug)) {
                continue;
            }
            if let crate::model::deal::Place::Stage(i) = d.place {
                let v = d.fields.value.unwrap_or_default();
                let w =
                    v * factor(head_probability[i]) - v * factor(base_cfg.stages[i].probability);
                *reweighted
                    .entry(review::currency_of(base_cfg, d))
                    .or_default() += w;
            }
        }
    }
    reweighted
}

/// For each touched slug (and `pipeline.yaml`), the `Name <email>` of every
/// commit in the range that changed it, oldest first: a commit's tree diff
/// of the deals folder against its parent (a merge counts a file only where
/// it differs from every parent, as a merge's own resolution). Read from the
/// raw objects (commit headers, tree ids, `history::diff_raw`), so the cost
/// is the range's, not the pipeline's.
fn authors(
    repo: &Repo,
    root: &std::path::Path,
    commits: &[history::Commit],
    deals_dir: &str,
    touched: &HashSet<String>,
) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    let Ok(odb) = repo.git().odb() else {
        return out;
    };
    let prefix = repo.rel(root).unwrap_or_default();
    let mut missing = Vec::new();
    // The pipeline root's tree, its deals folder and pipeline.yaml.
    let mut ids = |commit: git2::Oid| -> Option<(Option<git2::Oid>, Option<git2::Oid>)> {
        let tree = history::header(&odb, commit)?.tree;
        let root = history::dir_id(&odb, tree, &prefix, &mut missing)?;
        Some((
            history::dir_id(&odb, root, deals_dir, &mut missing),
            history::file_id(&odb, root, crate::model::config::FILE, &mut missing),
        ))
    };
    for c in commits {
        let who = &c.author;
        let add = |out: &mut std::collections::HashMap<String, Vec<String>>, key: String| {
            let list = out.entry(key).or_default();
            list.retain(|w| w != who);
            list.push(who.clone());
        };
        // A commit of deal's own (`Deal:` among its own trailers, one
        // parent, not an import) holds that one deal's change and nothing
        // else (README, "Commits"): no tree needs reading.
        if c.parents.len() == 1
            && c.trailer("Imported").is_none()
            && let Some(slug) = c.trailer("Deal")
        {
            let key = slug_key(slug.trim());
            if touched.contains(&key) {
                add(&mut out, key);
            }
            continue;
        }
        let Some((deals, config)) = ids(c.id) else {
            continue;
        };
        let parents: Vec<(Option<git2::Oid>, Option<git2::Oid>)> =
            c.parents.iter().filter_map(|p| ids(*p)).collect();
        let mut slugs: Option<HashSet<String>> = None;
        let mut config_changed = !parents.is_empty();
        let keys = |old: Option<git2::Oid>| -> HashSet<String> {
            history::diff_raw(&odb, old, deals, &mut Vec::new())
                .into_iter()
                .map(|ch| slug_key(&slug_of(std::path::Path::new(&ch.path))))
                .filter(|k| touched.contains(k))
                .collect()
        };
        if parents.is_empty() {
            slugs = Some(keys(None));
        }
        for (p_deals, p_config) in &parents {
            let here = keys(*p_deals);
            slugs = Some(match slugs {
                None => here,
                Some(s) => s.intersection(&here).cloned().collect(),
            });
            config_changed &= *p_config != config;
        }
        for s in slugs.unwrap_or_default() {
            add(&mut out, s);
        }
        if config_changed {
            add(&mut out, crate::model::config::FILE.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Config {
        crate::model::config::parse(
            yaml,
            std::path::Path::new("pipeline.yaml"),
            &crate::model::notes::Templates::builtin_only(),
        )
        .unwrap()
    }

    #[test]
    fn a_range_without_a_head_reviews_up_to_head() {
        assert_eq!(split_range("main"), ("main", "HEAD"));
        assert_eq!(split_range("main.."), ("main", "HEAD"));
        assert_eq!(split_range("main..topic"), ("main", "topic"));
        assert_eq!(split_range("main...topic"), ("main", "topic"));
    }

    #[test]
    fn head_probability_takes_heads_figure_and_keeps_the_base_where_head_lacks_the_stage() {
        let base =
            cfg("stages:\n  - id: a\n    probability: 0.1\n  - id: b\n    probability: 0.5\n");
        let head = cfg("stages:\n  - id: a\n    probability: 0.3\n");
        assert_eq!(head_probability(&base, Some(&head)), vec![0.3, 0.5]);
        assert_eq!(head_probability(&base, None), vec![0.1, 0.5]);
    }

    #[test]
    fn deal_files_are_markdown_under_the_deals_folder_outside_hidden_folders() {
        assert!(deal_name("deals/01-a/acme.md", "deals/"));
        assert!(deal_name("deals/01-a/Acme.MD", "deals/"));
        assert!(!deal_name("deals/.trash/acme.md", "deals/"));
        assert!(!deal_name("notes/acme.md", "deals/"));
        assert!(!deal_name("deals/01-a/acme.txt", "deals/"));
    }
}
