//! `deal due [--days N] [--owner O] [--format table|json|ics]`: the
//! follow-up list. Always exits 0, for cron and CI.

use crate::base::error::Error;
use crate::cli::args::{DueArgs, DueFormat};
use crate::cli::ctx::Ctx;
use crate::cli::output;
use crate::reports::due;
use crate::store::pipeline::Pipeline;

pub fn run(ctx: &Ctx, a: DueArgs) -> Result<i32, Error> {
    let p = Pipeline::open(&ctx.start)?;
    p.warn_unreadable();
    let cfg = &p.cfg;
    if let Some(o) = &a.owner {
        crate::rules::transition::check_member(cfg, o, "--owner")?;
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
