//! The handoff slot: how one job and its result travel between a submitter and the executor
//! thread, and how each side waits (spin, then yield, then park).
//!
//! A [`Task`] is one heap allocation holding the job closure and its [`Slot`]. The executor's
//! queue holds it as an `Arc<dyn Job>`; the submitter holds the same `Arc` (inside a
//! [`Ticket`](super::Ticket), or on the stack of [`run`](super::PinnedExecutor::run)).
//!
//! The slot's `state` moves `QUEUED -> RUNNING -> READY` exactly once. Whoever wins the
//! `QUEUED -> RUNNING` compare-exchange ([`Slot::claim`]) owns the closure: the executor (to run
//! it), the shutdown drain (to fail it with `Shutdown`) or [`Ticket::cancel`](super::Ticket::cancel)
//! (to fail it with `Cancelled`). That single CAS is why no job runs twice and no job is both
//! run and failed. The claimer stores the result and publishes `READY` (Release); a waiter
//! that went to sleep, and an eventfd created by [`Ticket::fd`](super::Ticket::fd), announce
//! themselves through the `interest` bits. The Dekker pair — `state` store, `SeqCst` fence,
//! `interest` load on one side; `interest` RMW, `SeqCst` fence, `state` load on the other —
//! guarantees that at least one side sees the other: no lost wake-up, no eventfd left
//! unreadable. (Fences rather than `SeqCst` accesses, which loom models as AcqRel only.)

use crate::primitive::UnsafeCell;
use crate::primitive::hint;
use crate::primitive::sync::atomic::{AtomicU8, AtomicU32, Ordering, fence};
use crate::primitive::sync::{Condvar, Mutex};
use crate::{Error, Result};
use std::any::Any;
use std::os::fd::{AsFd, BorrowedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const READY: u8 = 2;

/// `interest` bit: a waiter is (about to be) asleep on the condvar.
const PARKED: u8 = 1;
/// `interest` bit: an eventfd exists and must be signalled on completion.
const FD: u8 = 2;

/// Iterations of pure `spin_loop` before a spinning waiter starts calling `yield_now`.
///
/// A `pause` costs ~25 ns on the project's KVM guests (10–140 cycles elsewhere), so this is
/// about 1 µs: longer than a cross-core handoff in flight (~0.5 µs round trip here), short
/// enough that when both threads share one CPU (a loaded machine) the waiter soon yields to
/// the thread it waits for. (128 spins measured ~10 µs round trips in that co-located case,
/// 32 about half of that, and the same ~0.55 µs when the threads run on different CPUs.)
const PURE_SPINS: u32 = 32;

/// The CPU the calling thread is running on, or [`NO_CPU`] when unknown (always under loom).
pub(crate) fn current_cpu() -> u32 {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(loom)))]
    {
        // SAFETY:
        // - `sched_getcpu` has no preconditions; it reads the rseq area or makes a vDSO call.
        let cpu = unsafe { libc::sched_getcpu() };
        u32::try_from(cpu).unwrap_or(NO_CPU)
    }
    #[cfg(not(all(any(target_os = "linux", target_os = "android"), not(loom))))]
    NO_CPU
}

/// "CPU unknown", for [`current_cpu`] and the CPUs an executor records.
pub(crate) const NO_CPU: u32 = u32::MAX;

/// Records the calling thread's CPU in `slot`, writing only when it changed (so the cache line
/// stays shared while threads stay put).
pub(crate) fn note_cpu(slot: &AtomicU32) {
    let cpu = current_cpu();
    if slot.load(Ordering::Relaxed) != cpu {
        slot.store(cpu, Ordering::Relaxed);
    }
}

/// Whether `other`, the CPU another thread last recorded, is the calling thread's CPU: then
/// that thread can only run when this one gives the CPU up, and spinning is pure waste.
pub(crate) fn on_same_cpu(other: u32) -> bool {
    other != NO_CPU && other == current_cpu()
}

/// Spins (then yields) until `ready()` holds or `window` has passed; returns the last answer.
///
/// `co_located`: the thread we wait for was last seen on this CPU, so the pure-spin phase is
/// skipped and the first check already yields to it. (The scheduler often puts a waker and the
/// thread it woke on one CPU; there, 32 pure spins per handoff cost about as much as the
/// `sched_yield` switch itself.)
///
/// Under loom this checks once: spinning only multiplies the interleavings without adding
/// any (the park path is what is modelled).
pub(crate) fn spin_until(
    mut ready: impl FnMut() -> bool,
    window: Duration,
    co_located: bool,
) -> bool {
    if ready() {
        return true;
    }
    if cfg!(loom) || window.is_zero() {
        return false;
    }
    let start = Instant::now();
    let pure_spins = if co_located { 0 } else { PURE_SPINS };
    let mut i: u32 = 0;
    loop {
        if i < pure_spins {
            hint::spin_loop();
        } else {
            hint::yield_now();
        }
        if ready() {
            return true;
        }
        i = i.wrapping_add(1);
        // Reading the clock costs ~20 ns (vDSO): check it every 16 spins, and on every yield.
        if (i >= pure_spins || i % 16 == 0) && start.elapsed() >= window {
            return ready();
        }
    }
}

/// The text of a panic payload: `&str` and `String` payloads verbatim, anything else as
/// `"non-string panic payload"`. The payload is dropped without letting a panicking `Drop`
/// escape.
pub(crate) fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let msg = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    };
    drop_quietly(payload);
    Error::Panicked(msg)
}

/// Drops `value`, swallowing a panic from its destructor (and leaking that panic's payload).
pub(crate) fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        std::mem::forget(payload);
    }
}

/// Where one job's result is handed from the thread that completes it to the one that waits.
pub(crate) struct Slot<R> {
    state: AtomicU8,
    interest: AtomicU8,
    value: UnsafeCell<Option<Result<R>>>,
    lock: Mutex<()>,
    cv: Condvar,
    fd: OnceLock<nix::sys::eventfd::EventFd>,
}

impl<R> Slot<R> {
    pub(crate) fn new() -> Self {
        Slot {
            state: AtomicU8::new(QUEUED),
            interest: AtomicU8::new(0),
            value: UnsafeCell::new(None),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            fd: OnceLock::new(),
        }
    }

    /// `QUEUED -> RUNNING`: true for exactly one caller, who then owns the job's closure and
    /// must call [`complete`](Self::complete).
    pub(crate) fn claim(&self) -> bool {
        // Look before the CAS: a failing `lock cmpxchg` still takes the cache line exclusively,
        // which would pull it away from a waiter spinning on `state` right after completion.
        if self.state.load(Ordering::Relaxed) != QUEUED {
            return false;
        }
        self.state.compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    pub(crate) fn is_queued(&self) -> bool {
        self.state.load(Ordering::Acquire) == QUEUED
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY
    }

    /// Stores the result and wakes whoever waits. Only the winner of [`claim`](Self::claim)
    /// calls this, once.
    pub(crate) fn complete(&self, result: Result<R>) {
        // SAFETY:
        // - We won `claim`, so the state is RUNNING: no reader touches `value` before it sees
        //   READY (published below with a Release store), and no other
        //   thread can win `claim`, so we are the only writer.
        self.value.with_mut(|value| unsafe { *value = Some(result) });
        self.state.store(READY, Ordering::Release);
        // Dekker with `wait`/`fd`: our READY store, then their interest; a SeqCst fence on each
        // side between the write and the read means at least one side sees the other's write.
        fence(Ordering::SeqCst);
        // Acquire pairs with `fd`'s Release `fetch_or(FD)`: seeing FD makes the eventfd it stored
        // in `self.fd` visible here (a Relaxed load could see FD and still read an empty cell).
        let interest = self.interest.load(Ordering::Acquire);
        if interest & FD != 0 {
            if let Some(fd) = self.fd.get() {
                // A full counter (EAGAIN) is still readable; nothing else can fail here.
                let _ = fd.write(1);
            }
        }
        if interest & PARKED != 0 {
            // Taking the lock orders us after the waiter's check-then-wait; the waiter holds
            // it from setting PARKED until the condvar releases it.
            drop(self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            self.cv.notify_all();
        }
    }

    /// Waits until READY or `deadline`: spins for `spin` (see [`spin_until`] for
    /// `co_located`), then parks. True when ready.
    pub(crate) fn wait(&self, spin: Duration, deadline: Option<Instant>, co_located: bool) -> bool {
        if spin_until(|| self.is_ready(), spin, co_located) {
            return true;
        }
        let mut guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.interest.fetch_or(PARKED, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let ready = loop {
            if self.state.load(Ordering::Acquire) == READY {
                break true;
            }
            match deadline {
                None => {
                    guard = self.cv.wait(guard).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break false;
                    }
                    guard = self
                        .cv
                        .wait_timeout(guard, deadline - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        };
        self.interest.fetch_and(!PARKED, Ordering::Relaxed);
        drop(guard);
        ready
    }

    /// Takes the result if it is ready and not yet taken.
    ///
    /// The caller must be the only one who takes (the owner of the ticket or of the `run`).
    pub(crate) fn take(&self) -> Option<Result<R>> {
        if !self.is_ready() {
            return None;
        }
        // SAFETY:
        // - READY was observed with Acquire, so the completer's write of `value` happened
        //   before this access and the completer never touches `value` again.
        // - Only the single owner of the result calls `take` (the `Ticket` through `&mut self`
        //   or by value, `run` on its own stack), so there is no concurrent access.
        self.value.with_mut(|value| unsafe { (*value).take() })
    }

    /// The readiness eventfd, created on first use; readable once the result is ready.
    pub(crate) fn fd(&self) -> Result<BorrowedFd<'_>> {
        if self.fd.get().is_none() {
            use nix::sys::eventfd::{EfdFlags, EventFd};
            let created =
                EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
            // Losing a race with another `fd()` drops our eventfd; theirs is used.
            let _ = self.fd.set(created);
            // Announce the fd, then look at the state: either the completer sees FD and writes,
            // or we see READY and write (or both: the counter is 2, still just "readable").
            self.interest.fetch_or(FD, Ordering::Release);
            fence(Ordering::SeqCst);
            if self.state.load(Ordering::Acquire) == READY {
                if let Some(fd) = self.fd.get() {
                    let _ = fd.write(1);
                }
            }
        }
        match self.fd.get() {
            Some(fd) => Ok(fd.as_fd()),
            None => Err(Error::Sys(nix::errno::Errno::EBADF)),
        }
    }
}

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
