//! The pages `deal serve` renders: the board, a deal, the follow-up list
//! and the report. Templates are compiled in from `templates/serve/`; they
//! use the report's own style sheet (taken from the report's layout, so the
//! board has one look in both renderings) and escape every value, as the
//! report's templates do (HTML auto-escaping; Markdown bodies through
//! `report::markdown_html`).

use std::collections::HashMap;

use serde::Serialize;

use super::http::{Form, Reply, Server};
use crate::base::error::Error;
use crate::model::deal::Deal;
use crate::model::fields::{FIELDS, Kind};
use crate::reports::board::Row;
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::Pipeline;
use crate::yaml::mapping::{lookup, scalar_text};

/// What a refused write says when the file changed under the page.
pub const STALE: &str = "changed since you opened it";

/// The blob id git gives the deal file's bytes: what a page was rendered from.
pub fn blob_id(d: &Deal) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, d.text.as_bytes())
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// Cards shown per column before "show all".
pub const PER_COLUMN: usize = 50;

const LAYOUT: &str = include_str!("../../../templates/serve/layout.html");
const BOARD: &str = include_str!("../../../templates/serve/board.html");
const DEAL: &str = include_str!("../../../templates/serve/deal.html");
const DUE: &str = include_str!("../../../templates/serve/due.html");
const ERROR: &str = include_str!("../../../templates/serve/error.html");
const REFUSAL: &str = include_str!("../../../templates/serve/refusal.html");
/// The report's layout, whose style sheet every served page uses.
const REPORT_LAYOUT: &str = include_str!("../../../templates/report/layout.html");

/// The report's style sheet: the text of its layout's `<style>` element.
fn report_css() -> &'static str {
    let a = REPORT_LAYOUT.find("<style>").map(|i| i + 7).unwrap_or(0);
    let b = REPORT_LAYOUT[a..]
        .find("</style>")
        .map(|i| a + i)
        .unwrap_or(a);
    &REPORT_LAYOUT[a..b]
}

pub fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // As the report renders: escaping, hidden characters, money, days.
    crate::reports::report::page_basics(&mut env);
    for (name, src) in [
        ("layout.html", LAYOUT),
        ("board.html", BOARD),
        ("deal.html", DEAL),
        ("due.html", DUE),
        ("error.html", ERROR),
        ("refusal.html", REFUSAL),
    ] {
        env.add_template(name, src)
            .expect("the built-in serve templates parse");
    }
    env.add_global(
        "report_css",
        minijinja::Value::from_safe_string(report_css().to_string()),
    );
    env
}

fn render(srv: &Server, name: &str, status: u16, ctx: minijinja::Value) -> Result<Reply, Error> {
    let env = environment();
    let tpl = env
        .get_template(name)
        .map_err(|e| Error::usage(format!("template serve/{name}: {e}"), "report this bug"))?;
    let html = tpl
        .render(minijinja::context! { csrf => &srv.csrf, nonce => &srv.nonce, ..ctx })
        .map_err(|e| Error::usage(format!("template serve/{name}: {e:#}"), "report this bug"))?;
    Ok(Reply::html(status, html))
}

fn ser<T: Serialize>(v: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// A write that was refused, shown on the page it came from, with the
/// user's input again.
#[derive(Serialize, Default)]
pub struct Refusal {
    pub action: String,
    pub title: String,
    /// Each unmet criterion and its fix, one line each.
    pub lines: Vec<String>,
    pub help: String,
    pub stale: bool,
    /// What the user sent (the CSRF token left out).
    pub values: HashMap<String, String>,
    /// A deal form's fields the user edited (sent otherwise than shown).
    #[serde(skip)]
    pub edited: Vec<(String, String)>,
    #[serde(skip)]
    pub status: u16,
}

impl Refusal {
    pub fn new(e: &Error, action: &str, form: &Form) -> Refusal {
        let (message, help, status) = match e {
            Error::Refused { message, help } => (message.clone(), help.clone(), 422),
            Error::Usage { message, help, .. } | Error::Git { message, help, .. } => {
                (message.clone(), help.clone(), 422)
            }
            other => (other.to_string(), String::new(), 500),
        };
        let stale = message.contains(STALE);
        let mut lines = message.lines();
        let title = lines.next().unwrap_or("").trim().to_string();
        Refusal {
            action: action.to_string(),
            title,
            lines: lines
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
            help,
            stale,
            values: form
                .0
                .iter()
                .filter(|(k, _)| k != "csrf")
                .cloned()
                .collect(),
            edited: set_fields(form)
                .into_iter()
                .filter(|f| f.shown.as_ref() != Some(&f.value))
                .map(|f| (f.key, f.value))
                .collect(),
            status: if stale { 409 } else { status },
        }
    }
}

/// The board's filters.
#[derive(Serialize, Default)]
pub struct BoardQuery {
    pub owner: String,
    pub q: String,
    /// The column shown whole.
    pub all: String,
}

impl From<&[(String, String)]> for BoardQuery {
    fn from(q: &[(String, String)]) -> BoardQuery {
        let get = |k: &str| {
            q.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        BoardQuery {
            owner: get("owner"),
            q: get("q"),
            all: get("all"),
        }
    }
}

impl BoardQuery {
    /// This board's URL with `all` set to `col` (or unset).
    fn url(&self, all: &str) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.owner.is_empty() {
            s.append_pair("owner", &self.owner);
        }
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        if !all.is_empty() {
            s.append_pair("all", all);
        }
        let q = s.finish();
        if q.is_empty() {
            "/".into()
        } else {
            format!("/?{q}")
        }
    }

    /// Whether the filters keep deal `d` (by its typed fields, so that a
    /// card is built only for the deals shown).
    fn keeps(&self, d: &Deal) -> bool {
        let f = &d.fields;
        if !self.owner.is_empty() && f.owner.as_deref().unwrap_or("") != self.owner {
            return false;
        }
        if self.q.is_empty() {
            return true;
        }
        let q = self.q.to_lowercase();
        [
            Some(&d.slug),
            f.title.as_ref(),
            f.company.as_ref(),
            f.owner.as_ref(),
            f.next_action.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|s| s.to_lowercase().contains(&q))
    }
}

#[derive(Serialize)]
struct Card {
    #[serde(flatten)]
    row: Row,
    blob: String,
}

#[derive(Serialize)]
struct Column {
    id: String,
    name: String,
    count: usize,
    shown: usize,
    value: f64,
    all_url: String,
    cards: Vec<Card>,
}

#[derive(Serialize)]
struct Place {
    id: String,
    name: String,
}

/// `/`: one column per open stage, drop targets for won and lost.
pub fn board(
    srv: &Server,
    bq: &BoardQuery,
    flash: Option<String>,
    refusal: Option<Refusal>,
) -> Result<Reply, Error> {
    let now = crate::base::time::now();
    let p = Pipeline::load(&srv.root)?;
    let cfg = &p.cfg;
    let ev = Evaluator::worktree(cfg, &p.root);
    let by_slug: HashMap<&str, &Deal> = p.deals.iter().map(|d| (d.slug.as_str(), d)).collect();
    let mut cols: Vec<Column> = cfg
        .stages
        .iter()
        .map(|s| Column {
            id: s.id.clone(),
            name: s.name.clone(),
            count: 0,
            shown: 0,
            value: 0.0,
            all_url: bq.url(&s.id),
            cards: Vec::new(),
        })
        .collect();
    // Cards (criteria evaluated) only for the deals shown: at most 50 a
    // column unless "show all", so 10,000 deals stay quick.
    let mut per: Vec<Vec<(&Deal, f64)>> = cfg.stages.iter().map(|_| Vec::new()).collect();
    for d in &p.deals {
        if let crate::model::deal::Place::Stage(i) = d.place
            && bq.keeps(d)
        {
            let days = d
                .entered_current(cfg)
                .map(|t| crate::reports::board::round1(crate::base::time::days_between(t, now)))
                .unwrap_or(0.0);
            per[i].push((d, days));
        }
    }
    for (c, mut ds) in cols.iter_mut().zip(per) {
        // As the report orders them: longest in stage first.
        ds.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.slug.cmp(&b.0.slug)));
        c.count = ds.len();
        // Totals count only the pipeline's currency (docs/reference.md, "Money").
        c.value = crate::base::money::to_f64(
            ds.iter()
                .filter(|(d, _)| {
                    crate::base::money::counts_in(d.fields.currency.as_deref(), &cfg.currency)
                })
                .filter_map(|(d, _)| d.fields.value)
                .sum(),
        );
        let limit = if bq.all == c.id {
            usize::MAX
        } else {
            PER_COLUMN
        };
        c.cards = ds
            .into_iter()
            .take(limit)
            .map(|(d, _)| Card {
                row: Row::of(cfg, &ev, d, now),
                blob: blob_id(d),
            })
            .collect();
        c.shown = c.cards.len();
    }
    let mut places: Vec<Place> = cfg
        .stages
        .iter()
        .map(|s| Place {
            id: s.id.clone(),
            name: s.name.clone(),
        })
        .collect();
    places.push(Place {
        id: "won".into(),
        name: "Won".into(),
    });
    places.push(Place {
        id: "lost".into(),
        name: "Lost".into(),
    });
    let current_blob = refusal
        .as_ref()
        .and_then(|r| r.values.get("slug"))
        .and_then(|s| by_slug.get(s.as_str()))
        .map(|d| blob_id(d))
        .unwrap_or_default();
    let status = refusal.as_ref().map_or(200, |r| r.status);
    let team: Vec<(&String, String)> = cfg
        .team
        .iter()
        .map(|(h, m)| (h, m.name.clone().unwrap_or_else(|| h.clone())))
        .collect();
    let back = bq.url(&bq.all);
    render(
        srv,
        "board.html",
        status,
        minijinja::context! {
            title => "Board",
            root => crate::base::diag::display_path(&srv.root),
            columns => ser(&cols),
            places => ser(&places),
            team => ser(&team),
            lost_reasons => &cfg.lost_reasons,
            currency => &cfg.currency,
            filter => ser(bq),
            back => back,
            flash => flash,
            refusal => ser(&refusal),
            current_blob => current_blob,
            unreadable => p.unreadable().len(),
        },
    )
}

/// A front-matter value as the deal form shows it (empty when missing or
/// not a scalar).
pub fn field_text(d: &Deal, key: &str) -> String {
    lookup(&d.fm, key).and_then(scalar_text).unwrap_or_default()
}

/// A field's value as the page renders it: hidden characters as visible
/// codes (`\u{202e}`), as every served value is (see [`environment`]).
pub fn shown_text(d: &Deal, key: &str) -> String {
    crate::base::diag::escape_text(&field_text(d, key)).into_owned()
}

/// Line breaks as a browser sends them (CRLF) back to LF.
fn lf(s: &str) -> String {
    s.replace("\r\n", "\n")
}

/// The prefix of the hidden input that carries what the page showed for a
/// field (`shown:value`): what tells an edit from an untouched field.
pub const SHOWN: &str = "shown:";

/// A field of a submitted deal form.
pub struct SetField {
    pub key: String,
    /// As sent, line breaks as LF.
    pub value: String,
    /// What the page showed for it, when the form says.
    pub shown: Option<String>,
}

/// The fields of a deal form POST (not its CSRF token, blob id, or the
/// values it showed).
pub fn set_fields(form: &Form) -> Vec<SetField> {
    form.0
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "blob" | "back") && !k.starts_with(SHOWN))
        .map(|(k, v)| SetField {
            key: k.clone(),
            value: lf(v),
            shown: form.get(&format!("{SHOWN}{k}")).map(lf),
        })
        .collect()
}

/// Top-level keys the deal form leaves to their own controls: the stage
/// dates and outcome (moves), waivers (forced moves), objections (their
/// own forms), and the lead profile.
const NOT_IN_FORM: &[&str] = &["stages", "lost", "waived", "objections", "icp"];

#[derive(Serialize)]
struct Input {
    key: String,
    value: String,
    /// The value in the file (carried back as `shown:<key>`).
    shown: String,
    meaning: &'static str,
    numeric: bool,
    /// Lines of a `<textarea>` for a value of several lines (an `<input>`
    /// would lose its line breaks); 0 for an `<input>`.
    rows: usize,
}

/// The deal form's inputs: every known scalar field (empty where the deal
/// lacks it), then the deal's own other scalar keys.
fn inputs(d: &Deal) -> Vec<Input> {
    let mut out: Vec<Input> = FIELDS
        .iter()
        .filter(|f| f.kind != Kind::Block && !f.path.contains('*'))
        .filter(|f| !NOT_IN_FORM.contains(&f.path.split('.').next().unwrap_or("")))
        .map(|f| Input {
            key: f.path.to_string(),
            value: field_text(d, f.path),
            shown: field_text(d, f.path),
            meaning: f.meaning,
            numeric: f.kind == Kind::Amount,
            rows: 0,
        })
        .collect();
    let mut extra: Vec<String> = Vec::new();
    for (k, v) in &d.fm {
        let Some(k) = k.as_str() else { continue };
        if NOT_IN_FORM.contains(&k) {
            continue;
        }
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (sk, sv) in m {
                    if let (Some(sk), Some(_)) = (sk.as_str(), scalar_text(sv)) {
                        extra.push(format!("{k}.{sk}"));
                    }
                }
            }
            v if scalar_text(v).is_some() => extra.push(k.to_string()),
            _ => {}
        }
    }
    extra.sort();
    for k in extra {
        if crate::model::fields::get(&k).is_none()
            && crate::cli::set::parse_assignment(&format!("{k}=")).is_ok()
        {
            out.push(Input {
                value: field_text(d, &k),
                shown: field_text(d, &k),
                key: k,
                meaning: "",
                numeric: false,
                rows: 0,
            });
        }
    }
    out
}

#[derive(Serialize)]
struct ObjectionRow {
    n: usize,
    text: String,
    response: String,
    resolved: bool,
}

/// `/deals/<slug>`: the checklist, the front-matter form, the body as the
/// report renders it, objections and history.
pub fn deal(
    srv: &Server,
    slug: &str,
    flash: Option<String>,
    refusal: Option<Refusal>,
) -> Result<Reply, Error> {
    let now = crate::base::time::now();
    let p = Pipeline::open_for(&srv.root, slug)?;
    let cfg = &p.cfg;
    let d = p.one(slug)?;
    if d.slug != slug {
        return Err(Error::usage(
            format!("no deal `{slug}`"),
            "pick a card on the board",
        ));
    }
    let ev = Evaluator::worktree(cfg, &p.root);
    let page = crate::reports::report::deal_page(cfg, &ev, d, now);
    let mut inputs = inputs(d);
    if let Some(r) = refusal.as_ref().filter(|r| r.action == "set") {
        // The user's edits, shown again on top of the deal as it is now:
        // a field the user did not edit shows the file's value, so sending
        // the form again never puts back what someone else changed.
        for i in &mut inputs {
            if let Some(v) = r.edited.iter().find(|f| f.0 == i.key) {
                i.value = v.1.clone();
            }
        }
    }
    for i in &mut inputs {
        if i.value.contains('\n') || i.shown.contains('\n') {
            i.rows = i.value.lines().count().max(i.shown.lines().count()).max(2);
        }
    }
    let objections: Vec<ObjectionRow> = crate::model::objection::list(&d.fm)
        .into_iter()
        .enumerate()
        .map(|(i, o)| ObjectionRow {
            n: i + 1,
            text: o.objection,
            response: o.response.unwrap_or_default(),
            resolved: o.resolved,
        })
        .collect();
    let status = refusal.as_ref().map_or(200, |r| r.status);
    render(
        srv,
        "deal.html",
        status,
        minijinja::context! {
            title => page_title(d),
            slug => &d.slug,
            stage => d.place.id(cfg),
            deal => ser(&page),
            blob => blob_id(d),
            inputs => ser(&inputs),
            objections => ser(&objections),
            history => ser(&crate::store::history::deal_log(&p.root, &cfg.deals_dir, &d.slug)),
            note_kinds => crate::model::notes::NoteKind::ALL.map(|k| k.as_str()).to_vec(),
            flash => flash,
            refusal => ser(&refusal),
            currency => &cfg.currency,
        },
    )
}

fn page_title(d: &Deal) -> String {
    d.fields.title.clone().unwrap_or_else(|| d.slug.clone())
}

/// `/due`: the follow-up list of the next 7 days.
pub fn due(srv: &Server) -> Result<Reply, Error> {
    let now = crate::base::time::now();
    let p = Pipeline::load(&srv.root)?;
    let items = crate::reports::due::items(&p.cfg, &p.deals, now, 7, None);
    render(
        srv,
        "due.html",
        200,
        minijinja::context! { title => "Follow-ups", items => ser(&items) },
    )
}

/// `/report/…`: the report of the pipeline as it is now, rendered in
/// memory (nothing written); `want` is `index.html` or `deals/<slug>.html`.
pub fn report(srv: &Server, want: &str) -> Result<Reply, Error> {
    let now = crate::base::time::now();
    let p = Pipeline::load(&srv.root)?;
    let ev = Evaluator::worktree(&p.cfg, &p.root);
    let stats = crate::reports::stats::Stats::compute(&p, now);
    let trend = if want == "index.html" && crate::store::repo::Repo::open(&srv.root).is_some() {
        crate::reports::trend::compute(&srv.root, crate::reports::trend::Every::Week, 12, now).ok()
    } else {
        None
    };
    let found = std::sync::Mutex::new(None);
    crate::reports::report::render(&p, &ev, &stats, now, None, trend.as_ref(), &|rel, html| {
        if rel == std::path::Path::new(want) {
            *found.lock().unwrap_or_else(|e| e.into_inner()) = Some(html.to_string());
        }
        Ok(())
    })?;
    match found.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(html) => Ok(Reply::html(200, html)),
        None => Ok(Reply::html(404, "Not found\n".into())),
    }
}

/// A page for an error (an unknown deal, an unreadable pipeline.yaml).
pub fn error_page(srv: &Server, e: &Error) -> Reply {
    let status = match e {
        Error::Usage { message, .. } if message.starts_with("no deal") => 404,
        Error::Usage { .. } | Error::Config(_) => 400,
        _ => 500,
    };
    render(
        srv,
        "error.html",
        status,
        minijinja::context! { title => "Error", message => e.to_string() },
    )
    .unwrap_or_else(|_| Reply::html(status, "error\n".into()))
}
