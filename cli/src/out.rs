//! Output helpers: JSON lines on stdout, timestamps, redaction, shutdown signals.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};

/// Fields whose value is a secret and never printed.
const SECRET_FIELDS: &[&str] = &["ClientPassword", "AgentPassword"];

/// Prints one JSON value as a line on stdout (flushed, so pipes see it at once).
/// Returns false when stdout is closed (e.g. `| head`).
pub fn line(v: &Json) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").and_then(|_| out.flush()).is_ok()
}

/// Seconds since the Unix epoch, with microseconds.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Replaces secret fields of a rendered message.
pub fn redact(mut msg: Json) -> Json {
    if let Some(o) = msg.as_object_mut() {
        for f in SECRET_FIELDS {
            if let Some(v) = o.get_mut(*f) {
                *v = Json::String("<redacted>".into());
            }
        }
    }
    msg
}

/// The record of one message: `{"time", "direction", "type", "name", "message"}`.
pub fn message_record(time: f64, direction: &str, message: Json) -> Json {
    let message = redact(message);
    json!({
        "time": time,
        "direction": direction,
        "type": message.get("MessageType").cloned().unwrap_or(Json::Null),
        "name": message.get("MessageName").cloned().unwrap_or(Json::Null),
        "message": message,
    })
}

/// Parses `Name,Name,...` into upper-case names (empty: no filter).
pub fn name_filter(list: &[String]) -> Vec<String> {
    list.iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Resolves when the process gets Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
