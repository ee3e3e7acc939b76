//! Helpers: run `cce` as a child process, read its JSON lines, stop it at the end.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value as Json;

/// How long any one expected line may take.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(30);

/// The `cce` binary.
pub fn cce() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cce"))
}

/// An example scenario's path.
pub fn scenario(name: &str) -> String {
    format!(
        "{}/../examples/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A running `cce` whose stdout lines arrive on a channel; killed when dropped.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

fn reader(out: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    /// Starts `cmd` with piped stdout (and stdin when `stdin` is true).
    pub fn spawn(mut cmd: Command, stdin: bool) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        if stdin {
            cmd.stdin(Stdio::piped());
        } else {
            cmd.stdin(Stdio::null());
        }
        let mut child = cmd.spawn().expect("start cce");
        let lines = reader(child.stdout.take().expect("stdout"));
        Proc { child, lines }
    }

    /// The next stdout line as JSON (panics after [`LINE_TIMEOUT`] or at EOF).
    pub fn next(&self) -> Json {
        let line = self
            .lines
            .recv_timeout(LINE_TIMEOUT)
            .expect("a line from cce in time");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Lines until one satisfies `f` (returned last).
    pub fn until(&self, f: impl Fn(&Json) -> bool) -> Vec<Json> {
        let mut got = Vec::new();
        loop {
            let j = self.next();
            let done = f(&j);
            got.push(j);
            if done {
                return got;
            }
        }
    }

    /// Every remaining line (until the process closes stdout).
    pub fn rest(&self) -> Vec<Json> {
        let mut got = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(LINE_TIMEOUT) {
            got.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
        got
    }

    /// Sends SIGTERM (a clean shutdown request).
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill -TERM {pid}");
    }

    /// Waits for the exit code.
    pub fn wait(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + LINE_TIMEOUT;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s.code();
            }
            assert!(std::time::Instant::now() < deadline, "cce did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cce sim cti` with a scenario on a free port; returns it and side A's address.
pub fn sim_with_scenario(name: &str) -> (Proc, String) {
    let mut cmd = cce();
    cmd.args(["sim", "cti", "--port", "0", "--scenario", &scenario(name)]);
    let p = Proc::spawn(cmd, false);
    let first = p.until(|j| j["event"] == "listening");
    let addr = first
        .last()
        .and_then(|j| j["address"].as_str())
        .expect("address")
        .to_owned();
    (p, addr)
}

/// MessageNames of message records (direction `in`, OPEN_CONF left out).
pub fn event_names(lines: &[Json]) -> Vec<String> {
    lines
        .iter()
        .filter(|j| j["direction"] == "in" && j["name"] != "OPEN_CONF")
        .filter_map(|j| j["name"].as_str().map(str::to_owned))
        .collect()
}

/// A temporary file path, unique to this process and `tag`.
pub fn temp_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cce-cli-test-{}-{tag}", std::process::id()))
}
