//! `deal serve` (README "deal serve", docs/reference.md): the board in a
//! browser, where a drag is a commit.
//!
//! What this folder owns: the HTTP listener (`tiny_http`, one thread:
//! requests are answered one at a time, and every write takes the
//! repository's write lock anyway), the security checks (`http.rs`: token
//! exchanged for a cookie, `Host`, `Origin`, CSRF token, paths), the pages
//! (`pages.rs`, minijinja templates in `templates/serve/` styled with the
//! report's own style sheet) and the writes (`actions.rs`).
//!
//! What it may use: the command layer's write functions, the very ones the
//! CLI prints from (`cli::mv::move_deal`, `cli::set::write_deal_with`
//! with `set::assignments`, `cli::objection::{add_change,
//! resolve_change}`), and the readers below them (`pipeline`, `stats`,
//! `board`, `report`, `due`, `lock`). It never edits a deal file itself.
//! Nothing calls into it but the dispatcher, through [`run`].

pub mod actions;
pub mod http;
pub mod pages;

use clap::Args;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use http::{Form, Reply, Routes, Server, slug_ok};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on; anything but 127.0.0.1 is warned about
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: std::net::IpAddr,
    /// Open the board in the default browser
    #[arg(long)]
    pub open: bool,
}

/// The board's routes: its pages and its writes.
struct Board;

impl Routes for Board {
    fn get(&self, srv: &mut Server, path: &str, query: &[(String, String)]) -> Reply {
        let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let flash = srv.take_flash(q("r"));
        let result = match path {
            "/" => pages::board(srv, &pages::BoardQuery::from(query), flash, None),
            "/due" => pages::due(srv),
            "/report" => return Reply::redirect("/report/"),
            "/report/" | "/report/index.html" => pages::report(srv, "index.html"),
            _ => {
                if let Some(slug) = path.strip_prefix("/deals/").filter(|s| slug_ok(s)) {
                    pages::deal(srv, slug, flash, None)
                } else if let Some(slug) = path
                    .strip_prefix("/report/deals/")
                    .and_then(|s| s.strip_suffix(".html"))
                    .filter(|s| slug_ok(s))
                {
                    pages::report(srv, &format!("deals/{slug}.html"))
                } else {
                    return Reply::text(404, "404 Not Found");
                }
            }
        };
        result.unwrap_or_else(|e| pages::error_page(srv, &e))
    }

    fn post(&self, srv: &mut Server, path: &str, form: &Form) -> Reply {
        actions::post(srv, path, form)
    }
}

// `deal serve` itself: start the server, say where, open a browser.
pub fn run(ctx: &Ctx, a: ServeArgs) -> Result<i32, Error> {
    let root = crate::store::pipeline::find_root(&ctx.start)?;
    // Fails early, with the usual message, on a broken pipeline.yaml.
    crate::model::config::load(&root)?;
    if !a.bind.is_loopback() {
        eprintln!(
            "warning: listening on {}: anyone who can reach this address and learns the token can change deals; deal serve is meant for 127.0.0.1",
            a.bind
        );
    }
    let server = Server::start(root.clone(), a.bind, a.port)?;
    let url = server.url();
    println!("Serving {} at {url}", root.display());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    if a.open {
        open_browser(&url);
    }
    server.run(&Board)?;
    Ok(0)
}

/// Opens `url` in the default browser, quietly; the printed URL is there
/// when no browser opens.
fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(cmd)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
