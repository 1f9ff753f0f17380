//! C callbacks (`void (*)(void *ctx)`) and their move to the thread that calls them.

use crate::{Error, Result};
use nix::sys::signal::SigSet;
use std::cell::Cell;
use std::ffi::c_void;

thread_local! {
    /// A callback on this thread left the signal mask as it found it: Go's M is bound here and
    /// later callbacks need no check.
    static MASK_SETTLED: Cell<bool> = const { Cell::new(false) };
}

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

    /// Calls the callback once, and puts the thread's signal mask back as it was.
    ///
    /// The callback is usually Go's: a cgo callback on a thread Go did not create (an executor
    /// or pool thread) goes through the runtime's `needm`, which sets the thread's mask to the
    /// runtime's own (SIGURG and SIGPROF unblocked) and keeps it so. Restoring the exact mask
    /// found before the call (`SIG_SETMASK`) keeps the mask a gobridge thread was born with for
    /// its whole life; on a Go thread (`gobridge_with_blocked`) it is a no-op.
    ///
    /// The check costs two system calls, so a thread stops making it once a callback has left
    /// the mask unchanged: from then on Go keeps its M bound to the thread and does not run
    /// `needm` again (Go 1.21 and later; `TestThreadMaskSurvivesGoCallbacks` in the Go harness
    /// checks the mask after several callbacks, so a Go release that behaves otherwise fails it).
    pub(crate) fn call(self) {
        let check = MASK_SETTLED.try_with(|settled| !settled.get()).unwrap_or(true);
        let before = if check { SigSet::thread_get_mask().ok() } else { None };
        // SAFETY:
        // - `cb` is a non-null function pointer the C caller passed with the promise that it
        //   may be called once with `ctx` on the thread the receiving function documents, and
        //   that it does not unwind.
        unsafe { (self.cb)(self.ctx) }
        // Reading or setting our own thread's mask with a valid set cannot fail (EINVAL is for
        // a bad `how`); if it ever did, the mask stays as the callback left it.
        if let Some(before) = before {
            match SigSet::thread_get_mask() {
                Ok(after) if after == before => {
                    let _ = MASK_SETTLED.try_with(|settled| settled.set(true));
                }
                _ => {
                    let _ = before.thread_set_mask();
                }
            }
        }
    }
}
