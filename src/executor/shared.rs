//! The executor's queue and its worker loop: the state shared between an executor's handles
//! and its thread.
//!
//! The queue is a `Mutex<VecDeque>`; a submitter pushes under the lock and wakes the worker
//! only when the worker said (under the same lock) that it is parked. The worker pops under the
//! lock; with nothing to do it spins on the lock-free `pending` counter for its spin window
//! before parking, so a steady stream of requests never pays for a futex wake-up.
//!
//! Shutdown sets `closed` under the lock: from then on every push is refused, and the worker,
//! when it next looks at the queue, takes every queued job and fails it with
//! `Error::Shutdown` on its own thread, then exits. A queued job is therefore run by the worker,
//! or failed by the worker, or cancelled by its ticket — each decided by one CAS on the job's
//! slot — and a job that was refused was never queued.

use super::slot::{Job, drop_quietly, spin_until};
use crate::Error;
use crate::primitive::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::primitive::sync::{Condvar, Mutex, MutexGuard};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A job in the queue. Dropping it without running it fails it with `Shutdown`, so a job can
/// never vanish silently, whatever path drops the queue.
pub(crate) struct Queued(pub(crate) Arc<dyn Job>);

impl Drop for Queued {
    fn drop(&mut self) {
        // A no-op when the job already ran or was failed/cancelled (the claim fails).
        self.0.fail(Error::Shutdown);
    }
}

struct QueueState {
    jobs: VecDeque<Queued>,
    closed: bool,
    parked: bool,
}

/// The state shared by an executor's handles and its thread.
pub(crate) struct Shared {
    queue: Mutex<QueueState>,
    /// The worker parks here.
    work_cv: Condvar,
    /// Number of queued jobs: what the spinning worker watches without taking the lock.
    pending: AtomicUsize,
    /// Mirror of `QueueState::closed` for lock-free checks.
    closed: AtomicBool,
    /// Queued plus running jobs: the pool's placement metric.
    load: AtomicUsize,
    exited: Mutex<bool>,
    exit_cv: Condvar,
    spin: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(spin: Duration) -> Self {
        Shared {
            queue: Mutex::new(QueueState { jobs: VecDeque::new(), closed: false, parked: false }),
            work_cv: Condvar::new(),
            pending: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            load: AtomicUsize::new(0),
            exited: Mutex::new(false),
            exit_cv: Condvar::new(),
            spin,
        }
    }

    pub(crate) fn spin(&self) -> Duration {
        self.spin
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// Queues `job`, or hands it back untouched when the executor is closed.
    pub(crate) fn push(&self, job: Arc<dyn Job>) -> Result<(), Arc<dyn Job>> {
        let mut q = lock(&self.queue);
        if q.closed {
            return Err(job);
        }
        q.jobs.push_back(Queued(job));
        self.load.fetch_add(1, Ordering::Relaxed);
        self.pending.fetch_add(1, Ordering::Release);
        let wake = q.parked;
        drop(q);
        if wake {
            self.work_cv.notify_one();
        }
        Ok(())
    }

    /// Refuses new work and tells the worker to fail what is queued and exit. Idempotent.
    pub(crate) fn close(&self) {
        let mut q = lock(&self.queue);
        q.closed = true;
        self.closed.store(true, Ordering::Release);
        drop(q);
        self.work_cv.notify_one();
    }

    /// The worker loop: runs jobs in FIFO order until closed, then fails what is left.
    pub(crate) fn work(&self) {
        loop {
            let mut q = lock(&self.queue);
            if q.closed {
                let rest = std::mem::take(&mut q.jobs);
                self.pending.store(0, Ordering::Relaxed);
                drop(q);
                for job in rest {
                    job.0.fail(Error::Shutdown);
                    drop_quietly(job);
                    self.load.fetch_sub(1, Ordering::Relaxed);
                }
                return;
            }
            if let Some(job) = q.jobs.pop_front() {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                drop(q);
                job.0.run();
                drop_quietly(job);
                self.load.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            drop(q);
            let spun = spin_until(
                || self.pending.load(Ordering::Acquire) != 0 || self.closed.load(Ordering::Acquire),
                self.spin,
            );
            if spun {
                continue;
            }
            let mut q = lock(&self.queue);
            while q.jobs.is_empty() && !q.closed {
                q.parked = true;
                q = self.work_cv.wait(q).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            q.parked = false;
        }
    }

    /// Called by the worker thread as its very last action (after dropping pinned state).
    pub(crate) fn mark_exited(&self) {
        *lock(&self.exited) = true;
        self.exit_cv.notify_all();
    }

    /// Waits until the worker marked itself exited; false if `deadline` passed first.
    pub(crate) fn wait_exited(&self, deadline: Option<Instant>) -> bool {
        let mut exited = lock(&self.exited);
        loop {
            if *exited {
                return true;
            }
            match deadline {
                None => {
                    exited =
                        self.exit_cv.wait(exited).unwrap_or_else(std::sync::PoisonError::into_inner)
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    exited = self
                        .exit_cv
                        .wait_timeout(exited, deadline - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

thread_local! {
    /// On an executor thread: its queue, so a `ThreadBound` created here can be sent home.
    static HOME: RefCell<Option<Weak<Shared>>> = const { RefCell::new(None) };
}

/// Marks the calling thread as the worker of `shared` (for `ThreadBound`'s send-home).
pub(crate) fn set_home(shared: Option<Weak<Shared>>) {
    let _ = HOME.try_with(|home| *home.borrow_mut() = shared);
}

/// The executor queue of the calling thread, when it is an executor thread.
pub(crate) fn current_home() -> Option<Weak<Shared>> {
    HOME.try_with(|home| home.borrow().clone()).ok().flatten()
}
