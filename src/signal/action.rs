//! [`Action`]: the closed set of things a gobridge signal handler can do.

use super::table::Payload;
use crate::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// What the handler does when the signal arrives: one of four things, all async-signal-safe.
///
/// Nothing else can be expressed, so a handler built from actions cannot allocate, lock, panic
/// or call a function that is not async-signal-safe. Several actions may be installed on one
/// signal; they share one installed handler and run in slot order, before the previous
/// handler is chained to (see the [module docs](super)).
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Write the signal number as one byte to the fd (a self-pipe, a socket, an eventfd is
    /// not suitable: it wants 8 bytes). The write is non-blocking; a full pipe (`EAGAIN`) or any
    /// other error is ignored.
    WriteSignalNumber(RawFd),
    /// Write a fixed message to the fd with one non-blocking `write` (a short write is not
    /// completed; `EAGAIN` and other errors are ignored).
    WriteMessage(RawFd, &'static [u8]),
    /// Store `true` (`SeqCst`).
    SetFlag(&'static AtomicBool),
    /// Add the amount (`SeqCst`, wrapping).
    Add(&'static AtomicU64, u64),
}

impl Action {
    /// Checks the action and prepares its fd, returning what the table stores.
    ///
    /// A fd that is not a regular file gets `O_NONBLOCK` (on its open file description, so
    /// `dup`s of it see the flag too), so the handler's write can never block.
    pub(crate) fn prepare(self) -> Result<Payload> {
        Ok(match self {
            Action::WriteSignalNumber(fd) => {
                make_nonblocking(fd)?;
                Payload::SignalNumber { fd }
            }
            Action::WriteMessage(fd, message) => {
                make_nonblocking(fd)?;
                Payload::Message {
                    fd,
                    ptr: message.as_ptr().cast_mut().cast(),
                    len: message.len() as u64,
                }
            }
            Action::SetFlag(flag) => {
                Payload::Flag { ptr: std::ptr::from_ref(flag).cast_mut().cast() }
            }
            Action::Add(counter, n) => {
                Payload::Add { ptr: std::ptr::from_ref(counter).cast_mut().cast(), n }
            }
        })
    }
}

/// Sets `O_NONBLOCK` on `fd` unless it is a regular file (which never blocks) or has it.
///
/// Through `libc` rather than nix's `fstat`/`fcntl`: those take a `BorrowedFd`, whose contract
/// (the fd is open) a caller's raw integer cannot promise; the kernel answers EBADF instead.
pub(crate) fn make_nonblocking(fd: RawFd) -> Result<()> {
    if fd < 0 {
        return Err(Error::Sys(Errno::EBADF));
    }
    // SAFETY:
    // - `libc::stat` is plain old data; an all-zero value is a valid (if meaningless) one
    //   that fstat overwrites.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY:
    // - `stat` is a valid, writable `struct stat` on this stack frame.
    // - `fd` is only an integer to the kernel; a closed fd yields EBADF, not UB.
    Errno::result(unsafe { libc::fstat(fd, &mut stat) })?;
    if stat.st_mode & libc::S_IFMT == libc::S_IFREG {
        return Ok(());
    }
    // SAFETY:
    // - F_GETFL takes no pointer argument; `fd` is only an integer to the kernel.
    let flags = Errno::result(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY:
        // - F_SETFL takes an integer argument; `fd` is only an integer to the kernel.
        Errno::result(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    }
    Ok(())
}

/// Names one installed action, for [`uninstall`](super::uninstall).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionId {
    pub(crate) signal: Signal,
    pub(crate) slot: u16,
    pub(crate) generation: u32,
}

impl ActionId {
    /// The signal the action is installed on.
    pub fn signal(&self) -> Signal {
        self.signal
    }
}
