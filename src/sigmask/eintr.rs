//! Living with EINTR: [`retry_eintr`] and [`sleep_interruptible`].

use super::{SignalSet, block};
use crate::{Error, Result};
use nix::errno::Errno;
use std::time::Duration;

/// Calls `f` again as long as it fails with `EINTR`; returns its first other result.
///
/// This is right for calls that are safe to repeat as they are (`read`, `write`, `waitpid`,
/// `close` is **not** one of them on Linux). For calls with a timeout (`poll`, `nanosleep`,
/// `epoll_wait`) a plain retry restarts the whole timeout after every signal; under Go's
/// SIGPROF/SIGURG storm that can mean never finishing. The recipe, in order of preference:
///
/// 1. Block the Go runtime's asynchronous signals for the duration of the call —
///    [`with_blocked`](super::with_blocked)`(&SignalSet::go_runtime(), ..)` — so EINTR cannot
///    happen at all (allowed on a Go thread because the mask is restored before the cgo call
///    returns). A signal that arrives meanwhile stays pending and is delivered when the mask is
///    restored; the runtime tolerates that (a preemption request is simply retried later, a
///    profiling sample arrives late).
/// 2. Otherwise retry with the remaining time (`nanosleep`'s `rem`, or a deadline you recompute),
///    as [`sleep_interruptible`] does.
/// 3. Use `retry_eintr` for calls without timeouts.
///
/// ```
/// use gobridge::sigmask::retry_eintr;
/// use nix::unistd::{pipe, read, write};
/// let (r, w) = pipe().unwrap();
/// retry_eintr(|| write(&w, b"x")).unwrap();
/// let mut buf = [0u8; 1];
/// assert_eq!(retry_eintr(|| read(&r, &mut buf)).unwrap(), 1);
/// ```
pub fn retry_eintr<T>(mut f: impl FnMut() -> nix::Result<T>) -> nix::Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// Sleeps the calling thread for `d` with `nanosleep`, resuming with the remaining time after
/// every `EINTR`, and returns how many times the sleep was interrupted.
///
/// With `Some(set)`, `set` is blocked for the duration (a scoped [`block`] guard, restored
/// exactly before returning), so signals in it cannot interrupt the sleep: pass
/// [`SignalSet::go_runtime()`] to sleep through Go's preemption and profiling signals. This is
/// the C ABI's `gobridge_sleep_interruptible` and the Go harness's EINTR measurement.
///
/// # Errors
/// [`Error::Unblockable`] from the guard; [`Error::InvalidArgument`] if `d` does not fit a
/// `timespec`; [`Error::Sys`] for any other `nanosleep` failure.
///
/// ```
/// use gobridge::sigmask::{SignalSet, sleep_interruptible};
/// use std::time::Duration;
/// let interrupted =
///     sleep_interruptible(Duration::from_millis(1), Some(&SignalSet::go_runtime()))?;
/// assert_eq!(interrupted, 0);
/// # Ok::<(), gobridge::Error>(())
/// ```
pub fn sleep_interruptible(d: Duration, block_set: Option<&SignalSet>) -> Result<u32> {
    let _guard = block_set.map(block).transpose()?;
    let mut request = libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs())
            .map_err(|_| Error::InvalidArgument("sleep duration too long"))?,
        tv_nsec: d.subsec_nanos().into(),
    };
    let mut interrupted = 0u32;
    loop {
        let mut remaining = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY:
        // - `request` and `remaining` are valid, initialised `timespec`s on this stack frame,
        //   borrowed only for the duration of the call.
        // - `request.tv_nsec` is below 1e9 (from `subsec_nanos`, or the kernel's `rem`).
        let rc = unsafe { libc::nanosleep(&request, &mut remaining) };
        if rc == 0 {
            return Ok(interrupted);
        }
        match Errno::last() {
            Errno::EINTR => {
                interrupted = interrupted.saturating_add(1);
                request = remaining;
            }
            e => return Err(Error::Sys(e)),
        }
    }
}
