//! The opt-in wire trace of a CTI session: one JSON record per frame in or out.
//!
//! A record is `{"time":…,"session":…,"dir":"in"|"out","type":…,"name":…,"size":…,
//! "msg":{…}}`: `time` in seconds since the Unix epoch, `size` the frame's bytes with the
//! 8-byte header, `msg` the decoded message as [`crate::cti::codec::json`] renders it, or
//! `"hex"` with the body when it does not decode. Password fields (ClientPassword,
//! AgentPassword) are replaced by `"<redacted>"`.
//!
//! [`WireTrace::Log`] emits each record as a `tracing` event at INFO level under the
//! target `libcce::wire` (so it reaches the log callback of the C ABI and the bindings);
//! [`WireTrace::file`] appends JSON lines to a file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{LineWriter, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value as Json};

use super::codec::{self, Message};
use super::spec;

/// What replaces a secret field's value in a trace record.
pub const REDACTED: &str = "<redacted>";

/// Where a session's wire trace goes.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum WireTrace {
    /// No trace (the default).
    #[default]
    Off,
    /// INFO events under the target `libcce::wire`.
    Log,
    /// JSON lines appended to a file.
    File(Arc<Mutex<LineWriter<File>>>),
}

/// Two traces are equal when both are off, both log, or both write the same file.
impl PartialEq for WireTrace {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (WireTrace::Off, WireTrace::Off) | (WireTrace::Log, WireTrace::Log) => true,
            (WireTrace::File(a), WireTrace::File(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for WireTrace {}

impl fmt::Debug for WireTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireTrace::Off => "Off",
            WireTrace::Log => "Log",
            WireTrace::File(_) => "File",
        })
    }
}

/// Direction of a traced frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Received from the server.
    In,
    /// Sent to the server.
    Out,
}

impl WireTrace {
    /// A trace appended to the file at `path` (created if missing).
    pub fn file(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(WireTrace::File(Arc::new(Mutex::new(LineWriter::new(f)))))
    }

    /// Whether frames are traced.
    pub fn is_on(&self) -> bool {
        !matches!(self, WireTrace::Off)
    }

    /// Traces a message the session encoded (`size` bytes with the header).
    pub(crate) fn sent(&self, session: u64, msg: &Message, size: usize) {
        if self.is_on() {
            let mut body = codec::json::to_json(msg);
            redact(&mut body);
            self.emit(
                session,
                Dir::Out,
                msg.msg_type(),
                msg.name(),
                size,
                Some(body),
                None,
            );
        }
    }

    /// Traces a received frame: its decoded message, or its body when it did not decode.
    pub(crate) fn received(&self, session: u64, frame: &codec::Frame, msg: Option<&Message>) {
        if !self.is_on() {
            return;
        }
        let size = frame.body.len() + codec::HEADER_LEN;
        let name = spec::message_by_type(frame.msg_type).map(|s| s.name);
        match msg {
            Some(m) => {
                let mut body = codec::json::to_json(m);
                redact(&mut body);
                self.emit(
                    session,
                    Dir::In,
                    frame.msg_type,
                    m.name(),
                    size,
                    Some(body),
                    None,
                );
            }
            None => {
                let hex = if name.is_some_and(has_secret_field) {
                    REDACTED.to_owned()
                } else {
                    hex(&frame.body)
                };
                let name = name.unwrap_or("UNKNOWN");
                self.emit(
                    session,
                    Dir::In,
                    frame.msg_type,
                    name,
                    size,
                    None,
                    Some(hex),
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        session: u64,
        dir: Dir,
        msg_type: u32,
        name: &str,
        size: usize,
        msg: Option<Json>,
        hex: Option<String>,
    ) {
        let mut rec = json!({
            "time": now_secs(),
            "session": session,
            "dir": if dir == Dir::In { "in" } else { "out" },
            "type": msg_type,
            "name": name,
            "size": size,
        });
        if let Some(obj) = rec.as_object_mut() {
            match (msg, hex) {
                (Some(m), _) => {
                    obj.insert("msg".into(), m);
                }
                (None, Some(h)) => {
                    obj.insert("hex".into(), Json::String(h));
                }
                (None, None) => {}
            }
        }
        self.write_line(&rec.to_string());
    }

    /// Sends one finished record to the trace's destination (shared with the GC trace).
    pub(crate) fn write_line(&self, line: &str) {
        match self {
            WireTrace::Off => {}
            WireTrace::Log => tracing::info!(target: "libcce::wire", "{line}"),
            WireTrace::File(f) => {
                let mut w = f.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = writeln!(w, "{line}") {
                    tracing::warn!(error = %e, "wire trace: cannot write the trace file");
                }
            }
        }
    }
}

/// Seconds since the Unix epoch, to the millisecond (the `time` of a record).
pub(crate) fn now_secs() -> f64 {
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    (time * 1000.0).round() / 1000.0
}

fn is_secret(field: &str) -> bool {
    field.contains("Password")
}

fn has_secret_field(message: &str) -> bool {
    spec::message_by_name(message).is_some_and(|m| {
        m.layouts
            .iter()
            .any(|l| l.fields.iter().any(|f| is_secret(f.name)))
            || m.floating.iter().any(|f| is_secret(f.name))
    })
}

/// Replaces the value of every password field of a rendered message.
pub fn redact(msg: &mut Json) {
    if let Some(map) = msg.as_object_mut() {
        redact_map(map);
    }
}

fn redact_map(map: &mut Map<String, Json>) {
    for (k, v) in map.iter_mut() {
        if is_secret(k) {
            *v = Json::String(REDACTED.into());
        } else if let Some(inner) = v.as_object_mut() {
            redact_map(inner);
        } else if let Some(items) = v.as_array_mut() {
            for item in items {
                if let Some(inner) = item.as_object_mut() {
                    redact_map(inner);
                }
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_fields_are_redacted_at_any_depth() {
        let mut m = json!({"ClientID": "me", "ClientPassword": "hunter2",
            "Agents": [{"AgentPassword": "x", "AgentID": "1"}]});
        redact(&mut m);
        assert_eq!(m["ClientPassword"], REDACTED);
        assert_eq!(m["Agents"][0]["AgentPassword"], REDACTED);
        assert_eq!(m["ClientID"], "me");
        assert!(has_secret_field("OPEN_REQ"));
        assert!(!has_secret_field("HEARTBEAT_REQ"));
    }
}
