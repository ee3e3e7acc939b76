//! The ready list behind `on_event`: one Python dispatcher thread serves every session
//! with a callback. A session's event waker (called by core when an event lands in its
//! empty queue) appends the session's token here without the GIL; the dispatcher waits
//! for tokens, then takes each ready session's batch with `poll_events`.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::prelude::*;

/// Tokens of sessions with events to deliver (each at most once), and a stop flag.
#[derive(Default)]
struct Ready {
    tokens: VecDeque<u64>,
    stopped: bool,
}

static READY: Mutex<Ready> = Mutex::new(Ready {
    tokens: VecDeque::new(),
    stopped: false,
});
static WAKE: Condvar = Condvar::new();

fn ready() -> MutexGuard<'static, Ready> {
    READY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Marks session `token` ready (from an event waker or Python). A token already in the
/// list is not added again, so the list holds at most one entry per session.
pub(crate) fn mark_ready(token: u64) {
    let mut r = ready();
    if !r.tokens.contains(&token) {
        r.tokens.push_back(token);
    }
    drop(r);
    WAKE.notify_one();
}

/// Marks session `token` ready: its events are to be taken.
#[pyfunction]
fn dispatch_ready(token: u64) {
    mark_ready(token);
}

/// Waits (without the GIL) at most `timeout` seconds for ready sessions and returns
/// their tokens in the order they became ready (empty on timeout or after
/// `dispatch_stop`).
#[pyfunction]
fn dispatch_wait(py: Python<'_>, timeout: f64) -> Vec<u64> {
    let timeout = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::ZERO);
    py.detach(|| {
        let r = ready();
        let (mut r, _) = WAKE
            .wait_timeout_while(r, timeout, |r| r.tokens.is_empty() && !r.stopped)
            .unwrap_or_else(|p| {
                let (g, t) = p.into_inner();
                (g, t)
            });
        if r.stopped {
            r.stopped = false;
            return Vec::new();
        }
        r.tokens.drain(..).collect()
    })
}

/// Ends the current (or next) `dispatch_wait` at once.
#[pyfunction]
fn dispatch_stop() {
    ready().stopped = true;
    WAKE.notify_all();
}

/// Adds the dispatcher functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dispatch_ready, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch_wait, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch_stop, m)?)?;
    Ok(())
}
