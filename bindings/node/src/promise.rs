//! Promises settled from the library's tokio runtime.
//!
//! A call that waits returns a promise at once; the work is a future of the core
//! facade run by [`cce::api::tasks::spawn`] on the library's own runtime, and the
//! promise is settled from the runtime thread that finishes it (napi's thread-safe
//! deferred). Neither libuv's thread pool nor a blocking thread is held meanwhile,
//! and no second runtime is started.

use std::future::Future;

use cce::api::{self, tasks};
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::Env;

use crate::to_napi;

/// Runs `fut` on the library's runtime; the returned promise settles with its result
/// (a core error becomes a `cce-error:` rejection, a panic an `Io`/`Internal` one).
pub(crate) fn spawn<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, api::Error>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    tasks::spawn(fut, move |r| match r {
        Ok(v) => deferred.resolve(move |_env| Ok(v)),
        Err(e) => deferred.reject(to_napi(&e)),
    });
    Ok(promise)
}

/// Runs a blocking core call on the library runtime's blocking pool (for the few
/// calls without a future: simulator control and stop); the promise settles with
/// its result.
pub(crate) fn blocking<'env, T, F>(env: &'env Env, f: F) -> napi::Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
    F: FnOnce() -> Result<T, api::Error> + Send + 'static,
{
    spawn(env, async move {
        match tokio::task::spawn_blocking(f).await {
            Ok(r) => r,
            // A panic in `f`: an error, never a crash or an unsettled promise.
            Err(e) => Err(crate::core_error(
                api::ErrorKind::Io,
                format!("internal error in libcce: {e}"),
            )),
        }
    })
}
