//! [`MaskGuard`]: a scoped block of signals on the current thread, restored exactly on drop.
#![forbid(unsafe_code)]

use super::SignalSet;
use super::kernel_bits::kernel_bits;
use super::signal_set::UNBLOCKABLE_BITS;
use crate::{Error, Result};
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use std::cell::RefCell;
use std::marker::PhantomData;

/// One live (or dropped-out-of-order, not yet retired) guard on this thread.
#[derive(Debug)]
struct Frame {
    /// The exact mask (as the kernel returned it) before this guard's system call, or `None`
    /// when the guard made no system call because its set was already blocked.
    prev: Option<SigSet>,
    /// False once the guard was dropped; the frame is retired when every frame above it is.
    live: bool,
}

/// The calling thread's guard stack and the mask it believes the thread has.
#[derive(Debug)]
struct MaskStack {
    frames: Vec<Frame>,
    /// The thread's mask (as kernel bits) after the last change this stack made. Trusted only
    /// while `frames` is non-empty: between guards other code may change the mask freely.
    known_bits: u64,
    /// Guards dropped while a guard created after them was still alive.
    out_of_order: u64,
}

thread_local! {
    static STACK: RefCell<MaskStack> =
        const { RefCell::new(MaskStack { frames: Vec::new(), known_bits: 0, out_of_order: 0 }) };
}

/// Blocks `set` on the calling thread until the returned guard is dropped.
///
/// The guard restores the **exact** mask the thread had before — with `SIG_SETMASK` and the
/// set the kernel returned, never `SIG_UNBLOCK` — when it is dropped, including while a panic
/// unwinds. This is the only kind of mask change allowed on a thread the Go runtime owns, and
/// only within one cgo call (see the [module docs](super)).
///
/// Cost: the outermost guard on a thread makes one `pthread_sigmask(SIG_BLOCK)` call (which also
/// reads the previous mask), and its drop one `SIG_SETMASK` call — none if every signal of
/// `set` was already blocked. A nested guard whose signals are all blocked already (by an outer
/// guard) makes **no** system call, and neither does its drop: the guard stack remembers the
/// mask it set in a thread-local.
///
/// # Errors
/// - [`Error::Unblockable`] if `set` holds SIGKILL, SIGSTOP or a synchronous signal (SIGSEGV,
///   SIGBUS, SIGFPE, SIGILL, SIGTRAP); nothing changes.
/// - [`Error::Sys`] if `pthread_sigmask` fails (it does not, for valid sets).
///
/// # Drop order
/// Guards are meant to be dropped in reverse order of creation (which scopes give you for
/// free). A guard dropped while a guard created after it is still alive is **retired lazily**:
/// nothing changes at that moment; when the later guards are gone, the mask returns to what it
/// was before the earliest retired guard. So at any time every live guard's signals are
/// blocked, and when the last guard of the thread goes, the thread's mask is exactly what it
/// was before the first. Out-of-order drops are counted ([`out_of_order_drops`]) and reported
/// as an error by [`MaskGuard::restore`].
///
/// `block` is not async-signal-safe: do not call it from a signal handler.
///
/// ```
/// use gobridge::sigmask::{self, SignalSet};
///
/// let before = sigmask::current_mask()?;
/// {
///     let _guard = sigmask::block(&SignalSet::go_runtime())?;
///     assert!(SignalSet::go_runtime().is_subset(&sigmask::current_mask()?));
///     // ... a blocking native call that must not see EINTR from SIGURG/SIGPROF ...
/// }
/// assert_eq!(sigmask::current_mask()?, before);
/// # Ok::<(), gobridge::Error>(())
/// ```
pub fn block(set: &SignalSet) -> Result<MaskGuard> {
    let want = kernel_bits(set.as_sigset());
    if want & UNBLOCKABLE_BITS != 0 {
        // The slow, canonical check names the offending signal.
        set.check_blockable()?;
    }
    let pushed = STACK.try_with(|cell| -> Result<usize> {
        let mut stack = cell.borrow_mut();
        if !stack.frames.is_empty() && want & !stack.known_bits == 0 {
            // Every signal of `set` is blocked by an outer guard: nothing to do, now or later.
            stack.frames.push(Frame { prev: None, live: true });
            return Ok(stack.frames.len() - 1);
        }
        let mut old = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(set.as_sigset()), Some(&mut old))?;
        let old_bits = kernel_bits(&old);
        // When the set was already blocked the drop has nothing to restore.
        let prev = if want & !old_bits == 0 { None } else { Some(old) };
        stack.known_bits = old_bits | want;
        stack.frames.push(Frame { prev, live: true });
        Ok(stack.frames.len() - 1)
    });
    match pushed {
        Ok(index) => Ok(MaskGuard { index: index?, _not_send: PhantomData }),
        // The thread is exiting and its thread-locals are gone: refuse rather than guess.
        Err(_) => Err(Error::Shutdown),
    }
}

/// A block of signals on the current thread, undone on drop. Created by [`block`].
///
/// `!Send` and `!Sync`: a signal mask belongs to one thread, so the guard can only be dropped
/// on the thread that created it.
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let guard = gobridge::sigmask::block(&gobridge::sigmask::SignalSet::go_runtime()).unwrap();
/// send(guard); // error: `*const ()` cannot be sent between threads safely
/// ```
#[must_use = "the signals are unblocked again as soon as the guard is dropped"]
#[derive(Debug)]
pub struct MaskGuard {
    index: usize,
    _not_send: PhantomData<*const ()>,
}

impl MaskGuard {
    /// Drops the guard, reporting whether it was released in LIFO order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a guard created after this one is still alive. The guard
    /// is released anyway, under the lazy-retirement rule described at [`block`].
    pub fn restore(self) -> Result<()> {
        let in_order = release(self.index);
        std::mem::forget(self);
        if in_order {
            Ok(())
        } else {
            Err(Error::InvalidArgument("mask guard released out of LIFO order"))
        }
    }
}

impl Drop for MaskGuard {
    fn drop(&mut self) {
        release(self.index);
    }
}

/// Retires frame `index`; returns false if it was not the top of the stack.
fn release(index: usize) -> bool {
    // `try_with` fails only while the thread's locals are destroyed: the thread is exiting
    // and its mask no longer matters.
    STACK
        .try_with(|cell| {
            let mut stack = cell.borrow_mut();
            let Some(frame) = stack.frames.get_mut(index) else { return true };
            frame.live = false;
            if index + 1 != stack.frames.len() {
                stack.out_of_order += 1;
                return false;
            }
            // Pop every retired frame from the top; the mask to return to is the one before
            // the lowest popped frame that changed it (frames that changed nothing share it).
            let mut target: Option<SigSet> = None;
            while stack.frames.last().is_some_and(|f| !f.live) {
                if let Some(frame) = stack.frames.pop() {
                    if frame.prev.is_some() {
                        target = frame.prev;
                    }
                }
            }
            if let Some(target) = target {
                set_mask_exactly(&target);
                stack.known_bits = kernel_bits(&target);
            }
            true
        })
        .unwrap_or(true)
}

/// `SIG_SETMASK` with a mask the kernel handed us. It cannot fail (the only error is EINVAL
/// for a bad `how`); if it ever did, the thread would keep signals blocked — on a Go thread a
/// silent corruption of the runtime's state — so the process is aborted instead. Every
/// restore of a saved mask goes through here (the guards, and [`spawn_masked_with`]).
///
/// [`spawn_masked_with`]: super::spawn_masked_with
pub(super) fn set_mask_exactly(mask: &SigSet) {
    if pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(mask), None).is_err() {
        eprintln!("gobridge: pthread_sigmask(SIG_SETMASK) failed restoring a saved mask");
        std::process::abort();
    }
}

/// Runs `f` with `set` blocked on the calling thread, then restores the exact previous mask
/// (also when `f` panics).
///
/// # Errors
/// As [`block`]; `f` is not called then.
///
/// ```
/// use gobridge::sigmask::{self, SignalSet};
/// let blocked = sigmask::with_blocked(&SignalSet::sigprof_and_sigusr1(), || sigmask::current_mask())??;
/// assert!(SignalSet::sigprof_and_sigusr1().is_subset(&blocked));
/// # Ok::<(), gobridge::Error>(())
/// ```
pub fn with_blocked<F: FnOnce() -> R, R>(set: &SignalSet, f: F) -> Result<R> {
    let _guard = block(set)?;
    Ok(f())
}

/// The calling thread's signal mask, read from the kernel (one system call).
///
/// # Errors
/// [`Error::Sys`] if `pthread_sigmask` fails (it does not in practice).
pub fn current_mask() -> Result<SignalSet> {
    Ok(SignalSet::from(SigSet::thread_get_mask()?))
}

/// How many mask guards the calling thread dropped out of LIFO order so far.
pub fn out_of_order_drops() -> u64 {
    STACK.try_with(|cell| cell.borrow().out_of_order).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;

    fn raw_mask() -> SigSet {
        SigSet::thread_get_mask().unwrap()
    }

    #[test]
    fn nested_guards_restore_exactly() {
        let before = raw_mask();
        let a = block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
        let b = block(&SignalSet::from_signals([Signal::SIGUSR2])).unwrap();
        assert!(raw_mask().contains(Signal::SIGUSR2));
        drop(b);
        assert!(!raw_mask().contains(Signal::SIGUSR2));
        assert!(raw_mask().contains(Signal::SIGUSR1));
        drop(a);
        assert_eq!(kernel_bits(&raw_mask()), kernel_bits(&before));
    }

    #[test]
    fn unblockable_changes_nothing() {
        let before = raw_mask();
        let err = block(&SignalSet::go_runtime().with(Signal::SIGSEGV)).unwrap_err();
        assert_eq!(err, Error::Unblockable(Signal::SIGSEGV));
        assert_eq!(kernel_bits(&raw_mask()), kernel_bits(&before));
    }
}
