//! `deal notify BASE..HEAD | --due [--dry-run] [--allow-commands]`: runs
//! the pipeline's automation triggers (docs/reference.md, "Notify").
//!
//! Order of work, so that nothing is sent when anything would refuse:
//! find the events, match them to triggers, drop those recorded already
//! (git notes under `refs/notes/deal-notify`), refuse a command trigger
//! without `--allow-commands` and an unset `$DEAL_…` variable (exit 2),
//! then deliver each, recording each success, each send and its record
//! under the writers' lock (`crate::store::lock`) with the record looked up again
//! first, so two runs at once send nothing twice. A failed delivery, or
//! one sent but not recorded, is named; the others still go out; the exit
//! is then 1.

use std::collections::{HashMap, HashSet};

use clap::Args;
use git2::{Oid, Repository};

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::model::config::{self, Config};
use crate::model::triggers::{Action, On, Payload, Trigger};
use crate::reports::notify::{self, DealInfo, Event};
use crate::store::pipeline::{Pipeline, find_root};
use crate::store::repo::Repo;

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// The range of commits whose events to send (BASE must be a first-parent ancestor of HEAD)
    #[arg(
        value_name = "BASE..HEAD",
        required_unless_present = "due",
        conflicts_with = "due"
    )]
    pub range: Option<String>,
    /// Send the follow-up digest (`due`) and uncontacted leads (`uncontacted`) for now
    #[arg(long)]
    pub due: bool,
    /// Print what would be sent; send and record nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run `command` triggers (a pipeline.yaml from a stranger runs no code without it)
    #[arg(long)]
    pub allow_commands: bool,
}

/// One delivery to make: a trigger, its event and the record key.
struct Delivery<'c> {
    trigger: &'c Trigger,
    event: Event,
    key: String,
}

pub fn run(ctx: &Ctx, a: NotifyArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let cfg = config::load(&root)?;
    let repo = Repo::require(
        &root,
        "deal notify reads the events from git history and records deliveries in git notes",
    )?;
    let git = repo.git();
    let prefix = repo.rel(&root)?;
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let deliveries = if a.due {
        due_deliveries(ctx, &cfg, git)?
    } else {
        let range = a.range.as_deref().unwrap_or("");
        range_deliveries(&cfg, &repo, &prefix, range)?
    };
    // Refusals first: nothing is sent when anything would refuse.
    let pending = unrecorded(git, deliveries);
    if !a.dry_run && !a.allow_commands {
        refuse_commands(&pending)?;
    }
    let urls = if !a.dry_run && !pending.is_empty() {
        webhook_urls(&cfg)?
    } else {
        HashMap::new()
    };
    let mut sender = Sender {
        ctx,
        root: &root,
        git,
        urls,
        sent: 0,
        failed: 0,
    };
    for d in &pending {
        let (text, body) = payload(&cfg, d);
        if a.dry_run {
            print!("{}", preview(d, &body));
            continue;
        }
        sender.deliver(d, &text, &body)?;
    }
    if !a.dry_run && !ctx.quiet && pending.is_empty() {
        println!("Nothing to send.");
    }
    let (sent, failed) = (sender.sent, sender.failed);
    ctx.trace(|| format!("{sent} sent, {failed} failed"));
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The deliveries still to make: each record key once, and none that the
/// notes record as sent already.
fn unrecorded<'c>(git: &Repository, deliveries: Vec<Delivery<'c>>) -> Vec<Delivery<'c>> {
    let mut pending: Vec<Delivery> = Vec::new();
    let mut seen = HashSet::new();
    for d in deliveries {
        if seen.insert(d.key.clone()) && !notify::recorded(git, &d.key) {
            pending.push(d);
        }
    }
    pending
}

/// The places of the command triggers among `pending` (a run of the same
/// trigger named once).
fn command_places(pending: &[Delivery]) -> Vec<String> {
    let mut named: Vec<String> = pending
        .iter()
        .filter(|d| matches!(d.trigger.action, Action::Command(_)))
        .map(|d| d.trigger.place())
        .collect();
    named.dedup();
    named
}

/// Refuses (exit 2) when a pending delivery would run a command and
/// `--allow-commands` was not given.
fn refuse_commands(pending: &[Delivery]) -> Result<(), Error> {
    let named = command_places(pending);
    if !named.is_empty() {
        return Err(Error::usage(
            format!("{} would run a command; nothing was sent", named.join(", ")),
            "pass --allow-commands if you trust this pipeline.yaml (a stranger's runs no code without it), or change the trigger to a webhook",
        ));
    }
    Ok(())
}

/// Every webhook's URL with its variables expanded, by trigger id; not
/// only those of the triggers that fire this time: a missing secret is
/// found on the first run that has anything to send, before anything is
/// sent.
fn webhook_urls(cfg: &Config) -> Result<HashMap<&str, String>, Error> {
    let mut urls: HashMap<&str, String> = HashMap::new();
    for t in &cfg.triggers {
        if let Action::Webhook(w) = &t.action {
            let url = notify::expand(w).map_err(|var| {
                Error::usage(
                    format!(
                        "{}: the webhook's {var} is unset or empty; nothing was sent",
                        t.place()
                    ),
                    format!(
                        "set {} in the environment `deal notify` runs in (a CI secret)",
                        var.trim_start_matches('$')
                    ),
                )
            })?;
            urls.insert(&t.id, url);
        }
    }
    Ok(urls)
}

/// A delivery's text and the body a webhook posts (the text alone, or the
/// whole event); a warning about the text goes to stderr.
fn payload(cfg: &Config, d: &Delivery) -> (String, String) {
    let (text, warning) = d.event.text(cfg, d.trigger);
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let body = match d.trigger.format {
        Payload::Text => serde_json::json!({ "text": text }),
        Payload::Full => d.event.json(d.trigger, &text, false),
    };
    (text, body.to_string())
}

/// What `--dry-run` prints for a delivery: the trigger, the event, where it
/// would go, then the body.
fn preview(d: &Delivery, body: &str) -> String {
    let to = match &d.trigger.action {
        Action::Webhook(w) => format!("POST {w}"),
        Action::Command(c) => format!("run `{c}`"),
    };
    format!(
        "would send: trigger `{}`: {}: {to}\n  {body}\n",
        d.trigger.id,
        describe(&d.event)
    )
}

/// Sends the pending deliveries one at a time, counting what was sent and
/// what failed.
struct Sender<'a> {
    ctx: &'a Ctx,
    root: &'a std::path::Path,
    git: &'a Repository,
    /// The webhooks' expanded URLs, by trigger id.
    urls: HashMap<&'a str, String>,
    sent: usize,
    failed: usize,
}

impl Sender<'_> {
    /// Sends one delivery and records it, both under the writers' lock
    /// (`deal.lock`): two runs at once take turns, and the second sees the
    /// first's record and sends nothing again. A failure is said and
    /// counted; the next delivery still goes out.
    fn deliver(&mut self, d: &Delivery, text: &str, body: &str) -> Result<(), Error> {
        let lock = crate::store::lock::acquire_in(self.git.path())?;
        if notify::recorded(self.git, &d.key) {
            return Ok(());
        }
        let result = match &d.trigger.action {
            Action::Webhook(_) => notify::post(&self.urls[d.trigger.id.as_str()], body),
            Action::Command(c) => {
                let full = d.event.json(d.trigger, text, false).to_string();
                notify::run_command(self.root, c, &d.event, d.trigger, &full)
            }
        };
        let what = describe(&d.event);
        match result {
            Ok(()) => {
                self.sent += 1;
                if let Err(e) = notify::record(self.git, &d.key, self.ctx.now) {
                    // Delivered but not recorded: the next run sends it
                    // again, so the run is not a success.
                    self.failed += 1;
                    eprintln!(
                        "error: {}: {what}: sent, but not recorded in {} ({}); the next run sends it again",
                        d.trigger.place(),
                        notify::NOTES_REF,
                        crate::base::diag::one_line(e.message())
                    );
                } else if !self.ctx.quiet {
                    println!("sent: trigger `{}`: {what}", d.trigger.id);
                }
            }
            Err(why) => {
                self.failed += 1;
                eprintln!(
                    "error: {}: {what}: not delivered: {why}; not recorded, the next run retries it",
                    d.trigger.place()
                );
            }
        }
        drop(lock);
        Ok(())
    }
}

/// `lead acme-corp`, `due digest for bob`.
fn describe(e: &Event) -> String {
    match (&e.deal, &e.owner) {
        (Some(d), _) => format!("{} {}", e.on.as_str(), d.slug),
        (None, o) => format!(
            "{} digest for {}",
            e.on.as_str(),
            o.as_deref().unwrap_or("(no owner)")
        ),
    }
}

fn range_deliveries<'c>(
    cfg: &'c Config,
    repo: &Repo,
    prefix: &str,
    range: &str,
) -> Result<Vec<Delivery<'c>>, Error> {
    let Some((b, h)) = range
        .split_once("..")
        .filter(|(b, h)| !b.is_empty() && !h.is_empty() && !h.starts_with('.'))
    else {
        return Err(Error::usage(
            format!("`{range}` is not a range BASE..HEAD"),
            "give two commits, e.g. `deal notify \"$BEFORE..$AFTER\"` (the range a push brought), or --due",
        ));
    };
    let git = repo.git();
    let base = repo.commit_of(b)?;
    let head = repo.commit_of(h)?;
    let deals = format!("{prefix}{}/", cfg.deals_dir.trim_end_matches('/'));
    let wanted = |on: On, stage: &str| {
        cfg.triggers
            .iter()
            .any(|t| t.on == on && (t.stage.is_empty() || t.stage.iter().any(|s| s == stage)))
    };
    let events = notify::events(git, head, base, &deals, cfg, &wanted).ok_or_else(|| {
        Error::usage(
            format!("`{b}` is not a first-parent ancestor of `{h}`"),
            "give the range a push brought to the main line (its old tip first); a branch's first push has no such range",
        )
    })?;
    // Which triggers pipeline.yaml had where each event was written (the
    // commit that wrote it; for a squash's blocks, the main line before
    // the squash): an event written before a trigger was added fires
    // nothing, whatever the merge style.
    let odb = git
        .odb()
        .map_err(|e| Error::git(e.message().to_string(), ""))?;
    let cfg_path = format!("{prefix}{}", config::FILE);
    let mut by_blob: HashMap<Oid, Vec<String>> = HashMap::new();
    let mut at_commit: HashMap<Oid, Vec<String>> = HashMap::new();
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for e in events {
        let Some(c) = e.config_at else { continue };
        let present = at_commit.entry(c).or_insert_with(|| {
            git.find_commit(c)
                .ok()
                .and_then(|cm| {
                    crate::store::history::file_id(&odb, cm.tree_id(), &cfg_path, &mut missing)
                })
                .map(|blob| {
                    by_blob
                        .entry(blob)
                        .or_insert_with(|| {
                            odb.read(blob)
                                .ok()
                                .map(|o| notify::trigger_ids(&String::from_utf8_lossy(o.data())))
                                .unwrap_or_default()
                        })
                        .clone()
                })
                .unwrap_or_default()
        });
        for t in cfg.triggers.iter().filter(|t| !t.on.is_due()) {
            if present.contains(&t.id) && e.matches(t) {
                out.push(Delivery {
                    trigger: t,
                    key: e.key(t),
                    event: e.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn due_deliveries<'c>(
    ctx: &Ctx,
    cfg: &'c Config,
    _git: &Repository,
) -> Result<Vec<Delivery<'c>>, Error> {
    let wanted: Vec<&Trigger> = cfg.triggers.iter().filter(|t| t.on.is_due()).collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let p = Pipeline::open(&ctx.start)?;
    p.warn_unreadable();
    let today = crate::base::time::format_date(ctx.now);
    let items = crate::reports::due::items(cfg, &p.deals, ctx.now, 7, None);
    let by_slug: HashMap<&str, &crate::model::deal::Deal> =
        p.deals.iter().map(|d| (d.slug.as_str(), d)).collect();
    let mut events = Vec::new();
    // One digest per owner, owners in the order of the list.
    let mut owners: Vec<String> = Vec::new();
    for i in &items {
        if !owners.contains(&i.owner) {
            owners.push(i.owner.clone());
        }
    }
    for o in owners {
        let deals = items
            .iter()
            .filter(|i| i.owner == o)
            .map(|i| {
                let mut d = by_slug
                    .get(i.slug.as_str())
                    .map(|d| DealInfo::of(cfg, d))
                    .unwrap_or_default();
                d.slug = i.slug.clone();
                d.what = Some(i.what.clone());
                d.date = i.date.clone();
                d
            })
            .collect();
        events.push(Event {
            on: On::Due,
            commit: None,
            config_at: None,
            deal: None,
            owner: Some(o),
            deals,
            when: today.clone(),
        });
    }
    for i in items.iter().filter(|i| i.kind == "uncontacted") {
        let Some(d) = by_slug.get(i.slug.as_str()) else {
            continue;
        };
        events.push(Event {
            on: On::Uncontacted,
            commit: None,
            config_at: None,
            deal: Some(DealInfo::of(cfg, d)),
            owner: None,
            deals: Vec::new(),
            when: today.clone(),
        });
    }
    let mut out = Vec::new();
    for e in events {
        for t in &wanted {
            if e.matches(t) {
                out.push(Delivery {
                    trigger: t,
                    key: e.key(t),
                    event: e.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(id: &str, action: Action, line: Option<usize>) -> Trigger {
        Trigger {
            id: id.into(),
            on: On::Won,
            stage: Vec::new(),
            source: Vec::new(),
            owner: Vec::new(),
            action,
            format: Payload::Text,
            text: None,
            line,
        }
    }

    fn won(slug: &str) -> Event {
        Event {
            on: On::Won,
            commit: None,
            config_at: None,
            deal: Some(DealInfo {
                slug: slug.into(),
                ..Default::default()
            }),
            owner: None,
            deals: Vec::new(),
            when: "-".into(),
        }
    }

    fn delivery<'c>(t: &'c Trigger, slug: &str) -> Delivery<'c> {
        Delivery {
            trigger: t,
            event: won(slug),
            key: format!("{}:{slug}", t.id),
        }
    }

    #[test]
    fn only_command_triggers_are_named_for_the_refusal_each_run_once() {
        let hook = trigger(
            "slack",
            Action::Webhook("https://x/$DEAL_H".into()),
            Some(3),
        );
        let cmd = trigger("crm", Action::Command("./sync".into()), Some(9));
        let pending = [
            delivery(&hook, "a"),
            delivery(&cmd, "a"),
            delivery(&cmd, "b"),
        ];
        assert_eq!(
            command_places(&pending),
            vec!["pipeline.yaml:9: trigger `crm`"]
        );
        assert!(refuse_commands(&pending[..1]).is_ok());
        assert!(refuse_commands(&pending).is_err());
    }

    #[test]
    fn a_dry_run_shows_the_webhook_unexpanded_and_the_body() {
        let hook = trigger("slack", Action::Webhook("https://x/$DEAL_H".into()), None);
        assert_eq!(
            preview(&delivery(&hook, "acme"), "{\"text\":\"hi\"}"),
            "would send: trigger `slack`: won acme: POST https://x/$DEAL_H\n  {\"text\":\"hi\"}\n"
        );
        let cmd = trigger("crm", Action::Command("./sync".into()), None);
        assert!(
            preview(&delivery(&cmd, "acme"), "{}")
                .starts_with("would send: trigger `crm`: won acme: run `./sync`\n")
        );
    }
}
