//! `deal due [--days N] [--owner O] [--format table|json|ics]`: the
//! follow-up list. Always exits 0, for cron and CI.

use clap::{Args, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::WideFlag;
use crate::cli::output;
use crate::reports::due;
use crate::store::pipeline::Pipeline;

#[derive(Debug, Args)]
pub struct DueArgs {
    /// How many days ahead count as upcoming
    #[arg(long, default_value_t = 7)]
    pub days: i64,
    /// Only this owner's deals
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::handles))]
    pub owner: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DueFormat::Table)]
    pub format: DueFormat,
    #[command(flatten)]
    pub wide: WideFlag,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DueFormat {
    Table,
    Json,
    Ics,
}

pub fn run(ctx: &Ctx, a: DueArgs) -> Result<i32, Error> {
    let p = Pipeline::open(&ctx.start)?;
    p.warn_unreadable();
    let cfg = &p.cfg;
    if let Some(o) = &a.owner {
        crate::model::fields::check_member(cfg, o, "--owner")?;
    }
    match a.format {
        DueFormat::Ics => print!("{}", due::ics(cfg, &p.deals, ctx.now, a.owner.as_deref())),
        DueFormat::Json => {
            let items = due::items(cfg, &p.deals, ctx.now, a.days, a.owner.as_deref());
            println!(
                "{}",
                serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
            );
        }
        DueFormat::Table => {
            let items = due::items(cfg, &p.deals, ctx.now, a.days, a.owner.as_deref());
            if items.is_empty() {
                println!("Nothing due in the next {} days.", a.days);
                return Ok(0);
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|i| {
                    vec![
                        i.kind.to_string(),
                        i.slug.clone(),
                        i.owner.clone(),
                        i.stage.clone(),
                        i.date.clone().unwrap_or_default(),
                        i.what.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(
                    &["KIND", "DEAL", "OWNER", "STAGE", "DATE", "WHAT"],
                    &rows,
                    output::table_width(a.wide.wide)
                )
            );
        }
    }
    Ok(0)
}
