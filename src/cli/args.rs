//! Command-line definition: the single source of truth for flags, help text
//! and shell completions. This file holds the top of it: `Cli` with the
//! global flags, and `Command`, each command's name and help. Each
//! command's own arguments (`CheckArgs`, `ImportArgs`, …, with the value
//! enums only it uses) sit at the top of its file in `cli/`; the flag
//! groups and value enums two or more commands share are in `cli/flags.rs`,
//! which the command files use, so none of them reaches back here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cli::assign::AssignArgs;
use crate::cli::audit::AuditArgs;
use crate::cli::check::CheckArgs;
use crate::cli::due::DueArgs;
use crate::cli::edit::EditArgs;
use crate::cli::forecast::ForecastArgs;
use crate::cli::hook::HookArgs;
use crate::cli::import::{ExportArgs, ImportArgs};
use crate::cli::init::InitArgs;
use crate::cli::list::ListArgs;
use crate::cli::merge_driver::MergeDriverArgs;
use crate::cli::mv::MoveArgs;
use crate::cli::new::NewArgs;
use crate::cli::note::NoteArgs;
use crate::cli::notify::NotifyArgs;
use crate::cli::objection::ObjectionArgs;
use crate::cli::output::ColorChoice;
use crate::cli::report::{ReportArgs, StatsArgs};
use crate::cli::resolve::ResolveArgs;
use crate::cli::review::ReviewArgs;
use crate::cli::serve::ServeArgs;
use crate::cli::set::{SetArgs, UnsetArgs};
use crate::cli::show::ShowArgs;
use crate::cli::trend::TrendArgs;

const AFTER_HELP: &str = "\
A pipeline is a folder with pipeline.yaml and deals/<stage>/<slug>.md files, usually in git.
The folder a deal sits in is its stage. Each stage has exit criteria: the observable signal
that a deal may move on. `deal check` enforces them; `deal show DEAL` lists what is missing.

Exit codes: 0 ok, 1 findings (check errors, a refused move), 2 usage or configuration error.
Every time-dependent figure uses SOURCE_DATE_EPOCH when it is set.
Reference (pipeline.yaml keys, criteria, deal fields, check rules and fixes): docs/reference.md";

#[derive(Debug, Parser)]
#[command(
    name = "deal",
    version,
    about = "A sales pipeline kept as Markdown files in git, with exit criteria enforced at every stage",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Run as if started in DIR (the pipeline root is searched from there upwards)
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,

    /// When to colour output (NO_COLOR is honoured)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also print on stderr what was read and, for check, which rules ran
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a pipeline: pipeline.yaml with the seven default stages, the stage folders, git
    #[command(after_help = "\
Writes pipeline.yaml (prospecting, outreach, qualification, discovery, proposal, negotiation,
close, then won or lost), one folder per stage under deals/, and a .gitignore for report/.
The git user (user.name, user.email) joins the team with every role. Runs `git init` when
DIR is not inside a repository, and makes the first commit when the repository has none. Inside one (a monorepo, say), the pipeline joins it and the
output names that repository; run `git init` in DIR for a repository of its own.
--example adds 34 sample deals of an IT services company. Refuses, changing nothing, if
pipeline.yaml exists.

Examples:
  deal init sales && cd sales && deal check
  deal init demo --example && cd demo && deal list")]
    Init(InitArgs),

    /// Capture a lead: create a deal in the first stage, and commit
    #[command(after_help = "\
The slug is the title transliterated to ASCII (`Société Générale` → societe-generale); a slug
that exists already is an error: pass --slug. The owner is --owner, else the team member whose
email is the git user's. `created` and `stages.<first stage>` are set to now.

Makes one commit, `deal(<slug>): new lead`, holding only the new file, with Deal, To-Stage and
Owner trailers. Other staged changes stay staged.

Examples:
  deal new \"Acme Corp, Kubernetes migration\" --company \"Acme Corp\" --value 48000 \\
      --email jane@acme.example --source inbound-form
  deal new \"Initech\" --owner erik --set icp.industry=fintech --dry-run
  curl … | deal new --json -                    a web form's payload, mapped by `intake`

With --json, payload keys map to fields by pipeline.yaml's `intake` (default: name, email,
company, phone, message, source, title, value); keys it does not map are kept under form.*.
Without --owner, `routing` picks the owner (rules, then round-robin over a role), then the git
user. With `icp` rules, icp_score is written.")]
    New(NewArgs),

    /// Update front-matter fields, nested paths too, with a lossless edit, and commit
    #[command(after_help = "\
KEY is a path into the front-matter:
  next_step.due           a key inside a mapping (created when missing)
  objections.0.resolved   an item of a list by number, counted from 0; -1 is the last item
  objections.+.objection  + appends a new item to the list (created when missing)
  tags.+=eu               a new plain item
Block style (one key per line) and flow style (`next_step: { action: …, due: … }`,
`tags: [a, b]`) are both edited in place; an empty `[]` or `{}` becomes a block.

Only the lines of the keys set change: comments, key order, quoting and the body stay byte for
byte. Values are typed: `value` is a number, `objections.N.resolved` is true or false, dates
are YYYY-MM-DD or RFC 3339 (`today` and `now` work), owners are team handles. An empty value
(`key=`) writes null; `deal unset` removes a key. The file is parsed again after the edit, and refused if any other field
would change. Assignments apply in order, so `+` then `-1` fills one new item.

A change that breaks a criterion of a stage the deal has already left (one that held in the
deal as committed at HEAD) is refused, exit 1, naming it; --force --reason TEXT makes it and
waives the stage as a forced move does (waived.<stage>: {reason, by, at}, Forced: and
Forced-By: trailers).

There is no `stage` field (the folder is the stage: `deal move`). A key the deal does not
have that is within two edits of a known field is refused (\"did you mean `value`?\") unless
--new-field says it is a field of your own.

Makes one commit, `deal(<slug>): set <keys>`, with Deal and Owner trailers.
The fields and their types: docs/reference.md.

Examples:
  deal set acme next_step.action=\"Send SOW\" next_step.due=2026-12-01
  deal set acme engaged=today value=52000
  deal set acme objections.0.resolved=true
  deal set acme objections.+.objection=\"Price\" objections.-1.resolved=false
  (`deal objection add|resolve|list` does the last two for you)")]
    Set(SetArgs),

    /// Remove front-matter fields with a lossless edit, and commit
    #[command(after_help = "\
KEY is a path into the front-matter, as for `deal set`: a key (`next_step`, with its whole
block), a nested key (`contact.phone`) or a list item (`objections.0`, `objections.-1`).
Only the lines of the keys removed change. The result is judged as `deal set`'s is: a change
that would leave the deal with a new error (a missing `title` or `owner`, say) is refused and
nothing is written. A key the deal does not have changes nothing.

A removal that breaks a criterion of a stage the deal has already left (one that held in the
deal as committed at HEAD) is refused, exit 1, naming it; --force --reason TEXT makes it and
waives the stage as a forced move does.

Makes one commit, `deal(<slug>): unset <keys>`, with a Deal trailer.

Examples:
  deal unset acme vaule
  deal unset acme next_step contact.phone")]
    Unset(UnsetArgs),

    /// Edit a deal file in $VISUAL or $EDITOR; judged as `deal set` is, then one commit
    #[command(after_help = "\
Opens $VISUAL (else $EDITOR, else vi) on a copy of the deal file in the git directory
(deal-edit/<slug>.md). Other commands may write meanwhile: the write lock is taken only after
the editor closes. Then the text is judged as `deal set` judges a change (it must parse, and
add no error the deal did not have) and, if the deal's file is unchanged since the copy was
made, written and committed: `deal(<slug>): edit`, with Deal and Owner trailers. A result
that breaks a criterion of a stage the deal has left is refused unless --force --reason TEXT,
which waives the stage as a forced move does.

A text that does not pass, or a deal that changed, moved or was removed meanwhile, is never
written: exit 1, the problem named, the copy kept. `deal edit DEAL` again reopens the copy;
when the deal changed since, the copy reopens merged with that change (three-way, as the
deal-file merge driver merges), with git's conflict markers where both changed the same thing
(never written until resolved). A second `deal edit` of a deal open in an editor exits 2.
Closing the editor without a change commits nothing.

Examples:
  deal edit acme
  EDITOR=\"code --wait\" deal edit acme")]
    Edit(EditArgs),

    /// Move a deal to another stage, won or lost, checking exit criteria, and commit
    #[command(after_help = "\
Forward: the exit criteria of the stage being left, and of every stage skipped, must hold;
otherwise exit 1 with the checklist of what is missing. --force --reason \"…\" waives them,
recorded as waived.<stage>: {reason, by, at} (by: your team handle, else Name <email>) and
Forced: and Forced-By: trailers. Backward: always allowed. Out of lost:
reopens the deal and removes its `lost` block. Into a stage whose owner_role the owner lacks:
a handoff, which needs --owner. won: every criterion. lost: --reason, from lost_reasons.

A move writes only stages.<STAGE>, owner (handoff), waived.* (forced), lost (lost; removed on
reopen) and first_contact (entering outreach, when missing). One commit holds the rename and
that edit, with Deal, From-Stage, To-Stage, Owner and, where they apply, Previous-Owner,
Forced, Forced-By, Lost-Reason and Reason trailers.

Exit codes: 0 moved (or already there), 1 criteria not met, 2 unknown deal or stage, bad
arguments, no git identity, a locked index, HEAD moved meanwhile.

Examples:
  deal move acme discovery
  deal move acme proposal --owner bob          a handoff from an SDR to an AE
  deal move acme proposal --force --reason \"CFO waived the written summary\"
  deal move acme lost --reason \"no budget\"")]
    Move(MoveArgs),

    /// Hand a deal to another owner, and commit
    #[command(after_help = "\
Makes one commit, `deal(<slug>): assign <old> -> <new>`, with Owner, Previous-Owner and
(with --reason) Reason trailers.

Example:
  deal assign acme carol --reason \"Bob is on leave until January\"")]
    Assign(AssignArgs),

    /// Validate every deal against the pipeline's rules and exit criteria
    #[command(after_help = "\
Rules (errors): parse, schema, unknown-stage-folder, symlink, duplicate-slug, exit-criteria,
missing-lost-reason, unknown-owner, conflict (merge-conflict markers), bad-file-name (a file
under deals/ not named <slug>.md). Warnings: rotting, next-step-missing, next-step-overdue,
speed-to-lead (an inbound lead still waiting past the target), currency-mismatch,
close-date-passed, close-date-missing. Warnings fail the run only with --deny-warnings.
Each rule, with its fix: docs/reference.md (Check rules).

Exit codes: 0 no errors, 1 errors found, 2 malformed pipeline.yaml or bad usage.

Examples:
  deal check                          the whole pipeline
  deal check deals/05-proposal        only the deals under that folder
  deal check acme globex              only those deals (slugs, or unique prefixes)
  deal check --staged                 what `git commit` would record (the pre-commit hook)
  deal check --rev origin/main        a commit, read from git objects
  deal check --format github          annotations for a GitHub Actions log")]
    Check(CheckArgs),

    /// One row per deal: slug, stage, owner, value, days in stage, criteria, next step
    #[command(after_help = "\
CRITERIA is met/total for the exit criteria of the deal's current stage.

Examples:
  deal list --stage proposal --owner bob
  deal list --rotting
  deal list --sort value --format json | jq '.[0]'")]
    List(ListArgs),

    /// A deal's stage, owner, age, exit checklist and history
    #[command(after_help = "\
DEAL is a slug, a unique prefix of one, or a path. The checklist shows ✔ or ✖ for each exit
criterion of the current stage, and the command that fixes each ✖.")]
    Show(ShowArgs),

    /// Append a scaffolded note (qualification, problem, proposal, objections, handoff, call)
    #[command(after_help = "\
Appends the note's section to the deal's body, from templates/notes/<kind>.md (built in, or
the pipeline's own templates/ folder), and adds its front-matter signals when missing:
  qualification  BANT, MEDDIC or MEDDPICC headings (pipeline.yaml `qualification`)
  problem        problem statement; adds problem.confirmed_by and problem.confirmed_on
  proposal       scope, pains, price, next step; adds proposal.reviewed_on and next_step
  objections     prepared responses; seeds `objections: []` (fill it: `deal objection add`)
  handoff        agreed scope for delivery; adds delivery_owner and kickoff_on
  call           a dated entry that can repeat; sets last_activity
Where the section exists already it says so, changes nothing and exits 0. Edits are lossless:
only added lines (and last_activity for `call`). Nothing is committed.

Example:
  deal note acme qualification && $EDITOR deals/03-qualification/acme.md")]
    Note(NoteArgs),

    /// Write the static HTML pipeline report: board, funnel, velocity, win rate, losses
    #[command(after_help = "\
Writes DIR/index.html (default: report/ under the pipeline root) and DIR/deals/<slug>.html.
The files are self-contained: inline CSS and SVG, no scripts, no network. Every value from a
deal is escaped; raw HTML in bodies is shown as text; links keep only http(s) and mailto.
The same input and SOURCE_DATE_EPOCH give byte-identical files.

Templates: report/layout.html, index.html and deal.html are built in; files of the same
names in the pipeline's templates/report/ override them.

Examples:
  deal report && xdg-open report/index.html
  deal report --since main~20               what changed: new, moved, won and lost deals
  deal report --since 2026-11-01 -o /tmp/r
  deal report --rev v1.0                    the pipeline as it was at a commit")]
    Report(ReportArgs),

    /// The report's numbers in the terminal (or JSON)
    #[command(after_help = "\
Win rate = won ÷ (won + lost); average won deal; median sales cycle (first record to won);
weighted pipeline (value × stage probability); velocity = open × win rate × average won ÷
cycle; per stage: open, value, entered, conversion, median days, lost here; lost reasons by
stage; per owner: open, value, won, lost, forced moves, waived stages. Sums count only deals
in the pipeline's currency. `--format json` gives the same numbers as the report.")]
    Stats(StatsArgs),

    /// Judge a pull request's deal changes (moves, wins, losses, criteria edits) by the base's rules
    #[command(after_help = "\
Compares HEAD (or the HEAD of BASE..HEAD) with its merge-base with BASE, as a pull request
does. Deals are paired by slug, so moves made by hand are found, with or without trailers.
Each change is judged by the base's pipeline.yaml, so a pull request cannot weaken a criterion
and use the weakening in the same change.

Violations, each with a rule id and the fix:
  exit-criteria        a move or win that breaks the criteria of a stage it leaves or skips,
                       unless waived with a reason; a new deal past the first stage is judged
                       as a move from the first stage
  missing-lost-reason  a lost deal without a reason from lost_reasons
  hand-waiver          waived written by hand (no Forced: commit for the deal in the range)
  hand-source-id       source_id written by hand (no Imported: commit in the range)
  unreadable, conflict a deal file at HEAD that cannot be read, or holds conflict markers
  duplicate-slug       a deal in two places at HEAD (a merge git resolved silently included);
                       fix with `deal resolve SLUG --keep STAGE`
  weakened-criteria    a pipeline.yaml change that removes or changes a criterion, adds an
                       any: alternative, removes a stage, adds or delays enforce_from, or
                       empties or extends lost_reasons; excused by a commit in the range with
                       a `Criteria-Change: <why>` trailer (a reason is required)

Rows show forced moves, waived stages with their reasons and lost reasons. Text from deals is
escaped, so a PR comment never renders an image, link or HTML from a deal. Only the deal files
the pull request changed are read; the others are known by name.

Exit codes: 0 no violations, 1 violations, 2 bad revisions or configuration.

Examples:
  deal review origin/main                      the PR's changes, as a Markdown table
  deal review origin/main..feature --format json")]
    Review(ReviewArgs),

    /// Audit the last N closed deals from git history: stalls, owners, skips, forced moves
    #[command(after_help = "\
For each of the last N deals that reached won or lost (newest first): days in each stage,
the longest stall (the longest gap between commits touching the deal), owner changes, stages
without a recorded owner, skipped stages and forced moves. Then a summary: the stage where
most deals stalled, the stage most lost deals left from, forced moves and waivers per owner,
and a rough split of process gaps (a stall longer than the stage's rot_after_days, 14 days
when unset) and training gaps (a deal lost within 30 days of a forced or waived stage).

History comes from git, along HEAD's first-parent line, and counts the same whatever merge
button was pressed: a merge's branch commits, every trailer block in a squash's body (git's
or a forge's), and rebased, fast-forwarded or cherry-picked commits each give their moves,
dated by the deal file's own `stages` entries, with their Owner, Previous-Owner, Forced and
Forced-By trailers. A forced move is credited to whoever forced it (Forced-By, the file's
waived.<stage>.by, or the author's email through the team), not the owner it handed the deal
to; one a merge threw away is not counted. A main-line `git revert` undoes what it reverts
(by id, or by content when the ids changed); a revert of a revert restores it. A won deal
skipped every open stage after its last. The `stages` front-matter fills in the stages before
the history begins. The rules: docs/reference.md, \"Audit\".")]
    Audit(AuditArgs),

    /// Keep one copy of a deal that a merge left in two places, and commit
    #[command(after_help = "\
Two branches that each moved the same deal can merge without a conflict and leave the deal in
two stage folders (`deal check` reports duplicate-slug). resolve keeps the copy you name,
removes the others from the working tree and the index, and makes one commit,
`deal(<slug>): resolve, keep <path>`, with Deal, Resolved: <kept path> and Owner trailers.

--keep takes a stage id (discovery), a stage folder (04-discovery), won, lost, or the path of
the copy. A slug that is not duplicated exits 2. The copy kept must be readable: if it holds
merge-conflict markers, edit them out first.

During a merge (two branches moved the deal to different stages: git's rename/rename), it reads
each side's version (the paths named by the index's conflict stages), keeps the copy at --keep
with its own stages, waived, lost and owner, merges the other side's other fields into it by the
merge driver's rules (a conflict there: exit 1, nothing changed), stages it, removes the other
paths, and leaves the merge for `git commit` (docs/reference.md, \"Merging deal files\").

Examples:
  deal resolve acme --keep proposal
  deal resolve acme --keep deals/05-proposal/acme.md")]
    Resolve(ResolveArgs),

    /// Install or remove the git pre-commit and pre-merge-commit hooks that run `deal check --staged`
    #[command(after_help = "\
install writes pre-commit and pre-merge-commit hooks into core.hooksPath (or .git/hooks)
that run `deal -C <pipeline root> check --staged`, so a commit whose staged deals break their
exit criteria is refused, with the checklist, and so is a merge that leaves a deal in two
folders or leaves merge-conflict markers (git merges two branches that each moved the same
deal without a conflict). During a merge, only deals that differ from every parent are
judged, so merging main never fails over someone else's old deal. It never replaces a hook
that is not deal's: it says how to chain instead. uninstall removes only deal's own hooks.

install also registers deal's merge driver for deal files: `<deals_dir>/**/*.md merge=deal` in
the pipeline's .gitattributes (commit it) and merge.deal.driver in the repository's config. It
merges front-matter by key (docs/reference.md, \"Merging deal files\"); uninstall removes both.

For the pre-commit framework, use the `deal-check` hook of this repository's
.pre-commit-hooks.yaml.")]
    Hook(HookArgs),

    /// git's merge driver for deal files (registered by `deal hook install`)
    #[command(name = "merge-driver", hide = true)]
    MergeDriver(MergeDriverArgs),

    /// The negotiation stage's named objections: add, resolve, list
    #[command(after_help = "\
Objections live in the front-matter as `objections: [{objection, response, resolved}]`, the
signal the negotiation stage's exit criterion reads (every named objection resolved). They are
numbered from 1 in file order. Each add or resolve is one lossless edit and one commit,
`deal(<slug>): add objection N` or `deal(<slug>): resolve objection N`, with Deal and Objection
trailers.

Examples:
  deal objection add acme \"Price is above this year's budget\"
  deal objection list acme
  deal objection resolve acme 1 --response \"Phased plan: half now, half in FY27\"
  deal objection resolve acme budget          a piece of text only one objection contains")]
    Objection(ObjectionArgs),

    /// Import deals from a CRM export (CSV): HubSpot, Pipedrive, Salesforce, deal export, or any CSV with --map
    #[command(after_help = "\
One deal per row, in its stage folder, with its stage dates; one commit with an
`Imported: N` trailer. Idempotent: a row whose source_id exists already (or, with a slug
column, as `deal export` writes, whose slug exists already) is skipped. docs/reference.md, \"Import\", lists each preset's
columns and stage map.

Every column is mapped to a field, kept verbatim under the deal's crm: map (header as key),
or left out by --skip COLUMN; the summary names the columns kept. Two columns with one header
are refused (exit 2). --map COLUMN=FIELD maps a column to a front-matter path (title, owner,
value, company, contact.email, stages.outreach, …) or to stage, closed (the CRM's close date:
expected_close of an open deal, the won or lost date of a closed one), lost_reason, source_id,
slug or body. --stage-map VALUE=STAGE translates the stage column; a value equal to a stage
id, won or lost needs none.

Dates: ISO 8601 or M/D/YYYY (--date-format D/M/YYYY for another order); a two-digit year is a
problem row, never a guess. Amounts: $12,400.00, 42,000, 12 400,50 € (with --decimal-comma);
50k, 1.5M, 2.5e3, (500), a negative, an ambiguous 1,5 or 10^15 or more are problem rows,
never a wrong number. A stage date the row does not give is left out, never invented; a lost
deal's lost.stage is the last stage the row dates.

Owners: --owner-map \"Jordan Blake=alice\" maps a CRM owner to a team handle; an owner neither
in the team nor in the map joins the team with no roles (roles: []), and the summary names
them. Each deal records imported: {at, stage}: the criteria of the stages before the one it
came in at are its CRM's history, not checked; the stages it passes in deal are.

Problem rows are reported by line, column and value; the good rows are imported and the exit
code is 1. --strict imports nothing if any row has a problem. --dry-run prints one line per
row (slug, stage, owner, value, expected close) and where each column goes, and writes nothing.

Examples:
  deal import hubspot-deals.csv --preset hubspot --dry-run
  deal import opportunities.csv --preset salesforce --owner-map \"Jordan Blake=alice\"
  deal import pipedrive.csv --preset pipedrive --stage-map \"Demo Scheduled=discovery\"
  deal import sheet.csv --preset generic --map Name=title --map Rep=owner --map Step=stage
  deal import export.csv --preset deal         what `deal export` wrote, into another pipeline")]
    Import(ImportArgs),

    /// Export every deal: slug, stage, owner, value, front-matter, stage dates (CSV or JSON)
    #[command(after_help = "\
CSV columns are slug, stage, the front-matter flattened to dotted paths (stages.<id>, crm.<header>,
…), and body; values are exact (JSON and CSV keep the number as the file has it). A cell that a
spreadsheet would run as a formula starts with '. `deal import export.csv --preset deal` reads it
back (removing that '), into this pipeline or another, with the same slugs; importing the same
export twice creates nothing the second time (rows are matched by slug, then source_id).")]
    Export(ExportArgs),

    /// The follow-up list: overdue and upcoming next steps, missing next steps, rotting deals, uncontacted leads
    #[command(after_help = "\
Most urgent first: overdue next steps; inbound leads not contacted within
speed_to_lead_minutes; open deals at or past proposal with no next step; past-due close dates
(expected_close before today); rotting deals; next steps due within --days. Always exits 0, so it can run from cron or CI every morning.
--format ics writes a calendar of next steps and kickoffs (all-day events) for reminders.

Examples:
  deal due --owner bob
  deal due --days 14 --format json
  deal due --format ics > ~/calendars/deals.ics")]
    Due(DueArgs),

    /// Run the pipeline's automation triggers: the events of a range of commits, or the follow-up digest
    #[command(after_help = "\
BASE..HEAD: the events on HEAD's first-parent line since BASE (a new lead, a stage entered, won,
lost, a forced move), read as `deal audit` reads history, delivered to every matching trigger
of pipeline.yaml's `triggers:`, in commit order. BASE must be a first-parent ancestor of HEAD.
--due: the `due` digest (one per owner) and `uncontacted` leads, once a day each.

Each delivery that succeeds is recorded in git notes (refs/notes/deal-notify) by what the event
is, so a rerun, or the same work merged again by a squash or rebase, sends nothing twice.
Webhook URLs read `$DEAL_…` variables from the environment; commands run only with
--allow-commands (each bounded to 60 s). Exit 1 when a delivery failed or was sent but not
recorded (named on stderr; the next run retries it).
See docs/reference.md, \"Notify\", and docs/deal-notify.yml for CI.

Examples:
  deal notify \"$BEFORE..$AFTER\"
  deal notify --due
  deal notify HEAD~5..HEAD --dry-run")]
    Notify(NotifyArgs),

    /// What will close when: open deals by the month or quarter of expected_close, by category
    #[command(after_help = "\
Each period (from the current one on) shows, in the pipeline's currency: won (deals won in
it), commit, best case and pipeline (open deals expected to close in it, by forecast
category; omitted deals are left out) and weighted (value × stage probability). A deal's
category is its `forecast` field, else its stage's `forecast:` in pipeline.yaml, else by the
stage's probability: 0.7 and more commit, 0.4 and more best case, below that pipeline.
Past-due deals (expected_close before today) and deals with no close date are listed apart,
with their owners, so someone can act.

Examples:
  deal forecast
  deal forecast --by quarter --periods 4
  deal forecast --owner bob --format json")]
    Forecast(ForecastArgs),

    /// How the pipeline changed, week by week or month by month, read from git history
    #[command(after_help = "\
A snapshot at the end of each of the last N weeks (ending Monday 00:00 UTC) or months (the
1st, 00:00 UTC); the last period ends now. Each snapshot is the last commit on HEAD's
first-parent history at or before that moment: open deals, open and weighted value, open
deals per stage, and the deals new, won and lost in the period. Snapshots before the
pipeline existed are empty (null in JSON). Commits in the window that changed a criterion in
pipeline.yaml are listed with their Criteria-Change: reason, so a process change can be set
against what the funnel did next.

Examples:
  deal trend
  deal trend --every month --last 6
  deal trend --format json")]
    Trend(TrendArgs),

    /// The board in a browser: drag a card to move the deal, edit fields; each change is the CLI's commit
    #[command(after_help = "\
Serves the board on 127.0.0.1 (--bind names another address, with a warning) and prints one
line: `Serving <pipeline root> at http://127.0.0.1:PORT/?token=TOKEN`. Only that URL gets in:
the token is random per run and is exchanged for a cookie. Each write takes the lock and makes
the commit `deal move`, `deal set` or `deal objection` makes; a page older than the deal file
is refused with \"changed since you opened it\". It is not a shared server: each teammate runs
their own on their clone, and git shares the work (README, \"deal serve\").

Examples:
  deal serve
  deal serve --port 8123 --open")]
    Serve(ServeArgs),

    /// Print shell completions (slugs, stages, team handles read from the pipeline at hand)
    #[command(after_help = "\
The script registers a completion function that calls `deal` on PATH back (with COMPLETE set)
each time you press TAB, so slugs, stage ids, won, lost, team handles, lost reasons and note
kinds come from the pipeline in the current folder.

Examples:
  source <(deal completions bash)          in ~/.bashrc
  source <(deal completions zsh)           in ~/.zshrc
  deal completions fish | source           in ~/.config/fish/config.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};
    use crate::cli::flags::{StatsFormat, TableFormat};

    fn parse(line: &str) -> Result<Command, clap::Error> {
        Cli::try_parse_from(line.split(' ')).map(|c| c.command)
    }

    /// clap's own check: every `conflicts_with`, `requires` and default
    /// names an argument of the command it sits in, wherever it is defined.
    #[test]
    fn the_definition_of_every_command_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn each_command_line_lands_in_its_commands_own_arguments() {
        let Ok(Command::Unset(u)) = parse("deal unset acme next_step --force --reason gone") else {
            panic!("unset");
        };
        assert_eq!(u.keys, ["next_step"]);
        assert!(u.force.force);
        assert_eq!(u.force.reason.as_deref(), Some("gone"));
        let Ok(Command::Audit(a)) = parse("deal audit --last 5 --format json --wide") else {
            panic!("audit");
        };
        assert_eq!(
            (a.last, a.format, a.wide.wide),
            (5, StatsFormat::Json, true)
        );
        let Ok(Command::Trend(t)) = parse("deal trend --format csv") else {
            panic!("trend");
        };
        assert_eq!((t.format, t.last), (TableFormat::Csv, 12));
        let Ok(Command::Serve(s)) = parse("deal serve --port 8123") else {
            panic!("serve");
        };
        assert_eq!(
            (s.port, s.bind.to_string()),
            (8123, "127.0.0.1".to_string())
        );
    }

    #[test]
    fn a_shared_flag_group_keeps_its_rules_in_every_command() {
        for line in ["deal set acme a=b --force", "deal edit acme --reason why"] {
            let e = parse(line).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::MissingRequiredArgument,
                "{line}"
            );
        }
    }

    /// `--no-commit` and `--wide` are one definition each: the same help in
    /// every command that has them.
    #[test]
    fn a_shared_flag_reads_the_same_in_every_command() {
        let cli = Cli::command();
        for flag in ["no_commit", "wide"] {
            let helps: Vec<(String, String)> = cli
                .get_subcommands()
                .filter_map(|c| {
                    let a = c.get_arguments().find(|a| a.get_id() == flag)?;
                    Some((c.get_name().to_string(), a.get_help()?.to_string()))
                })
                .collect();
            assert!(helps.len() >= 2, "{flag}: {helps:?}");
            assert!(
                helps.iter().all(|(_, h)| *h == helps[0].1),
                "{flag}: {helps:?}"
            );
        }
    }
}
