//! [`PinnedExecutor`]: one OS thread that runs the jobs sent to it, in order.
#![forbid(unsafe_code)]

use super::builder::ExecutorBuilder;
use super::completions::Completions;
use super::job::Task;
use super::pool_job::{PoolJob, pool_job};
use super::queue::Shared;
use super::ticket::Ticket;
use crate::ffi::panic_error;
use crate::{Error, Result, ThreadId, current_thread};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// An OS thread of its own that runs closures sent to it, one at a time, in FIFO order.
///
/// See the [module documentation](crate::executor) for the guide. `PinnedExecutor` is `Send`
/// and `Sync`: share it (`&`, `Arc`) between any number of threads. Dropping it shuts it down
/// (see [`shutdown`](Self::shutdown)).
///
/// ```
/// use gobridge::executor::PinnedExecutor;
///
/// let exec = PinnedExecutor::new("worker")?;
/// let mut data = vec![1, 2, 3];
/// // `run` may borrow from the caller: it returns only once the job is done.
/// let sum: i32 = exec.run(|| { data.push(4); data.iter().sum() })?;
/// assert_eq!(sum, 10);
/// assert_eq!(exec.run(gobridge::current_thread)?, exec.tid());
/// # Ok::<(), gobridge::Error>(())
/// ```
///
/// Two bugs do not compile. A non-`Send` value cannot be smuggled onto the executor thread:
///
/// ```compile_fail,E0277
/// use gobridge::executor::PinnedExecutor;
/// let exec = PinnedExecutor::new("worker").unwrap();
/// let rc = std::rc::Rc::new(5);
/// exec.run(|| *rc + 1).unwrap(); // error: `Rc<i32>` cannot be shared between threads
/// ```
///
/// And a borrow cannot outlive the call: `run` may borrow because it waits for the job, but
/// `submit` returns at once, so its job must own what it uses:
///
/// ```compile_fail,E0373
/// use gobridge::executor::PinnedExecutor;
/// let exec = PinnedExecutor::new("worker").unwrap();
/// let data = vec![1, 2, 3];
/// let ticket = exec.submit(|| data.len()).unwrap(); // error: closure may outlive `data`
/// ```
///
/// ```
/// use gobridge::executor::PinnedExecutor;
/// let exec = PinnedExecutor::new("worker")?;
/// let data = vec![1, 2, 3];
/// assert_eq!(exec.submit(move || data.len())?.wait()?, 3); // `move`: the job owns `data`
/// # Ok::<(), gobridge::Error>(())
/// ```
pub struct PinnedExecutor {
    shared: Arc<Shared>,
    tid: ThreadId,
    name: String,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// A `shutdown_timeout` gave up on a running job: the drop does not wait for it again.
    gave_up: AtomicBool,
}

impl std::fmt::Debug for PinnedExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedExecutor")
            .field("name", &self.name)
            .field("tid", &self.tid)
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

impl PinnedExecutor {
    /// Spawns an executor thread named `name` with the defaults of [`ExecutorBuilder`].
    pub fn new(name: &str) -> Result<Self> {
        Self::builder().name(name).spawn()
    }

    /// A builder for name, stack size, signal mask and spin window.
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::new()
    }

    pub(crate) fn from_parts(
        shared: Arc<Shared>,
        tid: ThreadId,
        thread: JoinHandle<()>,
        name: String,
    ) -> Self {
        PinnedExecutor {
            shared,
            tid,
            name,
            thread: std::sync::Mutex::new(Some(thread)),
            gave_up: AtomicBool::new(false),
        }
    }

    /// The kernel thread id (`gettid`) of the executor's thread.
    pub fn tid(&self) -> ThreadId {
        self.tid
    }

    /// The thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Jobs queued or running right now (a snapshot; what [`PinnedPool`](super::PinnedPool)
    /// places unkeyed work by).
    pub fn load(&self) -> usize {
        self.shared.load()
    }

    /// Whether the calling thread is this executor's thread.
    pub fn is_current(&self) -> bool {
        current_thread() == self.tid
    }

    /// Runs `f` on the executor's thread and returns its value, waiting for it.
    ///
    /// `f` may borrow from the caller (like a scoped thread): `run` does not return, not even
    /// by unwinding, while the job may still use those borrows.
    ///
    /// - Called on the executor's own thread (from inside a job), `f` runs inline at once.
    /// - A panic in `f` is `Err(Panicked(message))`; the executor keeps serving.
    /// - After [`shutdown`](Self::shutdown), or when shutdown fails the queued job, it is
    ///   `Err(Shutdown)` and `f` did not run.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.run_after_queued(f, || ())
    }

    /// [`run`](Self::run), calling `queued` once the job is queued (or refused, or run inline)
    /// and before the wait: the pool releases its placement claim there.
    pub(crate) fn run_after_queued<F, R>(&self, f: F, queued: impl FnOnce()) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        if self.shared.is_closed() {
            queued();
            return Err(Error::Shutdown);
        }
        if self.is_current() {
            queued();
            return run_here(f);
        }
        self.shared.run_borrowed(f, queued)
    }

    /// Queues a `'static` job and returns a [`Ticket`] for its result.
    ///
    /// The job runs after the jobs queued before it. `Err(Shutdown)` after shutdown (the job
    /// is dropped, not run).
    pub fn submit<F, R>(&self, f: F) -> Result<Ticket<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let task = Arc::new(Task::new(f));
        if self.shared.push(task.clone()).is_err() {
            return Err(Error::Shutdown);
        }
        Ok(Ticket::new(task, self.tid, self.shared.spin()))
    }

    /// Queues a `'static` job that reports to `completions` instead of a ticket: exactly one
    /// [`Completion`](super::Completion) with the returned job's id — its value or error,
    /// `Err(Panicked)`, `Err(Shutdown)` if shutdown failed it before it started, or
    /// `Err(Cancelled)`. The job runs under its own [`CancelToken`](super::CancelToken)
    /// ([`PoolJob::cancel`] sets it). `Err(Shutdown)` after shutdown: the job is dropped and
    /// reports nothing.
    pub fn submit_to<F, R>(&self, completions: &Arc<Completions<R>>, f: F) -> Result<PoolJob>
    where
        F: FnOnce() -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (handle, job) = pool_job(completions, f);
        match self.shared.push(job) {
            Ok(()) => Ok(handle),
            Err(_) => Err(Error::Shutdown), // never claimed: it reports nothing
        }
    }

    /// Shuts the executor down and joins its thread.
    ///
    /// New `run`/`submit` calls get `Err(Shutdown)` from the moment this starts. The job that
    /// is running finishes; every job still queued is failed with `Err(Shutdown)` (on the
    /// executor thread, which then drops a [`Pinned`](super::Pinned) state and exits). Every
    /// job is therefore either run exactly once or reported as `Shutdown` to its waiter.
    ///
    /// Blocks as long as the running job does: a job that never returns blocks this forever;
    /// use [`shutdown_timeout`](Self::shutdown_timeout) to bound the wait. Idempotent, and
    /// callable from several threads at once (all return once the thread is gone).
    ///
    /// **Called from the executor's own thread** (from inside a job) it cannot wait for
    /// itself: it closes the executor and returns `Ok(())` at once; the thread finishes the
    /// current job, fails the queued ones and exits afterwards, and a later `shutdown` (or the
    /// drop) from another thread joins it.
    pub fn shutdown(&self) -> Result<()> {
        self.shutdown_until(None)
    }

    /// Like [`shutdown`](Self::shutdown), but gives up after `timeout`: `Err(Timeout)` if the
    /// running job has not returned by then. The executor stays closed; its thread exits (and
    /// fails the queued jobs) when that job returns, and a later `shutdown` can join it.
    ///
    /// Once this has timed out, dropping the executor does not wait for that job again: the
    /// thread is detached and exits by itself when the job returns. (Without a timeout, the
    /// drop waits as [`shutdown`](Self::shutdown) does.)
    pub fn shutdown_timeout(&self, timeout: Duration) -> Result<()> {
        self.shutdown_until(Some(Instant::now() + timeout))
    }

    fn shutdown_until(&self, deadline: Option<Instant>) -> Result<()> {
        self.shared.close();
        if self.is_current() {
            return Ok(());
        }
        if !self.shared.wait_exited(deadline) {
            self.gave_up.store(true, Ordering::Relaxed);
            return Err(Error::Timeout);
        }
        let handle = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(handle) = handle {
            // The thread marked itself exited as its last action; the join is immediate. Its
            // body catches every panic, so `join` cannot report one.
            let _ = handle.join();
        }
        Ok(())
    }

    /// Whether shutdown has started (new work is refused).
    pub fn is_shutdown(&self) -> bool {
        self.shared.is_closed()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for PinnedExecutor {
    /// Shuts down and joins the thread (see [`shutdown`](Self::shutdown)); on the executor's
    /// own thread it only closes it, and the thread exits after the current job. After a
    /// [`shutdown_timeout`](Self::shutdown_timeout) that timed out it only closes it too, so
    /// that a job that never returns cannot hang the drop: the thread is detached.
    fn drop(&mut self) {
        if self.gave_up.load(Ordering::Relaxed) {
            self.shared.close();
            return;
        }
        let _ = self.shutdown();
    }
}

/// Runs `f` on the calling thread (a nested `run` on the executor's own thread). Never inlined:
/// inlined into `run_after_queued`, `f`'s locals became part of every caller's frame, run
/// inline or not; in release builds a job with 4 MiB of locals overflowed the 2 MiB stack of a
/// thread that only submitted it (`stack_size_and_spin_are_configurable`).
#[inline(never)]
fn run_here<F: FnOnce() -> R, R>(f: F) -> Result<R> {
    catch_unwind(AssertUnwindSafe(f)).map_err(panic_error)
}
