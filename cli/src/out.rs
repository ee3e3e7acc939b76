//! Output helpers: JSON lines on stdout, timestamps, redaction, shutdown signals.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};
use tokio::sync::watch;

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

static SHUTDOWN: OnceLock<watch::Receiver<bool>> = OnceLock::new();

/// Takes over Ctrl-C (SIGINT) and SIGTERM for [`shutdown_signal`]. Called once at start,
/// so a signal that comes before a command waits for it is not lost (nor fatal).
pub fn install_signals() -> Result<(), String> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            let _ = tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    let _ = SHUTDOWN.set(rx);
    Ok(())
}

/// Resolves when the process has got Ctrl-C (SIGINT) or SIGTERM (never, before
/// [`install_signals`]).
pub async fn shutdown_signal() {
    match SHUTDOWN.get() {
        Some(rx) => {
            let mut rx = rx.clone();
            if rx.wait_for(|v| *v).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}
