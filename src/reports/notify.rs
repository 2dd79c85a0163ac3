//! Automation triggers (docs/reference.md, "Notify"): the events `deal
//! notify` finds in history for the `triggers:` of `pipeline.yaml` (declared
//! and checked in [`crate::model::triggers`]), their messages, and delivery
//! (webhooks and commands), deduplicated through git notes under
//! [`NOTES_REF`].
//!
//! - Events are read by the same reading of history `audit` uses
//!   ([`crate::reports::audit::facts_between`]): first-parent, any merge style,
//!   reverted moves not entered. Events from `Imported:` commits fire
//!   nothing.
//! - A delivery is recorded by what the event is, not by commit id
//!   ([`Delivery::key`]): the trigger, the slug, the event and the event's
//!   own time from the deal file, so a rebase or squash of the same work
//!   sends nothing again.
//! - Values from deals are escaped for chat markup (`<`, `>`, `&`), so a
//!   form cannot ping a channel or plant a link.

use std::time::Duration;

use chrono::{DateTime, Utc};
use git2::{Oid, Repository};
use serde_json::{Value as Json, json};

use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::model::triggers::{Action, On, Trigger};
use crate::model::triggers::{host, substitute, vars};

/// The git notes ref where each delivery that succeeded is recorded.
pub const NOTES_REF: &str = "refs/notes/deal-notify";

/// How long one try of a webhook may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How many tries a webhook gets before it counts as failed.
pub const TRIES: u32 = 3;
/// How long a command trigger may run before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Test-only: a shorter webhook and command timeout in milliseconds, so
/// the timeout tests run in a second (docs/reference.md, "Notify"). Not
/// for use.
pub const TEST_TIMEOUT_VAR: &str = "DEAL_TEST_NOTIFY_TIMEOUT_MS";

impl Trigger {
    /// `pipeline.yaml:LINE: trigger `id``, how a message names it.
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: trigger `{}`", crate::model::config::FILE, self.id),
            None => format!("{}: trigger `{}`", crate::model::config::FILE, self.id),
        }
    }
}

/// The URL with its `$DEAL_…` variables read from the environment; `Err`
/// names a variable that is unset or empty.
pub fn expand(url: &str) -> Result<String, String> {
    substitute(url, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
}

/// What a trigger does, for review: its event and filters, and where it
/// delivers (a webhook's host and `$DEAL_…` names, never the rest of the
/// URL; a command as written).
fn summary(t: &Trigger) -> String {
    let mut s = format!("on `{}`", t.on.as_str());
    if !t.stage.is_empty() {
        s.push_str(&format!(", stage `{}`", t.stage.join(", ")));
    }
    if !t.source.is_empty() {
        s.push_str(&format!(", source `{}`", t.source.join(", ")));
    }
    if !t.owner.is_empty() {
        s.push_str(&format!(", owner `{}`", t.owner.join(", ")));
    }
    s.push_str(&format!(" → {}", target(&t.action)));
    s
}

fn target(a: &Action) -> String {
    match a {
        Action::Webhook(w) => {
            let names = vars(w).unwrap_or_default();
            format!(
                "webhook to host `{}`{}",
                host(w),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (reads {})",
                        names
                            .iter()
                            .map(|n| format!("`${n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )
        }
        Action::Command(c) => format!("command `{c}`"),
    }
}

/// Every change to `triggers` between two configurations, one line each:
/// added, removed, or changed (event, filters, URL host and `$DEAL_…`
/// names, command, format, text), for `deal review`'s plan.
pub fn trigger_changes(base: &[Trigger], head: &[Trigger]) -> Vec<String> {
    let mut out = Vec::new();
    for h in head {
        let Some(b) = base.iter().find(|b| b.id == h.id) else {
            out.push(format!("trigger `{}` added: {}", h.id, summary(h)));
            continue;
        };
        let mut what = Vec::new();
        if b.on != h.on || b.stage != h.stage || b.source != h.source || b.owner != h.owner {
            what.push("filters".to_string());
        }
        if b.action != h.action {
            what.push(format!("delivery, was {}", target(&b.action)));
        }
        if b.format != h.format {
            what.push("format".into());
        }
        if b.text != h.text {
            what.push("text".into());
        }
        if !what.is_empty() {
            out.push(format!(
                "trigger `{}` changed ({}): {}",
                h.id,
                what.join("; "),
                summary(h)
            ));
        }
    }
    for b in base {
        if !head.iter().any(|h| h.id == b.id) {
            out.push(format!("trigger `{}` removed: {}", b.id, summary(b)));
        }
    }
    out
}

/// The ids of the triggers in a `pipeline.yaml`'s text (for "was this
/// trigger there at that commit"); empty when it does not parse.
pub fn trigger_ids(src: &str) -> Vec<String> {
    let Ok(v) = serde_yaml::from_str::<serde_yaml::Value>(src) else {
        return Vec::new();
    };
    v.get("triggers")
        .and_then(|t| t.as_sequence())
        .map(|l| {
            l.iter()
                .filter_map(|t| t.get("id")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Escapes a value from a deal for chat markup: `&`, `<`, `>` (Slack,
/// Mattermost and Discord read `<!channel>` and `<url|text>`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// What an event says about its deal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealInfo {
    pub slug: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub stage: String,
    pub owner: Option<String>,
    pub value: Option<crate::base::money::Amount>,
    pub currency: String,
    pub source: Option<String>,
    pub lost_reason: Option<String>,
    pub forced_reason: Option<String>,
    pub forced_by: Option<String>,
    /// For `uncontacted`: when the lead came in.
    pub created: Option<String>,
    /// For a `due` digest: what is due.
    pub what: Option<String>,
    pub date: Option<String>,
}

impl DealInfo {
    pub fn of(cfg: &Config, d: &Deal) -> DealInfo {
        let f = &d.fields;
        DealInfo {
            slug: d.slug.clone(),
            title: f.title.clone(),
            company: f.company.clone(),
            stage: d.place.id(cfg).to_string(),
            owner: f.owner.clone(),
            value: f.value,
            currency: f.currency.clone().unwrap_or_else(|| cfg.currency.clone()),
            source: f.source.clone(),
            lost_reason: f.lost_reason.clone(),
            created: f.created.map(crate::base::time::format_ts),
            ..DealInfo::default()
        }
    }

    /// The title a message shows: `title`, else `company`, else the slug.
    fn name(&self) -> &str {
        self.title
            .as_deref()
            .or(self.company.as_deref())
            .unwrap_or(&self.slug)
    }

    /// The `deal` object of a `full` payload (raw values: JSON is no
    /// markup), or escaped for a template's context.
    fn json(&self, esc: bool) -> Json {
        let e = |s: &str| if esc { escape(s) } else { s.to_string() };
        let o = |s: &Option<String>| s.as_deref().map(e);
        json!({
            "slug": e(&self.slug),
            "title": o(&self.title),
            "company": o(&self.company),
            "stage": e(&self.stage),
            "owner": o(&self.owner),
            "value": self.value.map(crate::base::money::json),
            "currency": e(&self.currency),
            "source": o(&self.source),
            "lost_reason": o(&self.lost_reason),
            "forced_reason": o(&self.forced_reason),
            "forced_by": o(&self.forced_by),
            "created": o(&self.created),
            "what": o(&self.what),
            "date": o(&self.date),
        })
    }
}

/// One event: what happened to which deal (or, for `due`, whose list).
#[derive(Debug, Clone)]
pub struct Event {
    pub on: On,
    /// The main-line commit it came from (`None` for `--due`).
    pub commit: Option<Oid>,
    /// The commit whose `pipeline.yaml` says which triggers it may fire:
    /// the commit that wrote it, or, where history keeps none (a squash's
    /// blocks, a change by hand a merge brought), the main-line commit's
    /// first parent. `None`: no trigger fires (or `--due`).
    pub config_at: Option<Oid>,
    /// The deal (`None` for a `due` digest).
    pub deal: Option<DealInfo>,
    /// A `due` digest: its owner and items.
    pub owner: Option<String>,
    pub deals: Vec<DealInfo>,
    /// Its identity: the event's own time from the deal file (RFC 3339),
    /// `-` when the file has none, or, for `--due`, the UTC date.
    pub when: String,
}

impl Event {
    /// Whether `t` fires on it (event and filters).
    pub fn matches(&self, t: &Trigger) -> bool {
        if t.on != self.on {
            return false;
        }
        let owner = self
            .owner
            .as_deref()
            .or(self.deal.as_ref().and_then(|d| d.owner.as_deref()));
        if !t.owner.is_empty() && !owner.is_some_and(|o| t.owner.iter().any(|x| x == o)) {
            return false;
        }
        if let Some(d) = &self.deal {
            if !t.source.is_empty()
                && !d
                    .source
                    .as_deref()
                    .is_some_and(|s| t.source.iter().any(|x| x == s))
            {
                return false;
            }
            if !t.stage.is_empty() && !t.stage.contains(&d.stage) {
                return false;
            }
        }
        true
    }

    /// What the delivery record is keyed by: (trigger, slug or owner,
    /// event, the stage for `enter` and `forced`, the event's own time or
    /// the UTC date).
    pub fn key(&self, t: &Trigger) -> String {
        let who = self
            .deal
            .as_ref()
            .map(|d| d.slug.clone())
            .or_else(|| self.owner.clone().map(|o| format!("owner:{o}")))
            .unwrap_or_default();
        // A stage entry is also keyed by its stage: two moves in the same
        // second (a script, `--force` twice) are two events.
        let stage = match (self.on, &self.deal) {
            (On::Enter | On::Forced, Some(d)) => format!("stage {}\n", d.stage),
            _ => String::new(),
        };
        format!(
            "deal-notify\ntrigger {}\ndeal {}\nevent {}\n{stage}when {}\n",
            t.id,
            who,
            self.on.as_str(),
            self.when
        )
    }

    /// The default sentence, values escaped.
    pub fn sentence(&self, cfg: &Config) -> String {
        let stage_name = |id: &str| {
            cfg.stage_index(id)
                .map(|i| cfg.stages[i].name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let owner = |d: &DealInfo| {
            d.owner
                .as_deref()
                .map(|o| format!(", owner {}", escape(o)))
                .unwrap_or_default()
        };
        let value = |d: &DealInfo| {
            d.value
                .map(|v| {
                    format!(
                        ", {} {}",
                        crate::base::money::format(v, crate::base::money::minor_unit(&d.currency)),
                        escape(&d.currency)
                    )
                })
                .unwrap_or_default()
        };
        let Some(d) = &self.deal else {
            let who = escape(self.owner.as_deref().unwrap_or("(no owner)"));
            let mut s = format!(
                "{} follow-up{} for {who}:",
                self.deals.len(),
                if self.deals.len() == 1 { "" } else { "s" }
            );
            for x in &self.deals {
                s.push_str(&format!(
                    "\n• {}: {}{}",
                    escape(x.name()),
                    escape(x.what.as_deref().unwrap_or("")),
                    x.date
                        .as_deref()
                        .map(|d| format!(" ({})", escape(d)))
                        .unwrap_or_default()
                ));
            }
            return s;
        };
        let name = escape(d.name());
        let source = d
            .source
            .as_deref()
            .map(|s| format!(" ({})", escape(s)))
            .unwrap_or_default();
        match self.on {
            On::Lead => format!(
                "New {}lead: {name}{source}{}",
                if cfg.is_inbound(d.source.as_deref()) {
                    "inbound "
                } else {
                    ""
                },
                owner(d)
            ),
            On::Enter => format!(
                "{name} entered {}{}{}",
                escape(&stage_name(&d.stage)),
                value(d),
                owner(d)
            ),
            On::Won => format!("Won: {name}{}{}", value(d), owner(d)),
            On::Lost => format!(
                "Lost: {name}{}{}",
                d.lost_reason
                    .as_deref()
                    .map(|r| format!(" ({})", escape(r)))
                    .unwrap_or_default(),
                owner(d)
            ),
            On::Forced => format!(
                "Forced move: {name} to {}{}{}{}",
                escape(&stage_name(&d.stage)),
                d.forced_reason
                    .as_deref()
                    .map(|r| format!(" ({})", escape(r)))
                    .unwrap_or_default(),
                d.forced_by
                    .as_deref()
                    .map(|b| format!(", by {}", escape(b)))
                    .unwrap_or_default(),
                owner(d)
            ),
            On::Uncontacted => format!(
                "Not contacted within {} minutes: {name}{source}{}{}",
                cfg.speed_to_lead_minutes,
                d.created
                    .as_deref()
                    .map(|c| format!(", came in {}", escape(c)))
                    .unwrap_or_default(),
                owner(d)
            ),
            On::Due => String::new(),
        }
    }

    /// The message's text: the trigger's template over the full event
    /// (values escaped), else the default sentence. A template that fails
    /// at run time gives the default sentence and a warning.
    pub fn text(&self, cfg: &Config, t: &Trigger) -> (String, Option<String>) {
        let default = self.sentence(cfg);
        let Some(src) = &t.text else {
            return (default, None);
        };
        let ctx = self.json(t, &default, true);
        let env = crate::base::expr::environment();
        let rendered = env
            .template_from_str(src)
            .and_then(|tpl| tpl.render(minijinja::value::Serde(&ctx)));
        match rendered {
            Ok(s) => (s, None),
            Err(e) => (
                default,
                Some(format!(
                    "{}: the text template failed ({e}); sent the default sentence",
                    t.place()
                )),
            ),
        }
    }

    /// The full event: `{ text, event, trigger, commit, deal | deals }`.
    pub fn json(&self, t: &Trigger, text: &str, esc: bool) -> Json {
        let mut o = json!({
            "text": text,
            "event": self.on.as_str(),
            "trigger": t.id,
            "commit": self.commit.map(|c| c.to_string()),
        });
        if let Some(d) = &self.deal {
            o["deal"] = d.json(esc);
        } else {
            o["owner"] =
                json!(
                    self.owner
                        .as_deref()
                        .map(|s| if esc { escape(s) } else { s.to_string() })
                );
            o["deals"] = Json::Array(self.deals.iter().map(|d| d.json(esc)).collect());
        }
        o
    }
}

/// The events of the main-line commits after `base` up to `head`, in
/// commit order, as `audit` reads history (`None`: `base` is not a
/// first-parent ancestor of `head`); only
/// those `wanted` says a trigger fires on (by event and stage id), so a
/// deal file is read only for them.
pub fn events(
    repo: &Repository,
    head: Oid,
    base: Oid,
    deals: &str,
    cfg: &Config,
    wanted: &dyn Fn(On, &str) -> bool,
) -> Option<Vec<Event>> {
    let facts = crate::reports::audit::facts_between(repo, head, base, deals, cfg)?;
    let mut files = Files {
        odb: repo.odb().ok(),
        deals,
        cfg,
        missing: Vec::new(),
    };
    let mut out = Vec::new();
    for (slug, t) in facts {
        if t.imported {
            continue;
        }
        let (Some(place), Some(main)) = (t.place, t.main) else {
            continue;
        };
        // Where the deal was before: the move's own `From-Stage:`, else
        // the main-line commit's first parent (absent: a new deal).
        let before = match t.from.as_deref().and_then(|f| Place::parse(f, cfg)) {
            Some(p) => Some(p),
            None => files
                .parent_of(main)
                .and_then(|p| files.find(p, &slug, Some(place)))
                .map(|(p, _)| p),
        };
        let stage = place.id(cfg);
        let mut kinds = kinds_of(before, place, t.from.is_none(), t.forced.is_some());
        // Only the deal files of events some trigger wants are read.
        kinds.retain(|on| wanted(*on, stage));
        if kinds.is_empty() {
            continue;
        }
        let Some((_, bytes)) = files.find(main, &slug, Some(place)) else {
            continue;
        };
        let Ok(d) = Deal::parse(slug.clone(), std::path::PathBuf::new(), place, bytes, cfg) else {
            continue;
        };
        let config_at = t.written.or_else(|| files.parent_of(main));
        out.extend(dated(cfg, &d, &t, kinds, main, config_at));
    }
    Some(out)
}

/// Deal files in history's trees, read by raw tree lookups.
struct Files<'a> {
    odb: Option<git2::Odb<'a>>,
    deals: &'a str,
    cfg: &'a Config,
    /// The trees a partial clone lacks (see `history::dir_id`).
    missing: Vec<Oid>,
}

impl Files<'_> {
    /// A commit's first parent.
    fn parent_of(&self, c: Oid) -> Option<Oid> {
        crate::store::history::header(self.odb.as_ref()?, c)?
            .parents
            .first()
            .copied()
    }

    /// The place and bytes of `slug`'s file in `commit`'s tree, looked for
    /// in `first`'s folder, then every stage's, then the outcomes'.
    fn find(&mut self, commit: Oid, slug: &str, first: Option<Place>) -> Option<(Place, Vec<u8>)> {
        let odb = self.odb.as_ref()?;
        let cfg = self.cfg;
        let tree = crate::store::history::header(odb, commit)?.tree;
        let root = crate::store::history::dir_id(odb, tree, self.deals, &mut self.missing)?;
        let dirs = first
            .into_iter()
            .chain((0..cfg.stages.len()).map(Place::Stage))
            .chain([Place::Won, Place::Lost]);
        for p in dirs {
            let path = format!("{}/{slug}.md", p.dir(cfg));
            if let Some(id) = crate::store::history::file_id(odb, root, &path, &mut self.missing)
                && let Ok(b) = odb.read(id)
            {
                return Some((p, b.data().to_vec()));
            }
        }
        None
    }
}

/// The events of one move to `place` from `before` (`None`: the deal is
/// new): a `lead` for a new deal in the first stage that names no
/// `From-Stage:` (`unnamed_from`), the entry (`enter`, `won`, `lost`) when
/// the place changed, and `forced` for a forced move.
fn kinds_of(before: Option<Place>, place: Place, unnamed_from: bool, forced: bool) -> Vec<On> {
    let mut kinds = Vec::new();
    if before.is_none() && place == Place::Stage(0) && unnamed_from {
        kinds.push(On::Lead);
    }
    if before != Some(place) {
        kinds.push(match place {
            Place::Stage(_) => On::Enter,
            Place::Won => On::Won,
            Place::Lost => On::Lost,
        });
    }
    if forced {
        kinds.push(On::Forced);
    }
    kinds
}

/// The events `kinds` of deal `d` (as main-line commit `main` wrote it),
/// each dated by the deal file's own time for it.
fn dated(
    cfg: &Config,
    d: &Deal,
    t: &crate::reports::audit::Touch,
    kinds: Vec<On>,
    main: Oid,
    config_at: Option<Oid>,
) -> Vec<Event> {
    let f = &d.fields;
    // The event's own time from the file, which every merge style
    // keeps; a file without one (a move by hand, a lead without
    // `created`) is keyed by its stage alone, never by a commit's
    // date, which a squash or rebase changes.
    let stamp = |x: Option<DateTime<Utc>>| {
        x.map(crate::base::time::format_ts)
            .unwrap_or_else(|| "-".into())
    };
    let entered = f.stages.get(d.place.id(cfg)).copied();
    let mut info = DealInfo::of(cfg, d);
    let mut out = Vec::new();
    for on in kinds {
        let when = match on {
            On::Lead => stamp(f.created.or(entered)),
            On::Forced => {
                info.forced_reason = t.forced.clone();
                info.forced_by = t.forced_by.clone();
                stamp(f.waived.values().filter_map(|w| w.at).max().or(entered))
            }
            _ => stamp(entered),
        };
        out.push(Event {
            on,
            commit: Some(main),
            config_at,
            deal: Some(info.clone()),
            owner: None,
            deals: Vec::new(),
            when,
        });
    }
    out
}

/// Whether `key` was delivered already (a note on its blob id).
pub fn recorded(repo: &Repository, key: &str) -> bool {
    let Ok(id) = Oid::hash_object(git2::ObjectType::Blob, key.as_bytes()) else {
        return false;
    };
    repo.find_note(Some(NOTES_REF), id).is_ok()
}

/// Records a delivery: a note under [`NOTES_REF`] on the blob of its key.
pub fn record(repo: &Repository, key: &str, now: DateTime<Utc>) -> Result<(), git2::Error> {
    let id = repo.blob(key.as_bytes())?;
    let sig = repo
        .signature()
        .or_else(|_| git2::Signature::now("deal notify", "deal-notify@localhost"))?;
    let note = format!("{key}sent {}\n", crate::base::time::format_ts(now));
    repo.note(&sig, &sig, Some(NOTES_REF), id, &note, true)?;
    Ok(())
}

/// `fallback`, or the test-only [`TEST_TIMEOUT_VAR`] when set.
fn timeout_or(fallback: Duration) -> Duration {
    std::env::var(TEST_TIMEOUT_VAR)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(fallback)
}

/// POSTs `body` to `url`: [`TRIES`] tries with backoff, each bounded by
/// [`TIMEOUT`]. `Err` says why the last try failed.
pub fn post(url: &str, body: &str) -> Result<(), String> {
    let timeout = timeout_or(TIMEOUT);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut why = String::new();
    for attempt in 0..TRIES {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
        }
        match agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
        {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => why = format!("the receiver answered {}", r.status()),
            Err(ureq::Error::Timeout(_)) => {
                why = format!("no answer within {} s", timeout.as_secs_f64())
            }
            Err(e) => why = e.to_string(),
        }
    }
    Err(format!("{why} (after {TRIES} tries)"))
}

/// Runs a command trigger: the event on stdin, `DEAL_EVENT`, `DEAL_SLUG`
/// and `DEAL_TRIGGER` set, in `root`, in a process group of its own that
/// is killed after [`COMMAND_TIMEOUT`]. `Err` says why it failed.
pub fn run_command(
    root: &std::path::Path,
    cmd: &str,
    event: &Event,
    t: &Trigger,
    body: &str,
) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let slug = event
        .deal
        .as_ref()
        .map(|d| d.slug.clone())
        .unwrap_or_default();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(root)
        .env("DEAL_EVENT", event.on.as_str())
        .env("DEAL_SLUG", slug)
        .env("DEAL_TRIGGER", &t.id)
        .stdin(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start `sh`: {e}"))?;
    // Written on a thread: a command that never reads its stdin cannot
    // block the run past the timeout.
    if let Some(mut i) = child.stdin.take() {
        let body = body.as_bytes().to_vec();
        std::thread::spawn(move || {
            let _ = i.write_all(&body);
        });
    }
    let limit = timeout_or(COMMAND_TIMEOUT);
    let deadline = std::time::Instant::now() + limit;
    let st = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(st) => break st,
            None if std::time::Instant::now() >= deadline => {
                // The whole group: `sh` and whatever it started.
                // SAFETY: kill(2) with a negative pid signals the process
                // group `spawn` made for this child; it touches no memory.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the command did not finish within {} s and was killed",
                    limit.as_secs_f64()
                ));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    if st.success() {
        Ok(())
    } else {
        Err(format!("the command exited with {st}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::triggers::check_webhook;

    fn parse(y: &str) -> Vec<Trigger> {
        let v: serde_yaml::Value = serde_yaml::from_str(y).unwrap();
        let team = ["bob".to_string()];
        let known = crate::model::triggers::Known {
            stages: &[],
            outcomes: &[],
            team: &team,
        };
        crate::model::triggers::parse_triggers(&v, &known).unwrap()
    }

    #[test]
    fn review_names_each_trigger_change() {
        let base = parse(
            "- { id: a, on: won, webhook: 'https://hooks.slack.com/x/$DEAL_A' }\n- { id: b, on: lost, command: ./x }",
        );
        let head = parse(
            "- { id: a, on: won, owner: bob, webhook: 'https://evil.example/$DEAL_A/${DEAL_B}' }\n- { id: c, on: lead, source: web, command: ./y }",
        );
        assert_eq!(
            trigger_changes(&base, &head),
            vec![
                "trigger `a` changed (filters; delivery, was webhook to host `hooks.slack.com` (reads `$DEAL_A`)): on `won`, owner `bob` → webhook to host `evil.example` (reads `$DEAL_A`, `$DEAL_B`)",
                "trigger `c` added: on `lead`, source `web` → command `./y`",
                "trigger `b` removed: on `lost` → command `./x`",
            ]
        );
    }

    #[test]
    fn a_move_fires_lead_entry_and_forced_as_it_was_made() {
        let (s0, s1) = (Place::Stage(0), Place::Stage(1));
        assert_eq!(kinds_of(None, s0, true, false), vec![On::Lead, On::Enter]);
        // A deal that names where it came from is no new lead.
        assert_eq!(kinds_of(None, s0, false, false), vec![On::Enter]);
        assert_eq!(kinds_of(None, s1, true, false), vec![On::Enter]);
        assert_eq!(
            kinds_of(Some(s1), Place::Won, false, true),
            vec![On::Won, On::Forced]
        );
        assert_eq!(
            kinds_of(Some(s0), Place::Lost, false, false),
            vec![On::Lost]
        );
        // A forced fact that leaves the deal where it was: only `forced`.
        assert_eq!(kinds_of(Some(s1), s1, false, true), vec![On::Forced]);
        assert!(kinds_of(Some(s1), s1, false, false).is_empty());
    }

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_has_no_markup(s in "\\PC{0,40}") {
            let e = escape(&s);
            proptest::prop_assert!(!e.contains('<') && !e.contains('>'));
        }

        #[test]
        fn checking_a_webhook_never_panics(s in "\\PC{0,40}") {
            let _ = check_webhook(&s);
            let _ = host(&s);
            let _ = expand(&s);
        }
    }
}
