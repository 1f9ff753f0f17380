//! [`PoolJob`]: a job that reports to a [`Completions`] queue instead of a ticket, and the
//! handle that cancels it.
//!
//! The job's `state` moves `QUEUED -> CLAIMED -> FINISHED`. Whoever wins the one
//! `QUEUED -> CLAIMED` compare-exchange owns the closure and pushes the job's only report: the
//! executor (it runs the job), the shutdown drain (`Shutdown`) or [`PoolJob::cancel`]
//! (`Cancelled`). A job whose push the executor refused was never claimed, so it reports
//! nothing: a job id exists for the caller exactly when the job will report. `FINISHED` is
//! stored after the push, so `cancel` can tell "still unfinished" from "reported".

use super::cancel::CancelToken;
use super::completions::{Completion, Completions};
use super::job::{Counted, Job, Link};
use crate::Error;
use crate::Result;
use crate::ffi::{drop_quietly, panic_error};
use crate::primitive::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicU8, Ordering};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

const QUEUED: u8 = 0;
const CLAIMED: u8 = 1;
const FINISHED: u8 = 2;

/// A job submitted with [`PinnedPool::submit_to`](super::PinnedPool::submit_to): its id (the
/// one its [`Completion`] carries) and its cancellation. Dropping it detaches nothing: the
/// job runs and reports either way.
#[derive(Clone)]
pub struct PoolJob {
    id: u64,
    task: Arc<dyn PoolTask>,
}

impl std::fmt::Debug for PoolJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolJob").field("id", &self.id).finish()
    }
}

impl PoolJob {
    /// The id its [`Completion`] carries: unique within its queue, never 0.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Cancels the job. One that has not started never runs (its closure is dropped on this
    /// thread) and reports `Err(Cancelled)` at once; one that is running has its
    /// [`CancelToken`] set ([`cancelled`](super::cancelled) is true inside it) and reports
    /// whatever it returns. Returns whether the job was still unfinished (false: its report is
    /// already queued, or taken). It reports exactly once either way.
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }
}

/// What a [`PoolJob`] needs of its task, with the closure and result types erased.
trait PoolTask: Job {
    fn cancel(&self) -> bool;
}

/// A closure, its token and the queue it reports to: one allocation per job.
struct CompletingTask<F, R> {
    link: Link,
    state: AtomicU8,
    id: u64,
    token: CancelToken,
    completions: Arc<Completions<R>>,
    f: UnsafeCell<Option<F>>,
}

// SAFETY:
// - `link` is `Sync` (its own contract).
// - `f` is touched only by the unique winner of the `QUEUED -> CLAIMED` exchange (it takes the
//   closure out), so sharing `&CompletingTask` never gives two threads access to `F`; the winner
//   may be any thread, hence `F: Send`.
// - The other fields are `Sync` (`Completions<R>` holds `R`s under a mutex and moves them out:
//   `R: Send` makes it `Sync`).
unsafe impl<F: Send, R: Send> Sync for CompletingTask<F, R> {}

impl<F, R> CompletingTask<F, R>
where
    F: FnOnce() -> Result<R> + Send,
    R: Send,
{
    fn claim(&self) -> bool {
        self.state.compare_exchange(QUEUED, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the closure out. Only after winning [`claim`](Self::claim).
    fn take_closure(&self) -> Option<F> {
        // SAFETY:
        // - The caller won `claim`, which succeeds once per task, so this is the only access
        //   to `f` ever made after construction.
        self.f.with_mut(|f| unsafe { (*f).take() })
    }

    /// The claimer's report, then `FINISHED`, stored under the queue's lock: a `cancel` that
    /// reads FINISHED (Acquire) sees the report queued, and one made after the report was
    /// taken (the taker locked the queue after this store) reads FINISHED, so it says
    /// "finished" once the report is out, as documented.
    fn report(&self, result: Result<R>) {
        self.completions.push_then(Completion { job: self.id, result }, || {
            self.state.store(FINISHED, Ordering::Release)
        });
    }
}

impl<F, R> Job for CompletingTask<F, R>
where
    F: FnOnce() -> Result<R> + Send,
    R: Send,
{
    fn link(&self) -> &Link {
        &self.link
    }

    fn run(&self, counted: Counted<'_>) {
        if !self.claim() {
            return;
        }
        let result = match self.take_closure() {
            None => Err(Error::Shutdown),
            Some(f) if self.token.is_cancelled() => {
                drop_quietly(f);
                Err(Error::Cancelled)
            }
            Some(f) => catch_unwind(AssertUnwindSafe(|| self.token.run(f)))
                .unwrap_or_else(|payload| Err(panic_error(payload))),
        };
        counted.end();
        self.report(result);
    }

    fn fail(&self, err: Error) -> bool {
        if !self.claim() {
            return false;
        }
        drop_quietly(self.take_closure());
        self.report(Err(err));
        true
    }
}

impl<F, R> PoolTask for CompletingTask<F, R>
where
    F: FnOnce() -> Result<R> + Send,
    R: Send,
{
    fn cancel(&self) -> bool {
        self.token.cancel();
        self.fail(Error::Cancelled) || self.state.load(Ordering::Acquire) != FINISHED
    }
}

/// A new job for `completions` and its handle; the caller queues the job (`Arc<dyn Job>`) and
/// hands out the handle only if the queue accepted it.
pub(crate) fn pool_job<F, R>(completions: &Arc<Completions<R>>, f: F) -> (PoolJob, Arc<dyn Job>)
where
    F: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
{
    let id = completions.next_job();
    let task = Arc::new(CompletingTask {
        link: Link::new(),
        state: AtomicU8::new(QUEUED),
        id,
        token: CancelToken::new(),
        completions: Arc::clone(completions),
        f: UnsafeCell::new(Some(f)),
    });
    (PoolJob { id, task: task.clone() }, task)
}
