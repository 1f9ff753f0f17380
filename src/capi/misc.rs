//! Thread ids, scoped masks around a C callback, the EINTR probe, and the benchmark no-ops.

use crate::ffi::{self, Status, out_ptr};
use crate::sigmask::{self, SignalSet};
use crate::{Error, Result};
use std::ffi::c_void;
use std::time::Duration;

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

/// Writes `value` through an out-pointer already checked by [`out_ptr`].
///
/// # Safety
///
/// `ptr` came from `out_ptr` (non-null, aligned) and the C caller promised it is valid for a
/// write of `T`.
pub(crate) unsafe fn write_checked<T>(ptr: *mut T, value: T) {
    // SAFETY:
    // - Non-null and aligned (checked by `out_ptr`); valid for a write (the C caller's
    //   contract, forwarded by this function's own safety contract).
    unsafe { ptr.write(value) }
}

/// Returns the kernel thread id (`gettid`) of the calling thread.
///
/// Any thread; never fails. From Go, the goroutine may run on another thread right after the
/// call returns unless it holds `runtime.LockOSThread`.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_current_tid() -> i32 {
    crate::current_thread().as_raw()
}

/// Runs `cb(ctx)` on the calling thread with the signals in `signals` (bit `n - 1` for signal
/// `n`) blocked, then restores the thread's exact previous mask (`SIG_SETMASK`), also when the
/// mask cannot be applied. The only form in which a Go thread's mask may change: inside one
/// cgo call, restored before it returns.
///
/// Errors: `GOBRIDGE_E_UNBLOCKABLE` for SIGKILL, SIGSTOP or a synchronous signal (SIGSEGV,
/// SIGBUS, SIGFPE, SIGILL, SIGTRAP) — `cb` is not called; `GOBRIDGE_E_INVALID_ARGUMENT` for a
/// NULL `cb` or a bit that names no signal; `GOBRIDGE_E_SYS` if `pthread_sigmask` fails.
///
/// Any thread. `cb` runs synchronously on the calling thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus` (see the conventions at the top of the header);
/// `cb` may be called with `ctx` on the calling thread and does not unwind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_with_blocked(
    signals: u64,
    cb: Callback,
    ctx: *mut c_void,
    status: *mut Status,
) -> i32 {
    let body = || -> Result<()> {
        let job = CallbackJob::new(cb, ctx)?;
        let set = SignalSet::from_bits(signals)?;
        set.check_blockable()?;
        sigmask::with_blocked(&set, || job.call())
    };
    // SAFETY:
    // - `status` is NULL or valid for reads and writes for this call (our caller's contract).
    unsafe { ffi::call(status, body) }
}

/// Sleeps `ns` nanoseconds with `nanosleep` on the calling thread, resuming with the remaining
/// time after each `EINTR`, and writes the number of `EINTR`s to `*eintr_count`.
///
/// With `block_runtime_signals`, SIGURG and SIGPROF (the Go runtime's preemption and profiling
/// signals) are blocked for the duration and the exact previous mask restored before return:
/// signals that arrived meanwhile stay pending and are delivered then. This is the Go harness's
/// EINTR probe: without the mask a storm of SIGURG/SIGPROF at the thread yields `EINTR`s; with
/// it, none.
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` for a NULL `eintr_count`; `GOBRIDGE_E_SYS` if
/// `nanosleep` or `pthread_sigmask` fails otherwise.
///
/// Any thread; blocks the calling thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`; `eintr_count` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_sleep_interruptible(
    ns: u64,
    block_runtime_signals: bool,
    eintr_count: *mut u32,
    status: *mut Status,
) -> i32 {
    let body = || -> Result<()> {
        let out = out_ptr(eintr_count)?;
        let set = SignalSet::go_runtime();
        let block = if block_runtime_signals { Some(&set) } else { None };
        let n = sigmask::sleep_interruptible(Duration::from_nanos(ns), block)?;
        // SAFETY:
        // - `out` was checked by `out_ptr`; the caller promised it is valid for a write.
        unsafe { write_checked(out, n) };
        Ok(())
    };
    // SAFETY:
    // - `status` is NULL or valid for reads and writes for this call (our caller's contract).
    unsafe { ffi::call(status, body) }
}

/// A bare no-op: the baseline of the boundary benchmark (a cgo call with nothing behind it).
///
/// Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_bench_noop() {}

/// A no-op through the full guarded path (`ffi::call`: panic guard, status write-back), for
/// the benchmark against `gobridge_bench_noop`. Always returns 0.
///
/// Any thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_bench_noop_guarded(status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is NULL or valid for reads and writes for this call (our caller's contract).
    unsafe { ffi::call(status, || Ok(())) }
}

/// Test-only (feature `signal-hook-compare`): registers a no-op action for `sig` through
/// `signal-hook-registry`, which installs its handler with `SA_RESTART | SA_SIGINFO` but
/// without `SA_ONSTACK` and chains to the previous (Go's) handler. In a Go process the next
/// such signal that lands on a goroutine stack makes the Go runtime throw "non-Go code set up
/// signal handler without SA_ONSTACK flag": the Go harness asserts exactly that crash, to show
/// what gobridge's own handlers avoid. Never enable the feature in production.
///
/// Errors: `GOBRIDGE_E_SYS` if `sigaction` fails; `GOBRIDGE_E_PANICKED` for a signal
/// signal-hook refuses (SIGKILL, SIGSTOP, SIGSEGV, ...). Any thread; process-wide effect.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[cfg(feature = "signal-hook-compare")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_test_install_signal_hook_registry(
    sig: i32,
    status: *mut Status,
) -> i32 {
    let body = || -> Result<()> {
        // SAFETY:
        // - The action is an empty closure: async-signal-safe (no allocation, no locks).
        let id = unsafe { signal_hook_registry::register(sig, || {}) };
        // The registration stays for the life of the process (the demonstration needs it):
        // the id is not kept, so it is never unregistered.
        id.map(|_| ()).map_err(|e| {
            Error::Sys(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)))
        })
    };
    // SAFETY:
    // - `status` is NULL or valid for reads and writes for this call (our caller's contract).
    unsafe { ffi::call(status, body) }
}
