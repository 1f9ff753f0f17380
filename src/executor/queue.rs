//! The executor's queue and its worker loop: the state shared between an executor's handles
//! and its thread.
//!
//! The queue is a lock-free stack of the jobs' own [`Link`]s (an intrusive Treiber stack):
//! a submitter pushes with one compare-exchange on `incoming`, and the worker takes the whole
//! stack with another, reverses it into its own batch and runs it oldest first. Only the worker
//! ever removes links, and it removes all of them at once, so a stale top read by a pusher can
//! only fail that pusher's exchange, or succeed because a new link now sits at the same address
//! (a `run` job in the same stack frame, a reused heap block): then that link is the real top
//! and the pusher's `below` points at it. Its address, that is: the pointer the pusher read may
//! carry the old allocation's provenance, so pushes expose each link's provenance and the
//! worker rebuilds `below` pointers from their addresses. A round trip moves the queue's cache line
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

use super::job::{Counted, Job, JobRef, Link, Task};
use super::slot::Slot;
use super::spin::{NO_CPU, note_cpu, on_same_cpu, spin_until};
use crate::primitive::hint;
use crate::primitive::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering, fence};
use crate::primitive::sync::{Condvar, Mutex, MutexGuard};
use crate::{Error, Result};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A job in the queue. Dropping it without running it fails it with `Shutdown`, so a job can
/// never vanish silently, whatever path drops the queue.
pub(crate) struct Queued(Option<JobRef>);

impl Queued {
    fn run(mut self, counted: Counted<'_>) {
        if let Some(job) = self.0.take() {
            job.run(counted);
        }
    }

    fn fail(mut self, err: Error) {
        if let Some(job) = self.0.take() {
            job.fail(err);
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if let Some(job) = self.0.take() {
            // A no-op when the job already ran or was failed/cancelled (the claim fails).
            job.fail(Error::Shutdown);
        }
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

/// [`Shared::run_borrowed`]'s frame: the job's `released` flag and the job itself, whose result
/// slot comes first (`Task` and `Slot` are `repr(C)`, the slot's hot fields first). The worker's
/// last writes, READY and `released`, land in the frame's first line, and the waiter spins on
/// `released`: the completion reaches the waiter as one line, not two. (Paired medians of 12
/// interleaved runs each: `run` read 2.34–2.60x the spin floor before, in four sets, and 1.91x
/// and 2.22x after, in two.)
#[repr(C, align(64))]
struct RunFrame<T> {
    released: AtomicBool,
    task: T,
}

// For a `run` whose closure returns a small value (every Go call that waits in one cgo call
// returns `()`), the flag and what a completion writes share the frame's first cache line.
// (loom's atomics are larger; its models do not measure lines.)
#[cfg(not(loom))]
const _: () = assert!(
    std::mem::offset_of!(RunFrame<Task<fn(), ()>>, task)
        + std::mem::offset_of!(Task<fn(), ()>, slot)
        + Slot::<()>::COMPLETION_END
        <= 64
);

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
        match self.push_ref(JobRef::Owned(job)) {
            Ok(()) => Ok(()),
            Err(JobRef::Owned(job)) => Err(job),
            Err(JobRef::Borrowed { .. }) => unreachable!("pushed as Owned"),
        }
    }

    /// Runs `f` on the worker and waits for its value, with the job in this frame instead of a
    /// heap allocation: what [`PinnedExecutor::run`](super::PinnedExecutor::run) does from
    /// another thread. `f` may borrow from the caller. `queued` is called once the job is
    /// queued (or refused) and before the wait. `Err(Shutdown)` if refused or failed by the
    /// shutdown drain; `Err(Panicked)` if `f` panicked.
    pub(crate) fn run_borrowed<F, R>(&self, f: F, queued: impl FnOnce()) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let frame = RunFrame { released: AtomicBool::new(false), task: Task::new(f) };
        let task = &frame.task;
        let released = &frame.released;
        let waiter = Waiter {
            slot: &task.slot,
            released,
            spin: self.spin,
            co_located: on_same_cpu(self.worker_cpu.load(Ordering::Relaxed)),
            armed: true,
        };
        let job: &(dyn Job + '_) = task;
        // SAFETY:
        // - The job may borrow data of lifetime `'_` (the caller's frame) and lives in this
        //   frame; the queue needs a `'static` job. Erasing the lifetime is sound because the
        //   job is only used while this frame, and so the job and what it borrows, is alive:
        //   - `waiter` (created before the push, so it is in place on every path out of this
        //     function, including unwinding) does not let this frame end until `released` is
        //     set, which the worker does as its last access to the job and the flag, after the
        //     job's `run` or `fail` returned (`JobRef::Borrowed`).
        //   - Exactly one thread claims the job (the worker runs it or the shutdown drain fails
        //     it), and a queued job dropped unclaimed is failed by `Queued::drop`, which also
        //     sets `released`. A job that is never queued is never seen by another thread.
        //   - After READY nothing reads borrowed data: the closure is gone, and `waiter` takes
        //     the result (which may hold borrows) and drops it in this frame.
        // - The fat pointer's layout and vtable are unchanged; only the lifetime bound differs.
        let job = unsafe {
            std::mem::transmute::<NonNull<dyn Job + '_>, NonNull<dyn Job + 'static>>(NonNull::from(
                job,
            ))
        };
        let pushed = self.push_ref(JobRef::Borrowed { job, released: NonNull::from(released) });
        if pushed.is_err() {
            // Never queued: nobody else has the job; it is dropped with this frame. Disarmed
            // before `queued`, so that a panic there cannot wait for a job that never runs.
            waiter.disarm();
            queued();
            return Err(Error::Shutdown);
        }
        queued();
        waiter.finish()
    }

    fn push_ref(&self, job: JobRef) -> Result<(), JobRef> {
        note_cpu(&self.submitter_cpu);
        let mut top = self.incoming.load(Ordering::Relaxed);
        let link_ptr = {
            let link = job.job().link();
            // A borrowed job is built in `run_borrowed`'s frame and pushed once from there: only
            // a shared one could be pushed twice, and only it pays the swap.
            if matches!(job, JobRef::Owned(_)) {
                link.mark_queued();
            }
            std::ptr::from_ref(link).cast_mut()
        };
        // A pusher whose stale top happens to equal this link's address links below it with
        // that address alone; the worker rebuilds the pointer from it (see `take_into`).
        link_ptr.expose_provenance();
        // SAFETY:
        // - The link lives inside the job, which is alive for every use of `link` below:
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
                // Never queued: it may be pushed elsewhere (another executor of a pool).
                link.unmark_queued();
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
            // - The link is alive: its job is kept alive by the reference the link holds (or by
            //   its waiter, which waits for the worker) until the `take` below moves it out.
            let owned = unsafe { &*link };
            // SAFETY:
            // - `link` was taken off the stack by the exchange above (it or a link above it,
            //   whose `below` led here): no pusher touches it again, and only this thread
            //   removes links, so this thread owns it.
            let (job, below) = unsafe { owned.take() };
            if job.is_some() {
                batch.push(Queued(job));
            }
            // `below` came from a top the pusher read, which may be a stale pointer to an
            // earlier link at the same address: use the address, with the provenance every
            // push exposed (see the module docs).
            link = std::ptr::with_exposed_provenance(below.addr());
        }
    }

    /// Fails every job in `batch` with `Shutdown`, oldest first.
    fn fail_all(&self, batch: &mut Vec<Queued>) {
        while let Some(job) = batch.pop() {
            let counted = Counted::new(&self.load);
            job.fail(Error::Shutdown);
            counted.end();
        }
    }

    /// The worker loop: runs jobs in FIFO order until closed, then fails what is left.
    pub(crate) fn work(&self) {
        // Jobs taken off the stack, newest first: `pop` gives the oldest.
        let mut batch: Vec<Queued> = Vec::new();
        loop {
            if self.is_closed() {
                // Fail outside any lock, oldest first: the rest of the batch, then what is on
                // the stack (a job's drop may call back into this executor). After this take
                // nothing can be pushed: every exchange sees CLOSED.
                self.fail_all(&mut batch);
                self.take_into(&mut batch);
                self.fail_all(&mut batch);
                return;
            }
            if let Some(job) = batch.pop() {
                note_cpu(&self.worker_cpu);
                job.run(Counted::new(&self.load));
                continue;
            }
            self.take_into(&mut batch);
            if !batch.is_empty() {
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
        self.fail_all(&mut rest);
    }
}

/// Keeps [`Shared::run_borrowed`]'s frame alive until the worker has let go of its job (see
/// the SAFETY comment there).
struct Waiter<'a, R> {
    slot: &'a Slot<R>,
    /// Set by the worker when it is done with the job (see `JobRef::Borrowed`).
    released: &'a AtomicBool,
    spin: Duration,
    /// The worker was last seen on this CPU (see `spin_until`).
    co_located: bool,
    armed: bool,
}

impl<R> Waiter<'_, R> {
    fn disarm(mut self) {
        self.armed = false;
    }

    fn wait(&self) {
        // Spin on `released`, set just after READY in the same line (see [`RunFrame`]); park
        // on the slot once the window passed.
        if spin_until(|| self.released.load(Ordering::Acquire), self.spin, self.co_located) {
            return;
        }
        while !self.slot.wait(Duration::ZERO, None, self.co_located) {}
        // READY is set inside the job's `run`; `released` follows its return at once, unless
        // the worker is preempted in between: then yield (it may be waiting for this CPU).
        let mut spins = 0u32;
        while !self.released.load(Ordering::Acquire) {
            if spins < 64 {
                hint::spin_loop();
                spins += 1;
            } else {
                hint::yield_now();
            }
        }
    }

    fn finish(mut self) -> Result<R> {
        self.wait();
        self.armed = false;
        self.slot.take().unwrap_or(Err(Error::Shutdown))
    }
}

impl<R> Drop for Waiter<'_, R> {
    fn drop(&mut self) {
        if self.armed {
            // Only reached if this frame unwinds while the job is queued or running: wait
            // for it, then drop its result here, where its borrows are still valid.
            self.wait();
            drop(self.slot.take());
        }
    }
}

/// The queue driven by a plain worker thread (no executor, no signal mask): what Miri can run
/// (`cargo +nightly miri test --lib executor::queue`), checking the stack job's and the links'
/// accesses for use after free and data races beside the loom models' interleavings.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::Shared;
    use crate::Error;
    use crate::executor::job::Task;
    use std::sync::Arc;
    use std::time::Duration;

    fn with_worker(spin: Duration, body: impl FnOnce(&Shared)) {
        let shared = Arc::new(Shared::new(spin));
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.work())
        };
        body(&shared);
        shared.close();
        worker.join().unwrap();
    }

    #[test]
    fn borrowed_and_owned_jobs_run_in_order_and_leave_no_job_behind() {
        for spin in [Duration::ZERO, Duration::from_micros(50)] {
            with_worker(spin, |shared| {
                let mut seen = Vec::new();
                let owned = Arc::new(Task::new(|| 7u8));
                assert!(shared.push(owned.clone()).is_ok());
                for i in 0..20u32 {
                    let len = shared.run_borrowed(
                        || {
                            seen.push(i);
                            seen.len()
                        },
                        || (),
                    );
                    assert_eq!(len, Ok(i as usize + 1));
                }
                // FIFO: the owned job was pushed first, so it is done by now.
                assert_eq!(owned.slot.take(), Some(Ok(7)));
                let panicked = shared.run_borrowed(|| panic!("boom"), || ());
                assert!(matches!(panicked, Err(Error::Panicked(m)) if m.starts_with("boom")));
            });
        }
    }

    /// Two threads calling `run` over and over while a third pushes owned jobs: each `run`'s
    /// job sits at the same stack address every time, so a pusher's stale top can equal a new
    /// link's address (the case `take_into` rebuilds `below` pointers for).
    #[test]
    fn runs_from_two_threads_and_pushes_from_a_third_all_complete() {
        with_worker(Duration::ZERO, |shared| {
            std::thread::scope(|scope| {
                let owned = scope.spawn(|| {
                    let tasks: Vec<_> =
                        (0..10u32).map(|i| Arc::new(Task::new(move || i))).collect();
                    for task in &tasks {
                        assert!(shared.push(task.clone()).is_ok());
                    }
                    tasks
                });
                let runner = || {
                    let mut count = 0u32;
                    for _ in 0..10 {
                        assert_eq!(shared.run_borrowed(|| count += 1, || ()), Ok(()));
                    }
                    count
                };
                let other = scope.spawn(runner);
                assert_eq!(runner(), 10);
                assert_eq!(other.join().unwrap(), 10);
                for (i, task) in owned.join().unwrap().into_iter().enumerate() {
                    while !task.slot.wait(Duration::ZERO, None, false) {}
                    assert_eq!(task.slot.take(), Some(Ok(i as u32)));
                }
            });
        });
    }

    #[test]
    fn a_run_after_shutdown_is_refused_without_running() {
        let shared = Shared::new(Duration::ZERO);
        shared.close();
        let mut ran = false;
        assert_eq!(shared.run_borrowed(|| ran = true, || ()), Err(Error::Shutdown));
        assert!(!ran);
    }
}
