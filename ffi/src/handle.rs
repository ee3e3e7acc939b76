//! The one handle table of the C ABI, and the argument helpers every function uses.
//!
//! Every opaque C handle (`cti_session*`, `gc_sim*`, `ece_client*`, ...) is a token
//! looked up in one table, never dereferenced. A table slot remembers which Rust type
//! (and so which C type) it holds: a NULL, unknown or already freed token gives
//! `CCE_ERR_INVALID_HANDLE`, a live token of another type (a `gc_session*` passed to
//! `cti_close`) gives `CCE_ERR_INVALID_ARGUMENT`. Tokens are never reused.

use std::any::Any;
use std::collections::HashMap;
use std::ffi::{c_char, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::{cce_status, set_error, to_c_string, FfiResult};

/// A Rust object the C ABI hands out behind an opaque pointer.
pub(crate) trait Handle: Send + Sync + 'static {
    /// The opaque C type the application holds a pointer to.
    type C;
    /// The C type's name, for error messages (e.g. `"cti_session"`).
    const NAME: &'static str;
}

struct Slot {
    name: &'static str,
    object: Arc<dyn Any + Send + Sync>,
}

fn table() -> MutexGuard<'static, HashMap<usize, Slot>> {
    static TABLE: OnceLock<Mutex<HashMap<usize, Slot>>> = OnceLock::new();
    TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

static NEXT_TOKEN: AtomicUsize = AtomicUsize::new(0x1000);

fn invalid_handle(name: &str) -> cce_status {
    set_error(
        cce_status::CCE_ERR_INVALID_HANDLE,
        &format!("{name} handle is NULL, unknown, or already closed"),
        None,
    )
}

fn wrong_type(name: &str, actual: &str) -> cce_status {
    set_error(
        cce_status::CCE_ERR_INVALID_ARGUMENT,
        &format!("the handle is a {actual}, not a {name}"),
        None,
    )
}

/// The typed object in `slot`, or the error for a handle of another type.
fn typed<T: Handle>(slot: &Slot) -> Result<Arc<T>, cce_status> {
    slot.object
        .clone()
        .downcast::<T>()
        .map_err(|_| wrong_type(T::NAME, slot.name))
}

/// Registers `object` and returns its new handle.
pub(crate) fn insert<T: Handle>(object: Arc<T>) -> *mut T::C {
    // Multiples of 16 so that tokens look like aligned pointers; never reused.
    let token = NEXT_TOKEN.fetch_add(16, Ordering::Relaxed);
    table().insert(
        token,
        Slot {
            name: T::NAME,
            object,
        },
    );
    token as *mut T::C
}

/// The object behind handle `h`.
pub(crate) fn get<T: Handle>(h: *const T::C) -> Result<Arc<T>, cce_status> {
    let t = table();
    let slot = t
        .get(&(h as usize))
        .ok_or_else(|| invalid_handle(T::NAME))?;
    typed(slot)
}

/// Frees handle `h` and returns its object.
pub(crate) fn remove<T: Handle>(h: *const T::C) -> Result<Arc<T>, cce_status> {
    remove_if::<T>(h, |_| Ok(()))
}

/// Frees handle `h` if `check` (run under the table's lock) accepts its object.
pub(crate) fn remove_if<T: Handle>(
    h: *const T::C,
    check: impl FnOnce(&T) -> FfiResult,
) -> Result<Arc<T>, cce_status> {
    let mut t = table();
    let key = h as usize;
    let slot = t.get(&key).ok_or_else(|| invalid_handle(T::NAME))?;
    let object = typed::<T>(slot)?;
    check(&object)?;
    t.remove(&key);
    Ok(object)
}

// ---------------------------------------------------------------------------
// Arguments.

/// Records `CCE_ERR_NULL_POINTER` for the argument `what`.
pub(crate) fn null(what: &str) -> cce_status {
    set_error(
        cce_status::CCE_ERR_NULL_POINTER,
        &format!("{what} must not be NULL"),
        None,
    )
}

/// Fails with `CCE_ERR_NULL_POINTER` ("output pointer") unless every pointer is set.
macro_rules! require_out {
    ($($p:expr),+ $(,)?) => {
        if false $(|| $p.is_null())+ {
            return Err($crate::handle::null("output pointer"));
        }
    };
}
pub(crate) use require_out;

/// Borrows a C string argument. NULL is allowed only when `optional`.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn arg_str<'a>(
    p: *const c_char,
    what: &str,
    optional: bool,
) -> Result<Option<&'a str>, cce_status> {
    if p.is_null() {
        return if optional { Ok(None) } else { Err(null(what)) };
    }
    // SAFETY: the caller promises a NUL-terminated string valid for the call.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| {
        set_error(
            cce_status::CCE_ERR_INVALID_ARGUMENT,
            &format!("{what} is not valid UTF-8"),
            None,
        )
    })
}

/// Borrows a required C string argument.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn req_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, cce_status> {
    // SAFETY: forwarded caller promise.
    Ok(unsafe { arg_str(p, what, false) }?.unwrap_or_default())
}

/// Writes `value` to the required out pointer `out`.
///
/// # Safety
/// `out` must be NULL or point to writable storage for `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> FfiResult {
    if out.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-null, and the caller promises it points to writable storage for T.
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` to the optional out pointer `out` (nothing when it is NULL).
///
/// # Safety
/// `out` must be NULL or point to writable storage for `T`.
pub(crate) unsafe fn write_opt<T>(out: *mut T, value: T) -> FfiResult {
    if !out.is_null() {
        // SAFETY: non-null, and the caller promises it points to writable storage for T.
        unsafe { out.write(value) };
    }
    Ok(())
}

/// Writes an owned C string to the optional out pointer `out` (nothing when NULL).
///
/// # Safety
/// `out` must be NULL or writable.
pub(crate) unsafe fn write_opt_string(out: *mut *mut c_char, s: String) -> FfiResult {
    if !out.is_null() {
        // SAFETY: non-null and writable per the caller.
        unsafe { out.write(to_c_string(s)) };
    }
    Ok(())
}
