//! [`Ticket<R>`]: the claim on the result of a submitted job.
#![forbid(unsafe_code)]

use super::job::{Counted, TicketTask};
use crate::{Error, Result, ThreadId, current_thread};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The result of a job queued with [`PinnedExecutor::submit`](super::PinnedExecutor::submit)
/// (or a pool's `submit`): wait for it, poll it, or watch a file descriptor.
///
/// Dropping a ticket detaches the job: it still runs, and its result is dropped.
///
/// ```
/// use gobridge::executor::PinnedExecutor;
/// use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
///
/// let exec = PinnedExecutor::new("worker")?;
/// let ticket = exec.submit(|| 6 * 7)?;
/// // An event loop (Go's netpoller, epoll, poll) can wait for readiness without a thread:
/// let mut fds = [PollFd::new(ticket.fd()?, PollFlags::POLLIN)];
/// poll(&mut fds, PollTimeout::NONE)?;
/// assert!(ticket.is_ready());
/// assert_eq!(ticket.wait()?, 42);
/// # Ok::<(), gobridge::Error>(())
/// ```
pub struct Ticket<R> {
    watch: TicketWatch<R>,
}

/// What a ticket does without taking the result — wait until ready (running a queued job
/// inline on its executor's thread), fd, cancel — through `&self`, so a holder that shares a
/// ticket (the C ABI's tickets) never holds a lock while the job runs. Taking the result stays
/// with the [`Ticket`] (its single owner).
pub(crate) struct TicketWatch<R> {
    task: Arc<dyn TicketTask<R>>,
    /// The executor's thread: waiting there on a still-queued job runs it inline.
    home: ThreadId,
    spin: Duration,
}

impl<R> std::fmt::Debug for TicketWatch<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketWatch").field("executor_tid", &self.home).finish()
    }
}

impl<R> Clone for TicketWatch<R> {
    fn clone(&self) -> Self {
        TicketWatch { task: Arc::clone(&self.task), home: self.home, spin: self.spin }
    }
}

impl<R> TicketWatch<R> {
    /// Waits until the result is ready or `deadline` passes; true when ready.
    ///
    /// On the executor's thread, a job that has not started is run inline first (ahead of its
    /// queue position) instead of deadlocking. Called from inside the job itself (its own
    /// closure, further up this thread's stack) it returns `Err(InvalidArgument)` at once:
    /// the job cannot finish while its caller waits for it.
    pub(crate) fn wait_ready(&self, deadline: Option<Instant>) -> Result<bool> {
        let slot = self.task.slot();
        if slot.is_queued() && current_thread() == self.home {
            self.task.run(Counted::uncounted());
        }
        self.refuse_self_wait()?;
        match deadline {
            None => {
                while !slot.wait(self.spin, None, false) {}
                Ok(true)
            }
            Some(deadline) => Ok(slot.wait(self.spin, Some(deadline), false)),
        }
    }

    /// `Err(InvalidArgument)` when called from inside the job itself (claimed by this thread
    /// and not finished): waiting for it here would wait for ever.
    pub(crate) fn refuse_self_wait(&self) -> Result<()> {
        if self.task.slot().claimed_here() {
            return Err(Error::InvalidArgument("a job cannot wait for its own ticket"));
        }
        Ok(())
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.task.slot().is_ready()
    }

    pub(crate) fn fd(&self) -> Result<BorrowedFd<'_>> {
        self.task.slot().fd()
    }

    pub(crate) fn cancel(&self) -> bool {
        self.task.fail(Error::Cancelled)
    }
}

impl<R> std::fmt::Debug for Ticket<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("executor_tid", &self.watch.home)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl<R> Ticket<R> {
    pub(crate) fn new(task: Arc<dyn TicketTask<R>>, home: ThreadId, spin: Duration) -> Self {
        Ticket { watch: TicketWatch { task, home, spin } }
    }

    /// A handle for waiting, fd and cancel through `&self` (see [`TicketWatch`]), for holders
    /// that share a ticket (the C ABI's tickets).
    #[cfg(feature = "capi")]
    pub(crate) fn watch(&self) -> TicketWatch<R> {
        self.watch.clone()
    }

    /// Waits for the result: the job's value, `Err(Panicked)` if it panicked, `Err(Shutdown)`
    /// if shutdown failed it before it started, `Err(Cancelled)` if it was
    /// [cancelled](Self::cancel).
    ///
    /// Waiting on the executor's own thread for a job that has not started yet runs it inline
    /// (ahead of its queue position) instead of deadlocking. Waiting from inside the job itself
    /// (a job that reached its own ticket, say through a shared `Mutex<Option<Ticket>>`) is
    /// `Err(InvalidArgument)` at once, not a wait for ever. After a successful
    /// [`try_take`](Self::try_take) the result is gone: `Err(InvalidArgument)`.
    pub fn wait(mut self) -> Result<R> {
        self.watch.wait_ready(None)?;
        self.taken_or_result()
    }

    /// Waits at most `timeout`; `Err(Timeout)` leaves the ticket usable (wait again, poll, or
    /// cancel). Otherwise as [`wait`](Self::wait).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<R> {
        if !self.watch.wait_ready(Some(Instant::now() + timeout))? {
            return Err(Error::Timeout);
        }
        self.taken_or_result()
    }

    /// The result if it is ready, without waiting: `None` while the job is queued or running
    /// (and after the result was taken).
    pub fn try_take(&mut self) -> Option<Result<R>> {
        self.watch.task.slot().take()
    }

    /// Whether the result is ready (also true once it has been taken).
    pub fn is_ready(&self) -> bool {
        self.watch.is_ready()
    }

    /// A file descriptor that becomes readable (`POLLIN`) once the result is ready — also when
    /// it was ready before this call. Wait for it with `poll`/`epoll` or Go's netpoller, then
    /// call [`wait`](Self::wait) or [`try_take`](Self::try_take), which no longer block.
    ///
    /// It is an eventfd created on the first call (tickets that are never watched cost no
    /// system call) and closed with the ticket; do not read from or close it yourself.
    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        self.watch.fd()
    }

    /// Cancels the job if it has not started: it will never run, the closure is dropped on
    /// this thread, the ticket becomes ready, and its result is `Err(Cancelled)`.
    ///
    /// Returns false (and changes nothing) if the job already started, finished, or was failed
    /// by shutdown.
    pub fn cancel(&self) -> bool {
        self.watch.cancel()
    }

    fn taken_or_result(&mut self) -> Result<R> {
        self.try_take()
            .unwrap_or(Err(Error::InvalidArgument("the ticket's result was already taken")))
    }
}
