//! Helpers of the `obskit dev` tests: running the real `obskit dev` binary, reading what it
//! prints, plain HTTP requests, and a headless Chromium for DOM assertions and screenshots.

#![allow(dead_code, unreachable_pub, clippy::print_stderr)] // each test file uses a subset

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A plain HTTP/1.1 request on 127.0.0.1; returns status and body (chunked bodies decoded).
pub fn request(
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
pub fn get(port: u16, path: &str) -> (u16, String) {
    request(port, "GET", path, &[], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn dechunk(mut body: &str) -> String {
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

/// The real `obskit dev`, its stdout and stderr lines collected; killed if still running
/// when dropped.
pub struct Dev {
    pub child: Child,
    pub ui_port: u16,
    pub http_port: u16,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    pub out_lines: Vec<String>,
    pub err_lines: Vec<String>,
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
    pub fn start(cwd: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Self {
        let http_port = free_port();
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

    /// The UI's base URL.
    pub fn ui_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ui_port)
    }

    /// Collects output lines that arrived so far.
    pub fn collect(&mut self) {
        self.out_lines.extend(self.stdout.try_iter());
        self.err_lines.extend(self.stderr.try_iter());
    }

    /// Sends SIGTERM to `obskit dev` and waits (up to `within`) for it to exit.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        self.signal("-TERM", within)
    }

    /// Sends `signal` (`-INT` is Ctrl-C) to `obskit dev` and waits (up to `within`) for it to exit.
    pub fn signal(&mut self, signal: &str, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                self.collect();
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "obskit dev still running {within:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium, or `None` (with a message) when it is not installed and `CI` is unset.
pub fn chromium() -> Option<Chromium> {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(Chromium {
            profile: tempfile::tempdir().unwrap(),
        });
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromium is not installed; CI installs it in .ci/run (apt-get install -y chromium)"
    );
    eprintln!("skipping: chromium is not installed (apt-get install -y chromium)");
    None
}

/// A headless Chromium with a throw-away profile.
pub struct Chromium {
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
    pub fn dump_dom(&self, url: &str) -> String {
        let output = self.command().arg("--dump-dom").arg(url).output().unwrap();
        assert!(
            output.status.success(),
            "chromium --dump-dom {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A 1280×900 screenshot of `url` saved as `file`.
    pub fn screenshot(&self, url: &str, file: &Path) {
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
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("obskit-dev-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
