//! The one error type of the crate, with a stable numeric code per variant for the C ABI.
#![forbid(unsafe_code)]

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
    /// A job or a guarded call panicked; the message is the panic payload when it is a string,
    /// followed by where the panic happened (`boom at src/lib.rs:12:5`) when the panic hook
    /// could record it (see [`record_panic_locations`](crate::ffi::record_panic_locations)).
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

/// The C ABI's status codes: one per [`Error`] variant, and `GOBRIDGE_OK`. This is the only
/// list: [`Error::code`] returns these, and cbindgen generates the header's `#define`s from
/// them (the Go package uses the header's `C.GOBRIDGE_E_*`). Codes are never reused or
/// renumbered; a new variant gets the next number here, in `code`, and in `all()`.
pub mod codes {
    /// Status code: success.
    pub const GOBRIDGE_OK: i32 = 0;
    /// Status code: a thread-bound value was used from a thread other than its owner.
    pub const GOBRIDGE_E_WRONG_THREAD: i32 = 1;
    /// Status code: the executor, pool or object was shut down (closed).
    pub const GOBRIDGE_E_SHUTDOWN: i32 = 2;
    /// Status code: the call panicked inside Rust; the message is the panic message, followed
    /// by its location (`at src/lib.rs:12:5`) when Rust could record it.
    pub const GOBRIDGE_E_PANICKED: i32 = 3;
    /// Status code: the signal cannot or must not be blocked.
    pub const GOBRIDGE_E_UNBLOCKABLE: i32 = 4;
    /// Status code: a buffer (pointer + length) was refused; the message says which rule it
    /// broke.
    pub const GOBRIDGE_E_INVALID_BUFFER: i32 = 5;
    /// Status code: a handle is 0, forged, freed, or of another kind of object.
    pub const GOBRIDGE_E_STALE_HANDLE: i32 = 6;
    /// Status code: a system call failed; `GobridgeStatus.sys_errno` holds errno.
    pub const GOBRIDGE_E_SYS: i32 = 7;
    /// Status code: a bounded wait ran out of time.
    pub const GOBRIDGE_E_TIMEOUT: i32 = 8;
    /// Status code: an argument is out of range, or an out-pointer is NULL or misaligned.
    pub const GOBRIDGE_E_INVALID_ARGUMENT: i32 = 9;
    /// Status code: someone else replaced gobridge's signal handler.
    pub const GOBRIDGE_E_HANDLER_REPLACED: i32 = 10;
    /// Status code: a resource limit (such as the owned-buffer byte budget) would be exceeded.
    pub const GOBRIDGE_E_LIMIT_EXCEEDED: i32 = 11;
    /// Status code: the job was cancelled through its ticket before it started; it never ran.
    pub const GOBRIDGE_E_CANCELLED: i32 = 12;

    /// Every error code with its C name, in numeric order (for tests and tools that check
    /// another language's copy, such as the header).
    #[doc(hidden)]
    pub fn all() -> [(&'static str, i32); 12] {
        [
            ("GOBRIDGE_E_WRONG_THREAD", GOBRIDGE_E_WRONG_THREAD),
            ("GOBRIDGE_E_SHUTDOWN", GOBRIDGE_E_SHUTDOWN),
            ("GOBRIDGE_E_PANICKED", GOBRIDGE_E_PANICKED),
            ("GOBRIDGE_E_UNBLOCKABLE", GOBRIDGE_E_UNBLOCKABLE),
            ("GOBRIDGE_E_INVALID_BUFFER", GOBRIDGE_E_INVALID_BUFFER),
            ("GOBRIDGE_E_STALE_HANDLE", GOBRIDGE_E_STALE_HANDLE),
            ("GOBRIDGE_E_SYS", GOBRIDGE_E_SYS),
            ("GOBRIDGE_E_TIMEOUT", GOBRIDGE_E_TIMEOUT),
            ("GOBRIDGE_E_INVALID_ARGUMENT", GOBRIDGE_E_INVALID_ARGUMENT),
            ("GOBRIDGE_E_HANDLER_REPLACED", GOBRIDGE_E_HANDLER_REPLACED),
            ("GOBRIDGE_E_LIMIT_EXCEEDED", GOBRIDGE_E_LIMIT_EXCEEDED),
            ("GOBRIDGE_E_CANCELLED", GOBRIDGE_E_CANCELLED),
        ]
    }
}

impl Error {
    /// The stable code of this error in the C ABI (one of [`codes`]). `0` is reserved for
    /// success.
    pub const fn code(&self) -> i32 {
        use codes::*;
        match self {
            Error::WrongThread { .. } => GOBRIDGE_E_WRONG_THREAD,
            Error::Shutdown => GOBRIDGE_E_SHUTDOWN,
            Error::Panicked(_) => GOBRIDGE_E_PANICKED,
            Error::Unblockable(_) => GOBRIDGE_E_UNBLOCKABLE,
            Error::InvalidBuffer(_) => GOBRIDGE_E_INVALID_BUFFER,
            Error::StaleHandle => GOBRIDGE_E_STALE_HANDLE,
            Error::Sys(_) => GOBRIDGE_E_SYS,
            Error::Timeout => GOBRIDGE_E_TIMEOUT,
            Error::InvalidArgument(_) => GOBRIDGE_E_INVALID_ARGUMENT,
            Error::HandlerReplaced(_) => GOBRIDGE_E_HANDLER_REPLACED,
            Error::LimitExceeded(_) => GOBRIDGE_E_LIMIT_EXCEEDED,
            Error::Cancelled => GOBRIDGE_E_CANCELLED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant, in code order. `Error::code`'s exhaustive match gives a new
    /// variant a code; the test below then fails until it is listed here and in
    /// `codes::all()`.
    fn one_of_each() -> Vec<Error> {
        vec![
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
        ]
    }

    #[test]
    fn codes_are_the_table_in_order() {
        let variant_codes: Vec<i32> = one_of_each().iter().map(Error::code).collect();
        let table: Vec<i32> = codes::all().iter().map(|&(_, c)| c).collect();
        assert_eq!(variant_codes, table, "one variant per code, in the table's order");
        assert_eq!(table, (1..=table.len() as i32).collect::<Vec<_>>(), "1, 2, ... without gaps");
        assert_eq!(codes::GOBRIDGE_OK, 0);
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
