//! [`SignalPipe`]: signals delivered to a reader through a non-blocking self-pipe.
#![forbid(unsafe_code)]

use super::action::ActionId;
use super::handler::write_nonblocking;
use super::registry::{NSIG, install_payload, uninstall};
use super::table::Payload;
use crate::sigmask::SignalSet;
use crate::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// State the handler touches: counts per signal, the pipe's write end, the coalesced count.
#[derive(Debug)]
pub(crate) struct PipeShared {
    write: OwnedFd,
    pending: [AtomicU64; NSIG],
    coalesced: AtomicU64,
}

impl PipeShared {
    /// Handler side (async-signal-safe): count the signal, then wake the reader with a byte
    /// (the signal number). A full pipe loses the byte, never the count.
    pub(crate) fn notify(&self, signo: libc::c_int) {
        if let Some(pending) = usize::try_from(signo).ok().and_then(|i| self.pending.get(i)) {
            pending.fetch_add(1, SeqCst);
        }
        if write_nonblocking(self.write.as_raw_fd(), &[signo as u8]) < 0
            && Errno::last() == Errno::EAGAIN
        {
            self.coalesced.fetch_add(1, SeqCst);
        }
    }
}

/// Signals delivered to a reader: a write-only handler feeding a non-blocking pipe.
///
/// Each delivery increments a per-signal pending counter and writes one wake-up byte (the
/// signal number) to the pipe. [`recv`](Self::recv) blocks until a signal is pending,
/// [`try_recv`](Self::try_recv) never blocks, and [`fd`](Self::fd) becomes readable whenever a
/// signal is pending — hand it to an event loop (or Go's netpoller) and call `try_recv` when it
/// fires. When the pipe is full the byte is dropped but the count is not: every delivery is
/// returned by `recv`, and [`coalesced`](Self::coalesced) says how many wake-ups were merged.
///
/// Standard signals are not queued by the kernel: two SIGUSR1 sent before the first is
/// delivered arrive as one. What the handler sees, the pipe reports exactly.
///
/// Dropping the pipe uninstalls its actions (restoring the previous disposition when they were
/// the last) and then closes the fds; [`close`](Self::close) does the same and reports errors.
///
/// ```
/// use gobridge::signal::SignalPipe;
/// use gobridge::sigmask::SignalSet;
/// use gobridge::Signal;
/// use nix::sys::signal::raise; // only to send the example its signal
///
/// let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGWINCH]))?;
/// raise(Signal::SIGWINCH)?;
/// assert_eq!(pipe.recv()?, Signal::SIGWINCH);
/// assert_eq!(pipe.try_recv()?, None);
/// # Ok::<(), gobridge::Error>(())
/// ```
#[derive(Debug)]
pub struct SignalPipe {
    read: OwnedFd,
    shared: Arc<PipeShared>,
    /// The installed actions; emptied by the first uninstall (close, drop or the C ABI's).
    ids: Mutex<Vec<ActionId>>,
    signals: SignalSet,
    cursor: AtomicUsize,
}

impl SignalPipe {
    /// Installs a pipe-feeding action on every signal of `set`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty set or SIGKILL/SIGSTOP, and everything
    /// [`install`](super::install) returns; on error nothing stays installed.
    pub fn new(set: &SignalSet) -> Result<Self> {
        if set.is_empty() {
            return Err(Error::InvalidArgument("empty signal set"));
        }
        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        let shared = Arc::new(PipeShared {
            write,
            pending: std::array::from_fn(|_| AtomicU64::new(0)),
            coalesced: AtomicU64::new(0),
        });
        let pipe = SignalPipe {
            read,
            shared,
            ids: Mutex::new(Vec::new()),
            signals: *set,
            cursor: AtomicUsize::new(0),
        };
        let ptr = Arc::as_ptr(&pipe.shared).cast_mut().cast::<()>();
        for signal in set.iter() {
            // On error, `pipe`'s drop uninstalls what was installed so far.
            let id = install_payload(signal, Payload::Pipe { ptr })?;
            pipe.lock_ids().push(id);
        }
        Ok(pipe)
    }

    /// Waits for the next signal. Retries `poll` on EINTR, so signals delivered to this thread
    /// (including the ones it waits for) do not end the wait early.
    ///
    /// # Errors
    /// [`Error::Sys`] if reading or polling the pipe fails.
    pub fn recv(&self) -> Result<Signal> {
        loop {
            if let Some(signal) = self.try_recv()? {
                return Ok(signal);
            }
            let mut fds = [PollFd::new(self.read.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::Sys(e)),
            }
        }
    }

    /// The next pending signal, or `None` without blocking. Signals pending at once are
    /// returned round-robin across signal numbers. A readable [`fd`](Self::fd) may still give
    /// `None` (a wake-up whose signal another call already took).
    ///
    /// # Errors
    /// [`Error::Sys`] if reading the pipe fails.
    pub fn try_recv(&self) -> Result<Option<Signal>> {
        self.drain()?;
        let Some(signal) = self.take_one() else { return Ok(None) };
        if self.shared.pending.iter().any(|p| p.load(SeqCst) > 0) {
            // More signals wait (their bytes were drained above, or never fitted): keep the
            // fd readable for event loops.
            write_nonblocking(self.shared.write.as_raw_fd(), &[0]);
        }
        Ok(Some(signal))
    }

    /// The read end of the pipe: readable whenever a signal is pending. Poll it, then call
    /// [`try_recv`](Self::try_recv). Its bytes are only wake-ups (the signal number, or `0`
    /// when `try_recv` re-arms the fd because more signals wait); reading it directly loses no
    /// signal (counts are kept separately) but can leave pending signals without a wake-up.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// How many deliveries found the pipe full and merged their wake-up with an earlier one
    /// (their signals were counted and are returned by `recv` all the same).
    pub fn coalesced(&self) -> u64 {
        self.shared.coalesced.load(SeqCst)
    }

    /// The signals this pipe receives.
    pub fn signals(&self) -> SignalSet {
        self.signals
    }

    /// Uninstalls the actions and closes the pipe, reporting the first error — notably
    /// [`Error::HandlerReplaced`] when someone else's handler had replaced gobridge's on one
    /// of the signals (the pipe received nothing from it since); every action is uninstalled
    /// regardless. Dropping the pipe does the same but cannot report.
    ///
    /// # Errors
    /// As [`uninstall`](super::uninstall).
    pub fn close(self) -> Result<()> {
        self.uninstall_all()
    }

    /// Uninstalls the actions now (the pipe receives nothing more), reporting the first error;
    /// for owners that share the pipe (the C ABI's handle table) and so cannot [`close`] it.
    /// Later calls, and the drop, find nothing left to uninstall.
    ///
    /// [`close`]: Self::close
    pub(crate) fn uninstall_all(&self) -> Result<()> {
        let ids = std::mem::take(&mut *self.lock_ids());
        let mut first = Ok(());
        for id in ids {
            if let Err(e) = uninstall(id) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// Reads every wake-up byte currently in the pipe.
    fn drain(&self) -> Result<()> {
        let mut buf = [0u8; 256];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(n) if n == buf.len() => {}
                Ok(_) | Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::Sys(e)),
            }
        }
    }

    /// Takes one pending signal, starting after the one taken last.
    fn take_one(&self) -> Option<Signal> {
        let start = self.cursor.fetch_add(1, SeqCst);
        (0..NSIG).find_map(|i| {
            let index = start.wrapping_add(i) % NSIG;
            let pending = self.shared.pending.get(index)?;
            pending.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).ok()?;
            Signal::try_from(index as i32).ok()
        })
    }
}

impl SignalPipe {
    fn lock_ids(&self) -> std::sync::MutexGuard<'_, Vec<ActionId>> {
        // A Vec of plain ids is consistent at every statement; a poisoned lock is usable.
        self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; `close` reports them. The shared state is freed
        // only after this (fields drop after `drop`), when no handler can reach it.
        let _ = self.uninstall_all();
    }
}
