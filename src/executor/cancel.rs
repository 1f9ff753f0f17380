//! [`CancelToken`]: cancellation that reaches a job while it runs.
//!
//! Withdrawing a queued job ([`Ticket::cancel`](crate::executor::Ticket::cancel)) cannot stop
//! one that has started. A long job stops early only if it looks: it runs inside a token's
//! [`run`](CancelToken::run) and polls [`cancelled`] (or returns [`check_cancelled`]'s error)
//! between steps. The C ABI's tickets run every job so (`gobridge_ticket_cancel` sets the
//! token), which is how a Go `ctx` cancelled after the job started reaches Rust.

#![forbid(unsafe_code)]

use crate::{Error, Result};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared cancellation flag: cheap to clone, set once by [`cancel`](CancelToken::cancel),
/// read by the job it was given to.
///
/// ```
/// use gobridge::executor::{self, CancelToken, PinnedExecutor};
///
/// let exec = PinnedExecutor::new("crunch")?;
/// let token = CancelToken::new();
/// let job_token = token.clone();
/// let ticket = exec.submit(move || {
///     job_token.run(|| {
///         let mut steps = 0u64;
///         while !executor::cancelled() && steps < 1_000_000_000 {
///             steps += 1; // one step of a long computation
///         }
///         steps
///     })
/// })?;
/// token.cancel();
/// assert!(ticket.wait()? < 1_000_000_000); // it stopped early
/// # Ok::<(), gobridge::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

thread_local! {
    /// The token of the job running on this thread, if it runs inside [`CancelToken::run`].
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop. Idempotent; never blocks.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](CancelToken::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Runs `f` with this token as the thread's current one, so that [`cancelled`] inside `f`
    /// (and in anything `f` calls, such as a Go callback calling back into Rust on the same
    /// thread) reads it. The previous current token is restored when `f` returns or unwinds.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<CancelToken>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                // `try_with`: a job that runs while the thread's locals are torn down sees no
                // token rather than a panic.
                let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.try_with(|c| c.borrow_mut().replace(self.clone())).ok().flatten();
        let _restore = Restore(previous);
        f()
    }
}

/// Whether the job running on this thread was asked to stop: its token (see
/// [`CancelToken::run`]) was cancelled. False outside such a job.
pub fn cancelled() -> bool {
    CURRENT
        .try_with(|c| c.borrow().as_ref().is_some_and(CancelToken::is_cancelled))
        .unwrap_or(false)
}

/// `Err(Error::Cancelled)` if [`cancelled`], else `Ok(())`: for `?` between the steps of a
/// long job.
pub fn check_cancelled() -> Result<()> {
    if cancelled() { Err(Error::Cancelled) } else { Ok(()) }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn current_token_is_scoped_and_nested() {
        assert!(!cancelled());
        let outer = CancelToken::new();
        let inner = CancelToken::new();
        inner.cancel();
        outer.run(|| {
            assert!(!cancelled());
            inner.run(|| assert_eq!(check_cancelled(), Err(Error::Cancelled)));
            assert!(!cancelled(), "the outer token is current again");
            outer.cancel();
            assert!(cancelled());
        });
        assert!(!cancelled(), "no token outside run");
    }

    #[test]
    fn token_is_restored_after_a_panic() {
        let t = CancelToken::new();
        t.cancel();
        let r = std::panic::catch_unwind(|| t.run(|| panic!("job failed")));
        assert!(r.is_err());
        assert!(!cancelled());
    }
}
