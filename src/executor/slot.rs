//! The result slot: how one job's result travels from the thread that completes it to the one
//! that waits, and how the waiter waits (spin, then yield, then park).
//!
//! A [`Task`](super::job::Task) is one heap allocation holding the job closure and its
//! [`Slot`]. The executor's queue holds it as an `Arc<dyn Job>`; the submitter holds the same
//! `Arc` (inside a [`Ticket`](super::Ticket), or on the stack of
//! [`run`](super::PinnedExecutor::run)).
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

use super::spin::spin_until;
use crate::primitive::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicU8, AtomicU32, Ordering, fence};
use crate::primitive::sync::{Condvar, Mutex};
use crate::{Error, Result, current_thread};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const READY: u8 = 2;

/// `interest` bit: a waiter is (about to be) asleep on the condvar.
const PARKED: u8 = 1;
/// `interest` bit: an eventfd exists and must be signalled on completion.
const FD: u8 = 2;

/// Where one job's result is handed from the thread that completes it to the one that waits.
pub(crate) struct Slot<R> {
    state: AtomicU8,
    interest: AtomicU8,
    /// The kernel tid of the thread that won [`claim`](Self::claim) (0 before): how a waiter
    /// tells that the job it would wait for is running on its own stack.
    claimer: AtomicU32,
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
            claimer: AtomicU32::new(0),
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
        let won = self
            .state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
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
        // The claimer field is written once, by the claimer after its CAS: a thread reads its
        // own tid there only if it stored it itself (program order), never by a race.
        self.state.load(Ordering::Acquire) == RUNNING
            && self.claimer.load(Ordering::Relaxed) == current_thread().as_raw() as u32
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
