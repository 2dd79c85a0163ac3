//! `deal serve`: starts the board in a browser (README "deal serve"); the
//! server itself is `crate::serve`.

use crate::cli::ServeArgs;
use crate::commands::Ctx;
use crate::error::Error;

pub fn run(ctx: &Ctx, a: ServeArgs) -> Result<i32, Error> {
    let root = crate::pipeline::find_root(&ctx.start)?;
    // Fails early, with the usual message, on a broken pipeline.yaml.
    crate::config::load(&root)?;
    if !a.bind.is_loopback() {
        eprintln!(
            "warning: listening on {}: anyone who can reach this address and learns the token can change deals; deal serve is meant for 127.0.0.1",
            a.bind
        );
    }
    let server = crate::serve::Server::start(root.clone(), a.bind, a.port)?;
    let url = server.url();
    println!("Serving {} at {url}", root.display());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    if a.open {
        open_browser(&url);
    }
    server.run()?;
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
