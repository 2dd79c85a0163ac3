//! The static HTML report (docs/reference.md, "Stats and the report"): `index.html` and a page per deal,
//! rendered with minijinja templates (built in, overridable by the
//! pipeline's `templates/report/`) from the numbers of [`crate::reports::stats`].
//!
//! Safety: templates auto-escape every value. Deal bodies are rendered from
//! Markdown with pulldown-cmark, with raw HTML turned into escaped text,
//! links kept only for http(s), mailto and in-page anchors, and images
//! shown as links (so a report never loads anything from the network).
//!
//! Reproducible: the only clock is "now" (`SOURCE_DATE_EPOCH`), and every
//! list is in a fixed order, so the same input gives byte-identical files.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use crate::base::error::Error;
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::model::fields::Fields;
use crate::model::notes::Templates;
use crate::reports::board::{Row, money, round1};
use crate::reports::stats::{Column, Stats, board};
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::Pipeline;
use crate::yaml::mapping::{lookup, scalar_text};

/// Whether a link target may be kept: http(s), mailto, or an in-page anchor.
pub fn safe_href(url: &str) -> bool {
    let u: String = url
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    u.starts_with("http://")
        || u.starts_with("https://")
        || u.starts_with("mailto:")
        || u.starts_with('#')
}

/// Renders a deal's Markdown body as safe HTML.
pub fn markdown_html(src: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // For each open link or image: whether its start tag was dropped.
    let mut dropped: Vec<bool> = Vec::new();
    let mut in_comment = false;
    let events = Parser::new_ext(src, opts).filter_map(|ev| match ev {
        // HTML comments (the prompts `deal note` scaffolds) are dropped;
        // any other raw HTML is shown as text.
        Event::Html(t) | Event::InlineHtml(t) => {
            let kept = strip_comments(&t, &mut in_comment);
            (!kept.trim().is_empty())
                .then(|| Event::Text(crate::base::diag::escape_text(&kept).into_owned().into()))
        }
        // Hidden characters (a right-to-left override, a zero-width space)
        // are shown as visible codes (docs/safety.md, "Odd files and odd
        // text").
        Event::Text(t) => Some(Event::Text(
            crate::base::diag::escape_text(&t).into_owned().into(),
        )),
        Event::Code(t) => Some(Event::Code(
            crate::base::diag::escape_text(&t).into_owned().into(),
        )),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let ok = safe_href(&dest_url);
            dropped.push(!ok);
            ok.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::Start(Tag::Image {
            dest_url, title, ..
        }) => {
            let ok = safe_href(&dest_url);
            dropped.push(!ok);
            ok.then_some(Event::Start(Tag::Link {
                link_type: LinkType::Inline,
                dest_url,
                title,
                id: "".into(),
            }))
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
            if dropped.pop().unwrap_or(true) {
                None
            } else {
                Some(Event::End(TagEnd::Link))
            }
        }
        other => Some(other),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// `html` without its HTML comments; `in_comment` carries an open comment
/// from one piece of raw HTML to the next (a comment over several lines).
fn strip_comments(html: &str, in_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = html;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(i) => {
                    rest = &rest[i + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        } else {
            match rest.find("<!--") {
                Some(i) => {
                    out.push_str(&rest[..i]);
                    rest = &rest[i + 4..];
                    *in_comment = true;
                }
                None => {
                    out.push_str(rest);
                    return out;
                }
            }
        }
    }
}

/// New, moved, won and lost deals since an earlier pipeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    pub since: String,
    pub new: Vec<Change>,
    pub moved: Vec<Change>,
    pub won: Vec<Change>,
    pub lost: Vec<Change>,
    pub removed: Vec<Change>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub slug: String,
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub owner: String,
}

impl Changes {
    pub fn between(old: &Pipeline, new: &Pipeline, since: String) -> Changes {
        let mut c = Changes {
            since,
            ..Changes::default()
        };
        let find =
            |p: &Pipeline, slug: &str| p.deals.iter().find(|d| d.slug == slug).map(|d| d.place);
        let mut slugs: Vec<&Deal> = new.deals.iter().collect();
        slugs.sort_by(|a, b| a.slug.cmp(&b.slug));
        for d in slugs {
            let before = find(old, &d.slug);
            let ch = Change {
                slug: d.slug.clone(),
                name: d.name().to_string(),
                from: before.map(|pl| pl.id(&old.cfg).to_string()),
                to: Some(d.place.id(&new.cfg).to_string()),
                owner: d.fields.owner.clone().unwrap_or_default(),
            };
            match before {
                None => c.new.push(ch),
                Some(b) if b == d.place => {}
                Some(_) if d.place == Place::Won => c.won.push(ch),
                Some(_) if d.place == Place::Lost => c.lost.push(ch),
                Some(_) => c.moved.push(ch),
            }
        }
        let mut gone: Vec<&Deal> = old
            .deals
            .iter()
            .filter(|d| find(new, &d.slug).is_none())
            .collect();
        gone.sort_by(|a, b| a.slug.cmp(&b.slug));
        for d in gone {
            c.removed.push(Change {
                slug: d.slug.clone(),
                name: d.name().to_string(),
                from: Some(d.place.id(&old.cfg).to_string()),
                to: None,
                owner: d.fields.owner.clone().unwrap_or_default(),
            });
        }
        c
    }
}

#[derive(Serialize)]
struct Bar {
    label: String,
    value: String,
    /// Width in percent of the chart.
    width: f64,
    note: String,
}

#[derive(Serialize)]
struct CheckItem {
    stage: String,
    label: String,
    met: bool,
    detail: Option<String>,
}

#[derive(Serialize)]
struct Link {
    text: String,
    href: Option<String>,
}

#[derive(Serialize)]
pub struct DealPage {
    card: Row,
    title: String,
    stage_name: String,
    owner_name: String,
    value_text: String,
    checklist: Vec<CheckItem>,
    history: Vec<(String, String)>,
    waived: Vec<(String, String)>,
    lost: Option<(String, String, String)>,
    contact: Vec<(String, Link)>,
    contract: Option<Link>,
    fields: Vec<(String, String)>,
    /// Lists of mappings (`objections`, custom ones), one table each.
    tables: Vec<Table>,
    body_html: minijinja::Value,
}

/// A front-matter list of mappings, shown as a table.
#[derive(Serialize)]
struct Table {
    key: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table when `v` is a non-empty list whose items are all mappings.
    /// Columns come in first-seen order, after `first` (the ones always shown).
    fn of(key: &str, v: &serde_yaml::Value, first: &[&str]) -> Option<Table> {
        let items = v.as_sequence().filter(|s| !s.is_empty())?;
        let maps: Vec<&serde_yaml::Mapping> = items
            .iter()
            .map(|i| i.as_mapping())
            .collect::<Option<_>>()?;
        let mut columns: Vec<String> = first.iter().map(|c| c.to_string()).collect();
        for m in &maps {
            for k in m.keys().filter_map(scalar_text) {
                if !columns.contains(&k) {
                    columns.push(k);
                }
            }
        }
        let rows = maps
            .iter()
            .map(|m| {
                columns
                    .iter()
                    .map(|c| match m.get(c.as_str()) {
                        None | Some(serde_yaml::Value::Null) => String::new(),
                        Some(serde_yaml::Value::Bool(b)) => {
                            (if *b { "✔ yes" } else { "✖ no" }).into()
                        }
                        Some(v) => plain(v),
                    })
                    .collect()
            })
            .collect();
        Some(Table {
            key: key.to_string(),
            columns,
            rows,
        })
    }
}

/// Days as the report and `deal serve` show them: `22.5 d`, or `–`.
pub fn fmt_days(x: Option<f64>) -> String {
    x.map(|d| format!("{:.1} d", round1(d)))
        .unwrap_or_else(|| "–".into())
}

/// Text with `backticked` spans, as HTML: escaped, each span in `<code>`
/// (a criterion's detail names fields so: "`verbal_agreement_on` is missing").
fn inline_code(s: &str) -> String {
    let mut out = String::new();
    let parts: Vec<&str> = s.split('`').collect();
    // An odd backtick out stays a backtick.
    let pairs = (parts.len() - 1) / 2 * 2;
    for (i, part) in parts.iter().enumerate() {
        let esc = minijinja::HtmlEscape(part).to_string();
        if i % 2 == 1 && i <= pairs {
            out.push_str(&format!("<code>{esc}</code>"));
        } else {
            if i > pairs {
                out.push('`');
            }
            out.push_str(&esc);
        }
    }
    out
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// A funnel row's words: entered, went on, lost there, still open. Only
/// lost deals are called dropped: a deal still open in the stage has not
/// dropped.
fn funnel_note(s: &crate::reports::stats::StageStats) -> String {
    if s.entered == 0 {
        return "no deals yet".into();
    }
    let of = |n: usize| pct(Some(n as f64 / s.entered as f64));
    let mut parts = vec![format!("{} went on ({})", s.went_on, of(s.went_on))];
    if s.lost_here > 0 {
        parts.push(format!(
            "{} lost here ({} dropped)",
            s.lost_here,
            of(s.lost_here)
        ));
    } else {
        parts.push("none lost here".into());
    }
    parts.push(format!("{} still open", s.open));
    parts.join(" · ")
}

fn link_for(text: String) -> Link {
    let href = safe_href(&text).then(|| text.clone());
    Link { text, href }
}

/// A front-matter value as one line of text: a list of scalars joined with
/// commas; anything deeper as JSON.
fn plain(v: &serde_yaml::Value) -> String {
    if let Some(items) = v.as_sequence()
        && let Some(texts) = items.iter().map(scalar_text).collect::<Option<Vec<_>>>()
    {
        return if texts.is_empty() {
            "none".into()
        } else {
            texts.join(", ")
        };
    }
    scalar_text(v).unwrap_or_else(|| serde_json::to_string(v).unwrap_or_default())
}

pub fn deal_page(cfg: &Config, ev: &Evaluator, d: &Deal, now: DateTime<Utc>) -> DealPage {
    let f = &d.fields;
    let owner = f.owner.clone().unwrap_or_default();
    let owner_name = cfg
        .team
        .get(&owner)
        .and_then(|m| m.name.clone())
        .unwrap_or_else(|| owner.clone());
    let waived = f
        .waived
        .iter()
        .map(|(k, v)| (k.clone(), v.reason.clone()))
        .collect();
    let lost = f.lost_reason.as_ref().map(|r| {
        (
            r.clone(),
            f.lost_stage.clone().unwrap_or_default(),
            f.lost_at
                .map(crate::base::time::human_ts)
                .unwrap_or_default(),
        )
    });
    let (fields, tables) = other_fields(d);
    DealPage {
        title: f.title.clone().unwrap_or_else(|| d.slug.clone()),
        stage_name: stage_name(cfg, d.place),
        owner_name,
        value_text: value_text(cfg, f),
        checklist: checklist(cfg, ev, d),
        history: stage_history(f),
        waived,
        lost,
        contact: contact(d),
        contract: f.contract.clone().map(link_for),
        fields,
        tables,
        body_html: minijinja::Value::from_safe_string(markdown_html(d.body())),
        card: Row::of(cfg, ev, d, now),
    }
}

/// Where a deal sits, as its page names it: the stage's name, `Won` or
/// `Lost`.
fn stage_name(cfg: &Config, place: Place) -> String {
    match place {
        Place::Stage(i) => cfg.stages[i].name.clone(),
        Place::Won => "Won".into(),
        Place::Lost => "Lost".into(),
    }
}

/// A deal's value with its currency (`12,500 EUR`), or `–` without one.
fn value_text(cfg: &Config, f: &Fields) -> String {
    match f.value {
        Some(v) => format!(
            "{} {}",
            crate::base::money::format(
                v,
                crate::base::money::minor_unit(f.currency.as_deref().unwrap_or(&cfg.currency))
            ),
            f.currency.clone().unwrap_or_else(|| cfg.currency.clone())
        ),
        None => "–".into(),
    }
}

/// An open deal's exit criteria for its stage, each judged; none once
/// it is closed.
fn checklist(cfg: &Config, ev: &Evaluator, d: &Deal) -> Vec<CheckItem> {
    let Place::Stage(i) = d.place else {
        return Vec::new();
    };
    cfg.stages[i]
        .exit
        .iter()
        .map(|c| {
            let o = ev.eval(c, d);
            CheckItem {
                stage: cfg.stages[i].id.clone(),
                label: c.label.clone(),
                met: o.met,
                detail: o.detail,
            }
        })
        .collect()
}

/// The `stages` entries in time order, as (stage, date as people read it).
fn stage_history(f: &Fields) -> Vec<(String, String)> {
    let mut history: Vec<(DateTime<Utc>, String)> =
        f.stages.iter().map(|(k, t)| (*t, k.clone())).collect();
    history.sort();
    history
        .into_iter()
        .map(|(t, k)| (k, crate::base::time::human_ts(t)))
        .collect()
}

/// The `contact` mapping's scalar entries: name, role, email and phone
/// first, the rest by key; an email as a `mailto:` link, any other
/// entry a link only when it is http(s).
fn contact(d: &Deal) -> Vec<(String, Link)> {
    let mut contact = Vec::new();
    let Some(serde_yaml::Value::Mapping(m)) = d.fm.get("contact") else {
        return contact;
    };
    let mut keys: Vec<String> = m.keys().filter_map(scalar_text).collect();
    let rank = |k: &str| {
        ["name", "role", "email", "phone"]
            .iter()
            .position(|x| *x == k)
            .unwrap_or(9)
    };
    keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    for k in keys {
        let Some(v) = lookup(&d.fm, &format!("contact.{k}")).and_then(scalar_text) else {
            continue;
        };
        let link = match k.as_str() {
            "email" => Link {
                href: safe_href(&format!("mailto:{v}")).then(|| format!("mailto:{v}")),
                text: v,
            },
            "name" | "role" | "phone" => Link {
                text: v,
                href: None,
            },
            // Anything else (a profile URL, say) is a link only if it is http(s).
            _ => link_for(v),
        };
        contact.push((k, link));
    }
    contact
}

/// The front-matter the page does not show apart, as (key, text) rows and
/// tables (a list of mappings), each sorted by key; a mapping's entries
/// are rows of their own (`key.sub`).
fn other_fields(d: &Deal) -> (Vec<(String, String)>, Vec<Table>) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut field = |key: String, v: &serde_yaml::Value| {
        let first: &[&str] = if key == "objections" {
            &["objection", "response", "resolved"]
        } else {
            &[]
        };
        match Table::of(&key, v, first) {
            Some(t) => tables.push(t),
            None => fields.push((key.clone(), field_text(&key, v))),
        }
    };
    for (k, v) in &d.fm {
        let Some(k) = k.as_str() else { continue };
        if crate::model::fields::shown_apart(crate::model::fields::View::Page, k) {
            continue;
        }
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (sk, sv) in m {
                    let sk = scalar_text(sk).unwrap_or_default();
                    field(format!("{k}.{sk}"), sv);
                }
            }
            _ => field(k.to_string(), v),
        }
    }
    fields.sort();
    tables.sort_by(|a, b| a.key.cmp(&b.key));
    (fields, tables)
}

/// A field's value as one line ([`plain`]); a timestamp reads as a date,
/// not as RFC 3339.
fn field_text(key: &str, v: &serde_yaml::Value) -> String {
    match crate::model::fields::kind(key) {
        Some(crate::model::fields::Kind::Timestamp) => scalar_text(v)
            .and_then(|s| crate::base::time::parse_timestamp(&s))
            .map(crate::base::time::human_ts)
            .unwrap_or_else(|| plain(v)),
        _ => plain(v),
    }
}

/// Everything the index page shows.
#[derive(Serialize)]
struct IndexPage<'a> {
    title: String,
    generated: String,
    currency: &'a str,
    stats: &'a Stats,
    board: Vec<Column>,
    funnel: Vec<Bar>,
    velocity: Vec<Bar>,
    speed: Vec<Bar>,
    closed: Vec<Row>,
    changes: Option<&'a Changes>,
    problems: usize,
    /// The deal files left out, for the banner (docs/safety.md, "Nothing vanishes silently").
    unreadable: Vec<crate::store::pipeline::Unreadable>,
    kpis: Vec<(String, String, String)>,
    forecast: crate::reports::charts::ForecastView,
    trend: Option<crate::reports::charts::TrendView>,
}

/// What every page `deal` renders shares, the report's and `deal serve`'s:
/// every value from a deal HTML-escaped, with its hidden characters
/// (controls, zero-width, bidirectional overrides) shown as visible codes
/// (`\u{202e}`) so a name never reads as something else; amounts rounded to
/// their currency's minor unit (`money`); days as people read them.
pub fn page_basics(env: &mut minijinja::Environment<'static>) {
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() => {
            let shown = crate::base::diag::escape_text(s);
            if let std::borrow::Cow::Owned(o) = shown {
                return minijinja::escape_formatter(out, state, &minijinja::Value::from(o));
            }
            minijinja::escape_formatter(out, state, value)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("money", |v: f64, currency: Option<String>| {
        crate::base::money::format_f64_in(
            v,
            currency
                .as_deref()
                .map_or(2, crate::base::money::minor_unit),
        )
    });
    env.add_filter("days", |v: Option<f64>| fmt_days(v));
}

fn environment(templates: &Templates) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(50_000_000));
    page_basics(&mut env);
    let templates = templates.clone();
    env.set_loader(
        move |name| match templates.source(&format!("report/{name}")) {
            Ok((text, _)) => Ok(Some(text)),
            // A link or a runaway tag is an error naming the file, never
            // a silent fallback.
            Err(e) if e.path.starts_with("<built-in>") || e.message == "no such template" => {
                Ok(None)
            }
            Err(e) => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                e.to_string().trim_end().to_string(),
            )),
        },
    );
    env.add_filter("urlencode", |v: String| -> String {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    });
    env.add_filter("pct", |v: Option<f64>| pct(v));
    env.add_filter("minutes", |v: Option<f64>| {
        v.map(crate::base::time::human_minutes)
            .unwrap_or_else(|| "–".into())
    });
    env.add_filter("code", |v: String| {
        minijinja::Value::from_safe_string(inline_code(&v))
    });
    env
}

fn render_err(name: &str, e: minijinja::Error) -> Error {
    let mut msg = e.kind().to_string();
    if let Some(d) = e.detail() {
        msg.push_str(": ");
        msg.push_str(d);
    }
    Error::usage(
        format!(
            "template report/{name}{}: {msg}",
            e.line().map(|l| format!(":{l}")).unwrap_or_default()
        ),
        format!("fix templates/report/{name}, or delete it to use the built-in one"),
    )
}

/// The report's files, relative to the output folder: `index.html`, then
/// `deals/<slug>.html` in slug order.
pub fn page_paths(p: &Pipeline) -> Vec<PathBuf> {
    let mut deals: Vec<&Deal> = p.deals.iter().collect();
    deals.sort_by(|a, b| a.slug.cmp(&b.slug).then(a.rel.cmp(&b.rel)));
    std::iter::once(PathBuf::from("index.html"))
        .chain(
            deals
                .iter()
                .map(|d| PathBuf::from("deals").join(format!("{}.html", d.slug))),
        )
        .collect()
}

/// Where rendered pages go: `(path relative to the output folder, HTML)`,
/// called from several threads as pages are ready.
pub type Emit<'a> = dyn Fn(&Path, &str) -> Result<(), Error> + Sync + 'a;

/// Renders the report, handing each page to `emit` as soon as it is
/// rendered (the deal pages in parallel), so ten thousand pages never sit
/// in memory together. `trend` is drawn when the pipeline has git history.
pub fn render(
    p: &Pipeline,
    ev: &Evaluator,
    stats: &Stats,
    now: DateTime<Utc>,
    changes: Option<&Changes>,
    trend: Option<&crate::reports::trend::Trend>,
    emit: &Emit,
) -> Result<(), Error> {
    let env = environment(&Templates::new(&p.root));
    let index = index_page(p, ev, stats, now, changes, trend);
    let tpl = env
        .get_template("index.html")
        .map_err(|e| render_err("index.html", e))?;
    let html = tpl
        .render(minijinja::Value::from(minijinja::value::Serde(&index)))
        .map_err(|e| render_err("index.html", e))?;
    emit(Path::new("index.html"), &html)?;
    drop(html);
    render_deals(&env, p, ev, now, &stats.currency, emit)
}

/// Renders a page per deal, in parallel, in slug order, handing each to
/// `emit` as it is ready.
fn render_deals(
    env: &minijinja::Environment<'static>,
    p: &Pipeline,
    ev: &Evaluator,
    now: DateTime<Utc>,
    cur: &str,
    emit: &Emit,
) -> Result<(), Error> {
    let tpl = env
        .get_template("deal.html")
        .map_err(|e| render_err("deal.html", e))?;
    let generated = crate::base::time::human_ts(now);
    let mut deals: Vec<&Deal> = p.deals.iter().collect();
    deals.sort_by(|a, b| a.slug.cmp(&b.slug).then(a.rel.cmp(&b.rel)));
    use rayon::prelude::*;
    deals.par_iter().try_for_each(|d| {
        let page = deal_page(&p.cfg, ev, d, now);
        let html = tpl
            .render(minijinja::context! { deal => minijinja::Value::from(minijinja::value::Serde(&page)), generated => &generated, currency => cur })
            .map_err(|e| render_err("deal.html", e))?;
        emit(&PathBuf::from("deals").join(format!("{}.html", d.slug)), &html)
    })
}

/// What the index page shows: the stats, the board, the funnel, velocity
/// and speed-to-lead bars, closed deals, the key figures, the forecast of
/// the next three months and the trend when there is one.
fn index_page<'a>(
    p: &Pipeline,
    ev: &Evaluator,
    stats: &'a Stats,
    now: DateTime<Utc>,
    changes: Option<&'a Changes>,
    trend: Option<&crate::reports::trend::Trend>,
) -> IndexPage<'a> {
    let cfg = &p.cfg;
    IndexPage {
        title: "Pipeline report".into(),
        generated: crate::base::time::human_ts(now),
        currency: &stats.currency,
        stats,
        board: board(p, ev, stats, now),
        funnel: funnel_bars(stats),
        velocity: velocity_bars(stats),
        speed: speed_bars(stats),
        closed: closed_rows(p, ev, now),
        changes,
        problems: p.problems.len(),
        unreadable: p.unreadable(),
        kpis: kpis(stats),
        forecast: crate::reports::charts::forecast(
            &crate::reports::forecast::Forecast::compute(
                cfg,
                &p.deals,
                now,
                crate::reports::forecast::By::Month,
                3,
                None,
            ),
            &p.deals,
        ),
        trend: trend.map(|t| {
            let names: Vec<(String, String)> = cfg
                .stages
                .iter()
                .map(|s| (s.id.clone(), s.name.clone()))
                .collect();
            crate::reports::charts::trend(t, &names)
        }),
    }
}

/// A bar's width in percent of the longest, to one decimal.
fn bar_width(x: f64, max: f64) -> f64 {
    (x / max * 1000.0).round() / 10.0
}

/// The funnel: deals that entered each stage, with what became of them.
fn funnel_bars(stats: &Stats) -> Vec<Bar> {
    let max_entered = stats
        .stages
        .iter()
        .map(|s| s.entered)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    stats
        .stages
        .iter()
        .map(|s| Bar {
            label: s.name.clone(),
            value: s.entered.to_string(),
            width: bar_width(s.entered as f64, max_entered),
            note: funnel_note(s),
        })
        .collect()
}

/// Velocity: the median days deals spent in each stage.
fn velocity_bars(stats: &Stats) -> Vec<Bar> {
    let max_days = stats
        .stages
        .iter()
        .filter_map(|s| s.median_days)
        .fold(0.0f64, f64::max)
        .max(1.0);
    stats
        .stages
        .iter()
        .map(|s| Bar {
            label: s.name.clone(),
            value: fmt_days(s.median_days),
            width: s.median_days.map(|d| bar_width(d, max_days)).unwrap_or(0.0),
            note: format!("{} left this stage", s.entered.saturating_sub(s.open)),
        })
        .collect()
}

/// Speed to lead: inbound leads per bucket of time to first contact.
fn speed_bars(stats: &Stats) -> Vec<Bar> {
    let max_bucket = stats
        .speed_to_lead
        .buckets
        .iter()
        .map(|b| b.1)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    stats
        .speed_to_lead
        .buckets
        .iter()
        .map(|(label, n)| Bar {
            label: label.clone(),
            value: n.to_string(),
            width: bar_width(*n as f64, max_bucket),
            note: String::new(),
        })
        .collect()
}

/// The won and lost deals, most recently closed first.
fn closed_rows(p: &Pipeline, ev: &Evaluator, now: DateTime<Utc>) -> Vec<Row> {
    let mut closed: Vec<Row> = p
        .deals
        .iter()
        .filter(|d| !d.place.is_open())
        .map(|d| Row::of(&p.cfg, ev, d, now))
        .collect();
    // Most recently closed first.
    closed.sort_by(|a, b| {
        a.days_in_stage
            .unwrap_or(f64::MAX)
            .total_cmp(&b.days_in_stage.unwrap_or(f64::MAX))
            .then(a.slug.cmp(&b.slug))
    });
    closed
}

/// The key figures atop the index: (name, figure, what it means).
fn kpis(stats: &Stats) -> Vec<(String, String, String)> {
    let cur = &stats.currency;
    vec![
        (
            "Open deals".into(),
            stats.open.to_string(),
            format!("{} {cur} in pipeline", money(stats.open_value)),
        ),
        (
            "Weighted pipeline".into(),
            format!("{} {cur}", money(stats.weighted_pipeline)),
            "value × stage probability".into(),
        ),
        (
            "Win rate".into(),
            pct(stats.win_rate),
            format!("{} won, {} lost", stats.won, stats.lost),
        ),
        (
            "Average won deal".into(),
            stats
                .avg_won_value
                .map(|v| format!("{} {cur}", money(v)))
                .unwrap_or_else(|| "–".into()),
            format!("{} {cur} won in all", money(stats.won_value)),
        ),
        (
            "Sales cycle".into(),
            fmt_days(stats.cycle_days_median),
            "median, first record to won".into(),
        ),
        (
            "Velocity".into(),
            stats
                .velocity_per_day
                .map(|v| format!("{} {cur}/day", money(v.round())))
                .unwrap_or_else(|| "–".into()),
            "open × win rate × avg won ÷ cycle".into(),
        ),
        (
            "Speed to lead".into(),
            stats
                .speed_to_lead_minutes_median
                .map(crate::base::time::human_minutes)
                .unwrap_or_else(|| "–".into()),
            format!(
                "median; target {}",
                crate::base::time::human_minutes(stats.speed_to_lead.target_minutes as f64)
            ),
        ),
    ]
}

#[cfg(test)]
mod inline_code_tests {
    #[test]
    fn backticked_spans_become_code_and_the_rest_is_escaped() {
        assert_eq!(
            super::inline_code("`verbal_agreement_on` is missing"),
            "<code>verbal_agreement_on</code> is missing"
        );
        assert_eq!(
            super::inline_code("`<b>` & `x"),
            "<code>&lt;b&gt;</code> &amp; `x"
        );
        assert_eq!(super::inline_code("plain"), "plain");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testkit::{deal, three_stages};

    /// A deal in the first stage of [`three_stages`], with this front-matter.
    fn lead(yaml: &str) -> Deal {
        deal(&three_stages(), "a", Place::Stage(0), yaml)
    }

    #[test]
    fn a_deal_page_names_its_place_and_its_value_with_the_currency() {
        let cfg = three_stages();
        assert_eq!(stage_name(&cfg, Place::Stage(1)), cfg.stages[1].name);
        assert_eq!(stage_name(&cfg, Place::Won), "Won");
        let d = lead("value: 12500\n");
        assert_eq!(value_text(&cfg, &d.fields), "12,500 EUR");
        let d = lead("value: 99.5\ncurrency: USD\n");
        assert_eq!(value_text(&cfg, &d.fields), "99.50 USD");
        let d = lead("title: C\n");
        assert_eq!(value_text(&cfg, &d.fields), "–");
    }

    #[test]
    fn contact_entries_come_name_role_email_phone_first_and_link_only_safe_targets() {
        let d = lead(
            "contact:\n  web: \"javascript:alert(1)\"\n  phone: \"+1 555\"\n  site: https://x.example\n  email: ann@x.example\n  name: Ann\n",
        );
        let got: Vec<(String, String, Option<String>)> = contact(&d)
            .into_iter()
            .map(|(k, l)| (k, l.text, l.href))
            .collect();
        let row = |k: &str, text: &str, href: Option<&str>| {
            (k.to_string(), text.to_string(), href.map(str::to_string))
        };
        assert_eq!(
            got,
            vec![
                row("name", "Ann", None),
                row("email", "ann@x.example", Some("mailto:ann@x.example")),
                row("phone", "+1 555", None),
                row("site", "https://x.example", Some("https://x.example")),
                row("web", "javascript:alert(1)", None),
            ]
        );
    }

    #[test]
    fn other_fields_read_timestamps_as_dates_and_lists_of_mappings_as_tables() {
        let d = lead(
            "title: A\ntags: [x, y]\ncreated: 2026-11-02T09:30:00Z\nmeta: {crm_id: 7}\nobjections:\n  - objection: price\n    resolved: true\n",
        );
        let (fields, tables) = other_fields(&d);
        let want = [
            ("created", "2 Nov 2026, 09:30 UTC"),
            ("meta.crm_id", "7"),
            ("tags", "x, y"),
        ];
        assert_eq!(
            fields,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].key, "objections");
        assert_eq!(tables[0].columns, ["objection", "response", "resolved"]);
        assert_eq!(tables[0].rows, vec![vec!["price", "", "✔ yes"]]);
    }
}
