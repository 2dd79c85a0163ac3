//! Moves between stages (README, "Moves and commits"): whether a move is allowed, and
//! exactly which front-matter keys it writes.
//!
//! A plan is pure: it reads the deal and the config and returns the edit
//! ops and the facts the commit message records. Nothing here touches files
//! or git.

use chrono::{DateTime, Utc};

use crate::base::error::Error;
use crate::base::time::format_ts;
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::model::fields::check_member;
use crate::rules::criteria::{Evaluator, StageGap, unmet};
use crate::yaml::edit::Op;
use crate::yaml::emit::yaml_scalar;

/// What the user asked for.
pub struct Request<'a> {
    pub to: Place,
    pub owner: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub force: bool,
    /// Who is moving it (a team handle, or `Name <email>`): recorded as
    /// `waived.<stage>.by` when the move is forced.
    pub by: Option<&'a str>,
}

/// An allowed move.
#[derive(Debug)]
pub struct Plan {
    pub from: Place,
    pub to: Place,
    pub ops: Vec<Op>,
    /// The new owner, when it changes.
    pub new_owner: Option<String>,
    /// Stages whose unmet criteria `--force` waived.
    pub waived: Vec<String>,
    /// The lost reason, as written (canonical spelling from `lost_reasons`).
    pub lost_reason: Option<String>,
    /// A reopen out of `lost`.
    pub reopened: bool,
}

/// Why a move is not allowed.
#[derive(Debug)]
pub enum Refusal {
    /// The exit criteria of these stages are not met (exit 1).
    Criteria(Vec<StageGap>),
    /// Bad or missing arguments (exit 2).
    Usage(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        Refusal::Usage(e)
    }
}

/// The lost reason, checked against `lost_reasons`.
pub fn lost_reason(cfg: &Config, reason: Option<&str>) -> Result<String, Error> {
    let list = || {
        cfg.lost_reasons
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(r) = reason
        .map(crate::base::diag::one_line)
        .filter(|r| !r.is_empty())
    else {
        let help = if cfg.lost_reasons.is_empty() {
            "pass --reason \"why the deal was lost\"".to_string()
        } else {
            format!("pass --reason with one of: {}", list())
        };
        return Err(Error::usage("a lost deal needs a reason", help));
    };
    if cfg.lost_reasons.is_empty() {
        return Ok(r);
    }
    cfg.lost_reasons
        .iter()
        .find(|l| l.eq_ignore_ascii_case(&r))
        .cloned()
        .ok_or_else(|| {
            Error::usage(
                format!("\"{r}\" is not one of pipeline.yaml's lost_reasons"),
                format!(
                    "pass --reason with one of: {}; or add it to lost_reasons in pipeline.yaml",
                    list()
                ),
            )
        })
}

fn has_role(cfg: &Config, handle: &str, role: &str) -> bool {
    cfg.team
        .get(handle)
        .is_some_and(|m| m.roles.iter().any(|r| r == role))
}

/// Plans moving `deal` to `req.to`. `Ok(None)`: it is there already.
pub fn plan(
    cfg: &Config,
    ev: &Evaluator,
    deal: &Deal,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Option<Plan>, Refusal> {
    let from = deal.place;
    let to = req.to;
    if from == to {
        return Ok(None);
    }
    let now_ts = format_ts(now);
    let mut ops = vec![Op::set(&format!("stages.{}", to.id(cfg)), now_ts.clone())];
    let gaps = gaps_on_the_way(cfg, ev, deal, to);
    let waived = waive(cfg, req, &gaps, now, &mut ops)?;
    let mut new_owner = None;
    let mut lost = None;
    match to {
        Place::Stage(t) => {
            new_owner = stage_owner(cfg, deal, req, t)?;
            if cfg.stages[t].id == "outreach" && deal.fields.first_contact.is_none() {
                ops.push(Op::set("first_contact", now_ts.clone()));
            }
            if from == Place::Lost {
                ops.push(Op::remove("lost"));
            }
        }
        Place::Won | Place::Lost => lost = outcome_ops(cfg, req, from, to, &now_ts, &mut ops)?,
    }
    if let Some(o) = &new_owner {
        ops.push(Op::set("owner", yaml_scalar(o)));
    }
    Ok(Some(Plan {
        from,
        to,
        ops,
        new_owner,
        waived,
        lost_reason: lost,
        reopened: from == Place::Lost,
    }))
}

/// The stage a deal stands at, for judging moves forward and backward: a
/// lost deal stands where it was lost (else at the first stage), a won
/// one past the last.
fn standing(cfg: &Config, deal: &Deal) -> usize {
    match deal.place {
        Place::Stage(i) => i,
        Place::Won => cfg.stages.len(),
        Place::Lost => deal
            .fields
            .lost_stage
            .as_deref()
            .and_then(|s| cfg.stage_index(s))
            .unwrap_or(0),
    }
}

/// The stages a move to `to` passes whose exit criteria are not met:
/// those from where the deal stands up to `to` (every stage for `won`,
/// none backward or to `lost`), less waived stages and an import's
/// history.
fn gaps_on_the_way(cfg: &Config, ev: &Evaluator, deal: &Deal, to: Place) -> Vec<StageGap> {
    let from_stage = standing(cfg, deal);
    let must_meet: Vec<usize> = match to {
        Place::Stage(t) if t > from_stage => (from_stage..t).collect(),
        Place::Stage(_) | Place::Lost => Vec::new(),
        Place::Won => (0..cfg.stages.len()).collect(),
    };
    must_meet
        .into_iter()
        .filter(|&i| !deal.fields.waived.contains_key(&cfg.stages[i].id))
        .filter(|&i| !crate::rules::criteria::before_import(cfg, deal, i))
        .filter_map(|i| {
            let missing = unmet(ev, i, deal);
            (!missing.is_empty()).then_some(StageGap { stage: i, missing })
        })
        .collect()
}

/// Waives the unmet `gaps` of a forced move with its reason, adding the
/// waivers to `ops`; the stage ids waived. Refused when there are gaps
/// and the move is not forced, or forced without a reason.
fn waive(
    cfg: &Config,
    req: &Request,
    gaps: &[StageGap],
    now: DateTime<Utc>,
    ops: &mut Vec<Op>,
) -> Result<Vec<String>, Refusal> {
    let mut waived = Vec::new();
    if gaps.is_empty() {
        return Ok(waived);
    }
    if !req.force {
        return Err(Refusal::Criteria(gaps.to_vec()));
    }
    let Some(reason) = req
        .reason
        .map(crate::base::diag::one_line)
        .filter(|r| !r.is_empty())
    else {
        return Err(Refusal::Usage(Error::usage(
            "--force needs --reason: a waiver records why",
            "pass --reason \"why the criteria do not apply\"",
        )));
    };
    // `waived.<stage>: {reason, by, at}` (docs/reference.md, "Moves"):
    // who forced it and when, so `stats` and the report, which read
    // only files, credit the same person as `audit`.
    for g in gaps {
        let id = cfg.stages[g.stage].id.clone();
        ops.extend(waiver_ops(&id, &reason, req.by, now));
        waived.push(id);
    }
    Ok(waived)
}

/// The new owner of a deal moving into stage `t`, when it changes: the
/// `--owner` given must be in the team, and on a handoff stage (one with
/// an owner role) the owner, given or kept, must have that role.
fn stage_owner(
    cfg: &Config,
    deal: &Deal,
    req: &Request,
    t: usize,
) -> Result<Option<String>, Refusal> {
    let owner = deal.fields.owner.clone().unwrap_or_default();
    let role = cfg.stages[t].owner_role.as_deref();
    match req.owner {
        Some(o) => {
            check_member(cfg, o, "--owner")?;
            if let Some(role) = role
                && !cfg.team.is_empty()
                && !has_role(cfg, o, role)
            {
                return Err(Refusal::Usage(Error::usage(
                    format!(
                        "`{o}` does not have the role `{role}` that {} needs",
                        cfg.stages[t].id
                    ),
                    handoff_help(cfg, role),
                )));
            }
            Ok((o != owner).then(|| o.to_string()))
        }
        None => {
            if let Some(role) = role
                && !cfg.team.is_empty()
                && !has_role(cfg, &owner, role)
            {
                return Err(Refusal::Usage(Error::usage(
                    format!(
                        "{} is a handoff: its owner role is `{role}`, which {} does not have",
                        cfg.stages[t].id,
                        if owner.is_empty() { "nobody" } else { &owner }
                    ),
                    handoff_help(cfg, role),
                )));
            }
            Ok(None)
        }
    }
}

/// The edits of a move to `won` or `lost` (`--owner` refused: the owner
/// stays): a lost deal's `lost: {reason, stage, at}`, a reopened one's
/// `lost` removed. The lost reason, as written.
fn outcome_ops(
    cfg: &Config,
    req: &Request,
    from: Place,
    to: Place,
    now_ts: &str,
    ops: &mut Vec<Op>,
) -> Result<Option<String>, Refusal> {
    if req.owner.is_some() {
        return Err(Refusal::Usage(Error::usage(
            format!(
                "--owner does not apply to {}: the owner stays, credited with the outcome",
                to.id(cfg)
            ),
            "name delivery with `deal set DEAL delivery_owner=HANDLE`, or use `deal assign`",
        )));
    }
    if to == Place::Lost {
        let r = lost_reason(cfg, req.reason)?;
        ops.push(Op::remove("lost"));
        ops.push(Op::set("lost.reason", yaml_scalar(&r)));
        ops.push(Op::set("lost.stage", yaml_scalar(from.id(cfg))));
        ops.push(Op::set("lost.at", now_ts.to_string()));
        return Ok(Some(r));
    }
    if from == Place::Lost {
        ops.push(Op::remove("lost"));
    }
    Ok(None)
}

/// The edits that record a waiver of stage `id`: `waived.<id>: {reason,
/// by, at}` (docs/reference.md, "Moves"), written the one way a forced
/// move and a forced `deal set` share.
pub fn waiver_ops(id: &str, reason: &str, by: Option<&str>, now: DateTime<Utc>) -> Vec<Op> {
    // A null entry (`waived.x:` with no value) would not take keys.
    let mut ops = vec![
        Op::remove(&format!("waived.{id}")),
        Op::set(&format!("waived.{id}.reason"), yaml_scalar(reason)),
    ];
    if let Some(by) = by
        .map(crate::base::diag::one_line)
        .filter(|b| !b.is_empty())
    {
        ops.push(Op::set(&format!("waived.{id}.by"), yaml_scalar(&by)));
    }
    ops.push(Op::set(&format!("waived.{id}.at"), format_ts(now)));
    ops
}

fn handoff_help(cfg: &Config, role: &str) -> String {
    let who: Vec<&str> = cfg
        .team
        .iter()
        .filter(|(_, m)| m.roles.iter().any(|r| r == role))
        .map(|(h, _)| h.as_str())
        .collect();
    if who.is_empty() {
        format!("nobody in pipeline.yaml's team has the role `{role}`: add it to a member's roles")
    } else {
        format!("pass --owner with one of: {}", who.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Three stages: outreach asks for a contact email, discovery is a
    /// handoff to an `ae` and asks for a next step's date; ann is an
    /// `sdr`, bob an `ae`.
    fn cfg() -> Config {
        crate::model::deal::fixtures::config(
            "lost_reasons: [price, timing]\n\
             team:\n  ann: { name: Ann, roles: [sdr] }\n  bob: { name: Bob, roles: [ae] }\n\
             stages:\n  - id: outreach\n    exit:\n      - field: contact.email\n        format: email\n\
             \x20 - id: discovery\n    owner_role: ae\n    exit:\n      - field: next_step.due\n\
             \x20 - id: proposal\n",
        )
    }

    /// Meets outreach's criterion.
    const EMAIL: &str = "contact: {email: jo@acme.com}\n";

    /// The deal in `place`, owned by `owner`, with the lines `more`.
    fn deal(cfg: &Config, place: Place, owner: &str, more: &str) -> Deal {
        crate::model::deal::fixtures::deal(cfg, place, &format!("owner: {owner}\n{more}"))
    }

    /// When every plan here is made.
    const NOW: &str = "2026-03-02T09:30:00Z";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
    }

    /// A move to `to`, with `--owner` and `--reason` when given, forced
    /// when `force`.
    fn req(
        to: Place,
        owner: Option<&'static str>,
        reason: Option<&'static str>,
        force: bool,
    ) -> Request<'static> {
        Request {
            to,
            owner,
            reason,
            force,
            by: Some("ann"),
        }
    }

    fn run(cfg: &Config, d: &Deal, req: &Request) -> Result<Option<Plan>, Refusal> {
        let ev = Evaluator::with_files(cfg, Default::default());
        plan(cfg, &ev, d, req, now())
    }

    /// The plan of a move that must be allowed.
    fn allowed(cfg: &Config, d: &Deal, req: &Request) -> Plan {
        run(cfg, d, req).unwrap().expect("a move")
    }

    /// The message of a move that must be refused as a usage error.
    fn usage(cfg: &Config, d: &Deal, req: &Request) -> String {
        match run(cfg, d, req) {
            Err(Refusal::Usage(e)) => e.to_string(),
            other => panic!("not a usage refusal: {other:?}"),
        }
    }

    /// The stages whose criteria refuse a move that must be refused so.
    fn gaps(cfg: &Config, d: &Deal, req: &Request) -> Vec<StageGap> {
        match run(cfg, d, req) {
            Err(Refusal::Criteria(gaps)) => gaps,
            other => panic!("not refused by criteria: {other:?}"),
        }
    }

    /// Asserts that the message `why` says `part`.
    fn says(why: &str, part: &str) {
        assert!(why.contains(part), "{why:?} does not say {part:?}");
    }

    /// The plan's edits, one a line: `set PATH VALUE` or `remove PATH`,
    /// the time of the move as `NOW`.
    fn written(p: &Plan) -> String {
        p.ops
            .iter()
            .map(|op| match op {
                Op::Set(path, v) => format!("set {} {}\n", path.join("."), v),
                Op::Remove(path) => format!("remove {}\n", path.join(".")),
            })
            .collect::<String>()
            .replace(NOW, "NOW")
    }

    fn stages_of(gaps: &[StageGap]) -> Vec<usize> {
        gaps.iter().map(|g| g.stage).collect()
    }

    #[test]
    fn a_move_to_where_the_deal_is_plans_nothing() {
        let c = cfg();
        let d = deal(&c, Place::Stage(1), "bob", "");
        assert!(
            run(&c, &d, &req(Place::Stage(1), None, None, false))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_move_whose_criteria_are_met_writes_only_the_stage_date() {
        let c = cfg();
        let d = deal(&c, Place::Stage(0), "bob", EMAIL);
        let p = allowed(&c, &d, &req(Place::Stage(1), None, None, false));
        assert_eq!(p.ops, vec![Op::set("stages.discovery", NOW)]);
        assert_eq!((p.from, p.to), (Place::Stage(0), Place::Stage(1)));
        assert!(p.new_owner.is_none() && p.waived.is_empty() && !p.reopened);
    }

    #[test]
    fn unmet_criteria_of_the_stages_passed_refuse_the_move() {
        let c = cfg();
        let d = deal(&c, Place::Stage(0), "bob", "contact: {email: not-mail}\n");
        let gaps = gaps(&c, &d, &req(Place::Stage(2), None, None, false));
        assert_eq!(stages_of(&gaps), vec![0, 1]);
        let detail = gaps[0].missing[0].detail.as_deref().unwrap_or("");
        says(detail, "not-mail");
    }

    #[test]
    fn a_forced_move_records_a_waiver_per_unmet_stage() {
        let c = cfg();
        let d = deal(&c, Place::Stage(0), "bob", "");
        let p = allowed(
            &c,
            &d,
            &req(Place::Stage(1), None, Some("met at the fair"), true),
        );
        assert_eq!(p.waived, vec!["outreach".to_string()]);
        assert_eq!(
            written(&p),
            "set stages.discovery NOW\nremove waived.outreach\n\
             set waived.outreach.reason met at the fair\n\
             set waived.outreach.by ann\nset waived.outreach.at NOW\n"
        );
    }

    #[test]
    fn a_forced_move_without_a_reason_is_refused() {
        let c = cfg();
        let d = deal(&c, Place::Stage(0), "bob", "");
        let why = usage(&c, &d, &req(Place::Stage(1), None, Some("  "), true));
        says(&why, "--force needs --reason");
    }

    #[test]
    fn a_handoff_needs_an_owner_with_the_stage_role() {
        let c = cfg();
        let d = deal(&c, Place::Stage(0), "ann", EMAIL);
        let kept = usage(&c, &d, &req(Place::Stage(1), None, None, false));
        says(&kept, "discovery is a handoff");
        let given = usage(&c, &d, &req(Place::Stage(1), Some("ann"), None, false));
        says(&given, "does not have the role `ae`");
        let p = allowed(&c, &d, &req(Place::Stage(1), Some("bob"), None, false));
        assert_eq!(p.new_owner.as_deref(), Some("bob"));
        assert_eq!(p.ops.last(), Some(&Op::set("owner", "bob")));
    }

    #[test]
    fn an_owner_outside_the_team_is_refused() {
        let c = cfg();
        let d = deal(&c, Place::Stage(2), "bob", "");
        let why = usage(&c, &d, &req(Place::Stage(1), Some("zed"), None, false));
        says(&why, "`zed` is not in pipeline.yaml's team");
    }

    #[test]
    fn a_won_deal_must_meet_every_stage_before_it() {
        let c = cfg();
        let open = deal(&c, Place::Stage(2), "bob", EMAIL);
        let won = req(Place::Won, None, None, false);
        assert_eq!(stages_of(&gaps(&c, &open, &won)), vec![1]);
        let due = format!("{EMAIL}next_step: {{due: 2026-04-01}}\n");
        let done = deal(&c, Place::Stage(2), "bob", &due);
        let why = usage(&c, &done, &req(Place::Won, Some("bob"), None, false));
        says(&why, "--owner does not apply to won");
        let p = allowed(&c, &done, &won);
        assert_eq!(p.ops, vec![Op::set("stages.won", NOW)]);
    }

    #[test]
    fn a_lost_move_writes_the_reason_as_listed_the_stage_and_when() {
        let c = cfg();
        let d = deal(&c, Place::Stage(1), "bob", "");
        let p = allowed(&c, &d, &req(Place::Lost, None, Some("Price"), false));
        assert_eq!(p.lost_reason.as_deref(), Some("price"));
        assert_eq!(
            written(&p),
            "set stages.lost NOW\nremove lost\nset lost.reason price\n\
             set lost.stage discovery\nset lost.at NOW\n"
        );
        let why = usage(&c, &d, &req(Place::Lost, None, Some("weather"), false));
        says(
            &why,
            "\"weather\" is not one of pipeline.yaml's lost_reasons",
        );
    }

    #[test]
    fn a_reopened_deal_is_judged_from_where_it_was_lost() {
        let c = cfg();
        let lost = "lost: {reason: price, stage: discovery}\nfirst_contact: 2026-01-01\n";
        let d = deal(&c, Place::Lost, "bob", lost);
        // Back into the stage it was lost from: nothing to meet.
        let p = allowed(&c, &d, &req(Place::Stage(1), None, None, false));
        assert!(p.reopened);
        let reopen = vec![Op::set("stages.discovery", NOW), Op::remove("lost")];
        assert_eq!(p.ops, reopen);
        // On to the next: discovery's criteria apply, outreach's do not.
        let on = req(Place::Stage(2), None, None, false);
        assert_eq!(stages_of(&gaps(&c, &d, &on)), vec![1]);
    }

    #[test]
    fn entering_outreach_records_a_first_contact_once() {
        let c = cfg();
        let back = req(Place::Stage(0), None, None, false);
        let fresh = deal(&c, Place::Stage(1), "bob", "");
        let p = allowed(&c, &fresh, &back);
        assert_eq!(p.ops.last(), Some(&Op::set("first_contact", NOW)));
        let known = deal(&c, Place::Stage(1), "bob", "first_contact: 2026-01-01\n");
        assert_eq!(allowed(&c, &known, &back).ops.len(), 1);
    }
}
