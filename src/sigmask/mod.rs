//! Scoped signal masks for threads gobridge owns, or borrows for one cgo call.
//!
//! # Anatomy
//! - [`SignalSet`]: a set of standard signals with the preset a Go process needs
//!   ([`SignalSet::go_runtime`] = SIGURG + SIGPROF), set algebra and a `Debug` that prints
//!   names.
//! - [`block`] → [`MaskGuard`]: blocks a set on the current thread until the guard is dropped;
//!   the drop restores the exact previous mask with `SIG_SETMASK`. [`with_blocked`] is the
//!   closure form.
//! - [`spawn_masked`] / [`spawn_masked_with`]: a thread born with signals blocked (the set is
//!   blocked in the parent around `pthread_create`, so there is no unmasked window).
//! - [`current_mask`]: the calling thread's mask, read back from the kernel.
//! - [`retry_eintr`] and [`sleep_interruptible`]: living with EINTR (the recipe is at
//!   [`retry_eintr`]).
//!
//! # The Go rules, plainly
//! 1. **Never change the mask of a Go thread persistently.** The runtime owns the masks of the
//!    threads it created. A scoped mask on a Go thread is allowed only inside one cgo call, and
//!    it must be restored exactly before the call returns — a [`MaskGuard`] that lives inside
//!    the `extern "C"` function does precisely that (`SIG_SETMASK` with the saved set, never
//!    `SIG_UNBLOCK`, so signals that were blocked before stay blocked).
//! 2. **Threads you create may have any mask**: give them one from birth with
//!    [`spawn_masked`].
//! 3. **Never block synchronous signals** (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP): a fault
//!    while they are blocked kills the process silently and breaks Go's nil-pointer panics.
//!    SIGKILL and SIGSTOP cannot be blocked at all. Asking for any of them is
//!    [`Error::Unblockable`](crate::Error::Unblockable), and nothing changes.
//! 4. Blocking SIGURG delays goroutine preemption of that thread only while the mask is in
//!    place; blocking SIGPROF hides the thread from the CPU profiler for as long. Keep scopes
//!    to the native call that needs them.
//!
//! # Cost
//! The outermost guard makes the same two system calls as a hand-written
//! `pthread_sigmask(SIG_BLOCK)`/`pthread_sigmask(SIG_SETMASK)` pair (none on drop if the set
//! was already blocked). Nested guards whose signals are already blocked make no system call
//! at all: the thread's guard stack remembers the mask it set in a thread-local.
//!
//! # Limitations
//! - Not async-signal-safe: do not create or drop guards inside a signal handler.
//! - Between guards the thread-local knows nothing (other code may change the mask); inside a
//!   guard's scope, a mask change made behind the guard's back (raw `pthread_sigmask`) is not
//!   seen by nested guards and is undone when the outermost guard restores.
//! - A guard that is leaked (`mem::forget`) keeps its signals blocked, and defers the restore
//!   of the guards below it, until the thread exits.
//! - Only the standard signals are named by [`SignalSet`]; a saved mask is restored with every
//!   bit it had, real-time signals included.
//!
//! # Example
//! ```
//! use gobridge::sigmask::{self, SignalSet};
//! use std::time::Duration;
//!
//! // Inside one cgo call on a Go thread: sleep without being interrupted by the runtime.
//! let before = sigmask::current_mask()?;
//! let eintr = sigmask::with_blocked(&SignalSet::go_runtime(), || {
//!     sigmask::sleep_interruptible(Duration::from_millis(1), None)
//! })??;
//! assert_eq!(eintr, 0);
//! assert_eq!(sigmask::current_mask()?, before);
//! # Ok::<(), gobridge::Error>(())
//! ```

#[allow(unsafe_code)] // nanosleep
mod eintr;
#[allow(unsafe_code)] // reads the kernel's bits out of a sigset_t
mod kernel_bits;
mod mask_guard;
mod signal_set;
mod spawn;

pub use eintr::{retry_eintr, sleep_interruptible};
pub use mask_guard::{MaskGuard, block, current_mask, out_of_order_drops, with_blocked};
pub use signal_set::SignalSet;
pub use spawn::{spawn_masked, spawn_masked_with};
