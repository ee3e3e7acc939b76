//! Callback delivery on a shared pool of threads (CTI sessions, GC sessions, ECE
//! webhook servers alike).
//!
//! Each handle with a callback owns a [`Delivery`]: when its event queue goes from
//! empty to non-empty, the queue's waker schedules the delivery on the pool; one worker
//! then calls the callback for up to [`BATCH`] events in order and reschedules the
//! delivery at the back of the pool's queue if more are waiting. A delivery is never
//! scheduled twice at once, so one handle's callbacks run in order and never
//! concurrently, whatever the pool size. Closing a handle stops its delivery under a
//! lock the workers check before every callback: once the close returns, no new
//! callback of that handle starts.
//!
//! [`Evented`] is the one event-producing handle of the C ABI: a [`Source`] with its
//! optional [`Delivery`] (callback mode) or pull-mode state (the wake-up descriptor).
//! [`Evented::poll`] and [`close`] are the one pull and close path of CTI sessions,
//! GC sessions and ECE webhook servers.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use cce::api::Error;

use crate::handle::{self, Handle};
use crate::wakefd::WakeFd;
use crate::{cce_status, fail, set_error, FfiResult};

/// Events one delivery hands to its callback before letting other handles run.
pub(crate) const BATCH: usize = 64;
/// Default number of pool threads.
pub(crate) const DEFAULT_THREADS: usize = 2;
/// Most pool threads [`set_threads`] accepts.
pub(crate) const MAX_THREADS: usize = 64;
/// How long a close waits for the callback to take the final event, after the
/// protocol close itself completed.
pub(crate) const CALLBACK_GRACE: Duration = Duration::from_secs(1);

/// What a delivery reads from.
pub(crate) enum Next<E> {
    /// An event to hand over; `true` when it is the handle's last one.
    Event(E, bool),
    /// Nothing queued now.
    Empty,
    /// The handle has no more events.
    Done,
}

/// A handle's event queue as the pool (and pull mode) sees it.
pub(crate) trait Source: Send + Sync + 'static {
    /// The rendered event handed to the callback.
    type Event;
    /// What the handle is, for messages ("session", "webhook server").
    const NOUN: &'static str;
    /// How long a close waits for the callback to take the final events, after the
    /// protocol close itself completed.
    const CLOSE_GRACE: Duration;
    /// Waits up to `timeout` for the next event (pull mode): `Ok(None)` when none came,
    /// an error once the queue ended.
    fn wait_next(&self, timeout: Duration) -> Result<Option<Self::Event>, Error>;
    /// Closes (stops) the protocol side of the handle.
    fn shut(&self) -> Result<(), Error>;
    /// Takes the next event without waiting.
    fn try_next(&self) -> Next<Self::Event>;
    /// Whether an event is queued now.
    fn has_pending(&self) -> bool;
    /// Arranges for `waker` to be called when an event lands in the empty queue and
    /// when the queue ends.
    fn set_waker(&self, waker: Box<dyn Fn() + Send + Sync>);
}

trait Runnable: Send + Sync {
    fn run(self: Arc<Self>);
}

struct Pool {
    tasks: Mutex<VecDeque<Arc<dyn Runnable>>>,
    ready: Condvar,
}

static NEXT_DELIVERY: AtomicUsize = AtomicUsize::new(1);
static THREADS: AtomicUsize = AtomicUsize::new(DEFAULT_THREADS);
static POOL: OnceLock<Result<Pool, String>> = OnceLock::new();

thread_local! {
    /// The delivery whose callback runs on this thread right now (0: none).
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sets the pool size; only before the first handle with a callback starts it.
pub(crate) fn set_threads(n: usize) -> Result<(), String> {
    if n == 0 || n > MAX_THREADS {
        return Err(format!("dispatcher threads must be 1..={MAX_THREADS}"));
    }
    if POOL.get().is_some() {
        return Err("the dispatcher pool is already running".into());
    }
    THREADS.store(n, Ordering::Relaxed);
    Ok(())
}

fn pool() -> Result<&'static Pool, String> {
    POOL.get_or_init(|| {
        let n = THREADS.load(Ordering::Relaxed);
        for i in 0..n {
            std::thread::Builder::new()
                .name(format!("cce-callbacks-{i}"))
                .spawn(worker)
                .map_err(|e| format!("cannot start the callback threads: {e}"))?;
        }
        Ok(Pool {
            tasks: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn worker() {
    // The pool is set before any task is submitted; wait for it on first use.
    let pool = loop {
        match POOL.get() {
            Some(Ok(p)) => break p,
            Some(Err(_)) => return,
            None => std::thread::yield_now(),
        }
    };
    loop {
        let task = {
            let mut q = lock(&pool.tasks);
            loop {
                if let Some(t) = q.pop_front() {
                    break t;
                }
                q = pool.ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        task.run();
    }
}

fn submit(task: Arc<dyn Runnable>) {
    if let Ok(pool) = pool() {
        lock(&pool.tasks).push_back(task);
        pool.ready.notify_one();
    }
}

#[derive(Default)]
struct Gate {
    /// A callback of this delivery is running.
    running: bool,
    /// The close gave up waiting: start no further callback.
    stopped: bool,
    /// The last event was handed over (or the queue ended).
    finished: bool,
    /// A close waits in [`Delivery::finish`]: wake it after each callback (otherwise no
    /// one listens, and the wake-up, a system call, is skipped).
    waiting: bool,
}

/// The callback side of one handle.
pub(crate) struct Delivery<S: Source> {
    id: usize,
    source: Arc<S>,
    deliver: Box<dyn Fn(S::Event) + Send + Sync>,
    scheduled: AtomicBool,
    gate: Mutex<Gate>,
    changed: Condvar,
}

impl<S: Source> Delivery<S> {
    /// Starts delivering `source`'s events to `deliver` on the pool.
    pub(crate) fn start(
        source: Arc<S>,
        deliver: impl Fn(S::Event) + Send + Sync + 'static,
    ) -> Result<Arc<Self>, String> {
        pool()?;
        let d = Arc::new(Delivery {
            id: NEXT_DELIVERY.fetch_add(1, Ordering::Relaxed),
            source,
            deliver: Box::new(deliver),
            scheduled: AtomicBool::new(false),
            gate: Mutex::new(Gate::default()),
            changed: Condvar::new(),
        });
        let weak = Arc::downgrade(&d);
        d.source.set_waker(Box::new(move || {
            if let Some(d) = weak.upgrade() {
                d.schedule();
            }
        }));
        Ok(d)
    }

    fn schedule(self: &Arc<Self>) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            submit(self.clone());
        }
    }

    /// Whether the calling thread is inside this handle's callback.
    pub(crate) fn in_own_callback(&self) -> bool {
        CURRENT.with(|c| c.get() == self.id)
    }

    /// Waits until the last event has been handed over or `deadline` passes; then no
    /// further callback starts. Returns whether the last event was delivered.
    pub(crate) fn finish(&self, deadline: Instant) -> bool {
        let mut g = lock(&self.gate);
        g.waiting = true;
        while !g.finished {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            g = self
                .changed
                .wait_timeout(g, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        g.stopped = true;
        g.waiting = false;
        g.finished
    }
}

impl<S: Source> Runnable for Delivery<S> {
    fn run(self: Arc<Self>) {
        for _ in 0..BATCH {
            {
                let mut g = lock(&self.gate);
                if g.stopped || g.finished {
                    return;
                }
                g.running = true;
            }
            let next = self.source.try_next();
            let (last, empty) = match next {
                Next::Event(ev, last) => {
                    CURRENT.with(|c| c.set(self.id));
                    (self.deliver)(ev);
                    CURRENT.with(|c| c.set(0));
                    (last, false)
                }
                Next::Empty => (false, true),
                Next::Done => (true, false),
            };
            let mut g = lock(&self.gate);
            g.running = false;
            if last {
                g.finished = true;
            }
            if g.waiting {
                self.changed.notify_all();
            }
            if last {
                return;
            }
            if empty {
                break;
            }
        }
        self.scheduled.store(false, Ordering::Release);
        // An event that landed while this turn ran did not wake anyone (the queue was
        // not empty, or the delivery was still scheduled): look again.
        if self.source.has_pending() && !self.scheduled.swap(true, Ordering::AcqRel) {
            submit(self);
        }
    }
}

// ---------------------------------------------------------------------------
// Event-producing handles.

/// An event-producing handle: its source plus callback or pull-mode state.
pub(crate) struct Evented<S: Source> {
    source: Arc<S>,
    delivery: Option<Arc<Delivery<S>>>,
    /// Readable while events are queued (pull mode, once asked for).
    fd: Mutex<Option<Arc<WakeFd>>>,
}

impl<S: Source> Evented<S> {
    /// Wraps `source`: with `deliver`, its events go to that callback on the pool;
    /// without, the application pulls them. On failure the source is shut.
    pub(crate) fn start(
        source: S,
        deliver: Option<impl Fn(S::Event) + Send + Sync + 'static>,
    ) -> Result<Self, cce_status> {
        let source = Arc::new(source);
        let delivery = match deliver {
            Some(f) => match Delivery::start(source.clone(), f) {
                Ok(d) => Some(d),
                Err(e) => {
                    let _ = source.shut();
                    return Err(set_error(cce_status::CCE_ERR_IO, &e, None));
                }
            },
            None => None,
        };
        Ok(Evented {
            source,
            delivery,
            fd: Mutex::new(None),
        })
    }

    /// The source, whatever the mode.
    pub(crate) fn source(&self) -> &Arc<S> {
        &self.source
    }

    /// The source of a pull-mode handle; `what` (the C function) is refused with
    /// `CCE_ERR_INVALID_ARGUMENT` on a handle with a callback.
    pub(crate) fn polled(&self, what: &str) -> Result<&Arc<S>, cce_status> {
        if self.delivery.is_some() {
            let noun = S::NOUN;
            return Err(set_error(
                cce_status::CCE_ERR_INVALID_ARGUMENT,
                &format!(
                    "this {noun} delivers events to its callback; {what} needs a {noun} opened without one"
                ),
                None,
            ));
        }
        Ok(&self.source)
    }

    /// The wake-up descriptor, if one was asked for.
    pub(crate) fn fd(&self) -> Option<Arc<WakeFd>> {
        lock(&self.fd).clone()
    }

    /// The wake-up descriptor, created (and hooked to the queue) on first use.
    pub(crate) fn fd_or_create(&self) -> std::io::Result<Arc<WakeFd>> {
        let mut slot = lock(&self.fd);
        if let Some(fd) = &*slot {
            return Ok(fd.clone());
        }
        let fd = Arc::new(WakeFd::new()?);
        let waker = fd.clone();
        self.source.set_waker(Box::new(move || waker.wake()));
        *slot = Some(fd.clone());
        Ok(fd)
    }

    /// Re-arms the wake-up descriptor (if any) from the queue's state.
    pub(crate) fn rearm(&self) {
        if let Some(fd) = self.fd() {
            fd.rearm(self.source.has_pending());
        }
    }

    /// Pull mode: waits up to `timeout_ms` for the next event; `CCE_ERR_TIMEOUT` when
    /// none came, the source's error (e.g. `CCE_ERR_CLOSED`) once the queue ended.
    pub(crate) fn poll(&self, timeout_ms: u32, what: &str) -> Result<S::Event, cce_status> {
        let source = self.polled(what)?;
        let next = source.wait_next(Duration::from_millis(u64::from(timeout_ms)));
        self.rearm();
        match next.map_err(|e| fail(&e))? {
            Some(ev) => Ok(ev),
            None => Err(set_error(
                cce_status::CCE_ERR_TIMEOUT,
                "no event within the timeout",
                None,
            )),
        }
    }
}

/// Closes the event-producing handle `h` (the C function `what`): refused with
/// `CCE_ERR_WOULD_DEADLOCK` from the handle's own callback; otherwise frees the
/// handle, shuts the source, and waits up to [`Source::CLOSE_GRACE`] for the callback
/// to take the final events (`CCE_ERR_TIMEOUT` if it did not: closed all the same).
pub(crate) fn close<S: Source>(h: *const <Evented<S> as Handle>::C, what: &str) -> FfiResult
where
    Evented<S>: Handle,
{
    let entry = handle::remove_if::<Evented<S>>(h, |e| {
        if e.delivery.as_ref().is_some_and(|d| d.in_own_callback()) {
            return Err(set_error(
                cce_status::CCE_ERR_WOULD_DEADLOCK,
                &format!("{what} called from the {}'s own callback", S::NOUN),
                None,
            ));
        }
        Ok(())
    })?;
    let result = entry.source.shut();
    if let Some(d) = &entry.delivery {
        if !d.finish(Instant::now() + S::CLOSE_GRACE) {
            return Err(set_error(
                cce_status::CCE_ERR_TIMEOUT,
                &format!(
                    "{} closed, but its callback was still busy: the final events were not delivered",
                    S::NOUN
                ),
                None,
            ));
        }
    }
    result.map_err(|e| fail(&e))
}
