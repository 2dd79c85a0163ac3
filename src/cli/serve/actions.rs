//! The writes `deal serve` makes, each a plain form POST: move, set,
//! objection add and resolve, and note scaffolds. Each takes the repository's write lock, checks
//! that the deal file is still the one the page was rendered from (its blob
//! id, carried by the form), and then runs the command layer's own function,
//! the one the CLI prints from: the same criteria, refusals, edit, commit
//! and trailers.

use super::http::{Form, Reply, Server};
use super::pages::{self, Refusal, STALE, blob_id};
use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::mv::MoveArgs;
use crate::cli::mv::{Moved, move_deal};
use crate::cli::note::scaffold;
use crate::cli::objection::{add_change, one_line, resolve_change};
use crate::cli::set::{Guard, Written, assignments, write_deal_with};
use crate::model::deal::Deal;
use crate::model::notes::NoteKind;

/// Refuses a write whose page was rendered from another version of the file.
fn unchanged_since(d: &Deal, blob: &str) -> Result<(), Error> {
    if blob_id(d) == blob {
        return Ok(());
    }
    Err(Error::Refused {
        message: format!(
            "{} {STALE}: {} was changed (by the CLI, an editor or a pull) after this page was loaded; nothing was written",
            d.slug,
            d.rel.display()
        ),
        help: "the page now shows the deal as it is; your input is kept below, so check it and send it again".into(),
    })
}

/// Runs `f` under the write lock, as a command of the CLI runs.
fn locked<T>(srv: &Server, f: impl FnOnce(&Ctx) -> Result<T, Error>) -> Result<T, Error> {
    let ctx = Ctx {
        start: srv.root.clone(),
        style: crate::cli::output::Style::new(crate::cli::output::ColorChoice::Never),
        quiet: true,
        verbose: false,
        now: crate::base::time::now(),
    };
    let _lock = crate::store::lock::acquire(&srv.root)?;
    f(&ctx)
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Where a write sends the browser back to: a local page only.
fn back(form: &Form, default: &str) -> String {
    match form.get("back") {
        // No control character: it goes into the `Location` header.
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains(char::is_control)
                && super::http::path_ok(b.split('?').next().unwrap_or("")) =>
        {
            b.to_string()
        }
        _ => default.to_string(),
    }
}

fn with_flash(to: &str, id: u64) -> String {
    let (path, query) = to.split_once('?').unwrap_or((to, ""));
    let mut q: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "r")
        .collect();
    q.push(("r".into(), id.to_string()));
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish();
    format!("{path}?{q}")
}

/// Routes a POST that passed the security checks.
pub fn post(srv: &mut Server, path: &str, form: &Form) -> Reply {
    if path == "/move" {
        return move_card(srv, form);
    }
    let Some((slug, action)) = path
        .strip_prefix("/deals/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(s, _)| super::http::slug_ok(s))
    else {
        return Reply::html(404, "Not found\n".into());
    };
    let blob = form.get("blob").unwrap_or("").to_string();
    let slug = slug.to_string();
    let result = match action {
        "set" => {
            let fields = pages::set_fields(form);
            locked(srv, |ctx| {
                write_deal_with(ctx, &slug, false, |p, d| {
                    unchanged_since(d, &blob)?;
                    // Only what the user edited: a value equal, byte for
                    // byte, to what the page showed is never written (so
                    // padding and line breaks the user did not touch stay).
                    let changed: Vec<String> = fields
                        .iter()
                        .filter(|f| {
                            let shown = f
                                .shown
                                .clone()
                                .unwrap_or_else(|| pages::shown_text(d, &f.key));
                            f.value != shown
                        })
                        .map(|f| format!("{}={}", f.key, f.value.trim()))
                        .collect();
                    // Guarded as `deal set` is: a change that breaks a stage
                    // the deal has left is refused (no force from a form).
                    assignments(p, d, &changed, false, Guard::default(), ctx.now)
                })
            })
        }
        "objection" => {
            let text = form.get("objection").unwrap_or("").to_string();
            locked(srv, |ctx| {
                let text = one_line("objection", &text)?;
                write_deal_with(ctx, &slug, false, |_, d| {
                    unchanged_since(d, &blob)?;
                    Ok(add_change(d, &text))
                })
            })
        }
        "resolve" => {
            let which = form.get("which").unwrap_or("").to_string();
            let response = nonempty(form.get("response"));
            locked(srv, |ctx| {
                let response = response.map(|r| one_line("response", &r)).transpose()?;
                write_deal_with(ctx, &slug, false, |_, d| {
                    unchanged_since(d, &blob)?;
                    resolve_change(d, &which, response.as_deref())
                })
            })
        }
        "note" => {
            let kind = form.get("kind").unwrap_or("").to_string();
            locked(srv, |ctx| {
                let Some(kind) = NoteKind::ALL.into_iter().find(|k| k.as_str() == kind) else {
                    return Err(Error::usage(
                        format!("no note kind `{kind}`"),
                        "pick one of the page's note buttons",
                    ));
                };
                let lines = scaffold(ctx, &slug, kind, |d| unchanged_since(d, &blob))?;
                Ok(Written {
                    message: lines.join(" "),
                })
            })
        }
        _ => return Reply::html(404, "Not found\n".into()),
    };
    match result {
        Ok(w) => {
            let id = srv.flash(w.message);
            Reply::redirect(&with_flash(&format!("/deals/{slug}"), id))
        }
        Err(e) => {
            let refusal = Refusal::new(&e, action, form);
            pages::deal(srv, &slug, None, Some(refusal))
                .unwrap_or_else(|e| pages::error_page(srv, &e))
        }
    }
}

/// A card's move form (or a drop, which fills and sends that form).
fn move_card(srv: &mut Server, form: &Form) -> Reply {
    let slug = form.get("slug").unwrap_or("").to_string();
    let blob = form.get("blob").unwrap_or("").to_string();
    let args = MoveArgs {
        deal: slug.clone(),
        stage: form.get("to").unwrap_or("").to_string(),
        owner: nonempty(form.get("owner")),
        reason: nonempty(form.get("reason")),
        force: form.get("force").is_some_and(|v| !v.is_empty()),
        commit: CommitFlag { no_commit: false },
        message: None,
    };
    let to = back(form, "/");
    if !super::http::slug_ok(&slug) {
        return Reply::html(400, "Bad request: no deal named\n".into());
    }
    let result = locked(srv, |ctx| {
        move_deal(ctx, &args, |d| unchanged_since(d, &blob))
    });
    match result {
        Ok(Moved::Done(done)) => {
            let id = srv.flash(done.line());
            Reply::redirect(&with_flash(&to, id))
        }
        Ok(Moved::Already { slug, place }) => {
            let id = srv.flash(format!("{slug} is in {place} already; nothing to do"));
            Reply::redirect(&with_flash(&to, id))
        }
        Err(e) => {
            let refusal = Refusal::new(&e, "move", form);
            let query = to.split_once('?').map(|(_, q)| q).unwrap_or("");
            let q: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            pages::board(
                srv,
                &pages::BoardQuery::from(q.as_slice()),
                None,
                Some(refusal),
            )
            .unwrap_or_else(|e| pages::error_page(srv, &e))
        }
    }
}
