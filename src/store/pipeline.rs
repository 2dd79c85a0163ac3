//! A pipeline: its root, its `pipeline.yaml` and every deal file under
//! `deals_dir`, loaded from the working tree or from git objects.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::base::error::Error;
use crate::model::config::{self, Config};
use crate::model::deal::{Deal, Place};
use crate::yaml::mapping::ParseProblem;

use crate::store::files::{Content, Entry, NameKind, name_kind};

/// Finds the pipeline root: the nearest folder from `start` upwards that
/// holds `pipeline.yaml`.
pub fn find_root(start: &Path) -> Result<PathBuf, Error> {
    let start = std::fs::canonicalize(start).map_err(|e| {
        Error::usage_from(
            format!("cannot open folder {}: {e}", start.display()),
            "pass an existing folder to -C",
            e,
        )
    })?;
    let mut dir = start.as_path();
    loop {
        if dir.join(config::FILE).is_file() {
            // A GIT_DIR that is no repository is git's error for every
            // command, readers included (docs/safety.md, "git's own rules").
            if std::env::var_os("GIT_DIR").is_some_and(|d| !d.is_empty()) {
                crate::store::repo::find(dir)?;
            }
            return Ok(dir.to_path_buf());
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => {
                return Err(Error::usage(
                    format!(
                        "no {} in {} or any folder above it",
                        config::FILE,
                        crate::base::diag::display_path(&start)
                    ),
                    "run `deal init` to create a pipeline here, or pass -C <pipeline folder>",
                ));
            }
        }
    }
}

/// What a file that is neither a regular file, a folder nor a link is, in
/// a few words, or `None` for those three.
pub fn special_kind(ft: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_file() || ft.is_dir() || ft.is_symlink() {
        None
    } else if ft.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if ft.is_socket() {
        Some("a socket")
    } else if ft.is_block_device() || ft.is_char_device() {
        Some("a device")
    } else {
        Some("not a regular file")
    }
}

/// The `git mv` that gives a badly named deal file its `<slug>.md` name.
pub fn rename_fix(rel: &Path) -> String {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.trim_start_matches('.');
    let stem = match stem.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => stem,
    };
    let mut slug = crate::base::slug::slugify(stem);
    if slug.is_empty() {
        slug = "deal".into();
    }
    let to = rel.with_file_name(format!("{slug}.md"));
    format!(
        "git mv {} {}",
        shell_quote(&rel.to_string_lossy()),
        shell_quote(&to.to_string_lossy())
    )
}

/// `s` quoted for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A deal file that could not be loaded as a deal.
#[derive(Debug, Clone)]
pub enum Problem {
    Parse(ParseProblem),
    /// Merge-conflict markers: the file is half-merged.
    Conflict(crate::base::conflict::Conflict),
    Symlink,
    UnknownFolder,
    Unreadable(String),
    /// A file whose name is not `<slug>.md` (see [`NameKind::Bad`]).
    BadName,
    /// A FIFO, socket or device where a deal file would be: never opened.
    Special(&'static str),
}

impl Problem {
    /// Why the file is left out, in a few words, with its line.
    pub fn reason(&self) -> (usize, String) {
        match self {
            Problem::Parse(p) => (p.line, p.message.clone()),
            Problem::Conflict(c) => (c.start, c.message()),
            Problem::Symlink => (1, "a symbolic link, never followed".into()),
            Problem::UnknownFolder => (1, "not in a stage or outcome folder".into()),
            Problem::Unreadable(e) => (1, format!("cannot read the file: {e}")),
            Problem::BadName => (1, "the file name is not <slug>.md".into()),
            Problem::Special(kind) => (1, format!("{kind}, not a file; never opened")),
        }
    }
}

/// A deal file left out of a reader's output, as JSON outputs list it
/// (`"unreadable": [ { "path", "line", "message" } ]`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unreadable {
    pub path: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct FileProblem {
    pub rel: PathBuf,
    pub slug: String,
    pub problem: Problem,
}

/// A loaded pipeline.
#[derive(Debug)]
pub struct Pipeline {
    pub root: PathBuf,
    pub cfg: Config,
    pub deals: Vec<Deal>,
    pub problems: Vec<FileProblem>,
    /// Deal files listed by name only, not parsed (`check --staged` reads
    /// only staged deals); they count for duplicate slugs.
    pub unparsed: Vec<PathBuf>,
}

/// Lists the files of the working tree under `deals_dir` that are deals or
/// should be (every file but `.gitkeep`; hidden folders skipped), without
/// following symlinks.
pub fn worktree_entries(root: &Path, cfg: &Config) -> Vec<Entry> {
    let base = root.join(&cfg.deals_dir);
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(&base)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !e.file_type().is_dir()
                || !e.file_name().to_string_lossy().starts_with('.')
        })
        .flatten()
    {
        let name = e.file_name().to_string_lossy();
        if e.depth() == 0 || name_kind(&name) == NameKind::Ignored {
            continue;
        }
        let ft = e.file_type();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap_or(e.path())
            .to_path_buf();
        if ft.is_symlink() {
            out.push(Entry {
                rel,
                content: Content::Symlink,
            });
        } else if ft.is_file() {
            out.push(Entry {
                rel,
                content: Content::Path(e.path().to_path_buf()),
            });
        } else if let Some(kind) = special_kind(&ft) {
            out.push(Entry {
                rel,
                content: Content::Special(kind),
            });
        }
    }
    out
}

/// The deal files named `<slug>.md` in any stage or outcome folder.
pub fn files_named(root: &Path, cfg: &Config, slug: &str) -> Vec<Entry> {
    let dirs = cfg
        .stages
        .iter()
        .map(|s| s.dir.as_str())
        .chain([config::WON, config::LOST]);
    dirs.filter_map(|dir| {
        let rel = Path::new(&cfg.deals_dir)
            .join(dir)
            .join(format!("{slug}.md"));
        let meta = std::fs::symlink_metadata(root.join(&rel)).ok()?;
        let content = if meta.file_type().is_symlink() {
            Content::Symlink
        } else if meta.is_file() {
            Content::Path(root.join(&rel))
        } else if let Some(kind) = special_kind(&meta.file_type()) {
            Content::Special(kind)
        } else {
            return None;
        };
        Some(Entry { rel, content })
    })
    .collect()
}

/// The place a file path (relative to the root) sits in, if it is a stage or
/// outcome folder of this pipeline.
pub fn place_of(rel: &Path, cfg: &Config) -> Option<Place> {
    let under = rel.strip_prefix(&cfg.deals_dir).ok()?;
    let parent = under.parent()?;
    let parent = parent.to_str()?;
    if parent == config::WON {
        return Some(Place::Won);
    }
    if parent == config::LOST {
        return Some(Place::Lost);
    }
    cfg.stages
        .iter()
        .position(|s| Path::new(&s.dir) == Path::new(parent))
        .map(Place::Stage)
}

/// The slug of a deal file: its file stem.
pub fn slug_of(rel: &Path) -> String {
    rel.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Pipeline {
    /// The deal files left out because they cannot be read, each with its
    /// line and reason, for readers' warnings and JSON.
    pub fn unreadable(&self) -> Vec<Unreadable> {
        let mut out: Vec<Unreadable> = self
            .problems
            .iter()
            .map(|p| {
                let (line, message) = p.problem.reason();
                Unreadable {
                    path: p.rel.to_string_lossy().replace('\\', "/"),
                    line,
                    message: crate::base::diag::one_line(&message),
                }
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Prints a warning on stderr for every deal file left out (docs/safety.md,
    /// "Nothing vanishes silently"); returns how many there were.
    pub fn warn_unreadable(&self) -> usize {
        let list = self.unreadable();
        for u in &list {
            eprintln!(
                "warning: {}:{}: left out, it cannot be read as a deal: {} (`deal check` shows how to fix it)",
                crate::base::diag::escape(&crate::base::diag::display_path(
                    &self.root.join(&u.path)
                )),
                u.line,
                crate::base::diag::escape(&u.message)
            );
        }
        list.len()
    }

    /// Loads the pipeline whose root is `root`, from the working tree.
    pub fn load(root: &Path) -> Result<Pipeline, Error> {
        let cfg = config::load(root)?;
        let entries = worktree_entries(root, &cfg);
        Ok(Pipeline::from_entries(root.to_path_buf(), cfg, entries))
    }

    /// The pipeline with each deal shrunk as it is parsed (typed fields,
    /// place and names; no text or raw front-matter): for readers of typed
    /// fields only (`stats`, `audit`), so memory stays small.
    pub fn load_slim(root: &Path) -> Result<Pipeline, Error> {
        let cfg = config::load(root)?;
        let entries = worktree_entries(root, &cfg);
        Ok(Pipeline::slim(root.to_path_buf(), cfg, entries))
    }

    /// The deals of `entries`, each shrunk to its typed fields as it is
    /// parsed (see [`Pipeline::load_slim`]).
    pub fn slim(root: PathBuf, cfg: Config, entries: Vec<Entry>) -> Pipeline {
        Pipeline::parsed(root, cfg, entries, |mut d| {
            d.shrink();
            d
        })
    }

    /// The pipeline of `entries`, each deal passed through `f` as it is
    /// parsed.
    fn parsed(
        root: PathBuf,
        cfg: Config,
        entries: Vec<Entry>,
        f: impl Fn(Deal) -> Deal + Sync + Send,
    ) -> Pipeline {
        let results = parse_entries(&cfg, entries, f);
        // Collected in place: the results' buffer becomes the deals' (at
        // 100,000 deals, a second buffer was 80 MB more of fresh pages).
        let mut problems = Vec::new();
        let deals: Vec<Deal> = results
            .into_iter()
            .filter_map(|r| r.map_err(|p| problems.push(p)).ok())
            .collect();
        Pipeline {
            root,
            cfg,
            deals,
            problems,
            unparsed: Vec::new(),
        }
    }

    /// Finds the root from `start` and loads the pipeline.
    pub fn open(start: &Path) -> Result<Pipeline, Error> {
        let root = find_root(start)?;
        Pipeline::load(&root)
    }

    /// Finds the root from `start` and loads only the deal files that
    /// `query` (a slug, a prefix of one, or a path) can name: commands that
    /// touch one deal need not parse ten thousand. An exact slug is found
    /// by looking in each stage folder, without listing any.
    pub fn open_for(start: &Path, query: &str) -> Result<Pipeline, Error> {
        let root = find_root(start)?;
        let cfg = config::load(&root)?;
        if crate::base::slug::is_slug(query) {
            let hits = files_named(&root, &cfg, query);
            if !hits.is_empty() {
                return Ok(Pipeline::from_entries(root, cfg, hits));
            }
        }
        let abs = std::fs::canonicalize(query).ok();
        let picked: Vec<Entry> = worktree_entries(&root, &cfg)
            .into_iter()
            .filter(|e| {
                slug_of(&e.rel).starts_with(query)
                    || e.rel == Path::new(query)
                    || abs.as_deref() == Some(&root.join(&e.rel))
            })
            .collect();
        Ok(Pipeline::from_entries(root, cfg, picked))
    }

    /// The pipeline as it was at commit `rev`, read from git objects (the
    /// working tree is not touched), with every file path under the root at
    /// that commit, for `file` criteria.
    pub fn at_rev(root: &Path, rev: &str) -> Result<(Pipeline, HashSet<String>), Error> {
        let repo =
            crate::store::repo::Repo::require(root, "--rev reads git history; run without it")?;
        let oid = repo.commit_of(rev)?;
        Pipeline::at_commit(&repo, root, oid)
    }

    /// The pipeline as staged in the git index: `pipeline.yaml` and the
    /// staged deal files are read from the index (unstaged edits neither
    /// break nor rescue a commit); other deal files are listed by name only,
    /// for duplicate slugs. Returns the pipeline, every file path under the
    /// root in the index (for `file` criteria) and the staged deal files.
    pub fn staged(root: &Path) -> Result<(Pipeline, HashSet<String>, HashSet<PathBuf>), Error> {
        let repo = crate::store::repo::Repo::require(
            root,
            "--staged checks the git index; run `deal check` without it",
        )?;
        let path = root.join(config::FILE);
        let src = repo.index_blob(root, config::FILE)?.ok_or_else(|| {
            Error::usage(
                format!("{} is not in the git index", config::FILE),
                "stage it: `git add pipeline.yaml`",
            )
        })?;
        let src = String::from_utf8(src)
            .map_err(|_| Error::usage(format!("the staged {} is not UTF-8", config::FILE), ""))?;
        let cfg = config::parse(&src, &path, &crate::model::notes::Templates::new(root))?;
        let mut view = repo.index_view(root, &cfg.deals_dir)?;
        // During a merge, a staged deal is one whose blob differs from every
        // parent's (merging main never fails over someone else's old deal),
        // and every deal file in the index is scanned for conflict markers.
        let parents = repo.merge_parents();
        if !parents.is_empty() {
            let prefix = repo.rel(root)?;
            let in_repo =
                |rel: &Path| crate::store::repo::Repo::under(&prefix, &rel.to_string_lossy());
            let ids: HashMap<PathBuf, git2::Oid> = view
                .deals
                .iter()
                .map(|(r, id, _)| (r.clone(), *id))
                .collect();
            view.staged.retain(|rel| {
                let id = ids.get(rel).copied();
                parents
                    .iter()
                    .all(|p| repo.blob_id_at(*p, &in_repo(rel)) != id)
            });
            let conflicted: Vec<PathBuf> = view
                .deals
                .iter()
                .filter(|(rel, _, mode)| *mode != 0o120000 && !view.staged.contains(rel))
                .filter_map(|(rel, id, _)| {
                    let Content::Bytes(b) = repo.blob(*id, MAX_DEAL_BYTES as usize) else {
                        return None;
                    };
                    let text = std::str::from_utf8(&b).ok()?;
                    crate::base::conflict::find(text).map(|_| rel.clone())
                })
                .collect();
            view.staged.extend(conflicted);
        }
        let mut unparsed = Vec::new();
        let mut wanted = Vec::new();
        for (rel, id, mode) in view.deals {
            if view.staged.contains(&rel) {
                wanted.push((rel, id, mode));
            } else {
                unparsed.push(rel);
            }
        }
        // Most staged files are as staged in the working tree too: read those
        // in parallel and check their blob id; read the others from git.
        let from_disk: Vec<Option<Vec<u8>>> = wanted
            .par_iter()
            .map(|(rel, id, mode)| {
                if *mode == 0o120000 {
                    return None;
                }
                let bytes = read_limited(&root.join(rel)).ok()?;
                let same =
                    git2::Oid::hash_object(git2::ObjectType::Blob, &bytes).is_ok_and(|h| h == *id);
                same.then_some(bytes)
            })
            .collect();
        let mut entries = Vec::new();
        for ((rel, id, mode), disk) in wanted.into_iter().zip(from_disk) {
            // Stored through a filter or an end-of-line conversion: the work
            // tree's text is the staged one when git would store it as that
            // blob (the blob itself is what the filter made of it).
            let disk = disk.or_else(|| {
                if mode == 0o120000 {
                    return None;
                }
                let abs = root.join(&rel);
                let rel_repo = repo.rel(&abs).ok()?;
                let bytes = read_limited(&abs).ok()?;
                (repo.blob_id_for(&rel_repo, &bytes).ok()? == id).then_some(bytes)
            });
            let content = match disk {
                Some(b) => Content::Bytes(b),
                None if mode == 0o120000 => Content::Symlink,
                None => repo.blob(id, MAX_DEAL_BYTES as usize),
            };
            entries.push(Entry { rel, content });
        }
        let mut p = Pipeline::from_entries(root.to_path_buf(), cfg, entries);
        p.unparsed = unparsed;
        let staged = view.staged;
        Ok((p, view.files.into_iter().collect(), staged))
    }

    /// The pipeline at a commit.
    pub fn at_commit(
        repo: &crate::store::repo::Repo,
        root: &Path,
        oid: git2::Oid,
    ) -> Result<(Pipeline, HashSet<String>), Error> {
        let cfg = Pipeline::config_at(repo, root, oid)?;
        Pipeline::at_commit_with(repo, root, oid, cfg)
    }

    /// `pipeline.yaml` as it was at a commit.
    pub fn config_at(
        repo: &crate::store::repo::Repo,
        root: &Path,
        oid: git2::Oid,
    ) -> Result<Config, Error> {
        let tree = repo.tree_at(oid, root)?;
        let path = root.join(config::FILE);
        let src = repo.blob_in(&tree, config::FILE).ok_or_else(|| {
            Error::usage(
                format!(
                    "there is no {} at commit {}",
                    config::FILE,
                    &oid.to_string()[..7]
                ),
                "give a commit made after the pipeline was created",
            )
        })?;
        let src = String::from_utf8(src).map_err(|_| {
            Error::usage(format!("{} at that commit is not UTF-8", config::FILE), "")
        })?;
        Ok(config::parse(
            &src,
            &path,
            &crate::model::notes::Templates::new(root),
        )?)
    }

    /// The deals at a commit, read and judged with `cfg` (which may be
    /// another commit's: `deal review` judges a change by the base's rules).
    pub fn at_commit_with(
        repo: &crate::store::repo::Repo,
        root: &Path,
        oid: git2::Oid,
        cfg: Config,
    ) -> Result<(Pipeline, HashSet<String>), Error> {
        let tree = repo.tree_at(oid, root)?;
        let (all, entries) = repo.files_in(&tree, &cfg.deals_dir, MAX_DEAL_BYTES as usize);
        let files: HashSet<String> = all.into_iter().collect();
        Ok((
            Pipeline::from_entries(root.to_path_buf(), cfg, entries),
            files,
        ))
    }

    /// Builds a pipeline from a config and a list of files.
    pub fn from_entries(root: PathBuf, cfg: Config, entries: Vec<Entry>) -> Pipeline {
        Pipeline::parsed(root, cfg, entries, |d| d)
    }

    /// Parses `entries` in parallel and hands each deal to `f`, keeping only
    /// what `f` returns: the deal itself is dropped at once, so a whole
    /// pipeline never sits in memory (`deal check` keeps findings, `deal
    /// list` rows). The returned pipeline has no parsed deals; their paths
    /// are in `unparsed`, which is enough for duplicate slugs.
    pub fn scan<T: Send>(
        root: PathBuf,
        cfg: Config,
        entries: Vec<Entry>,
        f: impl Fn(Deal) -> T + Sync + Send,
    ) -> (Pipeline, Vec<T>) {
        let results = parse_entries(&cfg, entries, |d| (d.rel.clone(), f(d)));
        let mut out = Vec::new();
        let mut unparsed = Vec::new();
        let mut problems = Vec::new();
        for r in results {
            match r {
                Ok((rel, t)) => {
                    unparsed.push(rel);
                    out.push(t);
                }
                Err(p) => problems.push(p),
            }
        }
        (
            Pipeline {
                root,
                cfg,
                deals: Vec::new(),
                problems,
                unparsed,
            },
            out,
        )
    }

    /// Slugs that appear more than once, with their files. Slugs that
    /// differ only in case (`Acme.md`, `acme.md`) are the same: they are
    /// one file on macOS and Windows.
    pub fn duplicate_slugs(&self) -> Vec<(String, Vec<PathBuf>)> {
        let mut by: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for d in &self.deals {
            by.entry(d.slug.to_lowercase())
                .or_default()
                .push(d.rel.clone());
        }
        for p in &self.problems {
            if !matches!(
                p.problem,
                Problem::Symlink | Problem::BadName | Problem::Special(_)
            ) {
                by.entry(p.slug.to_lowercase())
                    .or_default()
                    .push(p.rel.clone());
            }
        }
        for rel in &self.unparsed {
            let name = rel.file_name().map(|n| n.to_string_lossy());
            if place_of(rel, &self.cfg).is_some()
                && name.is_some_and(|n| name_kind(&n) == NameKind::Deal)
            {
                by.entry(slug_of(rel).to_lowercase())
                    .or_default()
                    .push(rel.clone());
            }
        }
        let mut out: Vec<(String, Vec<PathBuf>)> = by
            .into_iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, mut v)| {
                v.sort();
                (k.to_string(), v)
            })
            .collect();
        out.sort();
        out
    }

    /// Finds a deal by slug, unique slug prefix, or path.
    pub fn resolve(&self, arg: &str) -> Result<&Deal, Error> {
        if let Some(d) = self.deals.iter().find(|d| d.slug == arg) {
            self.refuse_duplicate(&d.slug)?;
            return Ok(d);
        }
        if arg.contains('/') || arg.ends_with(".md") {
            let abs = std::fs::canonicalize(arg).ok();
            if let Some(d) = self.deals.iter().find(|d| {
                abs.as_deref() == Some(&self.root.join(&d.rel)) || d.rel == Path::new(arg)
            }) {
                return Ok(d);
            }
            if let Some(p) = self.problems.iter().find(|p| {
                abs.as_deref() == Some(&self.root.join(&p.rel)) || p.rel == Path::new(arg)
            }) {
                return Err(unreadable(p));
            }
        }
        let matches: Vec<&Deal> = self
            .deals
            .iter()
            .filter(|d| d.slug.starts_with(arg))
            .collect();
        let one_slug = matches.windows(2).all(|w| w[0].slug == w[1].slug);
        if matches.len() > 1 && one_slug {
            self.refuse_duplicate(&matches[0].slug)?;
        }
        match matches.len() {
            1 => Ok(matches[0]),
            0 => {
                if let Some(p) = self.problems.iter().find(|p| p.slug == arg) {
                    return Err(unreadable(p));
                }
                Err(Error::usage(
                    format!("no deal `{arg}`"),
                    "give a slug, a unique prefix of one, or a path; `deal list` shows them",
                ))
            }
            _ => {
                let mut names: Vec<&str> = matches.iter().map(|d| d.slug.as_str()).collect();
                names.sort();
                names.truncate(8);
                Err(Error::usage(
                    format!("`{arg}` matches several deals: {}", names.join(", ")),
                    "type more of the slug",
                ))
            }
        }
    }
}

impl Pipeline {
    /// Resolves DEAL (a slug, a unique prefix, or a path) to one parsed
    /// deal, refusing a slug that two files share.
    pub fn one(&self, query: &str) -> Result<&Deal, Error> {
        let d = self.resolve(query)?;
        self.refuse_duplicate(&d.slug)?;
        Ok(d)
    }

    /// Refuses a slug that sits in several files (a merge of two branches
    /// that both moved the deal), naming every copy and `deal resolve`.
    pub fn refuse_duplicate(&self, slug: &str) -> Result<(), Error> {
        match self.duplicate_slugs().into_iter().find(|(s, _)| s == slug) {
            Some((_, files)) => Err(duplicated(&self.root, &self.cfg, slug, &files)),
            None => Ok(()),
        }
    }
}

/// The choices for `deal resolve --keep` among a slug's files: their stage
/// ids, or their paths when two share a folder (`acme.md`, `Acme.md`).
pub fn keep_choices(cfg: &Config, files: &[PathBuf]) -> String {
    let places: Vec<String> = files
        .iter()
        .map(|f| match place_of(f, cfg) {
            Some(p) => p.id(cfg).to_string(),
            None => f.display().to_string(),
        })
        .collect();
    let mut seen = places.clone();
    seen.sort();
    seen.dedup();
    if seen.len() < places.len() {
        return files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join("|");
    }
    places.join("|")
}

/// The error for a slug that sits in several files.
pub fn duplicated(root: &Path, cfg: &Config, slug: &str, files: &[PathBuf]) -> Error {
    Error::usage(
        format!(
            "the deal `{slug}` sits in {} places: {}",
            files.len(),
            files
                .iter()
                .map(|f| crate::base::diag::display_path(&root.join(f)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "keep the right copy with `deal resolve {slug} --keep <{}>` (two branches moved it), or rename one with `git mv` if they are two deals",
            keep_choices(cfg, files)
        ),
    )
}

/// Reads and parses deal files in parallel; each deal goes through `f`.
fn parse_entries<T: Send>(
    cfg: &Config,
    entries: Vec<Entry>,
    f: impl Fn(Deal) -> T + Sync + Send,
) -> Vec<Result<T, FileProblem>> {
    entries
        .into_par_iter()
        .map(|e| parse_entry(cfg, e, &f))
        .collect()
}

/// The place of the deal file at `rel`, or why a file there is no deal:
/// outside the stage and outcome folders, or not named `<slug>.md`.
fn deal_place(rel: &Path, cfg: &Config) -> Result<Place, Problem> {
    let place = place_of(rel, cfg).ok_or(Problem::UnknownFolder)?;
    let name = rel.file_name().map(|n| n.to_string_lossy());
    if name.is_some_and(|n| name_kind(&n) != NameKind::Deal) {
        return Err(Problem::BadName);
    }
    Ok(place)
}

/// The merge-conflict markers in a file's text, if any.
fn conflict_in(bytes: &[u8]) -> Option<crate::base::conflict::Conflict> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(crate::base::conflict::find)
}

/// Reads and parses one deal file and hands the deal to `f`; a file that is
/// not a readable deal is its [`FileProblem`].
pub fn parse_entry<T>(cfg: &Config, e: Entry, f: impl Fn(Deal) -> T) -> Result<T, FileProblem> {
    let slug = slug_of(&e.rel);
    let fail = |problem| FileProblem {
        rel: e.rel.clone(),
        slug: slug.clone(),
        problem,
    };
    let place = deal_place(&e.rel, cfg).map_err(fail)?;
    let bytes = match e.content {
        Content::Symlink => return Err(fail(Problem::Symlink)),
        Content::Special(kind) => return Err(fail(Problem::Special(kind))),
        Content::TooBig(n) => {
            return Err(fail(Problem::Unreadable(too_big(n))));
        }
        Content::Unreadable(why) => return Err(fail(Problem::Unreadable(why))),
        Content::Bytes(b) => b,
        Content::Path(ref p) => match read_limited(p) {
            Ok(b) => b,
            Err(err) => return Err(fail(Problem::Unreadable(err.to_string()))),
        },
    };
    if let Some(c) = conflict_in(&bytes) {
        return Err(fail(Problem::Conflict(c)));
    }
    Deal::parse(slug.clone(), e.rel.clone(), place, bytes, cfg)
        .map(&f)
        .map_err(|p| fail(Problem::Parse(p)))
}

/// `f` of a deal file's place and typed `value`, `currency` and `stages`
/// ([`Deal::quick_fields`]) when `rel` is a deal file's path and `bytes` a
/// text that simple, so [`parse_entry`] of the same would give `Ok` with
/// those same fields. `None`: ask [`parse_entry`].
pub fn quick_entry<T>(
    cfg: &Config,
    rel: &Path,
    bytes: &[u8],
    f: impl Fn(Place, &crate::model::fields::Fields) -> T,
) -> Option<T> {
    let place = deal_place(rel, cfg).ok()?;
    if conflict_in(bytes).is_some() {
        return None;
    }
    Deal::quick_fields(bytes, cfg).map(|fields| f(place, &fields))
}

/// Deal files are small; anything larger than this is refused unread.
pub const MAX_DEAL_BYTES: u64 = 4 * 1024 * 1024;

fn too_big(n: u64) -> String {
    format!(
        "the file is {:.1} MB; deal files are limited to {} MB",
        n as f64 / 1_048_576.0,
        MAX_DEAL_BYTES / 1_048_576
    )
}

/// Reads a deal file of at most [`MAX_DEAL_BYTES`]. It is opened without
/// blocking and without following a link, and read only if it is a regular
/// file, so a FIFO put in its place meanwhile never hangs the reader.
fn read_limited(p: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    // Out of file descriptors is the process's state, not the file's: the
    // other threads' files (a report reads history meanwhile) close soon, so
    // wait for one rather than call the deal unreadable and drop its page.
    let mut waits = 0;
    let mut f = loop {
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(p)
        {
            Err(e) if out_of_descriptors(&e) && waits < 200 => {
                waits += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => break r.map_err(|e| e.to_string())?,
        }
    };
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if let Some(kind) = special_kind(&meta.file_type()) {
        return Err(format!("{kind}, not a file; never opened"));
    }
    if meta.len() > MAX_DEAL_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

fn unreadable(p: &FileProblem) -> Error {
    Error::usage(
        format!("{} cannot be read as a deal", p.rel.display()),
        "run `deal check` to see why, and fix the file first",
    )
}
