//! The declarations of `triggers:` in `pipeline.yaml` (docs/reference.md,
//! "Notify"): what each trigger fires on, its filters, where it delivers,
//! and the checks `config` runs on them, its webhook URLs included.
//! The events, messages and delivery are `reports::notify`'s. Uses base/
//! and model/.

/// What a trigger fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum On {
    Lead,
    Enter,
    Won,
    Lost,
    Forced,
    Due,
    Uncontacted,
}

impl On {
    pub const ALL: [On; 7] = [
        On::Lead,
        On::Enter,
        On::Won,
        On::Lost,
        On::Forced,
        On::Due,
        On::Uncontacted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            On::Lead => "lead",
            On::Enter => "enter",
            On::Won => "won",
            On::Lost => "lost",
            On::Forced => "forced",
            On::Due => "due",
            On::Uncontacted => "uncontacted",
        }
    }

    pub fn parse(s: &str) -> Option<On> {
        On::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The filters this event has: `stage` for a move, `source` for an
    /// event about one deal, `owner` for all.
    pub fn filters(self) -> &'static [&'static str] {
        match self {
            On::Enter | On::Forced => &["stage", "source", "owner"],
            On::Lead | On::Won | On::Lost | On::Uncontacted => &["source", "owner"],
            On::Due => &["owner"],
        }
    }

    /// Whether `deal notify --due` sends it (else `deal notify BASE..HEAD`).
    pub fn is_due(self) -> bool {
        matches!(self, On::Due | On::Uncontacted)
    }
}

/// Where a trigger delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An http(s) URL as written, `$DEAL_…` variables unexpanded.
    Webhook(String),
    /// A shell command (`sh -c`), run only with `--allow-commands`.
    Command(String),
}

/// What a webhook POSTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// `{"text": …}`.
    Text,
    /// The whole event.
    Full,
}

/// One entry of `triggers:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub id: String,
    pub on: On,
    /// The stages it fires on (empty: any).
    pub stage: Vec<String>,
    pub source: Vec<String>,
    pub owner: Vec<String>,
    pub action: Action,
    pub format: Payload,
    pub text: Option<String>,
    /// Its line in pipeline.yaml, for messages that name it.
    pub line: Option<usize>,
}

/// A malformed trigger: the key path, what is wrong, how to fix it.
pub type TriggerError = (String, String, String);

const TRIGGER_HELP: &str = "a trigger is { id, on, stage?, source?, owner?, webhook | command, format?, text? }; see docs/reference.md, \"Notify\"";

fn text_list(v: &serde_yaml::Value) -> Option<Vec<String>> {
    let one = |x: &serde_yaml::Value| match x {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match v {
        serde_yaml::Value::Sequence(xs) => xs.iter().map(one).collect(),
        x => one(x).map(|s| vec![s]),
    }
}

/// Checks a webhook URL as written: http(s), and no variable but
/// `$DEAL_…` (`${DEAL_…}`). Returns the names of its variables.
pub fn check_webhook(url: &str) -> Result<Vec<String>, (String, String)> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with(['/', '?', '#', '@', ':'])) {
        return Err((
            format!("`{}` is not an http(s) URL", crate::base::diag::one_line(url)),
            "write the URL as `https://host/path`; a secret part can be a `$DEAL_…` variable in the path, e.g. `https://hooks.slack.com/services/$DEAL_SLACK_HOOK`".into(),
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            "a webhook URL has no spaces or control characters".into(),
            "percent-encode them (`%20`)".into(),
        ));
    }
    let names = vars(url).map_err(|name| {
        (
            format!("`${name}` is not read: only `$DEAL_…` variables are expanded in a webhook"),
            "rename the secret to a `DEAL_` variable (e.g. `$DEAL_SLACK_HOOK`) and set it where `deal notify` runs; no other variable (such as $HOME or $GITHUB_TOKEN) ever leaves the machine".into(),
        )
    })?;
    // The URL parser `notify` sends with (ureq's), each variable standing
    // for `1` (a host, a port or a path alike), so what passes here is
    // what a run can send to.
    let sample = substitute(url, |_| Some("1".into())).unwrap_or_default();
    check_uri(&sample).map_err(|why| {
        (
            format!("`{}` is not a URL: {why}", crate::base::diag::one_line(url)),
            "write the URL as `https://host[:port]/path` (a port is 1 to 65535; no `\\`, spaces or `@` tricks), a secret part as a `$DEAL_…` variable".into(),
        )
    })?;
    Ok(names)
}

/// Parses a URL with the parser delivery uses; `Err` says why not.
fn check_uri(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e: ureq::http::uri::InvalidUri| e.to_string())?;
    let Some(auth) = uri.authority() else {
        return Err("no host".into());
    };
    if auth.host().is_empty() {
        return Err("no host".into());
    }
    // The port as written: `Uri` leaves one past 65535 unread rather
    // than refusing it.
    let hp = auth.as_str().rsplit('@').next().unwrap_or("");
    let after_host = hp.rfind(']').map_or(hp, |i| &hp[i + 1..]);
    if let Some((_, port)) = after_host.rsplit_once(':')
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!(
            "port `{}` is not one from 1 to 65535",
            crate::base::diag::one_line(port)
        ));
    }
    Ok(())
}

/// The variables of a webhook URL (`$NAME` or `${NAME}`), each with the
/// byte range it takes; `Err(name)` for the first that is not a `DEAL_`
/// variable.
fn spans(url: &str) -> Result<Vec<(String, std::ops::Range<usize>)>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = url[from..].find('$').map(|i| i + from) {
        let after = &url[i + 1..];
        let (name, len) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(end) => (&b[..end], end + 2),
                None => (b, after.len()),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let ok = name.len() > 5
            && name.starts_with("DEAL_")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(name.to_string());
        }
        out.push((name.to_string(), i..i + 1 + len));
        from = i + 1 + len;
    }
    Ok(out)
}

/// The names of a webhook URL's variables; `Err(name)` as [`spans`].
pub fn vars(url: &str) -> Result<Vec<String>, String> {
    spans(url).map(|v| v.into_iter().map(|(n, _)| n).collect())
}

/// The URL with each variable replaced by `value(name)`; `Err` names the
/// first variable it has no value for.
pub fn substitute(url: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let spans = spans(url).map_err(|n| format!("${n}"))?;
    let mut out = String::with_capacity(url.len());
    let mut last = 0;
    for (name, r) in spans {
        let Some(v) = value(&name) else {
            return Err(format!("${name}"));
        };
        out.push_str(&url[last..r.start]);
        out.push_str(&v);
        last = r.end;
    }
    out.push_str(&url[last..]);
    Ok(out)
}

/// The host of a webhook URL as written (`hooks.slack.com`), for review.
pub fn host(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let h = &rest[..end];
    h.rsplit('@').next().unwrap_or(h).to_string()
}

/// A [`TriggerError`] at key path `at`.
fn err(at: String, msg: String, help: &str) -> TriggerError {
    (at, msg, help.to_string())
}

/// What a trigger is checked against: the pipeline's stage ids, the
/// outcome ids a `forced` trigger may also name (`won`, `lost`), and the
/// team's handles (an `owner` filter must name one unless the team is
/// empty).
pub struct Known<'a> {
    pub stages: &'a [String],
    pub outcomes: &'a [&'a str],
    pub team: &'a [String],
}

/// Parses and validates `triggers:`, each trigger in turn; the first
/// malformed one is the error.
pub fn parse_triggers(v: &serde_yaml::Value, known: &Known) -> Result<Vec<Trigger>, TriggerError> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let Some(list) = v.as_sequence() else {
        return Err(err(
            "triggers".into(),
            "must be a list of triggers".into(),
            TRIGGER_HELP,
        ));
    };
    let env = crate::base::expr::environment();
    let mut out: Vec<Trigger> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let key = format!("triggers[{i}]");
        let Some(m) = item.as_mapping() else {
            return Err(err(key, "a trigger is a mapping".into(), TRIGGER_HELP));
        };
        let entry = Entry { key, m, known };
        let t = entry.trigger(&out, &env)?;
        out.push(t);
    }
    Ok(out)
}

/// One entry of the list being read: its key path (`triggers[2]`) and
/// mapping.
struct Entry<'a> {
    key: String,
    m: &'a serde_yaml::Mapping,
    known: &'a Known<'a>,
}

impl Entry<'_> {
    /// The value of key `k`, if written.
    fn get(&self, k: &str) -> Option<&serde_yaml::Value> {
        self.m.get(serde_yaml::Value::String(k.into()))
    }

    /// The key path of field `f` (`triggers[2].stage`).
    fn at(&self, f: &str) -> String {
        format!("{}.{f}", self.key)
    }

    /// The whole trigger, its parts checked in the order the messages
    /// promise: keys, id, event, filters, delivery, format, text.
    fn trigger(
        &self,
        before: &[Trigger],
        env: &minijinja::Environment,
    ) -> Result<Trigger, TriggerError> {
        self.no_unknown_keys()?;
        let id = self.id(before)?;
        let on = self.on()?;
        self.filters_fit(on)?;
        let stage = self.stage(on)?;
        let source = self.list_of("source")?;
        let owner = self.owner()?;
        let action = self.action()?;
        let format = self.format()?;
        let text = self.text(env)?;
        Ok(Trigger {
            id,
            on,
            stage,
            source,
            owner,
            action,
            format,
            text,
            line: None,
        })
    }

    /// Refuses a key a trigger does not have; a few likely guesses at other
    /// tools' names are only "unknown key", the rest may be a filter.
    fn no_unknown_keys(&self) -> Result<(), TriggerError> {
        const KNOWN: [&str; 9] = [
            "id", "on", "stage", "source", "owner", "webhook", "command", "format", "text",
        ];
        for k in self.m.keys() {
            let name = k.as_str().unwrap_or("");
            if !KNOWN.contains(&name) {
                let what = if ["event", "when", "channel", "filter"].contains(&name) {
                    "unknown key"
                } else {
                    "unknown key or filter"
                };
                return Err(err(self.at(name), format!("{what} `{name}`"), TRIGGER_HELP));
            }
        }
        Ok(())
    }

    /// The trigger's `id`: present, not blank, and not one an earlier
    /// trigger in `before` has.
    fn id(&self, before: &[Trigger]) -> Result<String, TriggerError> {
        let id = match self.get("id").and_then(|x| x.as_str()) {
            Some(s) if !s.trim().is_empty() => s.to_string(),
            found => {
                // Without an `id:` line, the trigger's own line.
                let at = if found.is_none() && self.get("id").is_none() {
                    self.key.clone()
                } else {
                    self.at("id")
                };
                return Err(err(
                    at,
                    "a trigger needs an `id` (a name)".into(),
                    "add `id: new-lead-to-slack`, unique in the list",
                ));
            }
        };
        if let Some(j) = before.iter().position(|t| t.id == id) {
            return Err(err(
                self.at("id"),
                format!("duplicate trigger id `{id}` (also triggers[{j}])"),
                "give each trigger its own id: deliveries are recorded by it",
            ));
        }
        Ok(id)
    }

    /// The event it fires on (`on`), one of [`On::ALL`].
    fn on(&self) -> Result<On, TriggerError> {
        let on_text = self.get("on").and_then(|x| x.as_str()).unwrap_or("");
        On::parse(on_text).ok_or_else(|| {
            let all: Vec<&str> = On::ALL.iter().map(|o| o.as_str()).collect();
            err(
                self.at("on"),
                if on_text.is_empty() {
                    "a trigger needs `on`, the event it fires on".into()
                } else {
                    format!("unknown event `{on_text}`")
                },
                &format!("events are {}", all.join(", ")),
            )
        })
    }

    /// Refuses a filter the event has nothing to filter on (`stage` on a
    /// `won`, `source` on a `due`).
    fn filters_fit(&self, on: On) -> Result<(), TriggerError> {
        for f in ["stage", "source", "owner"] {
            if self.get(f).is_some() && !on.filters().contains(&f) {
                return Err(err(
                    self.at(f),
                    format!("a `{}` event has no `{f}` to filter on", on.as_str()),
                    &format!(
                        "`{}` takes {}",
                        on.as_str(),
                        on.filters()
                            .iter()
                            .map(|x| format!("`{x}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The `stage` filter, a value or a list, each a stage id (or, for
    /// `forced`, an outcome); `enter` needs one.
    fn stage(&self, on: On) -> Result<Vec<String>, TriggerError> {
        let stages = self.known.stages;
        let stage = match self.get("stage") {
            None => Vec::new(),
            Some(v) => {
                let Some(list) = text_list(v) else {
                    return Err(err(
                        self.at("stage"),
                        "`stage` is a stage id or a list of them".into(),
                        "write `stage: proposal` or `stage: [outreach, discovery]`",
                    ));
                };
                for s in &list {
                    let outcome = on == On::Forced && self.known.outcomes.contains(&s.as_str());
                    if !stages.contains(s) && !outcome {
                        return Err(err(
                            self.at("stage"),
                            format!("`{}` is not a stage", crate::base::diag::one_line(s)),
                            &format!("stages are {}", stages.join(", ")),
                        ));
                    }
                }
                list
            }
        };
        if on == On::Enter && stage.is_empty() {
            return Err(err(
                self.at("on"),
                "`enter` needs `stage`: the stage whose entry fires it".into(),
                &format!("add `stage:` with one of {}", stages.join(", ")),
            ));
        }
        Ok(stage)
    }

    /// A filter written as a value or a list of values (empty: absent).
    fn list_of(&self, f: &str) -> Result<Vec<String>, TriggerError> {
        match self.get(f) {
            None => Ok(Vec::new()),
            Some(v) => text_list(v).ok_or_else(|| {
                err(
                    self.at(f),
                    format!("`{f}` is a value or a list of values"),
                    "write `source: website` or `source: [website, chat]`",
                )
            }),
        }
    }

    /// The `owner` filter: handles from the team, when it has any.
    fn owner(&self) -> Result<Vec<String>, TriggerError> {
        let team = self.known.team;
        let owner = self.list_of("owner")?;
        if let Some(o) = owner.iter().find(|o| !team.is_empty() && !team.contains(o)) {
            return Err(err(
                self.at("owner"),
                format!("owner `{}` is not in team", crate::base::diag::one_line(o)),
                &format!("use a handle from team: {}", team.join(", ")),
            ));
        }
        Ok(owner)
    }

    /// Where it delivers: exactly one of a checked `webhook` URL and a
    /// non-blank `command`.
    fn action(&self) -> Result<Action, TriggerError> {
        match (self.get("webhook"), self.get("command")) {
            (Some(_), Some(_)) | (None, None) => Err(err(
                self.key.clone(),
                "a trigger has exactly one of `webhook` and `command`".into(),
                "keep `webhook: https://…` for a chat, or `command: …` for a script (run only with --allow-commands)",
            )),
            (Some(w), None) => {
                let url = w.as_str().unwrap_or("").to_string();
                check_webhook(&url).map_err(|(m, h)| err(self.at("webhook"), m, &h))?;
                Ok(Action::Webhook(url))
            }
            (None, Some(c)) => match c.as_str() {
                Some(c) if !c.trim().is_empty() => Ok(Action::Command(c.to_string())),
                _ => Err(err(
                    self.at("command"),
                    "`command` is a shell command line".into(),
                    "write `command: ./scripts/on-lead.sh`",
                )),
            },
        }
    }

    /// What a webhook POSTs: `text` (the default) or `full`.
    fn format(&self) -> Result<Payload, TriggerError> {
        match self.get("format").map(|f| f.as_str().unwrap_or("")) {
            None | Some("text") => Ok(Payload::Text),
            Some("full") => Ok(Payload::Full),
            Some(f) => Err(err(
                self.at("format"),
                format!("unknown format `{f}`"),
                "`text` (a POST of {\"text\": …}) or `full` (the whole event)",
            )),
        }
    }

    /// The message template (`text`), if any: within the nesting bound and
    /// parsed by the sandbox's `env`.
    fn text(&self, env: &minijinja::Environment) -> Result<Option<String>, TriggerError> {
        let Some(t) = self.get("text") else {
            return Ok(None);
        };
        let t = t.as_str().unwrap_or("").to_string();
        if let Err((line, m)) = crate::base::expr::check_template_depth(&t) {
            return Err(err(
                self.at("text"),
                format!("line {line} of the template: {m}"),
                "simplify the template",
            ));
        }
        if let Err(e) = env.template_from_str(&t) {
            return Err(err(
                self.at("text"),
                format!("the template does not parse: {e}"),
                "a minijinja template over the event, e.g. `New lead {{ deal.title }} for {{ deal.owner }}`",
            ));
        }
        Ok(Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<Vec<Trigger>, TriggerError> {
        let v: serde_yaml::Value = serde_yaml::from_str(y).unwrap();
        let stages = ["prospecting".to_string(), "proposal".to_string()];
        let team = ["bob".to_string(), "alice".to_string()];
        let known = Known {
            stages: &stages,
            outcomes: &["won", "lost"],
            team: &team,
        };
        parse_triggers(&v, &known)
    }

    /// The error of a list that must not parse, as (key, message, help).
    fn refused(y: &str) -> (String, String, String) {
        parse(y).expect_err(y)
    }

    #[test]
    fn webhooks_are_http_and_read_only_deal_variables() {
        assert!(check_webhook("https://hooks.slack.com/services/$DEAL_HOOK").is_ok());
        assert!(check_webhook("http://127.0.0.1:8080/x/${DEAL_X}").is_ok());
        for bad in [
            "file:///etc/passwd",
            "$DEAL_URL",
            "ftp://x",
            "https://x/$HOME",
            "https://x/${GITHUB_TOKEN}",
            "https://x/$",
            "https:///",
        ] {
            assert!(check_webhook(bad).is_err(), "{bad}");
        }
        for bad in [
            "http://127.0.0.1:18727\\@hooks.slack.com/u3",
            "http://127.0.0.1:99999/x",
            "http://127.0.0.1:0/x",
            "http://127.0.0.1:/x",
            "https://a b/x",
        ] {
            assert!(check_webhook(bad).is_err(), "{bad}");
        }
        for good in [
            "https://$DEAL_HOST/x",
            "https://x:$DEAL_PORT/",
            "https://u:$DEAL_PASS@hooks.example.com/x",
            "http://[::1]:8080/x",
            "https://hooks.slack.com/services/T0/B0/$DEAL_X?a=b#c",
        ] {
            assert!(
                check_webhook(good).is_ok(),
                "{good}: {:?}",
                check_webhook(good)
            );
        }
        assert_eq!(
            host("https://u@hooks.slack.com:443/a"),
            "hooks.slack.com:443"
        );
    }

    #[test]
    fn malformed_triggers_are_named_by_key() {
        let cases = [
            (
                "- { id: a, on: lunch, webhook: 'https://x' }",
                "triggers[0].on",
            ),
            (
                "- { id: a, on: lead, stage: proposal, webhook: 'https://x' }",
                "triggers[0].stage",
            ),
            (
                "- { id: a, on: enter, webhook: 'https://x' }",
                "triggers[0].on",
            ),
            (
                "- { id: a, on: enter, stage: nope, webhook: 'https://x' }",
                "triggers[0].stage",
            ),
            ("- { id: a, on: won }", "triggers[0]"),
            (
                "- { id: a, on: won, webhook: 'https://x', command: 'true' }",
                "triggers[0]",
            ),
            (
                "- { id: a, on: won, webhook: 'file:///x' }",
                "triggers[0].webhook",
            ),
            (
                "- { id: a, on: won, webhook: 'https://x' }\n- { id: a, on: lost, webhook: 'https://x' }",
                "triggers[1].id",
            ),
            (
                "- { id: a, on: won, webhook: 'https://x', text: '{% for %}' }",
                "triggers[0].text",
            ),
            (
                "- { id: a, on: won, webhook: 'https://x', colour: red }",
                "triggers[0].colour",
            ),
            (
                "- { id: a, on: due, source: web, webhook: 'https://x' }",
                "triggers[0].source",
            ),
        ];
        for (y, key) in cases {
            let e = parse(y).expect_err(y);
            assert_eq!(e.0, key, "{y}: {e:?}");
        }
        let ok = parse(
            "- { id: a, on: enter, stage: proposal, owner: [bob], webhook: 'https://x/$DEAL_A' }",
        )
        .unwrap();
        assert_eq!(ok[0].owner, vec!["bob".to_string()]);
    }

    #[test]
    fn no_triggers_is_an_empty_list_and_a_mapping_is_refused() {
        assert_eq!(parse("~").unwrap(), Vec::new());
        let (key, msg, help) = refused("id: a");
        assert_eq!(
            (key.as_str(), msg.as_str()),
            ("triggers", "must be a list of triggers")
        );
        assert_eq!(help, TRIGGER_HELP);
        assert_eq!(refused("- just text").1, "a trigger is a mapping");
    }

    #[test]
    fn a_trigger_without_an_id_line_is_named_by_its_own_key() {
        let (key, msg, _) = refused("- { on: won, webhook: 'https://x' }");
        assert_eq!(key, "triggers[0]");
        assert_eq!(msg, "a trigger needs an `id` (a name)");
        assert_eq!(
            refused("- { id: ' ', on: won, webhook: 'https://x' }").0,
            "triggers[0].id"
        );
    }

    #[test]
    fn a_duplicate_id_names_the_trigger_that_had_it_first() {
        let y = "- { id: a, on: won, command: x }\n- { id: b, on: won, command: x }\n- { id: a, on: lost, command: x }";
        let (key, msg, _) = refused(y);
        assert_eq!(key, "triggers[2].id");
        assert_eq!(msg, "duplicate trigger id `a` (also triggers[0])");
    }

    #[test]
    fn an_unknown_or_missing_event_lists_the_events() {
        let (_, msg, help) = refused("- { id: a, on: lunch, command: x }");
        assert_eq!(msg, "unknown event `lunch`");
        assert_eq!(
            help,
            "events are lead, enter, won, lost, forced, due, uncontacted"
        );
        let (key, msg, _) = refused("- { id: a, command: x }");
        assert_eq!(key, "triggers[0].on");
        assert_eq!(msg, "a trigger needs `on`, the event it fires on");
    }

    #[test]
    fn guessed_keys_are_unknown_and_other_keys_may_be_filters() {
        assert_eq!(
            refused("- { id: a, on: won, command: x, channel: c }").1,
            "unknown key `channel`"
        );
        assert_eq!(
            refused("- { id: a, on: won, command: x, colour: red }").1,
            "unknown key or filter `colour`"
        );
    }

    #[test]
    fn a_filter_the_event_lacks_says_which_it_takes() {
        let (key, msg, help) = refused("- { id: a, on: won, stage: proposal, command: x }");
        assert_eq!(key, "triggers[0].stage");
        assert_eq!(msg, "a `won` event has no `stage` to filter on");
        assert_eq!(help, "`won` takes `source`, `owner`");
    }

    #[test]
    fn only_a_forced_trigger_may_name_an_outcome_as_its_stage() {
        let ok = parse("- { id: a, on: forced, stage: [won, proposal], command: x }").unwrap();
        assert_eq!(ok[0].stage, vec!["won".to_string(), "proposal".to_string()]);
        let (key, msg, help) = refused("- { id: a, on: enter, stage: won, command: x }");
        assert_eq!(key, "triggers[0].stage");
        assert_eq!(msg, "`won` is not a stage");
        assert_eq!(help, "stages are prospecting, proposal");
    }

    #[test]
    fn an_owner_must_be_in_the_team_unless_the_team_is_empty() {
        let (key, msg, help) = refused("- { id: a, on: won, owner: [bob, carol], command: x }");
        assert_eq!(key, "triggers[0].owner");
        assert_eq!(msg, "owner `carol` is not in team");
        assert_eq!(help, "use a handle from team: bob, alice");
        let v: serde_yaml::Value =
            serde_yaml::from_str("- { id: a, on: won, owner: carol, command: x }").unwrap();
        let anyone = Known {
            stages: &[],
            outcomes: &[],
            team: &[],
        };
        assert_eq!(
            parse_triggers(&v, &anyone).unwrap()[0].owner,
            vec!["carol".to_string()]
        );
    }

    #[test]
    fn a_trigger_reads_its_delivery_format_and_text() {
        let t = &parse("- { id: a, on: lead, source: [web, 7], command: ./hook.sh, format: full, text: 'hi {{ deal.slug }}' }").unwrap()[0];
        assert_eq!(t.on, On::Lead);
        assert_eq!(t.source, vec!["web".to_string(), "7".to_string()]);
        assert_eq!(t.action, Action::Command("./hook.sh".into()));
        assert_eq!(t.format, Payload::Full);
        assert_eq!(t.text.as_deref(), Some("hi {{ deal.slug }}"));
        assert_eq!(t.line, None);
        let (key, msg, _) = refused("- { id: a, on: won, command: x, format: xml }");
        assert_eq!(
            (key.as_str(), msg.as_str()),
            ("triggers[0].format", "unknown format `xml`")
        );
        assert_eq!(
            refused("- { id: a, on: won, command: '  ' }").0,
            "triggers[0].command"
        );
    }

    #[test]
    fn a_webhook_variable_is_substituted_by_name_in_place() {
        let url = "https://h/${DEAL_A}/x/$DEAL_B?q";
        assert_eq!(
            vars(url).unwrap(),
            vec!["DEAL_A".to_string(), "DEAL_B".to_string()]
        );
        let got = substitute(url, |n| Some(n.to_lowercase())).unwrap();
        assert_eq!(got, "https://h/deal_a/x/deal_b?q");
        assert_eq!(
            substitute(url, |n| (n == "DEAL_A").then(|| "1".into())),
            Err("$DEAL_B".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_triggers_never_panics(
            on in "(lead|enter|won|lost|forced|due|uncontacted|x)",
            key in "(stage|source|owner|format|text|webhook|command|zz)",
            val in "\\PC{0,30}",
        ) {
            let y = format!("- {{ id: a, on: {on}, webhook: 'https://x/', {key}: {val:?} }}");
            if let Ok(v) = serde_yaml::from_str::<serde_yaml::Value>(&y) {
                let stages = ["prospecting".to_string()];
                let team = ["bob".to_string()];
                let known = Known { stages: &stages, outcomes: &["won", "lost"], team: &team };
                let _ = parse_triggers(&v, &known);
            }
        }

    }
}
