//! The library's log records into Python's `logging` (loggers `libcce` and below).
//!
//! Records at or above the bridge's level (an atomic threshold in core: filtered records
//! never touch Python) are queued without the GIL, so no library thread ever waits for
//! the GIL while holding a lock a Python thread may need. One thread ("cce-log") moves
//! queued records to `logging`; `flush_logs()` does the same on the caller's thread.
//! The queue is bounded: when full, new records are dropped and counted, and the count
//! is reported as a warning with the next records.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use cce::log::{Level, LogSink};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

/// Most records waiting for the GIL; newer ones are dropped beyond this.
const QUEUE_LIMIT: usize = 10_000;

struct Record {
    level: Level,
    target: String,
    message: String,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<Record>,
    dropped: u64,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Held while records are moved to Python, so they arrive in order.
    emit: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct PySink(Arc<Shared>);

impl LogSink for PySink {
    fn log(&self, level: Level, target: &str, message: &str) {
        let mut q = lock(&self.0.queue);
        if q.records.len() >= QUEUE_LIMIT {
            q.dropped += 1;
            return;
        }
        q.records.push_back(Record {
            level,
            target: target.to_owned(),
            message: message.to_owned(),
        });
        drop(q);
        self.0.ready.notify_one();
    }
}

fn shared() -> &'static Arc<Shared> {
    static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();
    SHARED.get_or_init(|| {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let started = std::thread::Builder::new()
            .name("cce-log".into())
            .spawn(move || loop {
                {
                    let q = lock(&s.queue);
                    let _q = s
                        .ready
                        .wait_while(q, |q| q.records.is_empty() && q.dropped == 0)
                        .unwrap_or_else(|p| p.into_inner());
                }
                let _order = lock(&s.emit);
                let batch = take(&s);
                // After interpreter shutdown began, records are dropped.
                crate::interp::with_python(|py| emit(py, batch));
            });
        if started.is_err() {
            // Without the thread, records still reach Python through flush_logs().
            eprintln!("libcce: cannot start the log thread; call libcce.flush_logs()");
        }
        shared
    })
}

fn take(s: &Shared) -> (Vec<Record>, u64) {
    let mut q = lock(&s.queue);
    let dropped = std::mem::take(&mut q.dropped);
    (q.records.drain(..).collect(), dropped)
}

/// Python's number for a level (TRACE is 5, below DEBUG).
fn py_level(level: Level) -> u32 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

/// Logger name for a target: `cce::ece::http` -> `libcce.ece.http`, `libcce::wire` ->
/// `libcce.wire`.
fn logger_name(target: &str) -> String {
    let rest = target
        .strip_prefix("libcce")
        .or_else(|| target.strip_prefix("cce"))
        .unwrap_or(target);
    let rest = rest.trim_start_matches("::").replace("::", ".");
    if rest.is_empty() {
        "libcce".into()
    } else {
        format!("libcce.{rest}")
    }
}

fn emit(py: Python<'_>, (batch, dropped): (Vec<Record>, u64)) {
    static LOGGING: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let Ok(logging) =
        LOGGING.get_or_try_init(py, || PyModule::import(py, "logging").map(Bound::unbind))
    else {
        return;
    };
    let logging = logging.bind(py);
    let log = |level: u32, name: &str, message: &str| -> PyResult<()> {
        let logger = logging.call_method1("getLogger", (name,))?;
        if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
            logger.call_method1("log", (level, "%s", message))?;
        }
        Ok(())
    };
    if dropped > 0 {
        let text = format!("{dropped} log records dropped: the log queue was full");
        if let Err(e) = log(30, "libcce", &text) {
            e.print(py);
        }
    }
    for r in batch {
        if let Err(e) = log(py_level(r.level), &logger_name(&r.target), &r.message) {
            e.print(py);
        }
    }
}

/// The bridge level for a Python level: records at `level` or more severe pass.
fn level_for(py_level: i64) -> Option<Level> {
    match py_level {
        i64::MIN..=5 => Some(Level::Trace),
        6..=10 => Some(Level::Debug),
        11..=20 => Some(Level::Info),
        21..=30 => Some(Level::Warn),
        31..=40 => Some(Level::Error),
        _ => None,
    }
}

/// Lets records at Python level `level` (e.g. `logging.DEBUG`) and above through to
/// `logging`; above `logging.ERROR` turns the bridge off.
#[pyfunction]
fn set_log_level(level: i64) -> PyResult<()> {
    let sink: Arc<dyn LogSink> = Arc::new(PySink(shared().clone()));
    cce::log::set_sink(level_for(level), Some(sink))
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// Moves the records queued so far to `logging` now, on this thread.
#[pyfunction]
fn flush_logs(py: Python<'_>) {
    let s = shared().clone();
    py.detach(|| {
        let _order = lock(&s.emit);
        let batch = take(&s);
        Python::attach(|py| emit(py, batch));
    });
}

/// Adds the logging functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(flush_logs, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_child_loggers_of_libcce() {
        assert_eq!(logger_name("libcce::wire"), "libcce.wire");
        assert_eq!(logger_name("cce::ece::http"), "libcce.ece.http");
        assert_eq!(logger_name("cce"), "libcce");
        assert_eq!(level_for(10), Some(Level::Debug));
        assert_eq!(level_for(30), Some(Level::Warn));
        assert_eq!(level_for(50), None);
    }
}
