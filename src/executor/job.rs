//! The unit of work in an executor's queue: the [`Job`] trait, its intrusive queue [`Link`],
//! and [`Task`], the one allocation that holds a job's closure and its result [`Slot`].

use super::slot::Slot;
use crate::Error;
use crate::ffi::{drop_quietly, panic_error};
use crate::primitive::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// The intrusive `next` pointer of a queued job: the executor's queue is a singly linked list
/// of jobs under the queue mutex, so pushing and popping touch the queue's own cache line and
/// the job, and no separate buffer.
pub(crate) struct Link(UnsafeCell<Option<Arc<dyn Job>>>);

impl Link {
    pub(crate) fn new() -> Self {
        Link(UnsafeCell::new(None))
    }

    /// # Safety
    ///
    /// - Only with the mutex of the queue that holds this job locked (or with exclusive access
    ///   to that queue).
    pub(crate) unsafe fn set(&self, next: Option<Arc<dyn Job>>) {
        // SAFETY:
        // - The caller holds the queue lock: no other access to any link of this queue.
        self.0.with_mut(|link| unsafe { *link = next });
    }

    /// # Safety
    ///
    /// - As for [`set`](Self::set).
    pub(crate) unsafe fn take(&self) -> Option<Arc<dyn Job>> {
        // SAFETY:
        // - The caller holds the queue lock: no other access to any link of this queue.
        self.0.with_mut(|link| unsafe { (*link).take() })
    }
}

/// A queued unit of work, type-erased for the executor's queue.
pub(crate) trait Job: Send + Sync {
    /// The job's link in the executor queue.
    fn link(&self) -> &Link;
    /// Runs the job if nobody claimed it yet (executor thread, or inline from a waiter on the
    /// executor thread).
    fn run(&self);
    /// Fails the job with `err` if nobody claimed it yet, dropping its closure on this thread.
    /// Returns whether this call claimed it.
    fn fail(&self, err: Error) -> bool;
}

/// A job closure and the slot its result goes to: one allocation per job.
pub(crate) struct Task<F, R> {
    link: Link,
    pub(crate) slot: Slot<R>,
    f: UnsafeCell<Option<F>>,
}

// SAFETY:
// - `link` is touched only under the lock of the queue that holds the task (`Link`'s contract).
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

    fn run(&self) {
        if !self.slot.claim() {
            return;
        }
        let result = match self.take_closure() {
            Some(f) => catch_unwind(AssertUnwindSafe(f)).map_err(panic_error),
            None => Err(Error::Shutdown),
        };
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
