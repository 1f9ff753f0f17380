//! [`spawn_masked`]: a `std::thread` born with a signal mask.

use super::{SignalSet, spawn_masked_with};
use crate::Result;
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
