//! C callbacks (`void (*)(void *ctx)`) and their move to the thread that calls them.

use crate::{Error, Result};
use std::ffi::c_void;

/// A C callback: `void (*)(void *ctx)`. NULL is refused with `GOBRIDGE_E_INVALID_ARGUMENT`.
///
/// gobridge calls it exactly once per accepted job, with the `ctx` it was given, on the thread
/// the function documents. It must not unwind (no C++ exception, no Go panic) out of the
/// callback: the Go package recovers panics inside its callback.
pub type Callback = Option<unsafe extern "C" fn(ctx: *mut c_void)>;

/// A C callback and its context, moved to the thread that runs it.
#[derive(Debug)]
pub(crate) struct CallbackJob {
    cb: unsafe extern "C" fn(*mut c_void),
    ctx: *mut c_void,
}

// SAFETY:
// - Every C function that takes a callback documents that it is called on another thread (an
//   executor or pool thread) or on the calling thread, with `ctx`; the C caller promises that
//   this is allowed (the pointer is only passed back, never dereferenced by Rust).
unsafe impl Send for CallbackJob {}

impl CallbackJob {
    /// `Err(InvalidArgument)` for a NULL callback.
    pub(crate) fn new(cb: Callback, ctx: *mut c_void) -> Result<Self> {
        let cb = cb.ok_or(Error::InvalidArgument("callback is NULL"))?;
        Ok(CallbackJob { cb, ctx })
    }

    /// Calls the callback once.
    pub(crate) fn call(self) {
        // SAFETY:
        // - `cb` is a non-null function pointer the C caller passed with the promise that it
        //   may be called once with `ctx` on the thread the receiving function documents, and
        //   that it does not unwind.
        unsafe { (self.cb)(self.ctx) }
    }
}
