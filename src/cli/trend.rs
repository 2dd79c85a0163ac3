//! `deal trend [--every week|month] [--last N] [--format table|json|csv]`:
//! snapshots of the pipeline read from git history.

use clap::Args;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::{TableFormat, WideFlag};
use crate::cli::output;
use crate::cli::output::number;
use crate::reports::board::money;
use crate::reports::trend::{Trend, cell};
use crate::store::pipeline::find_root;

#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Period length
    #[arg(long, value_enum, default_value_t = crate::reports::trend::Every::Week)]
    pub every: crate::reports::trend::Every,
    /// How many periods, ending now
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(1..=520))]
    pub last: u16,
    /// Output format
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    #[command(flatten)]
    pub wide: WideFlag,
}

pub fn run(ctx: &Ctx, a: TrendArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    // The rules must load now, so a broken pipeline.yaml says so first.
    crate::model::config::load(&root)?;
    let t = crate::reports::trend::compute(&root, a.every, a.last as usize, ctx.now)?;
    ctx.trace(|| {
        format!(
            "pipeline root {}; {} snapshots from HEAD's first-parent history",
            crate::base::diag::display_path(&root),
            t.snapshots.len()
        )
    });
    crate::cli::ctx::warn_unreadable(&t.unreadable);
    warn_history(&t);
    match a.format {
        TableFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&t).unwrap_or_else(|_| "{}".into())
        ),
        TableFormat::Csv => print!("{}", csv(&t)),
        TableFormat::Table => print!("{}", table(&t, output::table_width(a.wide.wide))),
    }
    Ok(0)
}

/// Says what some snapshot could not count, and when HEAD's history stops
/// short (a shallow clone) and some snapshot falls before it: those show
/// no figures because they are unknown, not because the pipeline did not
/// exist.
pub fn warn_history(t: &Trend) {
    for p in &t.problems {
        eprintln!("warning: {p}");
    }
    if let Some(cut) = &t.history_cut
        && t.snapshots.iter().any(|s| s.commit.is_none())
    {
        eprintln!(
            "warning: HEAD's history in this clone ends at {cut} (a shallow clone): snapshots before it show no figures\n   = help: `git fetch --unshallow` reads the rest"
        );
    }
}

/// Stage ids in the order they first appear in the snapshots.
fn stage_ids(t: &Trend) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for s in &t.snapshots {
        for k in s.stages.iter().flat_map(|m| m.keys()) {
            if !ids.contains(k) {
                ids.push(k.clone());
            }
        }
    }
    ids
}

fn csv(t: &Trend) -> String {
    let ids = stage_ids(t);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head: Vec<String> = [
        "start",
        "end",
        "commit",
        "open",
        "open_value",
        "weighted",
        "new",
        "won",
        "won_value",
        "lost",
        "lost_value",
    ]
    .map(String::from)
    .to_vec();
    for id in &ids {
        head.push(format!("{id}.open"));
        head.push(format!("{id}.value"));
    }
    let _ = w.write_record(&head);
    let opt = |x: Option<String>| x.unwrap_or_default();
    for s in &t.snapshots {
        let mut row = vec![
            s.start.clone(),
            s.end.clone(),
            opt(s.commit.clone()),
            opt(s.open.map(|x| x.to_string())),
            opt(s.open_value.map(number)),
            opt(s.weighted.map(number)),
            opt(s.new.map(|x| x.to_string())),
            opt(s.won.map(|x| x.to_string())),
            opt(s.won_value.map(number)),
            opt(s.lost.map(|x| x.to_string())),
            opt(s.lost_value.map(number)),
        ];
        for id in &ids {
            let f = s.stages.as_ref().and_then(|m| m.get(id));
            row.push(opt(f.map(|f| f.open.to_string())));
            row.push(opt(f.map(|f| number(f.value))));
        }
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn table(t: &Trend, width: usize) -> String {
    let rows: Vec<Vec<String>> = t
        .snapshots
        .iter()
        .map(|s| {
            vec![
                crate::base::time::parse_timestamp(&s.end)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| s.end.clone()),
                s.commit
                    .as_deref()
                    .map(|c| c[..7.min(c.len())].to_string())
                    .unwrap_or_else(|| "–".into()),
                cell(s.open),
                cell(s.open_value.map(money)),
                cell(s.weighted.map(money)),
                cell(s.new),
                cell(s.won),
                cell(s.lost),
            ]
        })
        .collect();
    let mut out = format!(
        "Snapshots at the end of each {} (HEAD's first-parent history; – before the pipeline existed)\n\n",
        t.every.as_str()
    );
    out.push_str(&output::table(
        &[
            "END", "COMMIT", "OPEN", "VALUE", "WEIGHTED", "NEW", "WON", "LOST",
        ],
        &rows,
        width,
    ));
    if t.criteria_changes.is_empty() {
        out.push_str("\nNo criteria changed in this window.\n");
    } else {
        out.push_str("\nCriteria changes:\n");
        for c in &t.criteria_changes {
            out.push_str(&format!(
                "  {} {}  {}\n",
                &c.date[..10.min(c.date.len())],
                &c.commit[..7.min(c.commit.len())],
                c.summary
            ));
        }
    }
    out
}
