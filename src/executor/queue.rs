//! The executor's queue and its worker loop: the state shared between an executor's handles
//! and its thread.
//!
//! The queue is an intrusive singly linked list of jobs (each job carries its own `next`
//! link) under a mutex, laid out with the lock-free counters in one cache line: a handoff moves
//! that line and the job's own lines between the cores, and no separate queue buffer. A
//! submitter pushes under the lock and wakes the worker only when the worker said (under the
//! same lock) that it is parked. The worker pops under the
//! lock; with nothing to do it spins on the lock-free `pending` counter for its spin window
//! before parking, so a steady stream of requests never pays for a futex wake-up.
//!
//! Shutdown sets `closed` under the lock: from then on every push is refused, and the worker,
//! when it next looks at the queue, takes every queued job and fails it with
//! `Error::Shutdown` on its own thread, then exits. A queued job is therefore run by the worker,
//! or failed by the worker, or cancelled by its ticket — each decided by one CAS on the job's
//! slot — and a job that was refused was never queued.

use super::job::Job;
use super::spin::{NO_CPU, note_cpu, on_same_cpu, spin_until};
use crate::Error;
use crate::ffi::drop_quietly;
use crate::primitive::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use crate::primitive::sync::{Condvar, Mutex, MutexGuard};
use std::sync::Arc;
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

/// FIFO list of jobs, linked through `Job::link`. Only touched with the queue mutex held.
struct QueueState {
    head: Option<Arc<dyn Job>>,
    tail: Option<Arc<dyn Job>>,
    closed: bool,
    parked: bool,
}

impl QueueState {
    fn push(&mut self, job: Arc<dyn Job>) {
        match &self.tail {
            // SAFETY:
            // - We hold the queue mutex (`&mut self` is only reachable through the guard, or
            //   in `drop` with exclusive access), as `Link::set` requires.
            Some(tail) => unsafe { tail.link().set(Some(Arc::clone(&job))) },
            None => self.head = Some(Arc::clone(&job)),
        }
        self.tail = Some(job);
    }

    fn pop(&mut self) -> Option<Arc<dyn Job>> {
        let job = self.head.take()?;
        // SAFETY:
        // - We hold the queue mutex (see `push`), as `Link::take` requires.
        self.head = unsafe { job.link().take() };
        if self.head.is_none() {
            self.tail = None;
        }
        Some(job)
    }

    fn is_empty(&self) -> bool {
        self.head.is_none()
    }
}

impl Drop for QueueState {
    /// Unlinks iteratively (a recursive drop of a long list could overflow the stack) and
    /// fails whatever is left (only reachable if the worker never drained the queue).
    fn drop(&mut self) {
        while let Some(job) = self.pop() {
            drop_quietly(Queued(job));
        }
    }
}

/// A claim on an idle executor ([`Shared::reserve_if_idle`]); releases it when dropped.
pub(crate) struct IdleReservation<'a> {
    shared: &'a Shared,
}

impl Drop for IdleReservation<'_> {
    fn drop(&mut self) {
        self.shared.load.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The state shared by an executor's handles and its thread.
///
/// `repr(C)` and 64-byte alignment keep the queue lock, its list ends and the counters the
/// worker spins on in one cache line, apart from the cold fields.
#[repr(C, align(64))]
pub(crate) struct Shared {
    queue: Mutex<QueueState>,
    /// Number of queued jobs: what the spinning worker watches without taking the lock.
    pending: AtomicU32,
    /// Queued plus running jobs: the pool's placement metric.
    load: AtomicU32,
    /// Mirror of `QueueState::closed` for lock-free checks.
    closed: AtomicBool,
    /// The worker parks here.
    work_cv: Condvar,
    exited: Mutex<bool>,
    exit_cv: Condvar,
    spin: Duration,
    /// The CPU the worker last ran a job on, and the CPU of the last submitter ([`NO_CPU`]
    /// until known): each side skips pure spinning while the other is on its CPU. Written
    /// only on change, in the cold line, so they cost the handoff a read each.
    pub(crate) worker_cpu: AtomicU32,
    submitter_cpu: AtomicU32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(spin: Duration) -> Self {
        Shared {
            queue: Mutex::new(QueueState { head: None, tail: None, closed: false, parked: false }),
            pending: AtomicU32::new(0),
            load: AtomicU32::new(0),
            closed: AtomicBool::new(false),
            work_cv: Condvar::new(),
            exited: Mutex::new(false),
            exit_cv: Condvar::new(),
            spin,
            worker_cpu: AtomicU32::new(NO_CPU),
            submitter_cpu: AtomicU32::new(NO_CPU),
        }
    }

    pub(crate) fn spin(&self) -> Duration {
        self.spin
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed) as usize
    }

    /// Claims this executor for one job about to be pushed if it is idle (no job queued or
    /// running, and no other claim): one CAS on `load`, so two submitters never both take the
    /// same idle thread. The claim counts as load until the returned guard drops, which the
    /// submitter does after its push counted the job itself. A busy executor costs a plain
    /// read: a failed CAS would still take this line (the one its worker spins on) exclusive,
    /// once per busy executor per submission.
    pub(crate) fn reserve_if_idle(&self) -> Option<IdleReservation<'_>> {
        if self.load.load(Ordering::Relaxed) != 0 {
            return None;
        }
        self.load
            .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
            .ok()
            .map(|_| IdleReservation { shared: self })
    }

    /// Queues `job`, or hands it back untouched when the executor is closed.
    pub(crate) fn push(&self, job: Arc<dyn Job>) -> Result<(), Arc<dyn Job>> {
        note_cpu(&self.submitter_cpu);
        let mut q = lock(&self.queue);
        if q.closed {
            return Err(job);
        }
        q.push(job);
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
                // Unlink everything under the lock, fail it outside (a job's drop may call
                // back into this executor).
                let mut rest = Vec::new();
                while let Some(job) = q.pop() {
                    rest.push(Queued(job));
                }
                self.pending.store(0, Ordering::Relaxed);
                drop(q);
                for job in rest {
                    job.0.fail(Error::Shutdown);
                    drop_quietly(job);
                    self.load.fetch_sub(1, Ordering::Relaxed);
                }
                return;
            }
            if let Some(job) = q.pop() {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                drop(q);
                note_cpu(&self.worker_cpu);
                let job = Queued(job);
                job.0.run();
                drop_quietly(job);
                self.load.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            drop(q);
            let spun = spin_until(
                || self.pending.load(Ordering::Acquire) != 0 || self.closed.load(Ordering::Acquire),
                self.spin,
                on_same_cpu(self.submitter_cpu.load(Ordering::Relaxed)),
            );
            if spun {
                continue;
            }
            let mut q = lock(&self.queue);
            while q.is_empty() && !q.closed {
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
