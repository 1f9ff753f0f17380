//! [`Completions<R>`]: finished pool jobs in one queue, with one file descriptor for all of them.
//!
//! The fd is written only when a consumer may be waiting on it: `armed` (a take left the queue
//! empty, and nothing has signalled since) and no poller registered (a poller takes what
//! arrives itself). So a steady stream of completions costs one `write` per wake-up, not one
//! per completion, and none while a waiter spins on [`Completions::poll_into`]. Every change of
//! the state, the fd's included, happens under the one lock: what a take saw of `armed` is
//! what the fd holds, so no completion is left behind an unreadable fd (modelled in loom).
#![forbid(unsafe_code)]

use crate::primitive::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::primitive::sync::{Mutex, MutexGuard};
use crate::{Error, Result};
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::os::fd::{AsFd, BorrowedFd};

/// One finished job, as [`Completions`] reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct Completion<R> {
    /// The id of [`PoolJob::id`](super::PoolJob::id): unique within its queue, never 0.
    pub job: u64,
    /// What the job returned (its value, or its own error: a job that saw its token and
    /// stopped early returns `Err(Cancelled)` itself); or `Err(Shutdown)` (the pool shut down
    /// before it started, and it never will), `Err(Cancelled)` (it was
    /// [cancelled](super::PoolJob::cancel) before it started, and never ran),
    /// `Err(Panicked(message))` (it panicked).
    pub result: Result<R>,
}

/// The queue that jobs submitted with [`PinnedPool::submit_to`](super::PinnedPool::submit_to)
/// report to, and the non-blocking eventfd that is readable while reports wait in it: any
/// number of jobs, one fd for an event loop (Go's netpoller, epoll, `poll`) to watch, and no
/// thread blocked per job.
///
/// ```
/// use gobridge::executor::{Completions, PinnedPool};
/// use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
/// use std::sync::Arc;
///
/// let pool = PinnedPool::new(2, "io")?;
/// let done = Arc::new(Completions::new()?);
/// let jobs: Vec<u64> =
///     (1..=3).map(|i| pool.submit_to(&done, move || Ok(i * 10)).map(|j| j.id())).collect::<Result<_, _>>()?;
/// let mut results = Vec::new();
/// while results.len() < jobs.len() {
///     poll(&mut [PollFd::new(done.fd(), PollFlags::POLLIN)], PollTimeout::NONE)?;
///     done.take_into(&mut results, 64)?;
/// }
/// let mut values: Vec<u64> = results.into_iter().map(|c| c.result.unwrap()).collect();
/// values.sort();
/// assert_eq!(values, [10, 20, 30]);
/// # Ok::<(), gobridge::Error>(())
/// ```
///
/// Waiting: take (`take_into`) until it returns fewer than asked, then wait for the fd; a
/// report pushed after a take makes the fd readable again. A consumer that expects a report
/// within microseconds can spin instead, inside a [`poller`](Self::poller) scope, with
/// [`poll_into`](Self::poll_into): no system call on either side.
#[derive(Debug)]
pub struct Completions<R> {
    state: Mutex<State<R>>,
    /// `state.queue.len()`, stored under the lock after every change: a spinning poller reads
    /// it instead of taking the lock, so it spins on a shared cache line and leaves the lock to
    /// the threads that push.
    queued: AtomicUsize,
    efd: EventFd,
    last_job: AtomicU64,
}

#[derive(Debug)]
struct State<R> {
    queue: Vec<Completion<R>>,
    /// The fd is not readable and the next completion must make it so.
    armed: bool,
    /// Pollers between `poll_begin` and `poll_end`.
    pollers: u32,
}

/// A spinning consumer's registration ([`Completions::poller`]): while one exists, reports do
/// not make the fd readable. Dropping the last one makes the fd readable if reports are still
/// queued, so none is stranded.
#[derive(Debug)]
pub struct Poller<'a, R> {
    completions: &'a Completions<R>,
}

impl<R> Poller<'_, R> {
    /// [`Completions::poll_into`].
    pub fn poll_into(&self, out: &mut Vec<Completion<R>>, max: usize) -> usize {
        self.completions.poll_into(out, max)
    }
}

impl<R> Drop for Poller<'_, R> {
    fn drop(&mut self) {
        let _ = self.completions.poll_end(); // begun in `poller`: cannot be unmatched
    }
}

impl<R> Completions<R> {
    /// An empty queue and its eventfd (close-on-exec, non-blocking).
    ///
    /// Errors: `Sys` (`EMFILE`, `ENFILE`, `ENOMEM`).
    pub fn new() -> Result<Self> {
        let efd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        Ok(Completions {
            state: Mutex::new(State { queue: Vec::new(), armed: true, pollers: 0 }),
            queued: AtomicUsize::new(0),
            efd,
            last_job: AtomicU64::new(0),
        })
    }

    /// The fd: readable while reports are queued (and no [`Poller`] exists). Owned by the
    /// queue: never read it or close it yourself.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.efd.as_fd()
    }

    /// The next job id: 1, 2, ... (0 is never an id).
    pub(crate) fn next_job(&self) -> u64 {
        self.last_job.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a report, making the fd readable if a consumer may be waiting on it, and calls
    /// `queued` with the report queued and the queue still locked: whoever takes the report
    /// (under the lock) sees what `queued` did.
    pub(crate) fn push_then(&self, completion: Completion<R>, queued: impl FnOnce()) {
        let mut st = self.lock();
        st.queue.push(completion);
        queued();
        self.queued.store(st.queue.len(), Ordering::Release);
        if st.pollers == 0 {
            self.signal_if_armed(&mut st);
        }
    }

    /// Makes the fd readable if a consumer may be waiting on it. The counter only saturates
    /// after 2^64 - 2 unread writes, and then it is readable anyway: the error is ignored.
    fn signal_if_armed(&self, st: &mut State<R>) {
        if st.armed {
            st.armed = false;
            let _ = self.efd.write(1);
        }
    }

    /// Moves up to `max` reports, oldest first, to the end of `out`, and returns how many. The
    /// fd consumer's take: it resets the fd first if it was signalled, and arms it when the
    /// queue is left empty (else keeps it readable), so a report pushed after this call makes
    /// the fd readable again: no lost wake-up.
    ///
    /// Errors: `Sys` if reading the eventfd fails (it cannot, short of a kernel fault); nothing
    /// is moved then.
    pub fn take_into(&self, out: &mut Vec<Completion<R>>, max: usize) -> Result<usize> {
        self.take_each(max, |c| out.push(c))
    }

    /// [`take_into`](Self::take_into), handing each report to `f` under the queue's lock (the
    /// C ABI converts them in place). `f` must not touch this queue.
    pub(crate) fn take_each(&self, max: usize, f: impl FnMut(Completion<R>)) -> Result<usize> {
        let mut st = self.lock();
        if !st.armed {
            match self.efd.read() {
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(e) => return Err(Error::Sys(e)),
            }
            st.armed = true;
        }
        let n = self.move_out(&mut st.queue, max, f);
        if !st.queue.is_empty() {
            self.signal_if_armed(&mut st);
        }
        Ok(n)
    }

    /// Moves up to `max` reports to the end of `out` without a system call and without
    /// touching the fd: the take of a consumer that spins (inside a [`poller`](Self::poller)
    /// scope) rather than waiting on the fd. Outside such a scope it works too, but the fd may
    /// then stay readable with nothing queued (a spurious wake-up for the fd consumer).
    pub fn poll_into(&self, out: &mut Vec<Completion<R>>, max: usize) -> usize {
        self.poll_each(max, |c| out.push(c))
    }

    /// [`poll_into`](Self::poll_into) with `f` as in [`take_each`](Self::take_each).
    pub(crate) fn poll_each(&self, max: usize, f: impl FnMut(Completion<R>)) -> usize {
        // Reading "empty" while a push is under way is a poll that found nothing; the poller
        // polls again or ends, and `poll_end` (under the lock) hands anything left to the fd.
        if self.looks_empty() {
            return 0;
        }
        self.move_out(&mut self.lock().queue, max, f)
    }

    /// Whether no report is queued, without the lock (a hint: a push may be under way). What
    /// [`poll_into`](Self::poll_into) checks first; the C ABI checks it before its own lock.
    pub(crate) fn looks_empty(&self) -> bool {
        // Acquire pairs with `push`'s Release: a report seen here is in the queue.
        self.queued.load(Ordering::Acquire) == 0
    }

    /// Registers a spinning consumer until the guard drops (see [`Poller`]). Pollers nest.
    pub fn poller(&self) -> Poller<'_, R> {
        self.poll_begin();
        Poller { completions: self }
    }

    /// The C ABI's unscoped [`poller`](Self::poller) (`gobridge_pool_poll_begin`).
    pub(crate) fn poll_begin(&self) {
        let mut st = self.lock();
        st.pollers = st.pollers.saturating_add(1);
    }

    /// Ends one poller's registration; the last one hands what is still queued to the fd.
    /// `InvalidArgument` (and nothing changes) without a registration to end.
    pub(crate) fn poll_end(&self) -> Result<()> {
        let mut st = self.lock();
        if st.pollers == 0 {
            return Err(Error::InvalidArgument("gobridge_pool_poll_end without poll_begin"));
        }
        st.pollers -= 1;
        if st.pollers == 0 && !st.queue.is_empty() {
            self.signal_if_armed(&mut st);
        }
        Ok(())
    }

    /// Moves up to `max` reports out, oldest first; the caller holds the lock (`queue` is
    /// its state's).
    fn move_out(
        &self,
        queue: &mut Vec<Completion<R>>,
        max: usize,
        f: impl FnMut(Completion<R>),
    ) -> usize {
        let n = queue.len().min(max);
        queue.drain(..n).for_each(f);
        self.queued.store(queue.len(), Ordering::Relaxed);
        n
    }
}
