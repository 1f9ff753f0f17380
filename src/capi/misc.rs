//! Thread ids, a scoped mask around a C callback, and the signal-hook comparison.

use super::callback::{Callback, CallbackJob};
use crate::ffi::{self, Status};
use crate::sigmask::{self, SignalSet};
use std::ffi::c_void;

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
    let body = || {
        let job = CallbackJob::new(cb, ctx)?;
        let set = SignalSet::from_bits(signals)?;
        set.check_blockable()?;
        sigmask::with_blocked(&set, || job.call())
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
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
    let body = || {
        // SAFETY:
        // - The action is an empty closure: async-signal-safe (no allocation, no locks).
        let id = unsafe { signal_hook_registry::register(sig, || {}) };
        // The registration stays for the life of the process (the demonstration needs it):
        // the id is not kept, so it is never unregistered.
        id.map(|_| ()).map_err(|e| {
            crate::Error::Sys(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)))
        })
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}
