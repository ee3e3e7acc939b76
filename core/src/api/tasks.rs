//! Asynchronous work for the bindings, gathered in one place.
//!
//! The facade's `*_async` methods are futures; a binding runs one with [`spawn`] and
//! gets the result in a callback on a library runtime thread, where it completes the
//! language's own awaitable (an asyncio future through `call_soon_threadsafe`, a
//! Node promise through a thread-safe function). No thread is started or blocked per
//! call or per session.

use std::future::Future;

use super::Error;
use crate::runtime::runtime;

/// Runs `fut` on the library runtime and calls `done` with its result, on a runtime
/// thread (`done` must be quick and must not block). A panic in `fut` is reported to
/// `done` as an error of kind `Io`.
pub fn spawn<T, F, D>(fut: F, done: D)
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
    D: FnOnce(Result<T, Error>) + Send + 'static,
{
    let task = match runtime() {
        Ok(rt) => rt.spawn(fut),
        Err(e) => {
            done(Err(Error::new(
                super::ErrorKind::Io,
                format!("runtime unavailable: {e}"),
            )));
            return;
        }
    };
    // A second task reports the outcome, so that a panic in `fut` still answers.
    if let Ok(rt) = runtime() {
        rt.spawn(async move {
            let out = match task.await {
                Ok(r) => r,
                Err(e) => Err(Error::new(
                    super::ErrorKind::Io,
                    format!("task failed: {e}"),
                )),
            };
            done(out);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn spawn_reports_value_error_and_panic() {
        let (tx, rx) = mpsc::channel();
        let t = tx.clone();
        spawn(async { Ok(7) }, move |r| t.send(r).unwrap_or(()));
        let t = tx.clone();
        spawn(async { Err::<i32, _>(Error::invalid("bad")) }, move |r| {
            t.send(r).unwrap_or(())
        });
        spawn(
            async {
                if std::hint::black_box(true) {
                    panic!("boom");
                }
                Ok(1)
            },
            move |r| tx.send(r).unwrap_or(()),
        );
        let mut got: Vec<_> = (0..3)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
            .collect();
        got.sort_by_key(|r| r.as_ref().map(|v| *v).unwrap_or(-1));
        assert!(got.iter().any(|r| r.as_ref().ok() == Some(&7)));
        assert!(got.iter().any(|r| r
            .as_ref()
            .err()
            .is_some_and(|e| e.kind == super::super::ErrorKind::InvalidArgument)));
        assert!(got.iter().any(|r| r
            .as_ref()
            .err()
            .is_some_and(|e| e.kind == super::super::ErrorKind::Io)));
    }
}
