//! [`Ticket<R>`]: the claim on the result of a submitted job.
#![forbid(unsafe_code)]

use super::job::TicketTask;
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
    task: Arc<dyn TicketTask<R>>,
    /// The executor's thread: waiting there on a still-queued job runs it inline.
    home: ThreadId,
    spin: Duration,
}

impl<R> std::fmt::Debug for Ticket<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("executor_tid", &self.home)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl<R> Ticket<R> {
    pub(crate) fn new(task: Arc<dyn TicketTask<R>>, home: ThreadId, spin: Duration) -> Self {
        Ticket { task, home, spin }
    }

    /// Waits for the result: the job's value, `Err(Panicked)` if it panicked, `Err(Shutdown)`
    /// if shutdown failed it before it started, `Err(Cancelled)` if it was
    /// [cancelled](Self::cancel).
    ///
    /// Waiting on the executor's own thread for a job that has not started yet runs it inline
    /// (ahead of its queue position) instead of deadlocking. After a successful
    /// [`try_take`](Self::try_take) the result is gone: `Err(InvalidArgument)`.
    pub fn wait(mut self) -> Result<R> {
        self.run_inline_if_home();
        while !self.task.slot().wait(self.spin, None, false) {}
        self.taken_or_result()
    }

    /// Waits at most `timeout`; `Err(Timeout)` leaves the ticket usable (wait again, poll, or
    /// cancel). Otherwise as [`wait`](Self::wait).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<R> {
        self.run_inline_if_home();
        if !self.task.slot().wait(self.spin, Some(Instant::now() + timeout), false) {
            return Err(Error::Timeout);
        }
        self.taken_or_result()
    }

    /// The result if it is ready, without waiting: `None` while the job is queued or running
    /// (and after the result was taken).
    pub fn try_take(&mut self) -> Option<Result<R>> {
        self.task.slot().take()
    }

    /// Whether the result is ready (also true once it has been taken).
    pub fn is_ready(&self) -> bool {
        self.task.slot().is_ready()
    }

    /// A file descriptor that becomes readable (`POLLIN`) once the result is ready — also when
    /// it was ready before this call. Wait for it with `poll`/`epoll` or Go's netpoller, then
    /// call [`wait`](Self::wait) or [`try_take`](Self::try_take), which no longer block.
    ///
    /// It is an eventfd created on the first call (tickets that are never watched cost no
    /// system call) and closed with the ticket; do not read from or close it yourself.
    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        self.task.slot().fd()
    }

    /// Cancels the job if it has not started: it will never run, the closure is dropped on
    /// this thread, the ticket becomes ready, and its result is `Err(Cancelled)`.
    ///
    /// Returns false (and changes nothing) if the job already started, finished, or was failed
    /// by shutdown.
    pub fn cancel(&self) -> bool {
        self.task.fail(Error::Cancelled)
    }

    fn run_inline_if_home(&self) {
        if self.task.slot().is_queued() && current_thread() == self.home {
            self.task.run();
        }
    }

    fn taken_or_result(&mut self) -> Result<R> {
        self.task
            .slot()
            .take()
            .unwrap_or(Err(Error::InvalidArgument("the ticket's result was already taken")))
    }
}
