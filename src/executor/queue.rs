//! The executor's queue and its worker loop: the state shared between an executor's handles
//! and its thread.
//!
//! The queue is a lock-free stack of the jobs' own [`Link`]s (an intrusive Treiber stack):
//! a submitter pushes with one compare-exchange on `incoming`, and the worker takes the whole
//! stack with another, reverses it into its own batch and runs it oldest first. Only the worker
//! ever removes links, and it removes all of them at once, so a stale top read by a pusher can
//! only fail that pusher's exchange (no ABA: a link that reappears at the same address is the
//! real top, and the pusher's `below` points at it). A round trip moves the queue's cache line
//! twice (push, take) and takes no lock: the previous mutex made the worker, woken by the
//! submitter's count, spin and sleep on the lock the submitter still held.
//!
//! With nothing to do the worker spins on `incoming` for its spin window, then parks on a
//! condvar after announcing it in `parked`. The Dekker pair — worker: `parked` store, `SeqCst`
//! fence, `incoming` load; submitter: `incoming` exchange, `SeqCst` fence, `parked` load —
//! means at least one side sees the other: the worker finds the job, or the submitter wakes it
//! (taking the park lock first, so the wake-up cannot fall between the worker's check and its
//! wait). A steady stream of requests never pays for a futex wake-up.
//!
//! Shutdown sets the `CLOSED` tag (bit 0) of `incoming` with an exchange: from then on every
//! push's exchange fails and the push is refused, and the worker, when it next looks at the
//! queue, takes every queued job and fails it with `Error::Shutdown` on its own thread, then
//! exits. A queued job is therefore run by the worker, or failed by the worker, or cancelled by
//! its ticket — each decided by one CAS on the job's slot — and a job that was refused was
//! never queued.

use super::job::{Job, Link};
use super::spin::{NO_CPU, note_cpu, on_same_cpu, spin_until};
use crate::Error;
use crate::ffi::drop_quietly;
use crate::primitive::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering, fence};
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

/// The tag bit of `Shared::incoming` that says the executor is shut down. Links are
/// pointer-aligned, so bit 0 of a link's address is always clear.
const CLOSED: usize = 1;

fn is_closed(top: *mut Link) -> bool {
    top.addr() & CLOSED != 0
}

/// The link a tagged top points to (null for an empty stack).
fn untagged(top: *mut Link) -> *mut Link {
    top.map_addr(|addr| addr & !CLOSED)
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
/// `repr(C)` and 64-byte alignment keep the stack's top, the load counter and the parked flag
/// (what a push touches and the worker spins on) in one cache line, apart from the cold fields.
#[repr(C, align(64))]
pub(crate) struct Shared {
    /// The top of the stack of queued jobs' links (null when empty), tagged with [`CLOSED`].
    incoming: AtomicPtr<Link>,
    /// Queued plus running jobs: the pool's placement metric.
    load: AtomicU32,
    /// The worker is parked, or about to park, on `work_cv`: a submitter must wake it.
    parked: AtomicBool,
    /// Held by the worker from its last look at the queue until it waits, and by a waker.
    park: Mutex<()>,
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
            incoming: AtomicPtr::new(std::ptr::null_mut()),
            load: AtomicU32::new(0),
            parked: AtomicBool::new(false),
            park: Mutex::new(()),
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
        is_closed(self.incoming.load(Ordering::Acquire))
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
    ///
    /// # Panics
    ///
    /// If `job` was pushed before (to any executor): a job is queued at most once.
    pub(crate) fn push(&self, job: Arc<dyn Job>) -> Result<(), Arc<dyn Job>> {
        note_cpu(&self.submitter_cpu);
        let mut top = self.incoming.load(Ordering::Relaxed);
        if is_closed(top) {
            return Err(job);
        }
        job.link().mark_queued();
        let link_ptr = std::ptr::from_ref(job.link()).cast_mut();
        // SAFETY:
        // - The link lives inside the job's allocation, alive for every use of `link` below:
        //   they all come before the exchange that publishes the link (the queue's reference
        //   to the job is held in the link until then). Once published, the worker may run
        //   and free the job at any time, and nothing here touches `link` again.
        let link = unsafe { &*link_ptr };
        self.load.fetch_add(1, Ordering::Relaxed);
        // SAFETY:
        // - We won `mark_queued` and have not published the link: this thread owns it.
        unsafe { link.hold(job) };
        loop {
            if is_closed(top) {
                self.load.fetch_sub(1, Ordering::Relaxed);
                // SAFETY:
                // - Still unpublished (every exchange failed): this thread owns the link.
                let (job, _) = unsafe { link.take() };
                return Err(job.expect("the job held above"));
            }
            // SAFETY:
            // - Still unpublished: this thread owns the link.
            unsafe { link.set_below(top) };
            // Release publishes the link's cells to the worker's Acquire take.
            match self.incoming.compare_exchange_weak(
                top,
                link_ptr,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => top = now,
            }
        }
        // Dekker with the worker's park (see the module docs).
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {
            drop(lock(&self.park));
            self.work_cv.notify_one();
        }
        Ok(())
    }

    /// Refuses new work and tells the worker to fail what is queued and exit. Idempotent.
    pub(crate) fn close(&self) {
        let mut top = self.incoming.load(Ordering::Relaxed);
        while !is_closed(top) {
            match self.incoming.compare_exchange_weak(
                top,
                top.map_addr(|addr| addr | CLOSED),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => top = now,
            }
        }
        // The worker checks `incoming` holding the park lock, so taking it here means the
        // worker either sees CLOSED before it waits or is waiting and gets this wake-up.
        drop(lock(&self.park));
        self.work_cv.notify_one();
    }

    /// Takes every queued job off the stack (leaving only the `CLOSED` tag, if set) and pushes
    /// them onto `batch` newest first, so that `batch.pop()` yields them oldest first.
    fn take_into(&self, batch: &mut Vec<Queued>) {
        let mut top = self.incoming.load(Ordering::Acquire);
        loop {
            if untagged(top).is_null() {
                return;
            }
            // Acquire pairs with the pushes' Release: their links' cells are ours to read.
            match self.incoming.compare_exchange_weak(
                top,
                top.map_addr(|addr| addr & CLOSED),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => top = now,
            }
        }
        let mut link: *const Link = untagged(top);
        while !link.is_null() {
            // SAFETY:
            // - The link is alive: the queue's reference to its job, held in the link itself,
            //   is only moved out by the `take` below, which reads `below` first.
            let owned = unsafe { &*link };
            // SAFETY:
            // - `link` was taken off the stack by the exchange above (it or a link above it,
            //   whose `below` led here): no pusher touches it again, and only this thread
            //   removes links, so this thread owns it.
            let (job, below) = unsafe { owned.take() };
            if let Some(job) = job {
                batch.push(Queued(job));
            }
            link = below;
        }
    }

    /// The worker loop: runs jobs in FIFO order until closed, then fails what is left.
    pub(crate) fn work(&self) {
        // Jobs taken off the stack, newest first: `pop` gives the oldest.
        let mut batch: Vec<Queued> = Vec::new();
        loop {
            if self.is_closed() {
                // Fail outside any lock, oldest first (a job's drop may call back into this
                // executor). After this take nothing can be pushed: every exchange sees CLOSED.
                self.take_into(&mut batch);
                while let Some(job) = batch.pop() {
                    job.0.fail(Error::Shutdown);
                    drop_quietly(job);
                    self.load.fetch_sub(1, Ordering::Relaxed);
                }
                return;
            }
            if let Some(job) = batch.pop() {
                note_cpu(&self.worker_cpu);
                job.0.run();
                drop_quietly(job);
                self.load.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            if !untagged(self.incoming.load(Ordering::Relaxed)).is_null() {
                self.take_into(&mut batch);
                continue;
            }
            let spun = spin_until(
                || !self.incoming.load(Ordering::Relaxed).is_null(),
                self.spin,
                on_same_cpu(self.submitter_cpu.load(Ordering::Relaxed)),
            );
            if spun {
                continue;
            }
            let mut parked = lock(&self.park);
            self.parked.store(true, Ordering::Relaxed);
            // Dekker with `push` (see the module docs).
            fence(Ordering::SeqCst);
            while self.incoming.load(Ordering::Relaxed).is_null() {
                parked =
                    self.work_cv.wait(parked).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            self.parked.store(false, Ordering::Relaxed);
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

impl Drop for Shared {
    /// Fails whatever is still queued (only reachable if the worker never drained the queue).
    fn drop(&mut self) {
        let mut rest = Vec::new();
        self.take_into(&mut rest);
        while let Some(job) = rest.pop() {
            drop_quietly(job);
        }
    }
}
