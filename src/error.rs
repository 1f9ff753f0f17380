//! The one error type of the crate, with a stable numeric code per variant for the C ABI.

use crate::ThreadId;
use nix::errno::Errno;
use nix::sys::signal::Signal;

/// Result alias used throughout gobridge.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a foreign buffer was refused by [`ForeignSlice::get`](crate::buffer::ForeignSlice::get)
/// and friends. Each reason is distinct so that a caller can tell which rule it broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BufferError {
    /// The pointer is NULL but the length is not zero.
    NullWithLength,
    /// `len * size_of::<T>()` exceeds `isize::MAX` (or overflows `usize`).
    LengthOverflow,
    /// `ptr + len * size_of::<T>()` wraps around the end of the address space.
    AddressWrap,
    /// The pointer is not aligned for the element type.
    Misaligned,
}

impl std::fmt::Display for BufferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BufferError::NullWithLength => "null pointer with a non-zero length",
            BufferError::LengthOverflow => "length in bytes exceeds isize::MAX",
            BufferError::AddressWrap => "pointer plus length wraps the address space",
            BufferError::Misaligned => "pointer is misaligned for the element type",
        })
    }
}

/// Everything that can go wrong in gobridge.
///
/// Every variant has a stable [`code`](Error::code) that the C ABI reports; codes are never
/// reused or renumbered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A thread-bound value was touched from a thread other than the one that owns it.
    #[error("wrong thread: value is owned by thread {owner}, used from thread {current}")]
    WrongThread {
        /// The thread that created (owns) the value.
        owner: ThreadId,
        /// The thread that tried to use it.
        current: ThreadId,
    },
    /// The executor, pool or object was shut down (or closed) before the request was served.
    #[error("shut down")]
    Shutdown,
    /// A job or a guarded call panicked; the message is the panic payload when it is a string.
    #[error("panicked: {0}")]
    Panicked(String),
    /// The signal cannot or must not be blocked (SIGKILL, SIGSTOP, or a synchronous signal).
    #[error("signal {} cannot be blocked", .0.as_str())]
    Unblockable(Signal),
    /// A buffer passed across the boundary is invalid.
    #[error("invalid buffer: {0}")]
    InvalidBuffer(BufferError),
    /// A handle is zero, forged, already freed, or of another kind.
    #[error("stale or invalid handle")]
    StaleHandle,
    /// A system call failed.
    #[error("system error: {0}")]
    Sys(#[from] Errno),
    /// A bounded wait ran out of time.
    #[error("timed out")]
    Timeout,
    /// An argument is out of its documented range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// Somebody else replaced gobridge's signal handler while actions were installed.
    #[error("the handler for {} was replaced by someone else", .0.as_str())]
    HandlerReplaced(Signal),
    /// A resource limit (such as the owned-buffer byte budget) would be exceeded.
    #[error("resource limit exceeded: {0}")]
    LimitExceeded(&'static str),
    /// The job was cancelled (through its ticket) before it started; it never ran.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// The stable code of this error in the C ABI. `0` is reserved for success.
    pub const fn code(&self) -> i32 {
        match self {
            Error::WrongThread { .. } => 1,
            Error::Shutdown => 2,
            Error::Panicked(_) => 3,
            Error::Unblockable(_) => 4,
            Error::InvalidBuffer(_) => 5,
            Error::StaleHandle => 6,
            Error::Sys(_) => 7,
            Error::Timeout => 8,
            Error::InvalidArgument(_) => 9,
            Error::HandlerReplaced(_) => 10,
            Error::LimitExceeded(_) => 11,
            Error::Cancelled => 12,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let all = [
            Error::WrongThread { owner: ThreadId::from_raw(1), current: ThreadId::from_raw(2) },
            Error::Shutdown,
            Error::Panicked("x".into()),
            Error::Unblockable(Signal::SIGKILL),
            Error::InvalidBuffer(BufferError::Misaligned),
            Error::StaleHandle,
            Error::Sys(Errno::EINVAL),
            Error::Timeout,
            Error::InvalidArgument("x"),
            Error::HandlerReplaced(Signal::SIGUSR1),
            Error::LimitExceeded("x"),
            Error::Cancelled,
        ];
        let mut codes: Vec<i32> = all.iter().map(Error::code).collect();
        assert!(codes.iter().all(|&c| c > 0));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn messages_name_what_went_wrong() {
        let e =
            Error::WrongThread { owner: ThreadId::from_raw(10), current: ThreadId::from_raw(20) };
        assert_eq!(e.to_string(), "wrong thread: value is owned by thread 10, used from thread 20");
        assert_eq!(
            Error::Unblockable(Signal::SIGKILL).to_string(),
            "signal SIGKILL cannot be blocked"
        );
    }
}
