//! The FFI boundary: a panic firewall and an in-band status for every `extern "C"` function.
//!
//! Two rules of a Go process shape this module (see the crate's design notes):
//!
//! - **A Rust panic must never leave an `extern "C"` function** (it aborts the process), and a
//!   Go panic never unwinds through Rust frames. [`guard`] runs a body under
//!   [`catch_unwind`](std::panic::catch_unwind) and turns every panic into
//!   [`Error::Panicked`](crate::Error::Panicked).
//! - **Errors travel in-band.** A goroutine that is not locked to its OS thread may run on
//!   another thread after any call, so a thread-local "last error" slot (`errno`-style) would
//!   be read on the wrong thread. Every fallible C function therefore takes a caller-provided
//!   [`Status`] and returns its code; the message is written into a buffer the caller owns, so
//!   nothing is allocated for the caller to free.
//!
//! [`call`] is the body of every `gobridge_*` function: `guard` + write the status + return
//! the code. [`call_out`] adds the checked out-pointer that most functions have, and
//! [`call_out_slice`] the caller's array of the "fill up to `cap` and report a count"
//! functions. A C function is then one `unsafe` block around one of them:
//!
//! ```
//! use gobridge::ffi::{self, Status};
//! use gobridge::Error;
//!
//! /// # Safety
//! /// `out` is NULL or valid for a write of `u32`; `status` is NULL or a valid `Status`.
//! unsafe extern "C" fn my_parse(value: i64, out: *mut u32, status: *mut Status) -> i32 {
//!     let body = || u32::try_from(value).map_err(|_| Error::InvalidArgument("out of range"));
//!     // SAFETY:
//!     // - `out` and `status` are as `call_out` requires: this function's own contract.
//!     unsafe { ffi::call_out(status, out, body) }
//! }
//!
//! let mut buf = [0u8; 64];
//! let mut status = Status::with_buffer(&mut buf);
//! let mut out = 0u32;
//! // SAFETY:
//! // - `out` and `status` are valid for the call.
//! let code = unsafe { my_parse(-1, &mut out, &mut status) };
//! assert_eq!(code, Error::InvalidArgument("").code());
//! assert_eq!(status.code, code);
//! assert_eq!(&buf[..status.msg_len], b"invalid argument: out of range");
//! assert_eq!(buf[status.msg_len], 0); // always NUL-terminated
//! ```

#[allow(unsafe_code)] // `call` writes the caller's status
mod guard;
mod location;
#[allow(unsafe_code)] // writes through the caller's out-pointers
mod out;
#[allow(unsafe_code)] // writes the caller's status and message buffer
mod status;

pub use guard::{NON_STRING_PANIC, call, guard};
pub(crate) use guard::{drop_quietly, panic_error};
pub use location::record_panic_locations;
pub use out::{call_out, call_out_slice, out_ptr, write_if_valid};
pub use status::Status;
