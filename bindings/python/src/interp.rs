//! Attaching to Python from library threads (the tokio runtime, the log thread), and
//! stopping that before the interpreter finalises.
//!
//! A thread that takes the GIL while CPython finalises is ended with `pthread_exit`,
//! which unwinds through Rust frames and aborts the process ("FATAL: exception not
//! rethrown"). So every attach from a library thread goes through [`with_python`]:
//! once [`shutdown`] (registered with `atexit` by `libcce`) has run, callbacks are
//! skipped, and `shutdown` waits (bounded) for those already attaching to leave.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How long `shutdown` waits for library threads still inside Python.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

static FINALIZING: AtomicBool = AtomicBool::new(false);
static ACTIVE: Mutex<usize> = Mutex::new(0);
static LEFT: Condvar = Condvar::new();

fn active() -> MutexGuard<'static, usize> {
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Leaves the count of attached library threads on drop (also on a panic).
struct Inside;

impl Drop for Inside {
    fn drop(&mut self) {
        let mut n = active();
        *n = n.saturating_sub(1);
        drop(n);
        LEFT.notify_all();
    }
}

/// Runs `f` attached to Python from a library thread; `None` (and `f` not run) once
/// the interpreter is shutting down or not attachable.
pub(crate) fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    {
        let mut n = active();
        if FINALIZING.load(Ordering::Acquire) {
            return None;
        }
        *n += 1;
    }
    let _inside = Inside;
    Python::try_attach(f)
}

/// Stops library threads from attaching to Python and waits (at most 2 s, without the
/// GIL) for those inside to leave. Called by `atexit`; idempotent.
#[pyfunction]
fn _shutdown(py: Python<'_>) {
    {
        let _n = active();
        FINALIZING.store(true, Ordering::Release);
    }
    py.detach(|| {
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut n = active();
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            n = LEFT
                .wait_timeout(n, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    });
}

/// Adds `_shutdown` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_shutdown, m)?)?;
    Ok(())
}
