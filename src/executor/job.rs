//! The unit of work in an executor's queue: the [`Job`] trait, its intrusive queue [`Link`],
//! and [`Task`], the one allocation that holds a job's closure and its result [`Slot`].

use super::slot::Slot;
use crate::Error;
use crate::ffi::{drop_quietly, panic_error};
use crate::primitive::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::Arc;

/// The queue's reference to a queued job.
pub(crate) enum JobRef {
    /// The queue shares ownership of the job: a submitted job, which may outlive its
    /// submitter (a ticket dropped unwaited).
    Owned(Arc<dyn Job>),
    /// The job lives in the frame of the one thread waiting for it (`run`'s job), which lets
    /// that frame end only once `released` is set. The worker sets it as its very last access,
    /// after the job's `run` or `fail` has returned: no reference into the frame is alive
    /// then, not even the `&self` of a method still returning.
    Borrowed { job: NonNull<dyn Job>, released: NonNull<AtomicBool> },
}

impl JobRef {
    pub(crate) fn job(&self) -> &dyn Job {
        match self {
            JobRef::Owned(job) => &**job,
            // SAFETY:
            // - The waiter keeps the job alive until `released` is set, which only the `run`
            //   or `fail` that consumes this `JobRef` does, after its last use of the job.
            JobRef::Borrowed { job, .. } => unsafe { job.as_ref() },
        }
    }

    /// Runs the job and lets go of it.
    pub(crate) fn run(self, counted: Counted<'_>) {
        self.job().run(counted);
        self.let_go();
    }

    /// Fails the job with `err` if nobody claimed it yet, then lets go of it.
    pub(crate) fn fail(self, err: Error) {
        self.job().fail(err);
        self.let_go();
    }

    fn let_go(self) {
        match self {
            JobRef::Owned(job) => drop_quietly(job),
            JobRef::Borrowed { released, .. } => {
                // SAFETY:
                // - The flag lives in the waiter's frame, which does not end before it sees
                //   this store (Release: after everything the job did).
                // - This is the last access to that frame: the job's methods have returned, so
                //   no reference into it outlives the store; the waiter may end the frame as soon
                //   as it sees it, and nothing here reads the flag again.
                unsafe { released.as_ref() }.store(true, Ordering::Release);
            }
        }
    }
}

/// A job's entry in its executor's queue, which is a lock-free stack of these links (see
/// `queue`): while the job is queued, its link holds the queue's reference to the job and a
/// pointer to the link pushed before it, so a push is one compare-exchange and allocates
/// nothing beyond the job itself.
///
/// A job is queued at most once ([`mark_queued`](Self::mark_queued) enforces it for shared
/// jobs, `run_borrowed`'s frame for its own; a refused push does not count).
/// Its cells are touched by one thread at a time, each handing them on through the queue's
/// atomic top pointer: the pusher fills them before the Release exchange that publishes the
/// link, and the worker empties them after the Acquire exchange that takes it.
pub(crate) struct Link {
    /// The queue's own reference to the job, while it is queued.
    job: UnsafeCell<Option<JobRef>>,
    /// The link pushed before this one, null at the bottom of the stack.
    below: UnsafeCell<*const Link>,
    queued: AtomicBool,
}

// SAFETY:
// - The cells hold a reference to a `Job` (`Send + Sync`: an `Arc`, or a pointer whose
//   referent outlives its use, see `JobRef::Borrowed`) and a pointer to another link; they
//   are accessed only by the thread that owns the link at the time (the pusher before
//   publishing it, the worker after taking it, or a drop with exclusive access), with the
//   queue's Release/Acquire exchanges ordering the hand-over (the `unsafe fn`s' contracts).
unsafe impl Send for Link {}
// SAFETY: as for `Send`: shared references never reach the cells concurrently.
unsafe impl Sync for Link {}

impl Link {
    pub(crate) fn new() -> Self {
        Link {
            job: UnsafeCell::new(None),
            below: UnsafeCell::new(std::ptr::null()),
            queued: AtomicBool::new(false),
        }
    }

    /// Records that the job is being queued. Panics the second time: two pushes of one job
    /// would race on its cells (no caller does it; this keeps the queue's `push` safe).
    pub(crate) fn mark_queued(&self) {
        assert!(!self.queued.swap(true, Ordering::Relaxed), "a job is queued at most once");
    }

    /// Undoes [`mark_queued`](Self::mark_queued) for a push that was refused: the job was
    /// never published, and may be pushed again.
    pub(crate) fn unmark_queued(&self) {
        self.queued.store(false, Ordering::Relaxed);
    }

    /// Stores the queue's reference to the job.
    ///
    /// # Safety
    ///
    /// - The calling thread owns the link: it won [`mark_queued`](Self::mark_queued) and has
    ///   not published the link yet.
    pub(crate) unsafe fn hold(&self, job: JobRef) {
        // SAFETY:
        // - The caller owns the link, so nothing else accesses the cell.
        self.job.with_mut(|cell| unsafe { *cell = Some(job) });
    }

    /// Sets the link below this one.
    ///
    /// # Safety
    ///
    /// - As for [`hold`](Self::hold).
    pub(crate) unsafe fn set_below(&self, below: *const Link) {
        // SAFETY:
        // - The caller owns the link, so nothing else accesses the cell.
        self.below.with_mut(|cell| unsafe { *cell = below });
    }

    /// Takes the queue's reference to the job and the link below this one, emptying the link.
    ///
    /// # Safety
    ///
    /// - The calling thread owns the link: it never published it, or it took it off the
    ///   queue with an Acquire exchange (directly, or as part of a chain below a link it
    ///   took), or it has exclusive access to the queue.
    pub(crate) unsafe fn take(&self) -> (Option<JobRef>, *const Link) {
        // SAFETY:
        // - The caller owns the link, so nothing else accesses either cell; the Acquire
        //   exchange that gave it the link makes the pusher's writes visible.
        let below =
            self.below.with_mut(|cell| unsafe { std::mem::replace(&mut *cell, std::ptr::null()) });
        // SAFETY: as above.
        let job = self.job.with_mut(|cell| unsafe { (*cell).take() });
        (job, below)
    }
}

/// A job's count in its executor's load (queued plus running jobs, the pool's placement
/// metric), handed to the job's [`run`](Job::run) by the worker: the job ends it just before it
/// publishes its outcome, so whoever sees the outcome sees the load without it. (Counted down
/// after `run` returned instead, a pool submitter that got its job's completion often found
/// the thread still busy and sent its next job to a cold one: 2–5% of one caller's `Pool.Do`
/// jobs.) Dropped without [`end`](Self::end), it ends then: exactly once either way.
#[must_use]
pub(crate) struct Counted<'a>(Option<&'a AtomicU32>);

impl<'a> Counted<'a> {
    /// The worker's count of the job it is about to run (`load` counted it when it was pushed).
    pub(crate) fn new(load: &'a AtomicU32) -> Self {
        Counted(Some(load))
    }

    /// For a job run outside the worker's loop (inline, ahead of its queue position): the
    /// worker still counts it down when it reaches the job in the queue.
    pub(crate) fn uncounted() -> Self {
        Counted(None)
    }

    /// Takes the job out of the load now.
    pub(crate) fn end(self) {}
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some(load) = self.0.take() {
            load.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A queued unit of work, type-erased for the executor's queue.
pub(crate) trait Job: Send + Sync {
    /// The job's link in the executor queue.
    fn link(&self) -> &Link;
    /// Runs the job if nobody claimed it yet (executor thread, or inline from a waiter on the
    /// executor thread), ending `counted` before it publishes the outcome.
    fn run(&self, counted: Counted<'_>);
    /// Fails the job with `err` if nobody claimed it yet, dropping its closure on this thread.
    /// Returns whether this call claimed it.
    fn fail(&self, err: Error) -> bool;
}

/// A job closure and the slot its result goes to: one allocation per job.
///
/// `repr(C)`, the slot first: see `Slot`.
#[repr(C)]
pub(crate) struct Task<F, R> {
    pub(crate) slot: Slot<R>,
    link: Link,
    f: UnsafeCell<Option<F>>,
}

// SAFETY:
// - `link` is `Sync` (its own contract).
// - `f` is touched only by the unique winner of `slot.claim()` (it takes the closure out), so
//   sharing `&Task` never gives two threads access to `F`; the winner may be any thread, hence
//   `F: Send`.
// - `value` in the slot is written by the claimer before READY and read by the single owner
//   after READY (Release/Acquire), so `R` moves between threads but is never shared: `R: Send`.
unsafe impl<F: Send, R: Send> Sync for Task<F, R> {}

impl<F, R> Task<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    pub(crate) fn new(f: F) -> Self {
        Task { link: Link::new(), slot: Slot::new(), f: UnsafeCell::new(Some(f)) }
    }

    /// Takes the closure out. Only after winning `slot.claim()`.
    fn take_closure(&self) -> Option<F> {
        // SAFETY:
        // - The caller won `slot.claim()`, which happens once per task, so this is the only
        //   access to `f` ever made after construction.
        self.f.with_mut(|f| unsafe { (*f).take() })
    }
}

impl<F, R> Job for Task<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn link(&self) -> &Link {
        &self.link
    }

    fn run(&self, counted: Counted<'_>) {
        if !self.slot.claim() {
            return;
        }
        let result = match self.take_closure() {
            Some(f) => catch_unwind(AssertUnwindSafe(f)).map_err(panic_error),
            None => Err(Error::Shutdown),
        };
        counted.end();
        self.slot.complete(result);
    }

    fn fail(&self, err: Error) -> bool {
        if !self.slot.claim() {
            return false;
        }
        drop_quietly(self.take_closure());
        self.slot.complete(Err(err));
        true
    }
}

/// What a [`Ticket`](super::Ticket) needs from its task, with the closure type erased.
pub(crate) trait TicketTask<R>: Job {
    fn slot(&self) -> &Slot<R>;
}

impl<F, R> TicketTask<R> for Task<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn slot(&self) -> &Slot<R> {
        &self.slot
    }
}
