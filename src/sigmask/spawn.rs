//! Threads born with a signal mask: [`spawn_masked`] and [`spawn_masked_with`].
#![forbid(unsafe_code)]

use super::SignalSet;
use super::mask_guard::set_mask_exactly;
use crate::Result;
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use std::thread::{Builder, JoinHandle};

/// Spawns a thread whose signal mask blocks `set` (in addition to the caller's mask) from its
/// first instruction, so it never runs a handler for those signals and never sees EINTR from
/// them. The caller's mask is unchanged when this returns.
///
/// This is how gobridge's own threads keep the Go runtime's SIGURG/SIGPROF away from blocking
/// native calls; threads that non-Go code creates may have any mask. Use
/// [`spawn_masked_with`] for a name or stack size.
///
/// # Errors
/// [`Error::Unblockable`](crate::Error::Unblockable) (nothing spawned) or
/// [`Error::Sys`](crate::Error::Sys) if the thread cannot be created.
///
/// ```
/// use gobridge::sigmask::{self, SignalSet};
/// let inside = sigmask::spawn_masked(&SignalSet::go_runtime(), sigmask::current_mask)?
///     .join()
///     .unwrap()?;
/// assert!(SignalSet::go_runtime().is_subset(&inside));
/// # Ok::<(), gobridge::Error>(())
/// ```
pub fn spawn_masked<F, T>(set: &SignalSet, f: F) -> Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_masked_with(Builder::new(), set, f)
}

/// Spawns a thread (configured by `builder`) whose signal mask blocks `set` (added to the
/// caller's current mask) from its first instruction.
///
/// A thread inherits its creator's mask, so the set is blocked in the caller around
/// `pthread_create` and the caller's exact mask is restored with `SIG_SETMASK` right after:
/// there is no window in which the new thread runs unmasked, and the caller (which may be a Go
/// thread inside a cgo call) ends with the mask it had. Should that restore ever fail (it
/// cannot), the process aborts, as a mask guard's would: a Go thread left with signals
/// blocked is not a state to continue from.
///
/// Returns `Error::Unblockable` (spawning nothing) when `set` holds a signal that must never be
/// blocked, and `Error::Sys` when the thread cannot be created.
pub fn spawn_masked_with<F, T>(builder: Builder, set: &SignalSet, f: F) -> Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    set.check_blockable()?;
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(set.as_sigset()), Some(&mut previous))?;
    let spawned = builder.spawn(f);
    set_mask_exactly(&previous);
    spawned.map_err(|e| {
        crate::Error::Sys(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)))
    })
}
