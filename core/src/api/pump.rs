//! Event queues of the blocking facade: one bounded, wakeable queue type for CTI, GC
//! and ECE handles, filled on the shared runtime and read from any thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::rt;
use crate::queue::{self, QueueCounters, QueueLimits, QueueStats, TryRecvError};

/// An async event channel a pump can drain.
pub(crate) trait Recv<T>: Send + 'static {
    /// The next event; `None` when the channel ended.
    fn recv(&mut self) -> impl std::future::Future<Output = Option<T>> + Send;
}

impl<T: Send + 'static> Recv<T> for mpsc::UnboundedReceiver<T> {
    fn recv(&mut self) -> impl std::future::Future<Output = Option<T>> + Send {
        mpsc::UnboundedReceiver::recv(self)
    }
}

impl<T: Send + 'static> Recv<T> for mpsc::Receiver<T> {
    fn recv(&mut self) -> impl std::future::Future<Output = Option<T>> + Send {
        mpsc::Receiver::recv(self)
    }
}

impl Recv<crate::ece::WebhookEvent> for crate::ece::WebhookEvents {
    fn recv(
        &mut self,
    ) -> impl std::future::Future<Output = Option<crate::ece::WebhookEvent>> + Send {
        crate::ece::WebhookEvents::recv(self)
    }
}

/// What [`EventPump::next`] found.
pub(crate) enum Taken<T> {
    /// An event.
    Event(T),
    /// None within the timeout (or none queued, without waiting).
    Nothing,
    /// The last event was taken earlier, or the source ended.
    Ended,
}

/// A bounded queue of a handle's events, fed from the handle's async channel by a task
/// on the shared runtime (which waits for room: back-pressure reaches the producer).
pub(crate) struct EventPump<T> {
    rx: queue::Receiver<T>,
    done: AtomicBool,
    is_last: fn(&T) -> bool,
}

impl<T> std::fmt::Debug for EventPump<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPump")
            .field("stats", &self.rx.counters().stats())
            .field("done", &self.done.load(Ordering::Relaxed))
            .finish()
    }
}

impl<T: Send + 'static> EventPump<T> {
    /// Starts moving `source`'s events into a queue bounded by `limits`; `size` gives
    /// each event's charge, `is_last` recognises the final event.
    pub(crate) fn start(
        mut source: impl Recv<T>,
        limits: QueueLimits,
        size: fn(&T) -> usize,
        is_last: fn(&T) -> bool,
    ) -> Result<Self, super::Error> {
        let (tx, rx) = queue::channel(limits, Arc::new(QueueCounters::default()));
        rt()?.spawn(async move {
            while let Some(ev) = source.recv().await {
                let n = size(&ev);
                if tx.push(ev, n).await.is_err() {
                    break;
                }
            }
        });
        Ok(EventPump {
            rx,
            done: AtomicBool::new(false),
            is_last,
        })
    }

    fn took(&self, ev: Option<T>) -> Taken<T> {
        match ev {
            Some(ev) => {
                if (self.is_last)(&ev) {
                    self.done.store(true, Ordering::Release);
                }
                Taken::Event(ev)
            }
            None => {
                self.done.store(true, Ordering::Release);
                Taken::Ended
            }
        }
    }

    /// Waits up to `timeout` (forever when `None`) for the next event.
    pub(crate) fn next(&self, timeout: Option<Duration>) -> Result<Taken<T>, super::Error> {
        if self.done.load(Ordering::Acquire) {
            return Ok(Taken::Ended);
        }
        if timeout.is_some_and(|d| d.is_zero()) {
            return Ok(self.try_next());
        }
        rt()?.block_on(self.next_async(timeout))
    }

    /// [`EventPump::next`] as a future.
    pub(crate) async fn next_async(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Taken<T>, super::Error> {
        if self.done.load(Ordering::Acquire) {
            return Ok(Taken::Ended);
        }
        let ev = match timeout {
            None => self.rx.take_next().await,
            Some(d) => match tokio::time::timeout(d, self.rx.take_next()).await {
                Ok(ev) => ev,
                Err(_) => return Ok(Taken::Nothing),
            },
        };
        Ok(self.took(ev))
    }

    pub(crate) fn try_next(&self) -> Taken<T> {
        if self.done.load(Ordering::Acquire) {
            return Taken::Ended;
        }
        match self.rx.try_take() {
            Ok(ev) => self.took(Some(ev)),
            Err(TryRecvError::Empty) => Taken::Nothing,
            Err(TryRecvError::Disconnected) => self.took(None),
        }
    }

    /// Whether an event is queued now.
    pub(crate) fn has_queued(&self) -> bool {
        !self.rx.is_empty()
    }

    /// See [`queue::Receiver::set_waker`].
    pub(crate) fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        self.rx.set_waker(waker);
    }

    /// Depth, high-water mark and drops of the queue.
    pub(crate) fn stats(&self) -> QueueStats {
        self.rx.counters().stats()
    }
}
