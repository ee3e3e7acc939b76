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

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

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

/// A handle's event queue as the pool sees it.
pub(crate) trait Source: Send + Sync + 'static {
    /// The rendered event handed to the callback.
    type Event;
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
    /// Starts delivering `source`'s events to `deliver` on the pool; `id` names the
    /// handle (for [`Delivery::in_own_callback`]).
    pub(crate) fn start(
        id: usize,
        source: Arc<S>,
        deliver: impl Fn(S::Event) + Send + Sync + 'static,
    ) -> Result<Arc<Self>, String> {
        pool()?;
        let d = Arc::new(Delivery {
            id,
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
            self.changed.notify_all();
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
