//! The event pump: one thread-safe function per session, fed with batches.
//!
//! A session's pump is a task on the library's tokio runtime. It waits for events
//! with the facade's `next_events_async` (up to [`BATCH_MAX`] at once: everything
//! that arrived together) and hands each batch to JavaScript in one call of the
//! session's thread-safe function, as the text of a JSON array (V8's `JSON.parse`
//! builds the event objects faster than the addon could property by property).
//!
//! At most one batch is in flight: the pump waits until JavaScript has handled a
//! batch before it takes the next one, so events wait in the session's bounded
//! queue (whose policy applies), never in an unbounded queue of calls. The handler
//! may return a promise to hold the pump longer (an `events()` iterator whose buffer
//! is full); the pump waits for it.
//!
//! The thread-safe function is referenced while the pump runs, which keeps Node's
//! event loop alive as an open socket does; it is released when the pump ends: after
//! the last event (`SESSION_CLOSED`, GC `Closed`), after an error, or when the
//! JavaScript environment goes away.

use std::future::Future;
use std::time::Duration;

use cce::api::{self, tasks};
use napi::bindgen_prelude::{FnArgs, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;

/// Most events handed to JavaScript in one call.
pub const BATCH_MAX: usize = 256;

/// How long one wait for events lasts before the pump waits again (no call is made
/// for an empty wait).
pub const WAIT: Duration = Duration::from_secs(30);

/// The arguments of one call: `(eventsJsonArray, last, error)`. `last`: the final
/// element is the session's last event; `error`: the pump failed (a `cce-error:`
/// message) and ends.
pub type BatchArgs = FnArgs<(String, bool, Option<String>)>;

/// The JavaScript batch handler. It returns nothing, or a promise the pump waits
/// for before it takes the next batch.
pub type BatchFn = ThreadsafeFunction<BatchArgs, Option<Promise<()>>, BatchArgs, Status, false>;

/// One batch taken from a session.
pub struct Batch {
    /// The events as the text of a JSON array.
    pub json: String,
    /// True when the final event is the session's last.
    pub last: bool,
}

/// The text of a JSON array of the given JSON texts.
pub fn json_array<'a>(items: impl Iterator<Item = &'a str> + Clone) -> String {
    let len: usize = items.clone().map(|s| s.len() + 1).sum();
    let mut out = String::with_capacity(len + 2);
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// Starts the pump: `next(max, wait)` takes the next batch (`Ok(None)`: nothing
/// within `wait`), and each batch goes to `handler` until the last event or an error.
pub fn start<F, Fut>(handler: BatchFn, mut next: F)
where
    F: FnMut(usize, Duration) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Option<Batch>, api::Error>> + Send + 'static,
{
    let pump = async move {
        loop {
            let (args, end) = match next(BATCH_MAX, WAIT).await {
                Ok(None) => continue,
                Ok(Some(b)) => ((b.json, b.last, None), b.last),
                Err(e) => ((String::new(), true, Some(crate::error_message(&e))), true),
            };
            match handler.call_async(FnArgs::from(args)).await {
                // Back-pressure: the handler asked to wait (a rejection changes nothing).
                Ok(Some(hold)) => {
                    let _ = hold.await;
                }
                Ok(None) => {}
                // The environment is going away (or the handler threw, which Node
                // reports as an uncaught exception): nobody is left to deliver to.
                Err(_) => break,
            }
            if end {
                break;
            }
        }
        // Dropping `handler` here releases the thread-safe function.
        Ok(())
    };
    tasks::spawn(pump, |_: Result<(), api::Error>| {});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_arrays() {
        assert_eq!(json_array([].iter().copied()), "[]");
        assert_eq!(json_array(["{\"a\":1}"].iter().copied()), "[{\"a\":1}]");
        let v: serde_json::Value =
            serde_json::from_str(&json_array(["{\"a\":1}", "2", "\"x\""].iter().copied()))
                .expect("valid JSON");
        assert_eq!(v, serde_json::json!([{"a": 1}, 2, "x"]));
    }
}
