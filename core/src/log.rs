//! Routing the library's `tracing` events to a host: the log bridge behind the C
//! `cce_set_log_callback`, Python's `logging` and Node's `setLogger`.
//!
//! Rust applications do not need this module: the library emits plain `tracing` events
//! (targets `cce::...`, and `libcce::wire` for wire traces) that any subscriber, such as
//! `tracing-subscriber`'s `fmt`, receives. The bindings install [`BridgeLayer`] as the
//! process's global subscriber and hand every event at or above the chosen [`Level`] to
//! one [`LogSink`].
//!
//! Events below the level cost one atomic load (the level is also the subscriber's
//! maximum level hint, so disabled call sites are skipped by `tracing` itself). Events
//! emitted from inside a sink (a callback that calls the library) are dropped, so a sink
//! never recurses into itself.
//!
//! Secrets never reach a record: passwords, tokens and keys are held in
//! [`crate::ece::Secret`], whose formatting prints `<redacted>`, and the wire trace
//! redacts secret fields before it renders a frame.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Once, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Severity of a record, most severe first. The numbers are the C ABI's `CCE_LOG_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Failures.
    Error = 1,
    /// Conditions the operator should know about (e.g. TLS verification off).
    Warn = 2,
    /// Session life: connects, reconnects, logins; wire trace records.
    Info = 3,
    /// Details useful when debugging.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl Level {
    /// Lower-case name: `error`, `warn`, `info`, `debug` or `trace`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    /// The level numbered `n` (1 error ..= 5 trace); `None` for 0 (off) and others.
    pub fn from_number(n: i64) -> Option<Level> {
        Some(match n {
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }

    /// Parses a level name (case-insensitive; `warning` is accepted). `Ok(None)` is `off`.
    pub fn parse(name: &str) -> Result<Option<Level>, LogError> {
        Ok(Some(match name.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" => return Ok(None),
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return Err(LogError::BadLevel(name.to_owned())),
        }))
    }

    fn of(level: &tracing::Level) -> Level {
        match *level {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            tracing::Level::DEBUG => Level::Debug,
            _ => Level::Trace,
        }
    }

    fn filter(level: Option<Level>) -> LevelFilter {
        match level {
            None => LevelFilter::OFF,
            Some(Level::Error) => LevelFilter::ERROR,
            Some(Level::Warn) => LevelFilter::WARN,
            Some(Level::Info) => LevelFilter::INFO,
            Some(Level::Debug) => LevelFilter::DEBUG,
            Some(Level::Trace) => LevelFilter::TRACE,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the log bridge could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The level name is not one of off, error, warn, info, debug, trace.
    #[error("unknown log level {0:?} (expected off, error, warn, info, debug or trace)")]
    BadLevel(String),
    /// The process already has another global `tracing` subscriber.
    #[error("another tracing subscriber is installed for this process; libcce events go to it")]
    SubscriberTaken,
    /// Called from inside a log sink (it would wait for itself).
    #[error("the log callback cannot be changed from inside the log callback")]
    FromSink,
}

/// Receives the records the bridge lets through. Called from any thread (tokio workers,
/// the caller's threads), possibly concurrently; it should return quickly.
pub trait LogSink: Send + Sync {
    /// One record: its level, target (the Rust module, or `libcce::wire`) and message
    /// (the event's message followed by its fields as `key=value`).
    fn log(&self, level: Level, target: &str, message: &str);
}

/// Writes records to standard error as `libcce LEVEL target: message`.
#[derive(Debug, Default, Clone, Copy)]
pub struct StderrSink;

impl LogSink for StderrSink {
    fn log(&self, level: Level, target: &str, message: &str) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "libcce {:5} {target}: {message}",
            level.name().to_ascii_uppercase()
        );
    }
}

/// 0 = off, else the [`Level`] number.
static THRESHOLD: AtomicU8 = AtomicU8::new(0);
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();
static ENV: Once = Once::new();

thread_local! {
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// The `tracing-subscriber` layer that hands events to the installed [`LogSink`].
#[derive(Debug, Default, Clone, Copy)]
pub struct BridgeLayer;

fn threshold() -> u8 {
    THRESHOLD.load(Ordering::Relaxed)
}

impl<S: Subscriber> Layer<S> for BridgeLayer {
    fn register_callsite(&self, _meta: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        meta.is_event() && (Level::of(meta.level()) as u8) <= threshold()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(Level::filter(Level::from_number(threshold().into())))
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = Level::of(meta.level());
        if level as u8 > threshold() || IN_SINK.with(Cell::get) {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let guard = SINK.read().unwrap_or_else(|p| p.into_inner());
        if let Some(sink) = guard.as_ref() {
            IN_SINK.with(|f| f.set(true));
            sink.log(level, meta.target(), &text.finish());
            IN_SINK.with(|f| f.set(false));
        }
    }
}

/// Collects an event's message and fields into one line.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Text {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_owned()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

fn install() -> Result<(), LogError> {
    let ok = *INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(BridgeLayer);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(LogError::SubscriberTaken)
    }
}

/// Sends records at `level` and above to `sink` (`None` for either turns the bridge off).
/// Installs the bridge as the process's global `tracing` subscriber on first use.
///
/// When this returns, no call to the previous sink is still running (unless this is
/// called from inside a sink, which fails with [`LogError::FromSink`]).
pub fn set_sink(level: Option<Level>, sink: Option<Arc<dyn LogSink>>) -> Result<(), LogError> {
    if IN_SINK.with(Cell::get) {
        return Err(LogError::FromSink);
    }
    ENV.call_once(|| {});
    let level = if sink.is_some() { level } else { None };
    if level.is_some() {
        install()?;
    }
    let mut slot = SINK.write().unwrap_or_else(|p| p.into_inner());
    *slot = sink;
    THRESHOLD.store(level.map_or(0, |l| l as u8), Ordering::Relaxed);
    drop(slot);
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

/// Changes the level of the installed sink (`None`: off).
pub fn set_level(level: Option<Level>) -> Result<(), LogError> {
    if level.is_some() {
        install()?;
    }
    THRESHOLD.store(level.map_or(0, |l| l as u8), Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

/// The current level of the bridge (`None`: off).
pub fn level() -> Option<Level> {
    Level::from_number(threshold().into())
}

/// Honours `CCE_LOG` (`error`, `warn`, `info`, `debug` or `trace`) once per process: when
/// it is set and no sink has been installed, records at that level go to standard error.
/// The C ABI calls this on every entry; bindings call it when they load.
pub fn init_from_env() {
    ENV.call_once(|| {
        let Ok(value) = std::env::var("CCE_LOG") else {
            return;
        };
        match Level::parse(&value) {
            Ok(Some(level)) => {
                if let Err(e) = set_sink_inner(level) {
                    let _ = writeln!(std::io::stderr(), "libcce: CCE_LOG ignored: {e}");
                }
            }
            Ok(None) => {}
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "libcce: CCE_LOG ignored: {e}");
            }
        }
    });
}

fn set_sink_inner(level: Level) -> Result<(), LogError> {
    install()?;
    let mut slot = SINK.write().unwrap_or_else(|p| p.into_inner());
    *slot = Some(Arc::new(StderrSink));
    THRESHOLD.store(level as u8, Ordering::Relaxed);
    drop(slot);
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(Level, String, String)>>);

    impl LogSink for Collect {
        fn log(&self, level: Level, target: &str, message: &str) {
            if let Ok(mut v) = self.0.lock() {
                v.push((level, target.to_owned(), message.to_owned()));
            }
        }
    }

    #[test]
    fn records_at_or_above_the_level_reach_the_sink_with_their_fields() {
        let sink = Arc::new(Collect::default());
        set_sink(Some(Level::Info), Some(sink.clone())).unwrap();
        tracing::debug!("filtered out");
        tracing::warn!(status = 503, "queue full");
        tracing::info!(target: "libcce::wire", "frame");
        let secret = crate::ece::Secret::new("hunter2");
        tracing::warn!(password = ?secret, "login");
        set_sink(None, None).unwrap();
        tracing::error!("after removal");
        // Other tests run in parallel: keep this test's records only.
        let got: Vec<_> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.1.starts_with("cce::log") || r.1 == "libcce::wire")
            .cloned()
            .collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, Level::Warn);
        assert_eq!(got[0].2, "queue full status=503");
        assert_eq!(got[1].1, "libcce::wire");
        assert_eq!(got[2].2, "login password=<redacted>");
        assert!(got.iter().all(|r| !r.2.contains("hunter2")));
    }

    #[test]
    fn level_names_parse() {
        assert_eq!(Level::parse("DEBUG").unwrap(), Some(Level::Debug));
        assert_eq!(Level::parse("warning").unwrap(), Some(Level::Warn));
        assert_eq!(Level::parse("off").unwrap(), None);
        assert!(Level::parse("loud").is_err());
    }
}
