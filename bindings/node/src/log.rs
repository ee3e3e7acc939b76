//! The library's log records to a JavaScript callback (`setLogger`).
//!
//! Records at or above the chosen level are queued to the callback through a
//! thread-safe function (at most [`QUEUE_LIMIT`] waiting; newer records are dropped
//! when the main thread falls that far behind), so no library thread ever waits for
//! JavaScript. The function is unreferenced: a logger never keeps the process alive.

use std::sync::Arc;

use cce::log::{Level, LogSink};
use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::Status;
use napi_derive::napi;

/// Most records waiting for the JavaScript thread.
const QUEUE_LIMIT: usize = 10_000;

type Record = (Level, String, String);

/// The callback's arguments: `(level, target, message)`.
type Args = FnArgs<(&'static str, String, String)>;

/// Unreferenced (weak), no error argument, at most [`QUEUE_LIMIT`] queued calls.
type LogFn = ThreadsafeFunction<Record, (), Args, Status, false, true, QUEUE_LIMIT>;

struct NodeSink(LogFn);

impl LogSink for NodeSink {
    fn log(&self, level: Level, target: &str, message: &str) {
        // A full queue or a closing environment drops the record.
        let _ = self.0.call(
            (level, target.to_owned(), message.to_owned()),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}

fn invalid(e: impl std::fmt::Display) -> napi::Error {
    crate::to_napi(&cce::api::Error::invalid(e.to_string()))
}

/// Sends the library's records at `level` (`error`, `warn`, `info` (default), `debug`,
/// `trace` or `off`) and above to `callback(level, target, message)`; `null` removes it.
#[napi(
    ts_args_type = "callback: ((level: string, target: string, message: string) => void) | null, level?: string"
)]
pub fn set_logger(
    callback: Option<Function<'_, Args, ()>>,
    level: Option<String>,
) -> napi::Result<()> {
    let level = Level::parse(level.as_deref().unwrap_or("info")).map_err(invalid)?;
    let sink: Option<Arc<dyn LogSink>> = match callback {
        None => None,
        Some(f) => {
            let tsfn: LogFn = f
                .build_threadsafe_function::<Record>()
                .callee_handled::<false>()
                .weak::<true>()
                .max_queue_size::<QUEUE_LIMIT>()
                .build_callback(|ctx: ThreadsafeCallContext<Record>| {
                    let (level, target, message) = ctx.value;
                    Ok(FnArgs::from((level.name(), target, message)))
                })?;
            Some(Arc::new(NodeSink(tsfn)))
        }
    };
    cce::log::set_sink(level, sink).map_err(invalid)
}

/// Writes the library's records at `level` and above straight to standard error
/// (`NODE_DEBUG=libcce`), so they appear even while the main thread is busy.
#[napi]
pub fn log_to_stderr(level: String) -> napi::Result<()> {
    let level = Level::parse(&level).map_err(invalid)?;
    cce::log::set_sink(level, Some(Arc::new(cce::log::StderrSink))).map_err(invalid)
}

/// Every live CTI session's counters in the Prometheus text format.
#[napi]
pub fn metrics_text() -> String {
    cce::cti::stats::metrics_text()
}
