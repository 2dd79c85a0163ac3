//! `deal report [-o DIR] [--rev REV] [--since REV|DATE]`: the static HTML
//! report, and `deal stats`: the same numbers in the terminal.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::{StatsFormat, WideFlag};
use crate::cli::output;
use crate::reports::board::money;
use crate::reports::report::{self, Changes};
use crate::reports::stats::Stats;
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::{Pipeline, find_root};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output folder (default: report/ under the pipeline root)
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Render the pipeline as it was at this commit (read from git; the working tree is untouched)
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Show what changed since this revision or date (YYYY-MM-DD)
    #[arg(long, value_name = "REV|DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = StatsFormat::Human)]
    pub format: StatsFormat,
    #[command(flatten)]
    pub wide: WideFlag,
}

/// The pipeline now, or at `rev`, with the evaluator that fits it.
fn load(
    root: &Path,
    rev: Option<&str>,
) -> Result<(Pipeline, Option<std::collections::HashSet<String>>), Error> {
    match rev {
        Some(r) => {
            let (p, files) = Pipeline::at_rev(root, r)?;
            Ok((p, Some(files)))
        }
        None => Ok((Pipeline::load(root)?, None)),
    }
}

/// The pipeline at `--since`: a revision, or a date (the last commit on
/// HEAD at or before it).
fn since(root: &Path, arg: &str) -> Result<(Pipeline, String), Error> {
    if let Some(t) = crate::base::time::parse_timestamp(arg) {
        let repo = crate::store::repo::Repo::require(root, "--since reads git history")?;
        return match repo.commit_before(t)? {
            Some(oid) => {
                let (p, _) = Pipeline::at_commit(&repo, root, oid)?;
                Ok((p, arg.to_string()))
            }
            None => Err(Error::usage(
                format!("no commit on HEAD is as old as {arg}"),
                "give a later date, or a revision",
            )),
        };
    }
    let (p, _) = Pipeline::at_rev(root, arg)?;
    Ok((p, arg.to_string()))
}

pub fn run_report(ctx: &Ctx, a: ReportArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    // Trends come from HEAD's history; a pipeline outside git, or a report
    // of an older commit (--rev), has none to draw. They are read while the
    // pipeline loads: a third of the report's time, and the two share
    // nothing.
    std::thread::scope(|s| {
        let trend = s.spawn(|| match (&a.rev, crate::store::repo::Repo::open(&root)) {
            (None, Some(_)) => {
                match crate::reports::trend::compute(
                    &root,
                    crate::reports::trend::Every::Week,
                    12,
                    ctx.now,
                ) {
                    Ok(t) => {
                        super::trend::warn_history(&t);
                        Some(t)
                    }
                    Err(e) => {
                        eprintln!("warning: the report has no Trends section: {e}");
                        None
                    }
                }
            }
            _ => None,
        });
        report_with(ctx, &a, &root, || trend.join().ok().flatten())
    })
}

fn report_with(
    ctx: &Ctx,
    a: &ReportArgs,
    root: &Path,
    trend: impl FnOnce() -> Option<crate::reports::trend::Trend>,
) -> Result<i32, Error> {
    let root = root.to_path_buf();
    let (p, files) = load(&root, a.rev.as_deref())?;
    ctx.trace_pipeline(
        &p,
        &a.rev
            .as_ref()
            .map_or("work tree".to_string(), |r| format!("commit {r}")),
    );
    p.warn_unreadable();
    let ev = Evaluator::for_files(&p.cfg, &p.root, files);
    let stats = Stats::compute(&p, ctx.now);
    let changes = match &a.since {
        Some(s) => {
            let (old, label) = since(&root, s)?;
            Some(Changes::between(&old, &p, label))
        }
        None => None,
    };
    let trend = trend();
    // Links are refused below the -o folder, or from the root down for the
    // default report/ (docs/safety.md, "Symbolic links").
    let (base, prefix) = match &a.output {
        Some(o) => (o.clone(), PathBuf::new()),
        None => (root.clone(), PathBuf::from("report")),
    };
    let out = base.join(&prefix);
    if a.output.is_some() {
        refuse_pipeline_folders(&root, &p.cfg.deals_dir, &out)?;
    }
    let paths = report::page_paths(&p);
    prepare_pages(&base, &prefix, &paths)?;
    report::render(
        &p,
        &ev,
        &stats,
        ctx.now,
        changes.as_ref(),
        trend.as_ref(),
        &|rel: &Path, html: &str| {
            let dir = out.join(rel.parent().unwrap_or(Path::new("")));
            let name = rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            crate::base::safepath::write_in_checked_dir(&dir, &name, html.as_bytes())
        },
    )?;
    let pages = paths;
    if !ctx.quiet {
        let index = std::fs::canonicalize(out.join("index.html")).unwrap_or(out.join("index.html"));
        println!(
            "Wrote {} and {} deal page{}.",
            crate::base::diag::display_path(&out.join("index.html")),
            pages.len() - 1,
            if pages.len() == 2 { "" } else { "s" }
        );
        println!("Open file://{}", index.display());
    }
    Ok(0)
}

/// `p` made absolute and real: `.` and `..` resolved by name, then the
/// longest part that exists resolved to its real path (so a folder not
/// made yet still compares with the real pipeline root).
fn real_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut norm = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                norm.pop();
            }
            Component::CurDir => {}
            other => norm.push(other),
        }
    }
    let mut tail = Vec::new();
    let mut head = norm.as_path();
    loop {
        if let Ok(r) = std::fs::canonicalize(head) {
            let mut r = r;
            r.extend(tail.iter().rev());
            return r;
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                head = parent;
            }
            _ => return norm,
        }
    }
}

/// Refuses (exit 2) an `-o` folder whose pages would land in the deals
/// folder (where `deals/<slug>.html` is read as a deal's twin or a stage
/// folder) or in the git directory (docs/reference.md, "The report").
fn refuse_pipeline_folders(root: &Path, deals_dir: &str, out: &Path) -> Result<(), Error> {
    let deals = real_path(&root.join(deals_dir));
    let git = crate::store::repo::Repo::open(root).map(|r| real_path(r.git().path()));
    let out_real = real_path(out);
    for folder in [out_real.clone(), out_real.join("deals")] {
        let what = if folder.starts_with(&deals) {
            format!("the deals folder ({deals_dir})")
        } else if git.as_ref().is_some_and(|g| folder.starts_with(g)) {
            "the git directory".to_string()
        } else {
            continue;
        };
        return Err(Error::usage(
            format!(
                "-o {}: the report's pages would land in {what}",
                out.display()
            ),
            "pass a folder outside the deals folder and .git, e.g. -o report",
        ));
    }
    Ok(())
}

/// The manifest `deal report` keeps in its output folder: the pages of its
/// own last run, one relative path a line. Only those are ever replaced or
/// deleted (docs/safety.md, "Only what deal wrote").
pub const MANIFEST: &str = ".deal-report";

/// Whether `rel` is a path a report page can have (`index.html`,
/// `deals/<name>.html`): a manifest line naming anything else (`../x`, a
/// hidden file, a folder deeper down) is ignored, so a planted manifest
/// can never make `deal report` delete another file.
fn is_page_path(rel: &str) -> bool {
    if rel == "index.html" {
        return true;
    }
    match rel.strip_prefix("deals/") {
        Some(name) => {
            name.ends_with(".html")
                && !name.starts_with('.')
                && !name.contains(['/', '\\'])
                && name.len() > ".html".len()
        }
        None => false,
    }
}

/// The pages the last run listed in `dir/.deal-report` (none when there is
/// no manifest; a link there is refused).
fn read_manifest(dir: &Path) -> Result<std::collections::HashSet<String>, Error> {
    let path = dir.join(MANIFEST);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(crate::base::safepath::link_error(&path));
        }
        Ok(m) if !m.is_file() => {
            return Err(Error::usage(
                format!(
                    "{} is not a file deal report wrote",
                    crate::base::diag::display_path(&path)
                ),
                "move it away, or pass another -o folder",
            ));
        }
        Ok(_) => {}
        Err(_) => return Ok(Default::default()),
    }
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .filter(|l| is_page_path(l))
        .map(str::to_string)
        .collect())
}

/// Whether the file at `path` is a page deal report wrote: its head names
/// deal as its generator. Required, beside the manifest's word, of every
/// file replaced or deleted; without a manifest such a folder (a report
/// from before deal kept one) is taken over once.
fn earlier_page(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 2048];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).contains(r#"<meta name="generator" content="deal">"#)
}

/// Makes the output folders ready for `pages` (paths relative to
/// `base/prefix`) and removes the deal pages of the last run whose deals
/// are gone. Everything is checked before anything is written: no symlink
/// below `base` is followed, the folders' (every component) and each
/// page's own name; a file in a page's place that the last run did not
/// write (it is not in the manifest, `.deal-report`, or is no page of
/// deal's) is an error naming it, and only pages the manifest lists are
/// ever deleted. The manifest is
/// written before the pages, listing them, so a report killed half way is
/// still its own to replace. The pages are then opened without following
/// a link (`safepath::write_in_checked_dir`).
fn prepare_pages(base: &Path, prefix: &Path, pages: &[PathBuf]) -> Result<(), Error> {
    let mut folders: Vec<PathBuf> = pages
        .iter()
        .map(|p| prefix.join(p.parent().unwrap_or(Path::new(""))))
        .chain([prefix.join("deals")])
        .collect();
    folders.sort();
    folders.dedup();
    for f in &folders {
        crate::base::safepath::check(base, f)?;
    }
    let out = base.join(prefix);
    let ours = read_manifest(&out)?;
    let no_manifest = std::fs::symlink_metadata(out.join(MANIFEST)).is_err();
    let rel_str = |p: &Path| p.to_string_lossy().replace('\\', "/");
    for rel in pages {
        let path = out.join(rel);
        let Ok(m) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if m.file_type().is_symlink() {
            return Err(crate::base::safepath::link_error(&path));
        }
        // Listed in the manifest (or no manifest yet), and a page deal
        // wrote: a manifest planted or committed beside a user's own files
        // never hands them over.
        let own =
            m.is_file() && (no_manifest || ours.contains(&rel_str(rel))) && earlier_page(&path);
        if !own {
            return Err(Error::usage(
                format!(
                    "{} is in the way: deal report did not write it (it is not in {})",
                    crate::base::diag::display_path(&path),
                    crate::base::diag::display_path(&out.join(MANIFEST))
                ),
                "move the file away, or pass another folder with -o; deal report replaces only the pages of its own earlier runs",
            ));
        }
    }
    for f in &folders {
        crate::base::safepath::create_dirs(base, f)?;
    }
    let keep: std::collections::HashSet<String> = pages.iter().map(|p| rel_str(p)).collect();
    for old in ours.iter().filter(|o| !keep.contains(*o)) {
        let path = out.join(old);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) && earlier_page(&path) {
            let _ = std::fs::remove_file(&path);
        }
    }
    let mut list: Vec<&String> = keep.iter().collect();
    list.sort();
    let text: String = list.iter().map(|l| format!("{l}\n")).collect();
    crate::base::safepath::write_file(&out, Path::new(MANIFEST), text.as_bytes())
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map(f).unwrap_or_else(|| "–".into())
}

pub fn run_stats(ctx: &Ctx, a: StatsArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    // The figures read typed fields only: each deal is shrunk as it is
    // parsed, so ten thousand never hold their text at once.
    let p = Pipeline::load_slim(&root)?;
    ctx.trace_pipeline(&p, "work tree");
    p.warn_unreadable();
    let s = Stats::compute(&p, ctx.now);
    if a.format == StatsFormat::Json {
        let v = stats_json(&p, &s, ctx.now);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
        );
        return Ok(0);
    }
    print!("{}", stats_text(&s, output::table_width(a.wide.wide)));
    Ok(0)
}

/// `deal stats --format json`: the figures, with the current month's
/// forecast beside them (so a dashboard reads one document) and the deal
/// files left out.
fn stats_json(p: &Pipeline, s: &Stats, now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    let f = crate::reports::forecast::Forecast::compute(
        &p.cfg,
        &p.deals,
        now,
        crate::reports::forecast::By::Month,
        1,
        None,
    );
    if let Some(m) = v.as_object_mut() {
        if let Some(period) = f.periods.first() {
            m.insert(
                "forecast".into(),
                serde_json::to_value(period).unwrap_or_default(),
            );
        }
        m.insert(
            "unreadable".into(),
            serde_json::to_value(p.unreadable()).unwrap_or_default(),
        );
    }
    v
}

/// A share as a percentage with one decimal: `0.25` is `25.0%`.
fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// `deal stats` in the terminal: the headline figures, the stage table,
/// the lost reasons (when any), the owner table, and the deals left out
/// of the sums for their currency.
fn stats_text(s: &Stats, width: usize) -> String {
    let cur = &s.currency;
    let mut out = stats_headline(s);
    out.push_str(&output::table(
        &[
            "STAGE",
            "OPEN",
            "VALUE",
            "WEIGHTED",
            "ENTERED",
            "WENT ON",
            "CONVERSION",
            "MEDIAN DAYS",
            "LOST HERE",
        ],
        &stage_rows(s),
        width,
    ));
    if !s.lost_reasons.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = s
            .lost_reasons
            .iter()
            .map(|r| vec![r.stage.clone(), r.reason.clone(), r.count.to_string()])
            .collect();
        out.push_str(&output::table(
            &["LOST AT", "REASON", "DEALS"],
            &rows,
            width,
        ));
    }
    out.push('\n');
    out.push_str(&output::table(
        &["OWNER", "OPEN", "VALUE", "WON", "LOST", "FORCED", "WAIVERS"],
        &owner_rows(s),
        width,
    ));
    if !s.currency_mismatch.is_empty() {
        out.push_str(&format!(
            "\nLeft out of the sums (not in {cur}): {}\n",
            s.currency_mismatch.join(", ")
        ));
    }
    out
}

/// The three lines above the tables: deals and win rate, the open
/// pipeline and its pace, and speed to lead; then a blank line.
fn stats_headline(s: &Stats) -> String {
    let cur = &s.currency;
    let mut out = String::new();
    out.push_str(&format!(
        "{} deals: {} open, {} won, {} lost. Win rate {}. Won {} {cur} (average {}).\n",
        s.deals,
        s.open,
        s.won,
        s.lost,
        opt(s.win_rate, pct),
        money(s.won_value),
        opt(s.avg_won_value, |v| format!("{} {cur}", money(v)))
    ));
    out.push_str(&format!(
        "Open pipeline {} {cur}, weighted {} {cur}. Sales cycle {} (median). Velocity {}.\n",
        money(s.open_value),
        money(s.weighted_pipeline),
        opt(s.cycle_days_median, |d| format!("{d:.1} days")),
        opt(s.velocity_per_day, |v| format!("{} {cur}/day", money(v)))
    ));
    out.push_str(&format!(
        "Speed to lead: {} inbound, {} contacted within {}, median {}.\n\n",
        s.speed_to_lead.inbound,
        s.speed_to_lead.within_target,
        crate::base::time::human_minutes(s.speed_to_lead.target_minutes as f64),
        opt(
            s.speed_to_lead_minutes_median,
            crate::base::time::human_minutes
        )
    ));
    out
}

/// The stage table's rows, one per stage, in the columns of its header.
fn stage_rows(s: &Stats) -> Vec<Vec<String>> {
    s.stages
        .iter()
        .map(|st| {
            vec![
                st.id.clone(),
                st.open.to_string(),
                money(st.value),
                money(st.weighted_value),
                st.entered.to_string(),
                st.went_on.to_string(),
                opt(st.conversion, pct),
                opt(st.median_days, |d| format!("{d:.1}")),
                st.lost_here.to_string(),
            ]
        })
        .collect()
}

/// The owner table's rows, one per owner, in the columns of its header.
fn owner_rows(s: &Stats) -> Vec<Vec<String>> {
    s.owners
        .iter()
        .map(|o| {
            vec![
                o.owner.clone(),
                o.open.to_string(),
                money(o.value),
                o.won.to_string(),
                o.lost.to_string(),
                o.forced.to_string(),
                o.waivers.to_string(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::stats::{OwnerStats, SpeedToLead, StageStats};

    /// Figures for a pipeline with nothing in it yet.
    fn empty() -> Stats {
        Stats {
            currency: "EUR".into(),
            deals: 0,
            open: 0,
            won: 0,
            lost: 0,
            win_rate: None,
            won_value: 0.0,
            avg_won_value: None,
            cycle_days_median: None,
            weighted_pipeline: 0.0,
            open_value: 0.0,
            velocity_per_day: None,
            speed_to_lead_minutes_median: None,
            stages: Vec::new(),
            lost_reasons: Vec::new(),
            owners: Vec::new(),
            speed_to_lead: SpeedToLead {
                inbound: 0,
                contacted: 0,
                within_target: 0,
                target_minutes: 90,
                median_minutes: None,
                buckets: Vec::new(),
            },
            currency_mismatch: Vec::new(),
        }
    }

    #[test]
    fn a_stage_row_shows_money_grouped_and_missing_figures_as_a_dash() {
        let mut s = empty();
        s.stages.push(StageStats {
            id: "qualify".into(),
            name: "Qualify".into(),
            open: 3,
            value: 48000.0,
            weighted_value: 12000.0,
            entered: 8,
            conversion: Some(0.25),
            median_days: None,
            went_on: 2,
            lost_here: 1,
            probability: 0.25,
        });
        assert_eq!(
            stage_rows(&s),
            vec![vec![
                "qualify", "3", "48,000", "12,000", "8", "2", "25.0%", "–", "1"
            ]]
        );
    }

    #[test]
    fn an_owner_row_counts_forced_moves_and_waivers() {
        let mut s = empty();
        s.owners.push(OwnerStats {
            owner: "ana".into(),
            name: None,
            open: 2,
            value: 1250.5,
            won: 4,
            lost: 1,
            forced: 3,
            waivers: 0,
            rotting: 0,
        });
        assert_eq!(
            owner_rows(&s),
            vec![vec!["ana", "2", "1,250.50", "4", "1", "3", "0"]]
        );
    }

    #[test]
    fn the_headline_of_an_empty_pipeline_dashes_what_cannot_be_computed() {
        assert_eq!(
            stats_headline(&empty()),
            "0 deals: 0 open, 0 won, 0 lost. Win rate –. Won 0 EUR (average –).\n\
             Open pipeline 0 EUR, weighted 0 EUR. Sales cycle – (median). Velocity –.\n\
             Speed to lead: 0 inbound, 0 contacted within 1 h 30 min, median –.\n\n"
        );
    }

    #[test]
    fn deals_in_another_currency_are_named_below_the_tables() {
        let mut s = empty();
        assert!(!stats_text(&s, usize::MAX).contains("Left out"));
        s.currency_mismatch = vec!["acme".into(), "zeta".into()];
        assert!(
            stats_text(&s, usize::MAX)
                .ends_with("\nLeft out of the sums (not in EUR): acme, zeta\n")
        );
    }
}
