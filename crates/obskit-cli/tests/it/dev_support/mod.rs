//! Helpers of the `obskit dev` tests: running the real `obskit dev` binary, reading what it
//! prints, plain HTTP requests, and a headless Chromium for DOM assertions and screenshots.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use obskit_test_support::wait;

/// A plain HTTP/1.1 request on 127.0.0.1; returns status and body (chunked bodies decoded).
pub(crate) fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

/// A GET; panics when the connection fails.
pub(crate) fn get(port: u16, path: &str) -> (u16, String) {
    request(port, "GET", path, &[], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Decodes a chunked body.
pub(crate) fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// One span as obskit dev's trace page (`/traces/{trace_id}`) shows it.
#[derive(Debug, Clone)]
pub(crate) struct ShownSpan {
    /// Its span id (hex).
    pub(crate) span_id: String,
    /// Its name as shown.
    pub(crate) name: String,
    /// Its kind: `server`, `client`, `producer`, `consumer`, `internal`.
    pub(crate) kind: String,
    /// Its parent's span id, or `none (root)`.
    pub(crate) parent: String,
    /// Its attributes (and the page's own rows: span id, parent, status, start, duration).
    pub(crate) attributes: BTreeMap<String, String>,
    /// The span ids it links to.
    pub(crate) links: Vec<String>,
}

impl ShownSpan {
    /// The attribute `key`, if shown.
    pub(crate) fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// The text between the first `start` and the next `end` in `text`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// `text` with the page's HTML escapes undone.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The spans of a trace page, in the page's (tree) order.
pub(crate) fn shown_spans(page: &str) -> Vec<ShownSpan> {
    let mut spans = Vec::new();
    for row in page.split("<tr class=\"span").skip(1) {
        let row = row.split("</tr>").next().unwrap_or(row);
        let field = |start: &str, end: &str| {
            between(row, start, end)
                .map(unescape)
                .unwrap_or_else(|| panic!("no {start} in the span row {row}"))
        };
        let service_and_kind = field("</span> <span class=\"muted\">", "</span>");
        let mut attributes = BTreeMap::new();
        if let Some(list) = between(row, "<div class=\"span-detail\"><dl>", "</dl>") {
            for item in list.split("<dt>").skip(1) {
                // `key</dt><dd>value</dd>` or `key</dt><dd class="...">value</dd>`.
                let Some((key, rest)) = item.split_once("</dt>") else {
                    continue;
                };
                if let Some(value) = between(rest, ">", "</dd>") {
                    attributes.insert(unescape(key), unescape(value));
                }
            }
        }
        let links = row
            .split("class=\"span-link-out mono\" href=\"")
            .skip(1)
            .filter_map(|rest| between(rest, "#span-", "\""))
            .map(str::to_owned)
            .collect();
        spans.push(ShownSpan {
            span_id: field("id=\"span-", "\""),
            name: field("<span class=\"name\">", "</span>"),
            kind: service_and_kind
                .rsplit(" · ")
                .next()
                .unwrap_or_default()
                .to_owned(),
            parent: field("<dt>parent</dt><dd>", "</dd>"),
            attributes,
            links,
        });
    }
    spans
}

/// The real `obskit dev`, its stdout and stderr lines collected; killed if still running
/// when dropped.
pub(crate) struct Dev {
    pub(crate) child: Child,
    pub(crate) ui_port: u16,
    pub(crate) http_port: u16,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    pub(crate) out_lines: Vec<String>,
    pub(crate) err_lines: Vec<String>,
}

fn lines_of(output: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

impl Dev {
    /// Starts `obskit dev` in `cwd` with free ports and `args`, `env` set; waits for its UI URL.
    /// `obskit dev` in a generated service's directory, the cargo it runs
    /// building in the shared target directory with the workspace's dev
    /// profile ([`crate::common::generated_build_env`]).
    pub(crate) fn start_in_generated(
        project: &Path,
        target: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let build_env = crate::common::generated_build_env(target);
        let env: Vec<(&str, &str)> = (env.iter().copied())
            .chain(build_env.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        Self::start(Some(project), args, &env)
    }

    pub(crate) fn start(cwd: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Self {
        let http_port = obskit_test_support::free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_obskit"));
        command
            .args(["dev", "--grpc-port", "0", "--ui-port", "0"])
            .args(["--http-port", &http_port.to_string()])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().expect("obskit dev starts");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        let mut dev = Self {
            child,
            ui_port: 0,
            http_port,
            stdout,
            stderr,
            out_lines: Vec::new(),
            err_lines: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while dev.ui_port == 0 {
            assert!(
                Instant::now() < deadline,
                "no UI URL printed:\n{}",
                dev.err_lines.join("\n")
            );
            if let Ok(line) = dev.stderr.recv_timeout(Duration::from_millis(100)) {
                if let Some(url) = line.strip_prefix("obskit dev: UI at http://127.0.0.1:") {
                    dev.ui_port = url.trim_end_matches('/').parse().unwrap();
                }
                dev.err_lines.push(line);
            }
        }
        dev
    }

    /// The OTLP/gRPC port, from the line `obskit dev` prints.
    pub(crate) fn grpc_port(&mut self) -> u16 {
        let port = wait::poll(Duration::from_secs(30), || {
            self.collect();
            self.err_lines
                .iter()
                .find_map(|line| {
                    let rest = line.strip_prefix("obskit dev: OTLP receiver on 127.0.0.1:")?;
                    rest.split_whitespace().next()?.parse().ok()
                })
                .ok_or(())
        });
        port.unwrap_or_else(|()| panic!("no gRPC port printed: {:?}", self.err_lines))
    }

    /// The UI's base URL.
    pub(crate) fn ui_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ui_port)
    }

    /// Collects output lines that arrived so far.
    pub(crate) fn collect(&mut self) {
        self.out_lines.extend(self.stdout.try_iter());
        self.err_lines.extend(self.stderr.try_iter());
    }

    /// Sends SIGTERM to `obskit dev` and waits (up to `within`) for it to exit.
    pub(crate) fn terminate(&mut self, within: Duration) -> ExitStatus {
        self.signal("-TERM", within)
    }

    /// Sends `signal` (`-INT` is Ctrl-C) to `obskit dev` and waits (up to `within`) for it to exit.
    pub(crate) fn signal(&mut self, signal: &str, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let child = &mut self.child;
        let status = wait::poll(within, || child.try_wait().unwrap().ok_or(()))
            .unwrap_or_else(|()| panic!("obskit dev still running {within:?} after SIGTERM"));
        std::thread::sleep(Duration::from_millis(100));
        self.collect();
        status
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        // obskit dev runs its command in a process group of its own, which killing obskit
        // dev alone would leave running (a `cargo run` service keeps its port and its queue):
        // kill those groups first.
        let own = process_group(std::process::id());
        for group in children(self.child.id())
            .into_iter()
            .filter_map(process_group)
        {
            if Some(group) != own {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{group}")])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes `pid` started and that still have it as their parent (every thread's
/// `/proc/<pid>/task/<tid>/children`).
pub(crate) fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The fields of `/proc/<pid>/stat` after the command name: state, parent, process group…
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces or parentheses itself.
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The process group of `pid`, while it exists.
pub(crate) fn process_group(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// Whether `pid` is a live process (neither gone nor a zombie waiting to be reaped).
pub(crate) fn is_running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields.first().is_some_and(|state| state != "Z"))
}

/// Headless Chromium, or `None` (with a message) when it is not installed and `CI` is unset.
pub(crate) fn chromium() -> Option<Chromium> {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(Chromium {
            profile: tempfile::tempdir().unwrap(),
        });
    }
    obskit_test_support::skip("chromium is not installed (apt-get install -y chromium)");
    None
}

/// A headless Chromium with a throw-away profile.
pub(crate) struct Chromium {
    profile: tempfile::TempDir,
}

impl Chromium {
    fn command(&self) -> Command {
        let mut command = Command::new("chromium");
        command.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ]);
        command.arg(format!("--user-data-dir={}", self.profile.path().display()));
        command
    }

    /// The DOM of `url` after load, serialised.
    pub(crate) fn dump_dom(&self, url: &str) -> String {
        let output = self.command().arg("--dump-dom").arg(url).output().unwrap();
        assert!(
            output.status.success(),
            "chromium --dump-dom {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A 1280×900 screenshot of `url` saved as `file`.
    pub(crate) fn screenshot(&self, url: &str, file: &Path) {
        let output = self
            .command()
            .arg(format!("--screenshot={}", file.display()))
            .arg("--window-size=1280,900")
            .arg(url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "chromium --screenshot {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            std::fs::metadata(file).is_ok_and(|m| m.len() > 0),
            "no screenshot at {}",
            file.display()
        );
    }
}

/// `target/obskit-dev-screenshots`, created (kept as CI artifacts).
pub(crate) fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("obskit-dev-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A headless Chromium driven over the DevTools protocol (through `--remote-debugging-pipe`,
/// on two named pipes), to use a page the way a person does: type into fields, pick options,
/// click buttons, and read the DOM as it changes. Killed on drop.
pub(crate) struct Browser {
    child: Child,
    to_browser: std::fs::File,
    from_browser: Receiver<serde_json::Value>,
    session: String,
    next_id: u64,
    _dir: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with one blank tab, or `None` (with a message) when it is not
    /// installed and `CI` is unset.
    pub(crate) fn start() -> Option<Self> {
        chromium()?;
        let dir = tempfile::tempdir().unwrap();
        let to_pipe = dir.path().join("to-browser");
        let from_pipe = dir.path().join("from-browser");
        for pipe in [&to_pipe, &from_pipe] {
            assert!(Command::new("mkfifo").arg(pipe).status().unwrap().success());
        }
        let profile = dir.path().join("profile");
        // The shell opens fd 3 (commands in) and fd 4 (answers out) on the pipes and execs
        // Chromium, which speaks the protocol on them, one JSON message per NUL.
        let child = Command::new("sh")
            .arg("-c")
            .arg(
                "exec chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
                 --disable-background-networking --disable-component-update --disable-sync \
                 --window-size=1280,900 --remote-debugging-pipe --user-data-dir=\"$2\" about:blank \
                 3<\"$0\" 4>\"$1\"",
            )
            .arg(&to_pipe)
            .arg(&from_pipe)
            .arg(&profile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Opening blocks until the other side opens: the same order as the shell's.
        let to_browser = std::fs::OpenOptions::new()
            .write(true)
            .open(&to_pipe)
            .unwrap();
        let from = std::fs::File::open(&from_pipe).unwrap();
        let (sender, from_browser) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                message.pop_if(|b| *b == 0);
                if let Ok(value) = serde_json::from_slice(&message)
                    && sender.send(value).is_err()
                {
                    break;
                }
                message.clear();
            }
        });
        let mut browser = Self {
            child,
            to_browser,
            from_browser,
            session: String::new(),
            next_id: 0,
            _dir: dir,
        };
        let target = browser.call_browser(
            "Target.createTarget",
            serde_json::json!({ "url": "about:blank" }),
        );
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            serde_json::json!({ "targetId": target_id, "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Page.enable", serde_json::json!({}));
        browser.call("Runtime.enable", serde_json::json!({}));
        Some(browser)
    }

    fn send(
        &mut self,
        method: &str,
        params: serde_json::Value,
        session: bool,
    ) -> Result<serde_json::Value, serde_json::Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = serde_json::json!({ "id": id, "method": method, "params": params });
        if session {
            message["sessionId"] = self.session.clone().into();
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self
                .from_browser
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromium did not answer {method} within 60 s"));
            if answer["id"] == id {
                return match answer.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(answer["result"].clone()),
                };
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.send(method, params, false)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// Calls a protocol method on the tab; returns its result.
    pub(crate) fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.send(method, params, true)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// Evaluates `expression` in the page (promises awaited); returns its value.
    pub(crate) fn eval(&mut self, expression: &str) -> serde_json::Value {
        let result = self.call(
            "Runtime.evaluate",
            serde_json::json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is true, or panics with `what` after 60 s.
    pub(crate) fn wait_for(&mut self, expression: &str, what: &str) {
        let held = wait::until(Duration::from_secs(60), || {
            // While a page loads, its context may be gone for a moment: that is "not yet".
            let value = self.send(
                "Runtime.evaluate",
                serde_json::json!({ "expression": expression, "returnByValue": true }),
                true,
            );
            value.is_ok_and(|v| v["result"]["value"] == true)
        });
        if !held {
            let dom = self.eval("document.documentElement.outerHTML");
            panic!("{what}: `{expression}` not true within 60 s; the page:\n{dom}");
        }
    }

    /// Opens `url` and waits for the page to be loaded.
    pub(crate) fn open(&mut self, url: &str) {
        self.eval("window.__left = true");
        self.call("Page.navigate", serde_json::json!({ "url": url }));
        self.wait_for_load(url);
    }

    /// Waits for a new page (after a navigation) to have loaded.
    pub(crate) fn wait_for_load(&mut self, what: &str) {
        self.wait_for(
            "!window.__left && document.readyState === 'complete'",
            &format!("loading {what}"),
        );
    }

    /// Types `text` into the field `selector` as a person would, replacing what it held.
    pub(crate) fn type_into(&mut self, selector: &str, text: &str) {
        let found = self.eval(&format!(
            "(() => {{ const el = document.querySelector({sel}); if (!el) return false; el.focus(); el.select && el.select(); return true; }})()",
            sel = serde_json::Value::from(selector)
        ));
        assert_eq!(found, true, "no field {selector}");
        self.call("Input.insertText", serde_json::json!({ "text": text }));
    }

    /// Picks the option with `value` in the `<select>` `selector`, with the keyboard as a
    /// person would (focus, then arrow keys until it is chosen).
    pub(crate) fn pick(&mut self, selector: &str, value: &str) {
        let sel = serde_json::Value::from(selector);
        let target = self.eval(&format!(
            "[...document.querySelector({sel}).options].findIndex(o => o.value === {v})",
            v = serde_json::Value::from(value)
        ));
        let target = target.as_i64().unwrap_or(-1);
        assert!(target >= 0, "no option `{value}` in {selector}");
        self.eval(&format!("document.querySelector({sel}).focus()"));
        for _ in 0..200 {
            let current = self.eval(&format!("document.querySelector({sel}).selectedIndex"));
            let current = current.as_i64().unwrap();
            if current == target {
                return;
            }
            let (key, code) = if current < target {
                ("ArrowDown", 40)
            } else {
                ("ArrowUp", 38)
            };
            for kind in ["rawKeyDown", "keyUp"] {
                self.call(
                    "Input.dispatchKeyEvent",
                    serde_json::json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code }),
                );
            }
        }
        panic!("could not pick `{value}` in {selector}");
    }

    /// Clicks the middle of the element `selector` (of its first line, for a wrapped link)
    /// with the mouse.
    pub(crate) fn click(&mut self, selector: &str) {
        let rect = self.eval(&format!(
            "(() => {{ const el = document.querySelector({sel}); if (!el) return null; el.scrollIntoView({{block: 'center'}}); const r = el.getClientRects()[0] || el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            sel = serde_json::Value::from(selector)
        ));
        let (x, y) = match rect.as_array() {
            Some(xy) => (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap()),
            None => panic!("nothing to click at {selector}"),
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                serde_json::json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// Clicks `selector` and waits for the page it leads to.
    pub(crate) fn click_and_load(&mut self, selector: &str) {
        self.eval("window.__left = true");
        self.click(selector);
        self.wait_for_load(&format!("the page after clicking {selector}"));
    }

    /// The page's URL.
    pub(crate) fn url(&mut self) -> String {
        self.eval("location.href").as_str().unwrap().to_owned()
    }

    /// The text of `selector` (empty when absent).
    pub(crate) fn text(&mut self, selector: &str) -> String {
        self.eval(&format!(
            "(document.querySelector({}) || {{}}).textContent || ''",
            serde_json::Value::from(selector)
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
