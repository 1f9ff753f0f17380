//! The result slot: how one job's result travels from the thread that completes it to the one
//! that waits, and how the waiter waits (spin, then yield, then park).
//!
//! A [`Task`](super::job::Task) holds the job closure and its [`Slot`]. A submitted job's task
//! is one heap allocation, shared as an `Arc` by the executor's queue and the
//! [`Ticket`](super::Ticket); [`run`](super::PinnedExecutor::run)'s task lives in `run`'s own
//! frame, and the queue only points to it.
//!
//! The slot's `state` byte holds the job's phase, `QUEUED -> RUNNING -> READY` (each once),
//! and flags. Whoever sets `RUNNING` first ([`Slot::claim`], one `fetch_or`) owns the
//! closure: the executor (to run it), the shutdown drain (to fail it with `Shutdown`) or
//! [`Ticket::cancel`](super::Ticket::cancel) (to fail it with `Cancelled`). That single
//! read-modify-write is why no job runs twice and no job is both run and failed. The claimer
//! stores the result and sets `READY` with another `fetch_or`, which also returns the flags as
//! they were at that instant: `PARKED` (the waiter went to sleep on the condvar: wake it) and
//! `FD` (an eventfd exists: signal it). A waiter sets `PARKED`, and [`Slot::fd`] sets `FD`,
//! with read-modify-writes on the same byte, so each of them and the completion are ordered
//! one way or the other: no lost wake-up, no eventfd left unreadable, and no fence needed.
//!
//! A job that lives in its waiter's stack frame (`run`'s) must not be touched once that frame
//! ends, which it may as soon as the waiter sees `READY`; the completion's later accesses (the
//! wake-up) and the worker's return from the job's methods are covered by a flag outside the
//! slot that the worker sets last (see `JobRef::Borrowed`).

use super::spin::spin_until;
use crate::primitive::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use crate::primitive::sync::{Condvar, Mutex};
use crate::{Error, Result, current_thread};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Phase bit: claimed (running, being failed, or finished).
const RUNNING: u8 = 1;
/// Phase bit: finished, the result stored. Set only after `RUNNING`.
const READY: u8 = 2;
/// A waiter is (about to be) asleep on the condvar. Read only by the completion's `fetch_or`:
/// set after `READY`, it is never looked at.
const PARKED: u8 = 4;
/// An eventfd exists and must be signalled on completion.
const FD: u8 = 8;

/// Where one job's result is handed from the thread that completes it to the one that waits.
///
/// `repr(C)`: what a completion writes (`state`, `claimer`, `value`) comes first, in one line
/// with `run`'s `released` flag (see `Shared::run_borrowed`), the parking fields after it.
#[repr(C)]
pub(crate) struct Slot<R> {
    /// Phase and flags (see the module docs).
    state: AtomicU8,
    /// The kernel tid of the thread that won [`claim`](Self::claim) (0 before): how a waiter
    /// tells that the job it would wait for is running on its own stack.
    claimer: AtomicU32,
    value: UnsafeCell<Option<Result<R>>>,
    lock: Mutex<()>,
    cv: Condvar,
    fd: OnceLock<nix::sys::eventfd::EventFd>,
}

impl Slot<()> {
    /// Where what a completion writes (`state`, `claimer`, `value`) ends, for a unit result:
    /// `RunFrame` keeps it in the line of `run`'s `released` flag.
    pub(crate) const COMPLETION_END: usize =
        std::mem::offset_of!(Slot<()>, value) + std::mem::size_of::<Option<Result<()>>>();
}

impl<R> Slot<R> {
    pub(crate) fn new() -> Self {
        Slot {
            state: AtomicU8::new(0),
            claimer: AtomicU32::new(0),
            value: UnsafeCell::new(None),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            fd: OnceLock::new(),
        }
    }

    /// Sets `RUNNING`: true for exactly one caller, who then owns the job's closure and must
    /// call [`complete`](Self::complete).
    pub(crate) fn claim(&self) -> bool {
        let won = self.state.fetch_or(RUNNING, Ordering::AcqRel) & RUNNING == 0;
        if won {
            // Relaxed: only the claiming thread itself needs to see its own tid here (see
            // `claimed_here`); the slot is claimed once, so no other thread's tid is ever stored.
            self.claimer.store(current_thread().as_raw() as u32, Ordering::Relaxed);
        }
        won
    }

    /// Whether the job is claimed but not finished, by the calling thread: it is running (or
    /// being failed) further up this thread's stack, so waiting for it here would wait for
    /// ever.
    pub(crate) fn claimed_here(&self) -> bool {
        // The claimer field is written once, by the claimer after its claim: a thread reads its
        // own tid there only if it stored it itself (program order), never by a race.
        self.state.load(Ordering::Acquire) & (RUNNING | READY) == RUNNING
            && self.claimer.load(Ordering::Relaxed) == current_thread().as_raw() as u32
    }

    pub(crate) fn is_queued(&self) -> bool {
        self.state.load(Ordering::Acquire) & RUNNING == 0
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) & READY != 0
    }

    /// Stores the result and wakes whoever waits. Only the winner of [`claim`](Self::claim)
    /// calls this, once.
    ///
    /// The slot is touched after `READY` only to wake a parked waiter and signal an eventfd.
    pub(crate) fn complete(&self, result: Result<R>) {
        // SAFETY:
        // - We won `claim`, so the job is RUNNING: no reader touches `value` before it sees
        //   READY (published below with a Release read-modify-write), and no other thread can
        //   win `claim`, so we are the only writer.
        self.value.with_mut(|value| unsafe { *value = Some(result) });
        // Release publishes `value`; Acquire pairs with `fd`'s Release `fetch_or(FD)`, so that
        // seeing FD makes the eventfd it stored in `self.fd` visible here.
        let flags = self.state.fetch_or(READY, Ordering::AcqRel);
        if flags & FD != 0 {
            if let Some(fd) = self.fd.get() {
                // A full counter (EAGAIN) is still readable; nothing else can fail here.
                let _ = fd.write(1);
            }
        }
        if flags & PARKED != 0 {
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
        // A completer that sets READY after this sees PARKED in its `fetch_or` and wakes us;
        // one that came first is seen by the check below.
        self.state.fetch_or(PARKED, Ordering::Acquire);
        let ready = loop {
            if self.is_ready() {
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
            // Announce the fd in the same byte the completer sets READY in: whichever of the
            // two read-modify-writes comes second sees the other and writes the eventfd.
            if self.state.fetch_or(FD, Ordering::AcqRel) & READY != 0 {
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
