//! The opt-in wire trace of a GC link: one JSON record per STOMP frame in or out,
//! written by the CTI trace's writer ([`crate::cti::trace::WireTrace`]).
//!
//! A record is `{"time":…,"proto":"stomp","dir":"in"|"out","command":…,"headers":{…},
//! "body":…,"size":…}`: `time` in seconds since the Unix epoch, `size` the encoded
//! frame's bytes. The `passcode` header and the body of a Connect, Login or
//! MobileAgentLogin request are replaced by `"<redacted>"`. Heart-beats (bare
//! newlines) are not traced.

use serde_json::{json, Map, Value as Json};

use super::command::carries_secret;
use super::stomp::Frame;
use crate::cti::trace::{now_secs, Dir, WireTrace, REDACTED};

/// Traces one frame if the trace is on.
pub(crate) fn frame(trace: &WireTrace, dir: Dir, f: &Frame, size: usize) {
    if trace.is_on() {
        trace.write_line(&record(dir, f, size).to_string());
    }
}

fn record(dir: Dir, f: &Frame, size: usize) -> Json {
    let mut headers = Map::new();
    for (k, v) in &f.headers {
        let v = if k.eq_ignore_ascii_case("passcode") {
            REDACTED.to_owned()
        } else {
            v.clone()
        };
        // STOMP 1.2: the first of repeated headers is the one that counts.
        headers.entry(k.clone()).or_insert(Json::String(v));
    }
    let secret_body = f
        .get("type")
        .is_some_and(|t| carries_secret(t.split('#').next().unwrap_or_default()));
    let body = if secret_body {
        REDACTED.to_owned()
    } else {
        String::from_utf8_lossy(&f.body).into_owned()
    };
    json!({
        "time": now_secs(),
        "proto": "stomp",
        "dir": if dir == Dir::In { "in" } else { "out" },
        "command": f.command,
        "headers": headers,
        "body": body,
        "size": size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passcode_and_login_bodies_are_redacted() {
        let connect = Frame::new("CONNECT")
            .header("login", "u")
            .header("passcode", "s3cret");
        let r = record(Dir::Out, &connect, 40);
        assert_eq!(r["headers"]["passcode"], REDACTED);
        assert_eq!(r["headers"]["login"], "u");
        assert_eq!(r["dir"], "out");
        let login = Frame::new("SEND")
            .header("type", "Login#1001")
            .body(b"pw=hunter2".to_vec());
        let r = record(Dir::In, &login, 30);
        assert_eq!(r["body"], REDACTED);
        assert!(!r.to_string().contains("hunter2"));
        let state = Frame::new("SEND")
            .header("type", "GetState#1001")
            .body(b"x".to_vec());
        assert_eq!(record(Dir::Out, &state, 10)["body"], "x");
    }
}
