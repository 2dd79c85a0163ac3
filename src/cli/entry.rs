//! The binary's entry: answers a shell's completion request, quiets a panic
//! on a closed pipe, makes git's folder variables absolute, then parses the
//! arguments, runs the command and maps its end to an exit code (0 ok, 1
//! findings, 2 usage or configuration error). src/main.rs exits with it.

use clap::Parser;

/// Runs `deal` with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    // `COMPLETE=bash deal -- deal move o` (what the registration that
    // `deal completions SHELL` prints runs): the candidates, then exit.
    if std::env::var_os("COMPLETE").is_some_and(|v| !v.is_empty() && v != "0") {
        crate::cli::complete::follow_dir_flag();
    }
    clap_complete::CompleteEnv::with_factory(
        <crate::cli::args::Cli as clap::CommandFactory>::command,
    )
    .complete();
    quiet_on_closed_pipe();
    absolute_git_env();
    crate::store::repo::set_options();
    let cli = match crate::cli::args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match crate::cli::run(cli) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            // Never a panic on a closed stderr: the exit code still says it.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                crate::base::diag::escape_text(&e.to_string())
            );
            e.exit_code()
        }
    }
}

/// Output to a closed pipe (`deal list | head -1`) ends quietly with exit
/// 0: `print!` panics on EPIPE, and this hook turns that one panic into a
/// plain exit. Every other panic is reported as usual.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        // deal's own lines on stderr never panic (lib.rs's `eprintln!`);
        // should a library's, the process still ends quietly.
        if msg.contains("failed printing to stderr") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// `GIT_DIR` and `GIT_WORK_TREE` name folders relative to where the user
/// runs deal, as for git; deal runs git itself with `-C <work tree>`, so
/// they are made absolute first. Called before any thread starts.
fn absolute_git_env() {
    let Ok(cwd) = std::env::current_dir() else {
        return;
    };
    for key in ["GIT_DIR", "GIT_WORK_TREE"] {
        if let Some(v) = std::env::var_os(key)
            && !v.is_empty()
            && std::path::Path::new(&v).is_relative()
        {
            // SAFETY: `main` calls this before any thread starts, while the
            // process has one thread.
            unsafe { std::env::set_var(key, cwd.join(v)) };
        }
    }
}
