//! `deal serve`: a real server process on loopback, driven over plain HTTP
//! (std `TcpStream`) for the security and concurrency checks, and by a real
//! headless Chromium (the DevTools protocol over `--remote-debugging-pipe`)
//! for drags, the deal form, the lost dialog and the no-JavaScript path.
//! Every write is checked with the git CLI.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{GOOD_BODY, Test};

/// A `deal serve` child process; killed (by its own id) when dropped.
struct Served {
    child: Child,
    port: u16,
    token: String,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The commit dates every write in these tests gets, so that two
/// repositories given the same change make the same commit.
const DATES: [(&str, &str); 2] = [
    ("GIT_AUTHOR_DATE", "2026-11-27T12:00:00Z"),
    ("GIT_COMMITTER_DATE", "2026-11-27T12:00:00Z"),
];

fn serve(t: &Test) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deal"));
    cmd.args(["serve", "--port", "0"])
        .current_dir(t.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in t.env_vars() {
        cmd.env(k, v);
    }
    for (k, v) in DATES {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("deal serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let root = t.path().display().to_string();
    let prefix = format!("Serving {root} at http://127.0.0.1:");
    assert!(line.starts_with(&prefix), "the first line: {line:?}");
    let rest = line[prefix.len()..].trim_end();
    let (port, token) = rest.split_once("/?token=").expect("a token in the URL");
    assert_eq!(token.len(), 64, "{token}");
    Served {
        port: port.parse().unwrap(),
        token: token.to_string(),
        url: format!("http://127.0.0.1:{rest}"),
        child,
    }
}

/// A raw HTTP answer.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Served {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn cookie(&self) -> String {
        format!("deal_serve_{}={}", self.port, self.token)
    }

    /// One request; `headers` are sent as given (Host included).
    fn raw(&self, request_line: &str, headers: &[String], body: &str) -> Answer {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req = format!("{request_line} HTTP/1.1\r\nConnection: close\r\n");
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Answer {
            status,
            head: head.to_string(),
            body: body.to_string(),
        }
    }

    fn get(&self, path: &str) -> Answer {
        self.raw(
            &format!("GET {path}"),
            &[
                format!("Host: {}", self.host()),
                format!("Cookie: {}", self.cookie()),
            ],
            "",
        )
    }

    /// A form POST as the board's own page sends it.
    fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.raw(
            &format!("POST {path}"),
            &[
                format!("Host: {}", self.host()),
                format!("Cookie: {}", self.cookie()),
                format!("Origin: http://{}", self.host()),
                "Content-Type: application/x-www-form-urlencoded".into(),
            ],
            &encode(form),
        )
    }
}

fn encode(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            let enc = |s: &str| -> String {
                s.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the first `name="…" value="…"` input after `from` in `html`.
fn input_value(html: &str, from: &str, name: &str) -> String {
    let at = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in the page"));
    let pat = format!("name=\"{name}\" value=\"");
    let i = html[at..].find(&pat).expect("the input") + at + pat.len();
    let j = html[i..].find('"').unwrap() + i;
    html[i..j].to_string()
}

fn csrf(html: &str) -> String {
    input_value(html, "<body", "csrf")
}

/// The blob id on a card's move form.
fn card_blob(html: &str, slug: &str) -> String {
    input_value(html, &format!("data-slug=\"{slug}\""), "blob")
}

/// A deal that may leave prospecting (it has a contact email).
fn passing(title: &str) -> String {
    format!(
        "---\ntitle: {title}\nowner: bob\nvalue: 48000\ncontact:\n  email: a@example.com\nstages:\n  prospecting: 2026-11-20T09:00:00Z\n---\n{GOOD_BODY}"
    )
}

/// A deal that may not: no email or phone.
fn failing(title: &str) -> String {
    format!(
        "---\ntitle: {title}\nowner: bob\nvalue: 9000\nstages:\n  prospecting: 2026-11-20T09:00:00Z\n---\n{GOOD_BODY}"
    )
}

fn board_test() -> Test {
    Test::new()
        .deal("01-prospecting/initech.md", &passing("Initech"))
        .deal("01-prospecting/globex.md", &failing("Globex"))
        .repo()
}

fn head(t: &Test) -> String {
    t.git(&["rev-parse", "HEAD"]).trim().to_string()
}

fn trailer(t: &Test, key: &str) -> String {
    t.git(&[
        "log",
        "-1",
        &format!("--format=%(trailers:key={key},valueonly)"),
    ])
    .trim()
    .to_string()
}

// ---------------------------------------------------------------------
// Security: each refused, the repository byte-identical.

#[test]
fn the_first_line_and_the_token_exchange() {
    let t = board_test();
    let s = serve(&t);
    // The token sets an HttpOnly, SameSite=Strict cookie named with the
    // port, and redirects to the clean URL.
    let a = s.raw(
        &format!("GET /?token={}", s.token),
        &[format!("Host: {}", s.host())],
        "",
    );
    assert_eq!(a.status, 303, "{}", a.head);
    assert!(a.head.contains("Location: /\r\n"), "{}", a.head);
    assert!(
        a.head.contains(&format!(
            "Set-Cookie: deal_serve_{}={}; HttpOnly; SameSite=Strict; Path=/",
            s.port, s.token
        )),
        "{}",
        a.head
    );
    let board = s.get("/");
    assert_eq!(board.status, 200);
    assert!(board.body.contains("data-slug=\"initech\""));
    assert!(board.body.contains("draggable=\"true\""));
    assert!(board.body.contains("data-stage=\"prospecting\""));
    assert!(board.body.contains("data-stage=\"won\""));
    assert!(board.body.contains("data-stage=\"lost\""));
    assert!(board.body.contains("data-action=\"move\""));
    assert!(board.body.contains("<select name=\"to\""));
}

#[test]
fn strangers_change_nothing() {
    let t = board_test();
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(
        secret.path().join("outside.md"),
        "---\ntitle: SECRET-OUTSIDE\nowner: bob\n---\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        secret.path().join("outside.md"),
        t.path().join("deals/01-prospecting/evil.md"),
    )
    .unwrap();
    let s = serve(&t);
    let page = s.get("/");
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("SECRET-OUTSIDE"),
        "a symlinked deal was read"
    );
    let token = csrf(&page.body);
    let blob = card_blob(&page.body, "initech");
    let before = t.state();
    let host = format!("Host: {}", s.host());
    let cookie = format!("Cookie: {}", s.cookie());
    let origin = format!("Origin: http://{}", s.host());
    let ctype = "Content-Type: application/x-www-form-urlencoded".to_string();
    let good = encode(&[
        ("csrf", &token),
        ("slug", "initech"),
        ("blob", &blob),
        ("to", "outreach"),
    ]);
    // A GET with the Host and the session cookie a signed-in browser sends.
    let signed_in_get = |what, status, line: &str| {
        (
            what,
            status,
            line.to_string(),
            vec![host.clone(), cookie.clone()],
            String::new(),
        )
    };
    let cases: Vec<(&str, u16, String, Vec<String>, String)> = vec![
        (
            "no cookie, no token",
            401,
            "GET /".into(),
            vec![host.clone()],
            String::new(),
        ),
        (
            "a wrong token",
            401,
            "GET /?token=00".into(),
            vec![host.clone()],
            String::new(),
        ),
        (
            "a POST with no cookie",
            401,
            "POST /move".into(),
            vec![host.clone(), origin.clone(), ctype.clone()],
            good.clone(),
        ),
        (
            "a foreign Host",
            421,
            "GET /".into(),
            vec!["Host: evil.example".into(), cookie.clone()],
            String::new(),
        ),
        (
            "a foreign Host on the right port",
            421,
            "POST /move".into(),
            vec![
                format!("Host: evil.example:{}", s.port),
                cookie.clone(),
                format!("Origin: http://evil.example:{}", s.port),
                ctype.clone(),
            ],
            good.clone(),
        ),
        (
            "a cross-origin POST",
            403,
            "POST /move".into(),
            vec![
                host.clone(),
                cookie.clone(),
                "Origin: http://evil.example".into(),
                ctype.clone(),
            ],
            good.clone(),
        ),
        (
            "a POST with no Origin",
            403,
            "POST /move".into(),
            vec![host.clone(), cookie.clone(), ctype.clone()],
            good.clone(),
        ),
        (
            "a POST without the CSRF token",
            403,
            "POST /move".into(),
            vec![host.clone(), cookie.clone(), origin.clone(), ctype.clone()],
            encode(&[("slug", "initech"), ("blob", &blob), ("to", "outreach")]),
        ),
        (
            "a POST with a wrong CSRF token",
            403,
            "POST /move".into(),
            vec![host.clone(), cookie.clone(), origin.clone(), ctype.clone()],
            encode(&[
                ("csrf", "0000"),
                ("slug", "initech"),
                ("blob", &blob),
                ("to", "outreach"),
            ]),
        ),
        signed_in_get("a move by GET", 404, "GET /move?slug=initech&to=outreach"),
        signed_in_get("a path with ..", 404, "GET /deals/../pipeline.yaml"),
        signed_in_get("an encoded ..", 404, "GET /deals/%2e%2e/%2e%2e/etc/passwd"),
        signed_in_get(
            "a report page with ..",
            404,
            "GET /report/deals/../../pipeline.yaml",
        ),
        signed_in_get("a symlinked deal", 400, "GET /deals/evil"),
    ];
    for (what, status, line, headers, body) in cases {
        let a = s.raw(&line, &headers, &body);
        assert_eq!(a.status, status, "{what}: {}\n{}", a.head, a.body);
        assert!(
            !a.body.contains("SECRET-OUTSIDE"),
            "{what}: served a file outside"
        );
        assert_eq!(t.state(), before, "{what} changed the repository");
    }
    // A write to the symlinked deal, with every check passed, is refused too.
    let a = s.post(
        "/deals/evil/set",
        &[("csrf", &token), ("blob", ""), ("title", "x")],
    );
    assert_ne!(a.status, 303, "{}", a.body);
    assert!(!a.body.contains("SECRET-OUTSIDE"));
    assert_eq!(t.state(), before, "a write through a symlink");
    assert_eq!(
        std::fs::read_to_string(secret.path().join("outside.md")).unwrap(),
        "---\ntitle: SECRET-OUTSIDE\nowner: bob\n---\n"
    );
}

// ---------------------------------------------------------------------
// Writes over plain HTTP: what a browser without JavaScript sends.

#[test]
fn a_form_move_is_the_cli_move_commit_for_commit() {
    let web = board_test();
    let cli = board_test();
    assert_eq!(head(&web), head(&cli));
    let s = serve(&web);
    let page = s.get("/");
    let a = s.post(
        "/move",
        &[
            ("csrf", &csrf(&page.body)),
            ("slug", "initech"),
            ("blob", &card_blob(&page.body, "initech")),
            ("to", "outreach"),
            ("back", "/"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let back = a
        .head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    let shown = s.get(&back);
    assert!(
        shown
            .body
            .contains("Moved initech: prospecting → outreach (commit "),
        "{}",
        shown.body
    );
    cli.cmd_env(&DATES, &["move", "initech", "outreach"])
        .code(0);
    // The same change, the same dates: the very same commit.
    assert_eq!(head(&web), head(&cli));
    assert_eq!(trailer(&web, "Deal"), "initech");
    assert_eq!(web.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_stale_page_is_refused_and_the_input_shown_again() {
    let t = board_test();
    let s = serve(&t);
    let page = s.get("/");
    let token = csrf(&page.body);
    let blob = card_blob(&page.body, "initech");
    // Meanwhile, the CLI changes the deal.
    t.cmd_env(&DATES, &["set", "initech", "value=50000"])
        .code(0);
    let after_cli = t.state();
    let a = s.post(
        "/move",
        &[
            ("csrf", &token),
            ("slug", "initech"),
            ("blob", &blob),
            ("to", "lost"),
            ("reason", "went dark"),
        ],
    );
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(a.body.contains("role=\"alert\""));
    assert!(a.body.contains("changed since you opened it"), "{}", a.body);
    assert!(
        a.body.contains("value=\"went dark\""),
        "the reason is not shown again"
    );
    assert_eq!(t.state(), after_cli);
    // The deal page's form: the same refusal, the typed value kept.
    let deal = s.get("/deals/initech");
    let blob = input_value(&deal.body, "data-action=\"set\"", "blob");
    t.cmd_env(&DATES, &["set", "initech", "value=51000"])
        .code(0);
    let after_cli = t.state();
    let a = s.post(
        "/deals/initech/set",
        &[("csrf", &token), ("blob", &blob), ("value", "77777")],
    );
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(a.body.contains("changed since you opened it"));
    assert!(
        a.body.contains("value=\"77777\""),
        "the input is not shown again"
    );
    assert_eq!(t.state(), after_cli);
}

#[test]
fn a_cli_move_and_a_board_move_at_once_lose_nothing() {
    for round in 0..3 {
        let t = board_test();
        let s = serve(&t);
        let page = s.get("/");
        let token = csrf(&page.body);
        let blob = card_blob(&page.body, "initech");
        let start = head(&t);
        let (web, cli) = std::thread::scope(|sc| {
            let web = sc.spawn(|| {
                s.post(
                    "/move",
                    &[
                        ("csrf", &token),
                        ("slug", "initech"),
                        ("blob", &blob),
                        ("to", "lost"),
                        ("reason", "went dark"),
                    ],
                )
            });
            let cli = sc.spawn(|| t.cmd(&["move", "initech", "outreach"]));
            (web.join().unwrap(), cli.join().unwrap())
        });
        assert_eq!(cli.code, 0, "round {round}: {}", cli.stderr);
        let commits: Vec<String> = t
            .git(&["log", "--format=%s", &format!("{start}..HEAD")])
            .lines()
            .map(str::to_string)
            .collect();
        match web.status {
            // The board came second: refused, the CLI's move stands alone.
            409 => {
                assert!(web.body.contains("changed since you opened it"));
                assert_eq!(
                    commits,
                    ["deal(initech): prospecting -> outreach"],
                    "round {round}"
                );
            }
            // The board came first: the CLI re-read the deal and moved it
            // from lost, reopening it.
            303 => assert_eq!(
                commits,
                [
                    "deal(initech): lost -> outreach",
                    "deal(initech): prospecting -> lost"
                ],
                "round {round}"
            ),
            other => panic!("round {round}: {other}\n{}", web.body),
        }
        assert!(t.path().join("deals/02-outreach/initech.md").exists());
        assert_eq!(t.git(&["status", "--porcelain"]), "");
        t.git(&["fsck", "--no-progress"]);
    }
}

// ---------------------------------------------------------------------
// A real browser.

/// Headless Chromium driven over the DevTools protocol on a pipe (fds 3
/// and 4 of the child): no websocket, no extra crate.
struct Browser {
    child: Child,
    to: std::fs::File,
    from: BufReader<std::fs::File>,
    next: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, which the Files then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

impl Browser {
    fn start(width: u32, script: bool) -> Browser {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let profile = tempfile::tempdir().unwrap();
        let (cmd_r, cmd_w) = pipe();
        let (ev_r, ev_w) = pipe();
        let (a, b) = (cmd_r.as_raw_fd(), ev_w.as_raw_fd());
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            &format!("--window-size={width},900"),
            &format!("--user-data-dir={}", profile.path().display()),
            "about:blank",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only dup2, which is async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Out of the way first: either pipe end may be fd 3 or 4.
                let a = libc::fcntl(a, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(b, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("chromium runs");
        drop(cmd_r);
        drop(ev_w);
        let mut br = Browser {
            child,
            to: cmd_w,
            from: BufReader::new(ev_r),
            next: 0,
            session: String::new(),
            _profile: profile,
        };
        let targets = br.call("Target.getTargets", serde_json::json!({}), false);
        let target = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page")["targetId"]
            .clone();
        let attached = br.call(
            "Target.attachToTarget",
            serde_json::json!({"targetId": target, "flatten": true}),
            false,
        );
        br.session = attached["sessionId"].as_str().unwrap().to_string();
        br.call("Page.enable", serde_json::json!({}), true);
        if !script {
            br.call(
                "Emulation.setScriptExecutionDisabled",
                serde_json::json!({"value": true}),
                true,
            );
        }
        br
    }

    fn call(
        &mut self,
        method: &str,
        params: serde_json::Value,
        in_page: bool,
    ) -> serde_json::Value {
        self.next += 1;
        let id = self.next;
        let mut msg = serde_json::json!({"id": id, "method": method, "params": params});
        if in_page {
            msg["sessionId"] = serde_json::Value::String(self.session.clone());
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        loop {
            let mut buf = Vec::new();
            let n = self.from.read_until(0, &mut buf).unwrap();
            assert!(n > 0, "chromium closed the pipe");
            buf.pop();
            let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", serde_json::json!({"url": url}), true);
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'");
    }

    /// Evaluates `js` in the page; `None` while the page is navigating.
    fn eval(&mut self, js: &str) -> Option<serde_json::Value> {
        self.next += 1;
        let id = self.next;
        let msg = serde_json::json!({"id": id, "method": "Runtime.evaluate", "sessionId": self.session,
            "params": {"expression": js, "returnByValue": true}});
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        loop {
            let mut buf = Vec::new();
            self.from.read_until(0, &mut buf).unwrap();
            buf.pop();
            let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
            if v["id"] == id {
                if v.get("error").is_some() || v["result"].get("exceptionDetails").is_some() {
                    return None;
                }
                return Some(v["result"]["result"]["value"].clone());
            }
        }
    }

    /// Waits (up to 20 s) until `js` is true in the page.
    fn wait_for(&mut self, js: &str) {
        let start = Instant::now();
        loop {
            if self.eval(js) == Some(serde_json::Value::Bool(true)) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {js}; the page says: {:?}",
                self.eval("document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Drags the card `slug` onto the column `stage` (the events a drag
    /// fires, dispatched in the page) and waits for the answer page.
    fn drag(&mut self, slug: &str, stage: &str) {
        let js = format!(
            "(function () {{
              window.__before = performance.timeOrigin;
              var c = document.querySelector('.card[data-slug=\"{slug}\"]');
              var col = document.querySelector('.column[data-stage=\"{stage}\"]');
              var dt = new DataTransfer();
              c.dispatchEvent(new DragEvent('dragstart', {{bubbles: true, dataTransfer: dt}}));
              col.dispatchEvent(new DragEvent('dragenter', {{bubbles: true, cancelable: true, dataTransfer: dt}}));
              col.dispatchEvent(new DragEvent('dragover', {{bubbles: true, cancelable: true, dataTransfer: dt}}));
              col.dispatchEvent(new DragEvent('drop', {{bubbles: true, cancelable: true, dataTransfer: dt}}));
              c.dispatchEvent(new DragEvent('dragend', {{bubbles: true, dataTransfer: dt}}));
              return true;
            }})()"
        );
        assert_eq!(self.eval(&js), Some(serde_json::Value::Bool(true)));
    }

    /// Waits for a new page (one loaded after `drag` or a submit).
    fn wait_new_page(&mut self) {
        self.wait_for("window.__before === undefined && document.readyState === 'complete'");
    }

    fn text(&mut self, js: &str) -> String {
        self.eval(js)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// The board test's pipeline served, in a desktop-sized browser that shows
/// the board with `slug`'s card.
fn board_in_browser(slug: &str) -> (Test, Served, Browser) {
    let t = board_test();
    let s = serve(&t);
    let mut b = Browser::start(1400, true);
    b.goto(&s.url);
    b.wait_for(&format!(
        "document.querySelector('.card[data-slug=\"{slug}\"]') !== null"
    ));
    (t, s, b)
}

fn chromium_here(test: &str) -> bool {
    crate::have_tool("chromium", test, "apt-get install chromium")
}

#[test]
fn dragging_a_card_whose_criteria_hold_commits_the_move() {
    if !chromium_here("serve::dragging_a_card_whose_criteria_hold_commits_the_move") {
        return;
    }
    let (t, _server, mut b) = board_in_browser("initech");
    let before = head(&t);
    b.drag("initech", "outreach");
    b.wait_new_page();
    b.wait_for("document.getElementById('live').textContent.indexOf('Moved initech') >= 0");
    let live = b.text("document.getElementById('live').textContent");
    assert!(
        live.starts_with("Moved initech: prospecting → outreach (commit "),
        "{live}"
    );
    // The card stays where it was dropped.
    b.wait_for("document.querySelector('.column[data-stage=\"outreach\"] .card[data-slug=\"initech\"]') !== null");
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]).trim(), before);
    assert_eq!(trailer(&t, "Deal"), "initech");
    assert_eq!(trailer(&t, "To-Stage"), "outreach");
    assert!(live.contains(&t.git(&["rev-parse", "--short", "HEAD"]).trim().to_string()));
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn dragging_a_card_whose_criteria_fail_shows_what_is_missing() {
    if !chromium_here("serve::dragging_a_card_whose_criteria_fail_shows_what_is_missing") {
        return;
    }
    let (t, _server, mut b) = board_in_browser("globex");
    let before = t.state();
    b.drag("globex", "outreach");
    b.wait_new_page();
    b.wait_for("document.querySelector('[role=\"alert\"]') !== null");
    let alert = b.text("document.querySelector('[role=\"alert\"]').innerText");
    assert!(
        alert.contains("Qualified contact with a verified email or direct dial"),
        "{alert}"
    );
    assert!(
        alert.contains("deal set globex contact.email="),
        "no fix named: {alert}"
    );
    // The card is back in its column; nothing moved.
    b.wait_for("document.querySelector('.column[data-stage=\"prospecting\"] .card[data-slug=\"globex\"]') !== null");
    assert_eq!(t.state(), before);
}

#[test]
fn moving_to_lost_asks_the_reason() {
    if !chromium_here("serve::moving_to_lost_asks_the_reason") {
        return;
    }
    let (t, _server, mut b) = board_in_browser("initech");
    let before = t.state();
    b.drag("initech", "lost");
    b.wait_for("document.getElementById('lost-dialog').open === true");
    // Asked, not yet moved.
    assert_eq!(t.state(), before);
    b.eval("document.getElementById('lost-reason').value = 'competitor'; document.querySelector('#lost-form button[value=\"ok\"]').click(); true");
    b.wait_new_page();
    b.wait_for("document.getElementById('live').textContent.indexOf('Moved initech') >= 0");
    assert_eq!(trailer(&t, "To-Stage"), "lost");
    assert_eq!(trailer(&t, "Lost-Reason"), "competitor");
    assert!(t.path().join("deals/lost/initech.md").exists());
}

#[test]
fn editing_a_value_on_the_deal_page_is_one_lossless_commit() {
    if !chromium_here("serve::editing_a_value_on_the_deal_page_is_one_lossless_commit") {
        return;
    }
    // A padded string and a value of several lines the user does not touch:
    // the browser sends them back (CRLF line breaks), and neither is written.
    let t = Test::new()
        .deal(
            "01-prospecting/initech.md",
            &passing("Initech").replace(
                "value: 48000\n",
                "value: 48000\ncompany: \"  Marlow Legal  \"\nnext_step:\n  action: |\n    call Ann\n    then the deck\n",
            ),
        )
        .repo();
    let s = serve(&t);
    let mut b = Browser::start(1400, true);
    b.goto(&s.url);
    b.goto(&format!("http://127.0.0.1:{}/deals/initech", s.port));
    b.wait_for(
        "document.querySelector('form[data-action=\"set\"] input[name=\"value\"]') !== null",
    );
    // A known field the deal lacks is there, empty.
    assert_eq!(
        b.text("document.querySelector('form[data-action=\"set\"] input[name=\"next_step.due\"]').value"),
        ""
    );
    let before = head(&t);
    b.eval("window.__before = 1; document.querySelector('form[data-action=\"set\"] input[name=\"value\"]').value = '52000'; document.querySelector('form[data-action=\"set\"] button[type=\"submit\"]').click(); true");
    b.wait_new_page();
    b.wait_for("document.getElementById('live').textContent.indexOf('Set value on initech') >= 0");
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]).trim(), before);
    assert_eq!(
        t.git(&["log", "-1", "--format=%s"]).trim(),
        "deal(initech): set value"
    );
    let diff = t.git(&["diff", "-U0", "HEAD~1", "HEAD"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed, ["-value: 48000", "+value: 52000"], "{diff}");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn without_javascript_the_move_form_makes_the_same_commit() {
    if !chromium_here("serve::without_javascript_the_move_form_makes_the_same_commit") {
        return;
    }
    let web = board_test();
    let cli = board_test();
    let s = serve(&web);
    let mut b = Browser::start(1400, false);
    b.goto(&s.url);
    b.wait_for("document.querySelector('.card[data-slug=\"initech\"]') !== null");
    // Scripts are off: pick the stage and press the button.
    b.call(
        "Emulation.setScriptExecutionDisabled",
        serde_json::json!({"value": false}),
        true,
    );
    b.eval("var f = document.querySelector('.card[data-slug=\"initech\"] form[data-action=\"move\"]'); f.querySelector('select[name=\"to\"]').value = 'outreach'; window.__before = 1; true");
    // The submit itself goes as a plain form: the page's own script never runs.
    b.call(
        "Emulation.setScriptExecutionDisabled",
        serde_json::json!({"value": true}),
        true,
    );
    let node = b.call("DOM.getDocument", serde_json::json!({}), true)["root"]["nodeId"].clone();
    let button = b.call(
        "DOM.querySelector",
        serde_json::json!({"nodeId": node, "selector": ".card[data-slug=\"initech\"] form[data-action=\"move\"] button"}),
        true,
    )["nodeId"]
        .clone();
    let bx = b.call(
        "DOM.getBoxModel",
        serde_json::json!({"nodeId": button}),
        true,
    );
    let q = bx["model"]["content"].as_array().unwrap().clone();
    let x = (q[0].as_f64().unwrap() + q[4].as_f64().unwrap()) / 2.0;
    let y = (q[1].as_f64().unwrap() + q[5].as_f64().unwrap()) / 2.0;
    for kind in ["mousePressed", "mouseReleased"] {
        b.call(
            "Input.dispatchMouseEvent",
            serde_json::json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            true,
        );
    }
    let start = Instant::now();
    while head(&web) == head(&cli) {
        assert!(start.elapsed() < Duration::from_secs(20), "no commit");
        std::thread::sleep(Duration::from_millis(50));
    }
    cli.cmd_env(&DATES, &["move", "initech", "outreach"])
        .code(0);
    assert_eq!(
        head(&web),
        head(&cli),
        "the form's commit differs from the CLI's"
    );
}

#[test]
fn every_page_passes_the_nu_checker() {
    if !crate::have_tool(
        "vnu",
        "serve::every_page_passes_the_nu_checker",
        "npm install -g vnu-jar, with Java",
    ) {
        return;
    }
    let t = Test::new()
        .deal(
            "01-prospecting/initech.md",
            // A value of several lines: the form shows it in a textarea.
            &passing("Initech <b>&amp; \"Co\"</b>").replace(
                "value: 48000\n",
                "value: 48000\nnext_step:\n  action: |\n    call Ann\n    then the deck\n",
            ),
        )
        .deal("01-prospecting/globex.md", &failing("Globex"))
        .repo();
    t.cmd(&[
        "objection",
        "add",
        "initech",
        "Price <script>alert(1)</script>",
    ])
    .code(0);
    let s = serve(&t);
    let board = s.get("/");
    let token = csrf(&board.body);
    let deal = s.get("/deals/initech");
    assert!(
        !deal.body.contains("<script>alert"),
        "an objection was not escaped"
    );
    assert!(!board.body.contains("<b>&amp;"), "a title was not escaped");
    let refused = s.post(
        "/move",
        &[
            ("csrf", &token),
            ("slug", "globex"),
            ("blob", &card_blob(&board.body, "globex")),
            ("to", "outreach"),
        ],
    );
    assert_eq!(refused.status, 422);
    let stale = s.post(
        "/deals/initech/set",
        &[("csrf", &token), ("blob", "0"), ("value", "1")],
    );
    assert_eq!(stale.status, 409);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, html) in [
        ("board", board.body),
        ("deal", deal.body),
        ("due", s.get("/due").body),
        ("report", s.get("/report/").body),
        ("report-deal", s.get("/report/deals/initech.html").body),
        ("report-index", s.get("/report/index.html").body),
        ("refused", refused.body),
        ("stale", stale.body),
        ("filtered", s.get("/?owner=bob&q=glob").body),
    ] {
        assert!(html.starts_with("<!doctype html>"), "{name}: {html}");
        let f = dir.path().join(format!("{name}.html"));
        std::fs::write(&f, html).unwrap();
        files.push(f);
    }
    let errors = crate::report::vnu(&files);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_phone_sized_board_is_usable() {
    if !chromium_here("serve::a_phone_sized_board_is_usable") {
        return;
    }
    let mut t = Test::new();
    for i in 0..8 {
        t = t.deal(
            &format!("01-prospecting/deal-{i}.md"),
            &passing(&format!("Deal number {i} with a long company name")),
        );
    }
    let t = t.deal("02-outreach/other.md", &failing("Other")).repo();
    let s = serve(&t);
    let mut b = Browser::start(390, true);
    b.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}),
        true,
    );
    b.goto(&s.url);
    b.wait_for("document.querySelector('.card') !== null");
    // The columns scroll sideways inside the board; the page does not.
    let widths = b.text("(function(){var w=document.querySelector('.board'); return [w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX, document.documentElement.scrollWidth].join(' ');})()");
    let w: Vec<&str> = widths.split(' ').collect();
    assert!(
        w[0].parse::<u32>().unwrap() > w[1].parse::<u32>().unwrap()
            && w[2] == "auto"
            && w[3].parse::<u32>().unwrap() <= 390,
        "board scroll width, width, overflow-x, page width: {widths}"
    );
    // Every piece of text a person reads is 12 px or more.
    let small = b.text("(function(){var out=[]; document.querySelectorAll('body *').forEach(function(e){ if (e.closest('dialog') || e.closest('.sr')) return; var own=Array.prototype.some.call(e.childNodes,function(n){return n.nodeType===3 && n.textContent.trim();}); if(own && parseFloat(getComputedStyle(e).fontSize) < 12) out.push(e.tagName+':'+e.textContent.trim().slice(0,20)); }); return out.join('|');})()");
    assert_eq!(small, "", "text under 12 px");
    // A card fits its column: its move form's button is on screen.
    assert_eq!(
        b.eval("(function(){var r=document.querySelector('.card button').getBoundingClientRect(); return r.right <= 390 && r.width > 0;})()"),
        Some(serde_json::Value::Bool(true))
    );
    let shot = b.call(
        "Page.captureScreenshot",
        serde_json::json!({"format": "png"}),
        true,
    );
    let png = shot["data"].as_str().unwrap().to_string();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-390.png");
    std::fs::write(&path, base64_decode(&png)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 10_000);
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn objections_and_notes_are_the_cli_commands() {
    let web = board_test();
    let cli = board_test();
    let s = serve(&web);
    let page = s.get("/deals/initech");
    let token = csrf(&page.body);
    let blob = |a: &Answer| input_value(&a.body, "data-action=\"set\"", "blob");
    let a = s.post(
        "/deals/initech/objection",
        &[
            ("csrf", &token),
            ("blob", &blob(&page)),
            ("objection", "Price is too high"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    cli.cmd_env(
        &DATES,
        &["objection", "add", "initech", "Price is too high"],
    )
    .code(0);
    assert_eq!(head(&web), head(&cli));
    assert_eq!(trailer(&web, "Objection"), "Price is too high");
    let page = s.get("/deals/initech");
    assert!(page.body.contains("Price is too high"));
    let a = s.post(
        "/deals/initech/resolve",
        &[
            ("csrf", &token),
            ("blob", &blob(&page)),
            ("which", "1"),
            ("response", "Phased rollout"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    cli.cmd_env(
        &DATES,
        &[
            "objection",
            "resolve",
            "initech",
            "1",
            "--response",
            "Phased rollout",
        ],
    )
    .code(0);
    assert_eq!(head(&web), head(&cli));
    // A note scaffold writes the file as `deal note` does, and commits nothing.
    let page = s.get("/deals/initech");
    let a = s.post(
        "/deals/initech/note",
        &[
            ("csrf", &token),
            ("blob", &blob(&page)),
            ("kind", "handoff"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let back = a
        .head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    let shown = s.get(&back).body;
    assert!(shown.contains("Added &quot;Handoff"), "{shown}");
    cli.cmd(&["note", "initech", "handoff"]).code(0);
    assert_eq!(head(&web), head(&cli));
    let file = "deals/01-prospecting/initech.md";
    assert_eq!(
        std::fs::read_to_string(web.path().join(file)).unwrap(),
        std::fs::read_to_string(cli.path().join(file)).unwrap()
    );
    assert_eq!(
        web.git(&["status", "--porcelain"]),
        " M deals/01-prospecting/initech.md\n"
    );
}

#[test]
fn a_card_moves_from_the_keyboard() {
    if !chromium_here("serve::a_card_moves_from_the_keyboard") {
        return;
    }
    let (t, _server, mut b) = board_in_browser("initech");
    b.eval("window.__before = 1; document.querySelector('.card[data-slug=\"initech\"]').focus(); document.activeElement.getAttribute('data-slug') === 'initech'");
    for kind in ["rawKeyDown", "keyUp"] {
        b.call(
            "Input.dispatchKeyEvent",
            serde_json::json!({"type": kind, "key": "ArrowRight", "code": "ArrowRight", "windowsVirtualKeyCode": 39, "modifiers": 8}),
            true,
        );
    }
    b.wait_new_page();
    b.wait_for("document.getElementById('live').textContent.indexOf('Moved initech') >= 0");
    assert_eq!(trailer(&t, "To-Stage"), "outreach");
}

#[test]
fn a_handoff_asks_the_owner_and_a_forced_move_its_reason() {
    let t = Test::new()
        .config_replace(
            "Alice Smith, email: alice@example.com, roles: [sdr, ae, delivery]",
            "Alice Smith, email: alice@example.com, roles: [sdr]",
        )
        .deal(
            "02-outreach/initech.md",
            &format!(
                "---\ntitle: Initech\nowner: alice\ncontact:\n  email: a@example.com\nengaged: 2026-11-21\nstages:\n  outreach: 2026-11-20T09:00:00Z\n---\n{GOOD_BODY}"
            ),
        )
        .deal("01-prospecting/globex.md", &failing("Globex"))
        .repo();
    let s = serve(&t);
    let page = s.get("/");
    let token = csrf(&page.body);
    let before = t.state();
    // Into a stage alice's role cannot own: asked for the new owner.
    let blob = card_blob(&page.body, "initech");
    let a = s.post(
        "/move",
        &[
            ("csrf", &token),
            ("slug", "initech"),
            ("blob", &blob),
            ("to", "qualification"),
        ],
    );
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("role=\"alert\""));
    assert!(a.body.contains("--owner"), "{}", a.body);
    assert!(a.body.contains("<select name=\"owner\">"));
    assert_eq!(t.state(), before);
    let a = s.post(
        "/move",
        &[
            ("csrf", &token),
            ("slug", "initech"),
            ("blob", &blob),
            ("to", "qualification"),
            ("owner", "bob"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(trailer(&t, "To-Stage"), "qualification");
    assert_eq!(trailer(&t, "Previous-Owner"), "alice <alice@example.com>");
    // A move whose criteria fail, forced with a reason: recorded.
    let blob = card_blob(&page.body, "globex");
    let a = s.post(
        "/move",
        &[
            ("csrf", &token),
            ("slug", "globex"),
            ("blob", &blob),
            ("to", "outreach"),
            ("force", "1"),
            ("reason", "Met the CEO at a fair"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(trailer(&t, "Forced"), "Met the CEO at a fair");
    let moved = std::fs::read_to_string(t.path().join("deals/02-outreach/globex.md")).unwrap();
    assert!(moved.contains("waived:"), "{moved}");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

// ---------------------------------------------------------------------
// Tester findings: stale pages, untouched fields, hidden characters,
// headers.

/// HTML's character references as minijinja writes them, decoded.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attribute `attr` of the tag text `tag` (`<input …>`), decoded.
fn attr(tag: &str, attr: &str) -> Option<String> {
    let pat = format!(" {attr}=\"");
    let i = tag.find(&pat)? + pat.len();
    let j = tag[i..].find('"')? + i;
    Some(unescape(&tag[i..j]))
}

/// The deal form's fields as a browser sends them unchanged: an
/// `<input>`'s value loses its line breaks (HTML's value sanitization of
/// text inputs), a `<textarea>` drops the line break after its start tag,
/// and every line break goes out as CRLF.
fn set_form(html: &str) -> Vec<(String, String)> {
    let at = html.find("data-action=\"set\"").expect("the deal form");
    let end = html[at..].find("</form>").unwrap() + at;
    let form = &html[at..end];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let close = rest.find('>').unwrap();
        let tag = &rest[..=close];
        if tag.starts_with("<input ") {
            let name = attr(tag, "name").unwrap();
            let mut value = attr(tag, "value").unwrap_or_default();
            if attr(tag, "type").as_deref() != Some("hidden") {
                value = value.replace(['\r', '\n'], "");
            }
            out.push((name, value));
        } else if tag.starts_with("<textarea ") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[close + 1..];
            let stop = body.find("</textarea>").unwrap();
            let text = unescape(&body[..stop]);
            let text = text.strip_prefix('\n').unwrap_or(&text).to_string();
            out.push((name, text));
        }
        rest = &rest[close + 1..];
    }
    out.into_iter()
        .map(|(k, v)| (k, v.replace("\r\n", "\n").replace('\n', "\r\n")))
        .collect()
}

fn post_set(s: &Served, slug: &str, fields: &[(String, String)]) -> Answer {
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.post(&format!("/deals/{slug}/set"), &form)
}

fn put(fields: &mut [(String, String)], key: &str, value: &str) {
    let f = fields
        .iter_mut()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no field {key}"));
    f.1 = value.to_string();
}

#[test]
fn saving_again_after_a_stale_refusal_keeps_the_newer_file() {
    let t = Test::new()
        .deal(
            "01-prospecting/initech.md",
            &passing("Initech").replace(
                "value: 48000\n",
                "value: 48000\nnext_step:\n  action: call Ann\n  due: 2026-12-01\n",
            ),
        )
        .repo();
    let s = serve(&t);
    let mut fields = set_form(&s.get("/deals/initech").body);
    put(&mut fields, "value", "77777");
    // Meanwhile, the CLI changes the next step.
    t.cmd_env(
        &DATES,
        &[
            "set",
            "initech",
            "next_step.action=send the contract",
            "next_step.due=2026-12-09",
        ],
    )
    .code(0);
    let a = post_set(&s, "initech", &fields);
    assert_eq!(a.status, 409, "{}", a.body);
    // The refusal page's form, sent again as it is.
    let again = set_form(&a.body);
    let get = |k: &str| again.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("value"), "77777", "the user's edit is not kept");
    assert_eq!(get("next_step.action"), "send the contract");
    let a = post_set(&s, "initech", &again);
    assert_eq!(a.status, 303, "{}", a.body);
    let file = std::fs::read_to_string(t.path().join("deals/01-prospecting/initech.md")).unwrap();
    assert!(file.contains("value: 77777"), "{file}");
    assert!(file.contains("action: send the contract"), "{file}");
    assert!(file.contains("due: 2026-12-09"), "{file}");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn saving_the_deal_page_leaves_untouched_fields_byte_identical() {
    let before = passing("Initech").replace(
        "value: 48000\n",
        "value: 48000\ncompany: \"  Marlow Legal  \"\nnext_step:\n  action: |\n    call Ann\n    then send the deck\n  due: 2026-12-01\n",
    );
    let t = Test::new()
        .deal("01-prospecting/initech.md", &before)
        .repo();
    let s = serve(&t);
    let page = s.get("/deals/initech");
    let mut fields = set_form(&page.body);
    put(&mut fields, "value", "50000");
    let a = post_set(&s, "initech", &fields);
    assert_eq!(a.status, 303, "{}", a.body);
    let diff = t.git(&["show", "--format=", "-U0", "HEAD"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed, ["-value: 48000", "+value: 50000"], "{diff}");
    // Sent back unchanged: nothing written at all.
    let head_before = head(&t);
    let fields = set_form(&s.get("/deals/initech").body);
    post_set(&s, "initech", &fields);
    assert_eq!(head(&t), head_before);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn hidden_characters_are_shown_as_codes() {
    let t = Test::new()
        .deal(
            "01-prospecting/initech.md",
            &passing("Ini\u{202e}tech\u{2066}"),
        )
        .repo();
    let s = serve(&t);
    for path in ["/", "/deals/initech"] {
        let a = s.get(path);
        assert_eq!(a.status, 200);
        assert!(!a.body.contains('\u{202e}'), "{path}: U+202E raw");
        assert!(!a.body.contains('\u{2066}'), "{path}: U+2066 raw");
        assert!(a.body.contains("Ini\\u{202e}tech"), "{path}: {}", a.body);
    }
    // An untouched save writes nothing.
    let head_before = head(&t);
    let fields = set_form(&s.get("/deals/initech").body);
    post_set(&s, "initech", &fields);
    assert_eq!(head(&t), head_before);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn the_back_field_puts_no_header_in_the_answer() {
    let t = board_test();
    let s = serve(&t);
    let page = s.get("/");
    let token = csrf(&page.body);
    let blob = card_blob(&page.body, "initech");
    let a = s.post(
        "/move",
        &[
            ("csrf", &token),
            ("slug", "initech"),
            ("blob", &blob),
            ("to", "lost"),
            ("reason", "went dark"),
            ("back", "/\r\nSet-Cookie: x=1"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(!a.head.contains("Set-Cookie: x=1"), "{}", a.head);
    assert!(a.head.contains("Location: /?r="), "{}", a.head);
}

#[test]
fn nonces_are_new_and_two_hosts_are_refused() {
    let t = board_test();
    let s = serve(&t);
    let nonce = |a: &Answer| {
        let i = a.head.find("'nonce-").expect("a nonce") + 7;
        a.head[i..i + 32].to_string()
    };
    assert_ne!(nonce(&s.get("/")), nonce(&s.get("/")));
    let a = s.raw(
        "GET /",
        &[
            format!("Host: {}", s.host()),
            "Host: evil.example".into(),
            format!("Cookie: {}", s.cookie()),
        ],
        "",
    );
    assert_eq!(a.status, 400, "{}", a.body);
}
