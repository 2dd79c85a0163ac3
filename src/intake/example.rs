//! The sample deals of `deal init --example`: the README's `example-pipeline/`,
//! compiled into the binary.

use std::path::Path;

use crate::base::error::Error;
use crate::model::config::Config;

mod files {
    include!(concat!(env!("OUT_DIR"), "/example_files.rs"));
}

/// The example's team members (handle, name, email), which its deals name as owners.
pub fn team() -> Vec<(String, String, String)> {
    let v: serde_yaml::Value = serde_yaml::from_str(files::PIPELINE).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(m) = v.get("team").and_then(|t| t.as_mapping()) {
        for (k, m) in m {
            let get = |key: &str| {
                m.get(key)
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            if let Some(h) = k.as_str() {
                out.push((h.to_string(), get("name"), get("email")));
            }
        }
    }
    out
}

/// Writes the sample deals (and the files they link) into a new pipeline.
pub fn write_into(dir: &Path, cfg: &Config) -> Result<(), Error> {
    for (rel, text) in files::FILES {
        // Only the deals and their attachments; README and the like stay out.
        let top = rel.split('/').next().unwrap_or("");
        if top != cfg.deals_dir && top != "contracts" {
            continue;
        }
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

/// The pipeline-relative paths [`write_into`] writes.
pub fn paths(cfg: &Config) -> Vec<String> {
    files::FILES
        .iter()
        .map(|(rel, _)| rel.to_string())
        .filter(|rel| {
            let top = rel.split('/').next().unwrap_or("");
            top == cfg.deals_dir || top == "contracts"
        })
        .collect()
}

/// The criterion the example's history adds three weeks in: before it, the
/// proposal stage asked only for the review.
const LATER_CRITERION: &str = "      - label: Clear next step with a date\n        fields: [next_step.action, next_step.due]\n";

/// One dated event of a sample deal: it entered `place` at `time`.
struct Event {
    time: chrono::DateTime<chrono::Utc>,
    slug: String,
    /// Path relative to the pipeline root, after the event.
    rel: String,
    /// The file's text as it was then: `stages` entries after `time` left out.
    text: String,
    message: String,
    owner: String,
}

/// The deal's text with the `stages` entries later than `t` removed.
fn text_at(text: &str, t: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_stages = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with("stages:") {
            in_stages = true;
        } else if !line.starts_with("  ") {
            in_stages = false;
        } else if in_stages
            && let Some((_, v)) = line.trim().split_once(": ")
            && crate::base::time::parse_timestamp(v.trim()).is_some_and(|x| x > t)
        {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// Creates the example's history in the new repository at `dir`: a first
/// commit with the process (one criterion short), then each sample deal's
/// arrival and moves as commits dated when its `stages` say they happened,
/// with deal's own trailers, and one commit that adds the missing criterion
/// with a `Criteria-Change:` trailer. The last commit holds exactly the
/// files written, so the work tree is clean. `yaml` is the pipeline.yaml
/// written.
pub fn write_history(dir: &Path, cfg: &Config, yaml: &str) -> Result<(), Error> {
    let repo = git2::Repository::open(dir).map_err(fail)?;
    let (events, others) = sample_events(cfg);
    let Some(first) = events.first().map(|e| e.time) else {
        return Ok(());
    };
    let mut h = History {
        index: git2::Index::new().map_err(fail)?,
        repo,
        cfg,
        parent: None,
    };
    let lead = cfg.team.keys().next().cloned().unwrap_or_default();
    h.add_process(dir, &yaml.replacen(LATER_CRITERION, "", 1), &others)?;
    h.commit(
        first - chrono::Duration::days(1),
        &lead,
        "Our sales process: seven stages with exit criteria\n",
    )?;
    let change_at = change_time(&events, first);
    let mut current: std::collections::HashMap<String, String> = Default::default();
    // The criteria change lands before the first event at or after its
    // date (after them all when none is).
    let change_pos = events
        .iter()
        .position(|e| e.time >= change_at)
        .unwrap_or(events.len());
    for i in 0..=events.len() {
        if i == change_pos {
            h.add(crate::model::config::FILE, yaml.as_bytes())?;
            h.commit(
                change_at,
                &lead,
                "pipeline.yaml: proposals need a dated next step\n\nCriteria-Change: deals stalled after demos with no agreed next step\n",
            )?;
        }
        let Some(e) = events.get(i) else { break };
        if let Some(old) = current.insert(e.slug.clone(), e.rel.clone())
            && old != e.rel
        {
            h.index.remove_path(Path::new(&old)).map_err(fail)?;
        }
        h.add(&e.rel, e.text.as_bytes())?;
        h.commit(e.time, &e.owner, &e.message)?;
    }
    h.finish()
}

/// A git failure while writing the history, as deal's error.
fn fail(e: git2::Error) -> Error {
    Error::git(
        format!("cannot write the example's history: {}", e.message()),
        "",
    )
}

/// The name and email of team member `handle` (made up when the team
/// does not name them), as the history signs their commits.
fn who(cfg: &Config, handle: &str) -> (String, String) {
    match cfg.team.get(handle) {
        Some(m) => (
            m.name.clone().unwrap_or_else(|| handle.to_string()),
            m.email
                .clone()
                .unwrap_or_else(|| format!("{handle}@example.com")),
        ),
        None => ("deal example".into(), "example@example.com".into()),
    }
}

/// Every sample deal's events, oldest first, and the other files the
/// sample deals link (`contracts/`), with their bytes.
fn sample_events(cfg: &Config) -> (Vec<Event>, Vec<(String, Vec<u8>)>) {
    let mut events: Vec<Event> = Vec::new();
    let mut others: Vec<(String, Vec<u8>)> = Vec::new();
    for (rel, text) in files::FILES {
        let top = rel.split('/').next().unwrap_or("");
        if top == "contracts" {
            others.push((rel.to_string(), text.as_bytes().to_vec()));
            continue;
        }
        if top != cfg.deals_dir || !rel.ends_with(".md") {
            continue;
        }
        events.extend(deal_events(cfg, rel, text));
    }
    events.sort_by(|a, b| a.time.cmp(&b.time).then(a.slug.cmp(&b.slug)));
    (events, others)
}

/// One sample deal's events: its arrival, then each place its `stages`
/// date, in order, ending where its file sits. None for a file that does
/// not parse or sits outside a stage folder.
fn deal_events(cfg: &Config, rel: &str, text: &str) -> Vec<Event> {
    use crate::model::deal::Place;
    let rel_path = Path::new(rel);
    let Some(place) = crate::store::pipeline::place_of(rel_path, cfg) else {
        return Vec::new();
    };
    let slug = crate::store::pipeline::slug_of(rel_path);
    let Ok(d) = crate::model::deal::Deal::parse(
        slug.clone(),
        rel_path.to_path_buf(),
        place,
        text.as_bytes().to_vec(),
        cfg,
    ) else {
        return Vec::new();
    };
    let owner = d.fields.owner.clone().unwrap_or_default();
    let mut entries: Vec<(chrono::DateTime<chrono::Utc>, Place)> = d
        .fields
        .stages
        .iter()
        .filter_map(|(k, t)| Some((*t, Place::parse(k, cfg)?)))
        .collect();
    entries.sort_by_key(|(t, p)| (*t, p.ordinal(cfg)));
    if entries.last().map(|e| e.1) != Some(place) {
        let t = entries
            .last()
            .map(|e| e.0)
            .or(d.fields.created)
            .unwrap_or_default();
        entries.push((t, place));
    }
    let mut events = Vec::new();
    let mut prev: Option<Place> = None;
    for (t, p) in entries {
        let lost_reason = d.fields.lost_reason.as_deref();
        events.push(Event {
            time: t,
            slug: slug.clone(),
            rel: format!("{}/{}/{slug}.md", cfg.deals_dir, p.dir(cfg)),
            text: text_at(text, t),
            message: event_message(cfg, &slug, &owner, prev, p, lost_reason),
            owner: owner.clone(),
        });
        prev = Some(p);
    }
    events
}

/// The commit message of a deal's arrival (no `prev`) or of its move from
/// `prev` to `p`, with deal's trailers (and `Lost-Reason:` into `lost`).
fn event_message(
    cfg: &Config,
    slug: &str,
    owner: &str,
    prev: Option<crate::model::deal::Place>,
    p: crate::model::deal::Place,
    lost_reason: Option<&str>,
) -> String {
    let (_, email) = who(cfg, owner);
    let trailer_owner = format!("{owner} <{email}>");
    let Some(from) = prev else {
        return format!("deal({slug}): new lead\n\nDeal: {slug}\nOwner: {trailer_owner}\n");
    };
    let mut m = format!(
        "deal({slug}): {} -> {}\n\nDeal: {slug}\nFrom-Stage: {}\nTo-Stage: {}\nOwner: {}\n",
        from.id(cfg),
        p.id(cfg),
        from.id(cfg),
        p.id(cfg),
        trailer_owner
    );
    if p == crate::model::deal::Place::Lost
        && let Some(r) = lost_reason
    {
        m.push_str(&format!("Lost-Reason: {r}\n"));
    }
    m
}

/// When the criteria change is dated: halfway between the first event
/// (`first`) and the last.
fn change_time(
    events: &[Event],
    first: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_opt(
            first.timestamp()
                + (events.last().map_or(0, |e| e.time.timestamp()) - first.timestamp()) / 2,
            0,
        )
        .single()
        .unwrap_or(first)
}

/// The history being written: the repository, the index of the next
/// commit, and the commit before it.
struct History<'a> {
    repo: git2::Repository,
    cfg: &'a Config,
    index: git2::Index,
    parent: Option<git2::Oid>,
}

impl History<'_> {
    /// Adds `data` at `path` to the index, as a regular file.
    fn add(&mut self, path: &str, data: &[u8]) -> Result<(), Error> {
        let id = self.repo.blob(data).map_err(fail)?;
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: data.len() as u32,
            id,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        self.index.add(&entry).map_err(fail)
    }

    /// The first commit's files: pipeline.yaml as `early` says it, the
    /// `.gitignore` written in `dir`, a `.gitkeep` in each stage and
    /// outcome folder, and the `others` the deals link.
    fn add_process(
        &mut self,
        dir: &Path,
        early: &str,
        others: &[(String, Vec<u8>)],
    ) -> Result<(), Error> {
        let cfg = self.cfg;
        self.add(crate::model::config::FILE, early.as_bytes())?;
        let ignore = std::fs::read(dir.join(".gitignore")).unwrap_or_default();
        self.add(".gitignore", &ignore)?;
        for s in cfg
            .stages
            .iter()
            .map(|s| s.dir.as_str())
            .chain([crate::model::config::WON, crate::model::config::LOST])
        {
            self.add(&format!("{}/{s}/.gitkeep", cfg.deals_dir), b"")?;
        }
        for (rel, data) in others {
            self.add(rel, data)?;
        }
        Ok(())
    }

    /// Commits the index at time `t`, signed by `handle`, after the
    /// previous commit.
    fn commit(
        &mut self,
        t: chrono::DateTime<chrono::Utc>,
        handle: &str,
        message: &str,
    ) -> Result<(), Error> {
        let repo = &self.repo;
        let tree_id = self.index.write_tree_to(repo).map_err(fail)?;
        let tree = repo.find_tree(tree_id).map_err(fail)?;
        let (name, email) = who(self.cfg, handle);
        let sig = git2::Signature::new(&name, &email, &git2::Time::new(t.timestamp(), 0))
            .map_err(fail)?;
        let parents: Vec<git2::Commit> = self
            .parent
            .and_then(|p| repo.find_commit(p).ok())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        let id = repo
            .commit(None, &sig, &sig, message, &tree, &refs)
            .map_err(fail)?;
        self.parent = Some(id);
        Ok(())
    }

    /// Points the branch HEAD names (unborn until now) at the last commit
    /// and makes the index match it, so `git status` is clean.
    fn finish(self) -> Result<(), Error> {
        let repo = &self.repo;
        let head = self
            .parent
            .ok_or_else(|| Error::git("the example's history is empty", ""))?;
        let branch = repo
            .find_reference("HEAD")
            .ok()
            .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
            .unwrap_or_else(|| "refs/heads/main".into());
        repo.reference(&branch, head, true, "deal init --example")
            .map_err(fail)?;
        let tree = repo
            .find_commit(head)
            .and_then(|c| c.tree())
            .map_err(fail)?;
        let mut real = repo.index().map_err(fail)?;
        real.read_tree(&tree).map_err(fail)?;
        real.write().map_err(fail)?;
        Ok(())
    }
}
