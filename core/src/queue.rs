//! A bounded event queue with stated limits and counters, shared by every client.
//!
//! A queue holds at most [`QueueLimits::max_events`] items and
//! [`QueueLimits::max_bytes`] bytes (each item is charged a size the producer gives;
//! one item is always accepted into an empty queue whatever its size). The producer
//! decides what to do when it is full ([`OverrunPolicy`]): wait for room (and stop
//! reading its socket meanwhile), or end the session. One final item (the
//! "session closed" event) is always accepted, so the end is never lost.
//!
//! [`QueueCounters`] (depth, high-water mark, drops) can be shared by several queues
//! of one pipeline, so that one session reports one set of figures.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Default bound of a session's event queue, in events.
pub const DEFAULT_MAX_EVENTS: usize = 10_000;
/// Default bound of a session's event queue, in bytes (4 MiB).
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// How many events and bytes a queue may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most events queued (at least 1).
    pub max_events: usize,
    /// Most bytes queued (at least 1; one event is accepted whatever its size).
    pub max_bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_events: DEFAULT_MAX_EVENTS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What a producer does when the consumer's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverrunPolicy {
    /// Stop reading the network until there is room (TCP pushes back on the server);
    /// timers and heartbeats keep running.
    #[default]
    Block,
    /// End the session (reason `ConsumerOverrun`); the event that did not fit and
    /// later ones are dropped and counted.
    Close,
}

impl OverrunPolicy {
    /// Parses `"block"` or `"close"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "block" => Some(OverrunPolicy::Block),
            "close" => Some(OverrunPolicy::Close),
            _ => None,
        }
    }
}

/// Figures of one session's event pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Events queued now.
    pub depth_events: usize,
    /// Bytes queued now.
    pub depth_bytes: usize,
    /// Most events ever queued at once.
    pub high_water_events: usize,
    /// Most bytes ever queued at once.
    pub high_water_bytes: usize,
    /// Events dropped (queued at close, or refused under [`OverrunPolicy::Close`]).
    pub dropped: u64,
    /// Events taken by the application from its queue (internal hops not counted).
    pub delivered: u64,
}

/// Live counters, shareable between the queues of one pipeline.
#[derive(Debug, Default)]
pub struct QueueCounters {
    depth_events: AtomicUsize,
    depth_bytes: AtomicUsize,
    high_water_events: AtomicUsize,
    high_water_bytes: AtomicUsize,
    dropped: AtomicU64,
    delivered: AtomicU64,
}

impl QueueCounters {
    /// A snapshot of the figures.
    pub fn stats(&self) -> QueueStats {
        QueueStats {
            depth_events: self.depth_events.load(Ordering::Relaxed),
            depth_bytes: self.depth_bytes.load(Ordering::Relaxed),
            high_water_events: self.high_water_events.load(Ordering::Relaxed),
            high_water_bytes: self.high_water_bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
        }
    }

    /// Counts `n` dropped events.
    pub fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    fn added(&self, bytes: usize) {
        let e = self.depth_events.fetch_add(1, Ordering::Relaxed) + 1;
        let b = self.depth_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.high_water_events.fetch_max(e, Ordering::Relaxed);
        self.high_water_bytes.fetch_max(b, Ordering::Relaxed);
    }

    fn removed(&self, bytes: usize) {
        self.depth_events.fetch_sub(1, Ordering::Relaxed);
        self.depth_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

type Waker = Box<dyn Fn() + Send + Sync>;

struct State<T> {
    items: VecDeque<(T, usize)>,
    bytes: usize,
    senders: usize,
    receiver: bool,
    waker: Option<Arc<Waker>>,
}

struct Shared<T> {
    /// False for an internal hop: items taken from it are not counted as delivered.
    delivers: AtomicBool,
    state: Mutex<State<T>>,
    limits: QueueLimits,
    counters: Arc<QueueCounters>,
    /// Signalled when an item is added or the last sender goes.
    ready: Notify,
    /// Signalled when an item is taken or the receiver goes.
    space: Notify,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn full(&self, st: &State<T>, bytes: usize) -> bool {
        !st.items.is_empty()
            && (st.items.len() >= self.limits.max_events
                || st.bytes.saturating_add(bytes) > self.limits.max_bytes)
    }
}

/// Why an item was not queued; it is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError<T> {
    /// The queue is at its bound.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// The producing side of a queue. Clones share it; the queue ends when all are dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The consuming side of a queue.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// Why [`Receiver::try_recv`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and every sender is gone.
    Disconnected,
}

/// A queue bounded by `limits`, counting into `counters`.
pub fn channel<T>(limits: QueueLimits, counters: Arc<QueueCounters>) -> (Sender<T>, Receiver<T>) {
    let limits = QueueLimits {
        max_events: limits.max_events.max(1),
        max_bytes: limits.max_bytes.max(1),
    };
    let shared = Arc::new(Shared {
        delivers: AtomicBool::new(true),
        state: Mutex::new(State {
            items: VecDeque::new(),
            bytes: 0,
            senders: 1,
            receiver: true,
            waker: None,
        }),
        limits,
        counters,
        ready: Notify::new(),
        space: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.shared.lock();
            st.senders -= 1;
            (st.senders == 0).then(|| st.waker.clone()).flatten()
        };
        self.shared.ready.notify_waiters();
        if let Some(w) = waker {
            w();
        }
    }
}

impl<T> Sender<T> {
    fn push_inner(&self, item: T, bytes: usize, bounded: bool) -> Result<(), PushError<T>> {
        let waker = {
            let mut st = self.shared.lock();
            if !st.receiver {
                return Err(PushError::Closed(item));
            }
            if bounded && self.shared.full(&st, bytes) {
                return Err(PushError::Full(item));
            }
            let was_empty = st.items.is_empty();
            st.items.push_back((item, bytes));
            st.bytes += bytes;
            self.shared.counters.added(bytes);
            if was_empty {
                st.waker.clone()
            } else {
                None
            }
        };
        self.shared.ready.notify_waiters();
        if let Some(w) = waker {
            w();
        }
        Ok(())
    }

    /// Queues `item` (charged `bytes`) if there is room.
    pub fn try_push(&self, item: T, bytes: usize) -> Result<(), PushError<T>> {
        self.push_inner(item, bytes, true)
    }

    /// Queues `item` beyond the bound: for the one final event of a session.
    pub fn push_final(&self, item: T, bytes: usize) -> Result<(), PushError<T>> {
        self.push_inner(item, bytes, false)
    }

    /// Queues `item`, waiting for room. Fails only when the receiver is gone.
    pub async fn push(&self, item: T, bytes: usize) -> Result<(), PushError<T>> {
        let mut item = item;
        loop {
            let notified = self.shared.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_push(item, bytes) {
                Err(PushError::Full(back)) => item = back,
                other => return other,
            }
            notified.await;
        }
    }

    /// Whether an item of `bytes` would be refused now.
    pub fn is_full(&self, bytes: usize) -> bool {
        let st = self.shared.lock();
        self.shared.full(&st, bytes)
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.shared.lock().receiver
    }

    /// Waits until an item of `bytes` would be accepted (or the receiver is gone).
    pub async fn room(&self, bytes: usize) {
        loop {
            let notified = self.shared.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.shared.lock();
                if !st.receiver || !self.shared.full(&st, bytes) {
                    return;
                }
            }
            notified.await;
        }
    }

    /// The counters this queue reports into.
    pub fn counters(&self) -> &Arc<QueueCounters> {
        &self.shared.counters
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let dropped = {
            let mut st = self.shared.lock();
            st.receiver = false;
            let n = st.items.len();
            for (_, b) in st.items.drain(..) {
                self.shared.counters.removed(b);
            }
            st.bytes = 0;
            n
        };
        self.shared.counters.add_dropped(dropped as u64);
        self.shared.space.notify_waiters();
    }
}

impl<T> Receiver<T> {
    fn take(&self, st: &mut State<T>) -> Option<T> {
        let (item, bytes) = st.items.pop_front()?;
        st.bytes -= bytes;
        self.shared.counters.removed(bytes);
        if self.shared.delivers.load(Ordering::Relaxed) {
            self.shared
                .counters
                .delivered
                .fetch_add(1, Ordering::Relaxed);
        }
        Some(item)
    }

    /// Marks this queue as an internal hop of a pipeline whose application-facing
    /// queue is another one: what is taken from it is not counted as delivered.
    pub fn set_internal(&self) {
        self.shared.delivers.store(false, Ordering::Relaxed);
    }

    /// Takes the next item without waiting (like `tokio::sync::mpsc`; see
    /// [`Receiver::try_take`] for a shared receiver).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.try_take()
    }

    /// Waits for the next item; `None` once every sender is gone and the queue is
    /// empty (like `tokio::sync::mpsc`; see [`Receiver::take`] for a shared receiver).
    pub async fn recv(&mut self) -> Option<T> {
        self.take_next().await
    }

    /// Takes the next item without waiting if `pred` accepts it (`None` otherwise, or
    /// when nothing is queued): for a consumer that handles some items in batches.
    pub fn try_take_if(&self, pred: impl FnOnce(&T) -> bool) -> Option<T> {
        let item = {
            let mut st = self.shared.lock();
            if !st.items.front().is_some_and(|(item, _)| pred(item)) {
                return None;
            }
            self.take(&mut st)?
        };
        self.shared.space.notify_waiters();
        Some(item)
    }

    /// [`Receiver::try_recv`] through a shared reference (items still come out once,
    /// in order, whichever thread takes them).
    pub fn try_take(&self) -> Result<T, TryRecvError> {
        let item = {
            let mut st = self.shared.lock();
            match self.take(&mut st) {
                Some(item) => item,
                None if st.senders == 0 => return Err(TryRecvError::Disconnected),
                None => return Err(TryRecvError::Empty),
            }
        };
        self.shared.space.notify_waiters();
        Ok(item)
    }

    /// [`Receiver::recv`] through a shared reference.
    pub async fn take_next(&self) -> Option<T> {
        loop {
            let notified = self.shared.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_take() {
                Ok(item) => return Some(item),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            notified.await;
        }
    }

    /// Moves up to `max` queued items into `out` without waiting; returns how many.
    /// Returns `None` when nothing is queued and every sender is gone.
    pub fn try_recv_many(&self, out: &mut Vec<T>, max: usize) -> Option<usize> {
        let n = {
            let mut st = self.shared.lock();
            if st.items.is_empty() && st.senders == 0 {
                return None;
            }
            let mut n = 0;
            while n < max {
                match self.take(&mut st) {
                    Some(item) => out.push(item),
                    None => break,
                }
                n += 1;
            }
            n
        };
        if n > 0 {
            self.shared.space.notify_waiters();
        }
        Some(n)
    }

    /// Drops every queued item, counting them as dropped; returns how many.
    pub fn discard_queued(&self) -> usize {
        let n = {
            let mut st = self.shared.lock();
            let n = st.items.len();
            for (_, b) in st.items.drain(..) {
                self.shared.counters.removed(b);
            }
            st.bytes = 0;
            n
        };
        self.shared.counters.add_dropped(n as u64);
        self.shared.space.notify_waiters();
        n
    }

    /// Drops the queued items for which `drop_it` is true, counting them as dropped;
    /// returns how many.
    pub fn discard_where(&self, mut drop_it: impl FnMut(&T) -> bool) -> usize {
        let n = {
            let mut st = self.shared.lock();
            let before = st.items.len();
            let mut freed = 0;
            st.items.retain(|(item, bytes)| {
                if drop_it(item) {
                    freed += *bytes;
                    self.shared.counters.removed(*bytes);
                    false
                } else {
                    true
                }
            });
            st.bytes -= freed;
            before - st.items.len()
        };
        self.shared.counters.add_dropped(n as u64);
        self.shared.space.notify_waiters();
        n
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }

    /// Calls `waker` (from the producer's thread) whenever an item lands in an empty
    /// queue and when the last sender goes; replaces any earlier waker. The waker must
    /// not call back into this queue.
    pub fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        let waker: Arc<Waker> = Arc::new(Box::new(waker));
        let fire = {
            let mut st = self.shared.lock();
            st.waker = Some(waker.clone());
            !st.items.is_empty() || st.senders == 0
        };
        if fire {
            waker();
        }
    }

    /// The counters this queue reports into.
    pub fn counters(&self) -> &Arc<QueueCounters> {
        &self.shared.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(events: usize, bytes: usize) -> (Sender<u32>, Receiver<u32>) {
        channel(
            QueueLimits {
                max_events: events,
                max_bytes: bytes,
            },
            Arc::default(),
        )
    }

    #[test]
    fn bounded_in_events_and_bytes_with_counters() {
        let (tx, mut rx) = small(3, 100);
        assert!(tx.try_push(1, 10).is_ok());
        assert!(tx.try_push(2, 10).is_ok());
        assert!(tx.try_push(3, 10).is_ok());
        assert_eq!(tx.try_push(4, 10), Err(PushError::Full(4)));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(tx.try_push(5, 90), Err(PushError::Full(5)));
        assert!(tx.push_final(6, 90).is_ok());
        let s = rx.counters().stats();
        assert_eq!((s.depth_events, s.depth_bytes), (3, 110));
        assert_eq!((s.high_water_events, s.high_water_bytes), (3, 110));
        assert_eq!(rx.discard_queued(), 3);
        let s = rx.counters().stats();
        assert_eq!((s.depth_events, s.depth_bytes, s.dropped), (0, 0, 3));
        // One item always fits an empty queue.
        assert!(tx.try_push(7, 1_000).is_ok());
        drop(tx);
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[tokio::test]
    async fn push_waits_for_room_and_recv_for_items() {
        let (tx, mut rx) = small(1, 100);
        tx.try_push(1, 1).expect("room");
        let producer = tokio::spawn(async move {
            tx.push(2, 1).await.expect("receiver alive");
            tx.push(3, 1).await.expect("receiver alive");
        });
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
        producer.await.expect("producer ends");
        assert_eq!(rx.counters().stats().high_water_events, 1);
    }

    #[test]
    fn waker_fires_on_first_item_and_on_end() {
        let (tx, rx) = small(10, 100);
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        rx.set_waker(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        tx.try_push(1, 1).expect("room");
        tx.try_push(2, 1).expect("room");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        drop(tx);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}
