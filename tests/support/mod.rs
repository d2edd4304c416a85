//! Shared by the tests that run the `sluice` binary: start a server on a free port (killed on
//! drop, even when an assertion fails) and a small HTTP/1.1 client over `std::net`, with a
//! timeout on every read so that no test can hang.
//!
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one whole request/response may take before the test fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A `sluice server` child process, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The child's stderr, shown when the server fails to start.
    log: PathBuf,
    /// The data directory, removed when the test ends (after the child is killed).
    data: Option<tempfile::TempDir>,
    /// The `Authorization` header the helpers send (a server with BASIC authentication).
    pub authorization: Option<String>,
}

impl Server {
    /// Starts the binary on a free port, with a data directory of its own, and waits until
    /// `/healthcheck` answers.
    pub fn start() -> Server {
        let data = tempfile::tempdir().expect("a data directory");
        let mut server = Server::start_in(data.path(), &[]);
        server.data = Some(data);
        server
    }

    /// Starts the binary with a `ksql-server.properties` of these lines (and a data directory
    /// of its own beside it).
    pub fn start_configured(properties: &str) -> Server {
        Server::start_secured(None, properties)
    }

    /// Starts the binary with BASIC authentication against a users file of these lines
    /// (`name: password, role…`), and these further properties.
    pub fn start_authenticated(users: &str, properties: &str) -> Server {
        Server::start_secured(Some(users), properties)
    }

    fn start_secured(users: Option<&str>, properties: &str) -> Server {
        let dir = tempfile::tempdir().expect("a directory");
        let mut text = properties.to_string();
        if let Some(users) = users {
            let file = dir.path().join("users");
            std::fs::write(&file, users).expect("write the users file");
            text.push_str(&format!(
                "\nauthentication.method=BASIC\nauthentication.users.file={}\n",
                file.display()
            ));
        }
        let config = dir.path().join("ksql-server.properties");
        std::fs::write(&config, text).expect("write the properties file");
        let config = config.to_str().expect("a UTF-8 path").to_string();
        let mut server = Server::start_in(&dir.path().join("data"), &["--config", &config]);
        server.data = Some(dir);
        server
    }

    /// Starts the binary on `data_dir` (which outlives it) with extra arguments.
    pub fn start_in(data_dir: &std::path::Path, extra: &[&str]) -> Server {
        Server::start_with(
            std::path::Path::new(env!("CARGO_BIN_EXE_sluice")),
            data_dir,
            extra,
        )
    }

    /// Starts `program` (the binary, or a wrapper that execs it) as the server on `data_dir`.
    pub fn start_with(
        program: &std::path::Path,
        data_dir: &std::path::Path,
        extra: &[&str],
    ) -> Server {
        Server::start_checked(program, data_dir, extra, &|addr| {
            try_request(
                addr,
                "GET",
                "/healthcheck",
                &[],
                b"",
                Duration::from_secs(2),
            )
            .is_ok_and(|r| r.status == 200)
        })
    }

    /// Starts `program` as the server on `data_dir`, ready once `ready` says so (a server
    /// behind TLS is not asked in plain HTTP).
    pub fn start_checked(
        program: &std::path::Path,
        data_dir: &std::path::Path,
        extra: &[&str],
        ready: &dyn Fn(SocketAddr) -> bool,
    ) -> Server {
        let mut last_error = String::new();
        // The free port is found by binding port 0 and letting it go; another process can take
        // it in between, so try a few times.
        for attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("bind a free port")
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
            let log = std::env::temp_dir().join(format!(
                "sluice-test-{}-{port}-{attempt}.log",
                std::process::id()
            ));
            let stderr = std::fs::File::create(&log).expect("create the server log");
            let child = Command::new(program)
                .args(["server", "--listen", &addr.to_string(), "--data-dir"])
                .arg(data_dir)
                .args(extra)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("spawn the sluice binary");
            let mut server = Server {
                child,
                addr,
                log,
                data: None,
                authorization: None,
            };
            match server.wait_ready(Duration::from_secs(20), ready) {
                Ok(()) => return server,
                Err(e) => last_error = format!("{e}\nserver log:\n{}", server.log_text()),
            }
        }
        panic!("the server did not start: {last_error}");
    }

    fn wait_ready(
        &mut self,
        within: Duration,
        ready: &dyn Fn(SocketAddr) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited at start-up: {status}"));
            }
            if ready(self.addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("no answer from /healthcheck within the deadline".to_string())
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Resident memory in kB (`VmRSS` in `/proc/PID/status`), where the platform has it.
    pub fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// The server's CPU time so far, user and system, from `/proc` (Linux, 100 ticks a second).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the command name: state is the first, utime the 12th, stime the 13th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn get(&self, path: &str) -> Response {
        let headers: Vec<(&str, &str)> = self
            .authorization
            .iter()
            .map(|a| ("Authorization", a.as_str()))
            .collect();
        request(self.addr, "GET", path, &headers, b"")
    }

    /// POSTs a JSON body with the content type ksqlDB's clients send.
    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        let mut headers = vec![("Content-Type", "application/vnd.ksql.v1+json")];
        headers.extend(
            self.authorization
                .iter()
                .map(|a| ("Authorization", a.as_str())),
        );
        request(
            self.addr,
            "POST",
            path,
            &headers,
            body.to_string().as_bytes(),
        )
    }

    /// Runs statements through `/ksql`.
    pub fn ksql(&self, sql: &str) -> Response {
        self.post_json("/ksql", &serde_json::json!({ "ksql": sql }))
    }

    /// Runs statements through `/ksql` and returns the entities, failing unless they all ran.
    pub fn ksql_ok(&self, sql: &str) -> Vec<Value> {
        let r = self.ksql(sql);
        assert_eq!(r.status, 200, "{sql}\n→ {}", r.text());
        match r.json() {
            Value::Array(entities) => entities,
            other => panic!("/ksql answered {other}, not an array"),
        }
    }

    /// How far the queries writing `source` have read their inputs: the sum of their consumer
    /// offsets over every input partition, from `DESCRIBE … EXTENDED`.
    pub fn consumed(&self, source: &str) -> u64 {
        let described = self.ksql_ok(&format!("DESCRIBE {source} EXTENDED;"));
        described[0]["sourceDescription"]["queryOffsetSummaries"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group["topicSummaries"].as_array().into_iter().flatten())
            .flat_map(|topic| topic["offsets"].as_array().into_iter().flatten())
            .filter_map(|partition| partition["consumerOffset"].as_u64())
            .sum()
    }

    /// Runs a query through `/query-stream` that ends by itself (a pull query, or a push query
    /// with a LIMIT): the metadata and the rows.
    pub fn query_stream(&self, sql: &str, properties: Value) -> (Value, Vec<Value>) {
        let r = self.post_json(
            "/query-stream",
            &serde_json::json!({ "sql": sql, "properties": properties }),
        );
        assert_eq!(r.status, 200, "{sql}\n→ {}", r.text());
        let text = r.text();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let meta: Value = serde_json::from_str(lines.next().expect("a metadata line"))
            .expect("the metadata is JSON");
        let rows = lines
            .map(|l| serde_json::from_str(l).expect("a row is JSON"))
            .collect();
        (meta, rows)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// An HTTP response, its body already de-chunked.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: the body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }
}

/// Sends one request (`Connection: close`) and reads the whole response; fails the test on any
/// transport error.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(addr, method, path, headers, body, REQUEST_TIMEOUT)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, String> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    let answer = send_raw(addr, &bytes, false, timeout)?;
    parse_response(&answer)
}

/// Writes raw bytes on a new connection (then half-closes it if `half_close`) and reads until
/// the server closes it. Write errors are ignored: a server may answer and close before it has
/// read everything. Fails if the whole exchange takes longer than `timeout`.
pub fn send_raw(
    addr: SocketAddr,
    bytes: &[u8],
    half_close: bool,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let _ = stream.write_all(bytes);
    if half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let read = String::from_utf8_lossy(&out);
            let shown: String = read.chars().take(2000).collect();
            return Err(format!(
                "timed out after {timeout:?}; read so far ({} bytes): {shown:?}",
                out.len()
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // A reset after the response was sent still leaves a usable response.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(out),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Parses a complete HTTP/1.1 response; an error says what is malformed.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    // Skip interim responses (`100 Continue`) before the final one.
    let mut raw = raw;
    while raw.starts_with(b"HTTP/1.1 1") {
        match find(raw, b"\r\n\r\n") {
            Some(end) => raw = &raw[end + 4..],
            None => break,
        }
    }
    let end = find(raw, b"\r\n\r\n").ok_or_else(|| {
        format!(
            "no complete header in {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        )
    })?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|e| format!("header not UTF-8: {e}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[end + 4..];
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut decoder = Dechunker::default();
        decoder.feed(rest)?;
        if !decoder.done {
            return Err("the chunked body has no last chunk".to_string());
        }
        response.body = decoder.out;
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad content-length {length:?}"))?;
        if rest.len() != length {
            return Err(format!(
                "content-length {length} but {} body bytes",
                rest.len()
            ));
        }
        response.body = rest.to_vec();
    } else {
        response.body = rest.to_vec();
    }
    Ok(response)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `Transfer-Encoding: chunked` incrementally.
#[derive(Default)]
struct Dechunker {
    pending: Vec<u8>,
    out: Vec<u8>,
    done: bool,
}

impl Dechunker {
    /// Adds bytes and decodes every complete chunk in them.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.pending.extend_from_slice(bytes);
        while !self.done {
            let Some(line_end) = find(&self.pending, b"\r\n") else {
                return Ok(());
            };
            let size_text = std::str::from_utf8(&self.pending[..line_end])
                .map_err(|_| "a chunk size is not text".to_string())?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            if size == 0 {
                // Trailers are not used by the server; the body ends here.
                self.done = true;
                self.pending.clear();
                return Ok(());
            }
            let start = line_end + 2;
            if self.pending.len() < start + size + 2 {
                return Ok(());
            }
            if &self.pending[start + size..start + size + 2] != b"\r\n" {
                return Err("a chunk does not end in CRLF".to_string());
            }
            self.out
                .extend_from_slice(&self.pending[start..start + size]);
            self.pending.drain(..start + size + 2);
        }
        Ok(())
    }
}

/// A streaming response read line by line: push queries on `/query-stream`.
pub struct LineStream {
    stream: TcpStream,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    chunked: bool,
    body: Dechunker,
    /// Set when the server ended the body (last chunk) or closed the connection.
    ended: bool,
}

impl LineStream {
    /// Sends `body` to `path` and reads the status line and headers.
    pub fn open(addr: SocketAddr, path: &str, body: &Value, timeout: Duration) -> LineStream {
        let deadline = Instant::now() + timeout;
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stream = TcpStream::connect_timeout(&addr, timeout).expect("connect");
        stream
            .set_write_timeout(Some(timeout))
            .expect("set a write timeout");
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let end = loop {
            if let Some(end) = find(&raw, b"\r\n\r\n") {
                break end;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no response header within {timeout:?}");
            stream.set_read_timeout(Some(left)).expect("set a timeout");
            match stream.read(&mut buf) {
                Ok(0) => panic!("connection closed before the response header"),
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("reading the response header: {e}"),
            }
        };
        let head = parse_head(&raw[..end]).expect("a well-formed response header");
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let mut line_stream = LineStream {
            stream,
            status: head.status,
            headers: head.headers,
            chunked,
            body: Dechunker::default(),
            ended: false,
        };
        line_stream.accept(&raw[end + 4..]);
        line_stream
    }

    fn accept(&mut self, bytes: &[u8]) {
        if self.chunked {
            self.body.feed(bytes).expect("well-formed chunks");
            if self.body.done {
                self.ended = true;
            }
        } else {
            self.body.out.extend_from_slice(bytes);
        }
    }

    /// The next complete line of the body (without its newline); `None` when the body ended.
    /// Panics if nothing arrives before `deadline`.
    pub fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(pos) = self.body.out.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.body.out.drain(..=pos).collect();
                let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                if line.trim().is_empty() {
                    continue;
                }
                return Some(line);
            }
            if self.ended {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for a line; partial: {:?}",
                String::from_utf8_lossy(&self.body.out)
            );
            self.stream
                .set_read_timeout(Some(left))
                .expect("set a timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => self.ended = true,
                Ok(n) => self.accept(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("reading the stream: {e}"),
            }
        }
    }

    /// The next line as JSON.
    pub fn next_json(&mut self, deadline: Instant) -> Option<Value> {
        self.next_line(deadline)
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
    }
}

fn parse_head(raw: &[u8]) -> Result<Response, String> {
    let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
    let mut lines = text.trim_end().split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: Vec::new(),
    })
}

/// A deterministic pseudo-random generator (SplitMix64): the same seed gives the same run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
