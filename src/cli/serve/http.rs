//! The listener of `deal serve` and its security checks: a per-run token
//! exchanged for an HttpOnly cookie, `Host`, `Origin`, the CSRF token, plain
//! path segments only. Requests that pass go to a [`Routes`]; this file
//! knows no page and no write.

use std::collections::VecDeque;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::base::error::Error;

/// What answers the requests that pass the checks: the board's pages and
/// writes (`super::Board`).
pub trait Routes {
    /// A GET or HEAD of `path`.
    fn get(&self, srv: &mut Server, path: &str, query: &[(String, String)]) -> Reply;
    /// A same-origin POST whose form carried the CSRF token.
    fn post(&self, srv: &mut Server, path: &str, form: &Form) -> Reply;
}

/// A response, before it is sent.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body,
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: format!("{body}\n"),
        }
    }

    pub fn redirect(to: &str) -> Reply {
        Reply {
            status: 303,
            headers: vec![("Location".into(), to.into())],
            body: String::new(),
        }
    }
}

/// A running server's secrets and address.
pub struct Server {
    http: tiny_http::Server,
    pub root: PathBuf,
    pub addr: SocketAddr,
    /// In the printed URL; exchanged for the cookie on the first visit.
    token: String,
    /// Carried by every form; a POST without it changes nothing.
    pub csrf: String,
    /// The CSP nonce of the pages' one inline script, new for every answer.
    pub nonce: String,
    /// One-shot results of writes, shown by the page a write redirects to.
    flashes: VecDeque<(u64, String)>,
    next_flash: u64,
}

/// Random bytes from the operating system, as hex.
fn random_hex(n: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| {
        Error::usage(
            format!("the operating system gave no random bytes: {e}"),
            "deal serve needs /dev/urandom (or getrandom) for its token",
        )
    })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The most a form body may hold.
const MAX_BODY: u64 = 1 << 20;

impl Server {
    /// Binds `bind:port` (0 picks a free port) for the pipeline at `root`.
    pub fn start(root: PathBuf, bind: IpAddr, port: u16) -> Result<Server, Error> {
        let http = tiny_http::Server::http(SocketAddr::new(bind, port)).map_err(|e| {
            Error::usage(
                format!("cannot listen on {bind}:{port}: {e}"),
                "pick another port with --port N, or --port 0 for a free one",
            )
        })?;
        let addr = http.server_addr().to_ip().ok_or_else(|| {
            Error::usage("the listener has no IP address", "use --bind with an IP")
        })?;
        Ok(Server {
            http,
            root,
            addr,
            token: random_hex(32)?,
            csrf: random_hex(32)?,
            nonce: random_hex(16)?,
            flashes: VecDeque::new(),
            next_flash: 1,
        })
    }

    /// `host:port` as a browser writes it in `Host` and `Origin`.
    pub fn authority(&self) -> String {
        match self.addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]:{}", self.addr.port()),
            IpAddr::V4(ip) => format!("{ip}:{}", self.addr.port()),
        }
    }

    /// The URL to open, with the token.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.authority(), self.token)
    }

    fn cookie_name(&self) -> String {
        format!("deal_serve_{}", self.addr.port())
    }

    /// Answers requests until the process ends.
    pub fn run(mut self, routes: &impl Routes) -> Result<(), Error> {
        loop {
            let mut req = match self.http.recv() {
                Ok(r) => r,
                Err(e) => return Err(Error::io("deal serve listener", e)),
            };
            let reply = self.handle(&mut req, routes);
            // Every body is whole in memory: sent with its Content-Length,
            // never chunked (tiny_http chunks bodies of 32 KB or more).
            let mut resp = tiny_http::Response::from_string(reply.body)
                .with_status_code(reply.status)
                .with_chunked_threshold(usize::MAX);
            let mut headers = reply.headers;
            headers.extend(security_headers(&self.nonce));
            for (k, v) in headers {
                if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                    resp.add_header(h);
                }
            }
            let _ = req.respond(resp);
        }
    }

    /// Stores a write's result for the page the browser is sent to next.
    pub fn flash(&mut self, message: String) -> u64 {
        let id = self.next_flash;
        self.next_flash += 1;
        self.flashes.push_back((id, message));
        while self.flashes.len() > 64 {
            self.flashes.pop_front();
        }
        id
    }

    pub fn take_flash(&mut self, id: Option<&str>) -> Option<String> {
        let id: u64 = id?.parse().ok()?;
        let i = self.flashes.iter().position(|(k, _)| *k == id)?;
        self.flashes.remove(i).map(|(_, m)| m)
    }

    fn header<'r>(req: &'r tiny_http::Request, name: &'static str) -> Option<&'r str> {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str())
    }

    /// The `Host` values this server answers: its own address, and
    /// `localhost` when it listens on loopback. Anything else is a DNS
    /// rebinding attempt or a stray request.
    fn host_ok(&self, host: &str) -> bool {
        host == self.authority()
            || (self.addr.ip().is_loopback() && host == format!("localhost:{}", self.addr.port()))
    }

    fn handle(&mut self, req: &mut tiny_http::Request, routes: &impl Routes) -> Reply {
        // A new nonce for every answer, so a page's nonce is no key to the next.
        if let Ok(n) = random_hex(16) {
            self.nonce = n;
        }
        // Two `Host` headers: which one a proxy or browser believed is
        // unknowable, so neither is.
        if req
            .headers()
            .iter()
            .filter(|h| h.field.equiv("Host"))
            .count()
            > 1
        {
            return Reply::text(400, "400 Bad Request: more than one Host header");
        }
        let Some(host) = Self::header(req, "Host").map(str::to_string) else {
            return Reply::text(421, "421 Misdirected Request: no Host header");
        };
        if !self.host_ok(&host) {
            return Reply::text(
                421,
                "421 Misdirected Request: this server answers only for the address it listens on",
            );
        }
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if !path_ok(path) {
            return Reply::text(404, "404 Not Found");
        }
        // The token, once, for the cookie; then the clean URL.
        let token = query.iter().find(|(k, _)| k == "token").map(|(_, v)| v);
        if let Some(t) = token {
            if !same_secret(t, &self.token) {
                return Reply::text(
                    401,
                    "401 Unauthorized: wrong token; use the URL deal serve printed",
                );
            }
            let mut r = Reply::redirect(path);
            r.headers.push((
                "Set-Cookie".into(),
                format!(
                    "{}={}; HttpOnly; SameSite=Strict; Path=/",
                    self.cookie_name(),
                    self.token
                ),
            ));
            return r;
        }
        let cookie_ok = Self::header(req, "Cookie").is_some_and(|c| {
            c.split(';').any(|kv| {
                kv.trim()
                    .split_once('=')
                    .is_some_and(|(k, v)| k == self.cookie_name() && same_secret(v, &self.token))
            })
        });
        if !cookie_ok {
            return Reply::text(
                401,
                "401 Unauthorized: open the URL deal serve printed (it carries the token)",
            );
        }
        let method = req.method().clone();
        match method {
            tiny_http::Method::Get | tiny_http::Method::Head => routes.get(self, path, &query),
            tiny_http::Method::Post => {
                let origin = Self::header(req, "Origin").map(str::to_string);
                if origin.as_deref() != Some(&format!("http://{host}")) {
                    return Reply::text(
                        403,
                        "403 Forbidden: a write must come from this board's own pages",
                    );
                }
                let ctype = Self::header(req, "Content-Type").unwrap_or("");
                if !ctype.starts_with("application/x-www-form-urlencoded") {
                    return Reply::text(415, "415 Unsupported Media Type: send a form");
                }
                let mut body = Vec::new();
                if req
                    .as_reader()
                    .take(MAX_BODY + 1)
                    .read_to_end(&mut body)
                    .is_err()
                    || body.len() as u64 > MAX_BODY
                {
                    return Reply::text(413, "413 Content Too Large");
                }
                let form = Form(form_urlencoded::parse(&body).into_owned().collect());
                if !form.get("csrf").is_some_and(|t| same_secret(t, &self.csrf)) {
                    return Reply::text(
                        403,
                        "403 Forbidden: the form's CSRF token is missing or wrong; reload the page",
                    );
                }
                routes.post(self, path, &form)
            }
            _ => Reply::text(405, "405 Method Not Allowed"),
        }
    }
}

/// A decoded form body.
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

/// Headers on every answer: no framing, no sniffing, no referrer, and a
/// content policy that allows this page's styles, its one script (by
/// nonce), and forms posted back here; nothing is loaded from anywhere.
fn security_headers(nonce: &str) -> Vec<(String, String)> {
    vec![
        (
            "Content-Security-Policy".into(),
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            ),
        ),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        // `same-origin`, not `no-referrer`: with that, a browser sends
        // `Origin: null` on a form POST, and the Origin check refuses it.
        ("Referrer-Policy".into(), "same-origin".into()),
        ("Cache-Control".into(), "no-store".into()),
    ]
}

/// A path this server may answer: plain segments only. No `..`, no
/// escapes (so no encoded `..` or `/`), no backslash, no empty segment.
/// Nothing is ever read from disk by path: pages are rendered from the
/// pipeline's deals, looked up by slug (README "deal serve").
pub fn path_ok(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(['%', '\\', '\0'])
        && !path.contains("//")
        && path.split('/').all(|seg| seg != ".." && seg != ".")
}

/// A slug as `deal` writes them: letters, digits, `-` and `_`.
pub fn slug_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_routes_are_refused() {
        for bad in [
            "/../etc/passwd",
            "/deals/../../x",
            "/deals/%2e%2e/x",
            "/deals//x",
            "/a\\b",
            "relative",
            "/./",
        ] {
            assert!(!path_ok(bad), "{bad}");
        }
        for good in ["/", "/deals/acme-corp", "/report/", "/due"] {
            assert!(path_ok(good), "{good}");
        }
        assert!(!slug_ok("a.b"));
        assert!(!slug_ok(""));
        assert!(slug_ok("acme-corp_2"));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
