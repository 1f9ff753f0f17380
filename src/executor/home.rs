//! The one hook the rest of the crate has into an executor: [`Home`], the executor whose
//! thread the caller runs on, and a way to have something finished on that thread.
//! `ThreadBound` uses it to drop a value on the thread that created it.

use super::job::{Counted, Job, Link};
use super::queue::Shared;
use crate::Error;
use std::cell::{RefCell, UnsafeCell};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

thread_local! {
    /// On an executor thread: its queue.
    static HOME: RefCell<Option<Weak<Shared>>> = const { RefCell::new(None) };
}

/// Marks the calling thread as the worker of `shared` (`None` when it stops being one).
pub(crate) fn set_home(shared: Option<Weak<Shared>>) {
    let _ = HOME.try_with(|home| *home.borrow_mut() = shared);
}

/// An executor, as seen from a value created on its thread: weak, so the value does not keep
/// the executor alive.
pub(crate) struct Home(Weak<Shared>);

impl Home {
    /// The executor of the calling thread, if it is an executor (or `Pinned`) thread.
    pub(crate) fn current() -> Option<Home> {
        HOME.try_with(|home| home.borrow().clone()).ok().flatten().map(Home)
    }

    /// Queues `finish(payload)` on the executor's thread, or returns `payload` untouched when
    /// the executor is gone or shut down.
    ///
    /// `finish` is called once: when the worker reaches the job or when shutdown fails it,
    /// both on the executor's thread; or, if the queue itself were dropped elsewhere, on that
    /// thread. A payload never finished (not possible today) is leaked, never dropped.
    ///
    /// # Safety
    ///
    /// `P` need be neither `Send` nor `Sync`: `finish` must use or drop its payload only after
    /// checking that it runs on the thread the payload belongs to, and forget it otherwise.
    pub(crate) unsafe fn finish_there<P: 'static>(
        &self,
        payload: P,
        finish: fn(P),
    ) -> Result<(), P> {
        let Some(shared) = self.0.upgrade() else { return Err(payload) };
        let task = Arc::new(HomeTask {
            link: Link::new(),
            payload: UnsafeCell::new(Some(ManuallyDrop::new(payload))),
            claimed: AtomicBool::new(false),
            finish,
        });
        match shared.push(Arc::clone(&task) as Arc<dyn Job>) {
            Ok(()) => Ok(()),
            Err(_refused) => match task.claim() {
                Some(payload) => Err(payload),
                None => unreachable!("a refused job was never queued, so nobody claimed it"),
            },
        }
    }
}

/// A payload queued by [`Home::finish_there`].
struct HomeTask<P> {
    link: Link,
    payload: UnsafeCell<Option<ManuallyDrop<P>>>,
    claimed: AtomicBool,
    finish: fn(P),
}

// SAFETY:
// - `link` is `Send + Sync` (its own contract).
// - `payload` is touched only by the one caller that flips `claimed` (so never concurrently),
//   which hands it to `finish`; `finish_there`'s contract makes `finish` use the payload only
//   on its own thread and forget it elsewhere, and an unclaimed payload is never dropped
//   (`ManuallyDrop`). So neither `P: Send` nor `P: Sync` is needed to share or send the job.
unsafe impl<P> Send for HomeTask<P> {}
// SAFETY: as for `Send`.
unsafe impl<P> Sync for HomeTask<P> {}

impl<P> HomeTask<P> {
    /// Takes the payload: `Some` for exactly one caller.
    fn claim(&self) -> Option<P> {
        if self.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY:
        // - We flipped `claimed` from false to true: the only access to `payload` ever made
        //   after construction.
        let payload = unsafe { (*self.payload.get()).take() };
        payload.map(ManuallyDrop::into_inner)
    }

    fn finish(&self) -> bool {
        match self.claim() {
            Some(payload) => {
                (self.finish)(payload);
                true
            }
            None => false,
        }
    }
}

impl<P> Job for HomeTask<P> {
    fn link(&self) -> &Link {
        &self.link
    }

    fn run(&self, _counted: Counted<'_>) {
        self.finish();
    }

    fn fail(&self, _err: Error) -> bool {
        // Shutdown fails queued jobs on the executor thread: finishing there is still home.
        self.finish()
    }
}
