//! Threads born with a signal mask.

use super::SignalSet;
use crate::Result;
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use std::thread::{Builder, JoinHandle};

/// Spawns a thread (configured by `builder`) whose signal mask blocks `set` (added to the
/// caller's current mask) from its first instruction.
///
/// A thread inherits its creator's mask, so the set is blocked in the caller around
/// `pthread_create` and the caller's exact mask is restored with `SIG_SETMASK` right after:
/// there is no window in which the new thread runs unmasked, and the caller (which may be a Go
/// thread inside a cgo call) ends with the mask it had.
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
    let restored = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    // Restoring a mask we just read cannot fail (EINVAL is impossible with SIG_SETMASK);
    // if it ever did, the caller's thread would keep signals blocked, which must not pass
    // silently on a Go thread.
    restored.expect("pthread_sigmask(SIG_SETMASK) with a mask it returned failed");
    spawned.map_err(|e| {
        crate::Error::Sys(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)))
    })
}
