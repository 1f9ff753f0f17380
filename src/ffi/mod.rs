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
//! [`call`] is the one-liner every `gobridge_*` function is written with: `guard` + write the
//! status + return the code.
//!
//! ```
//! use gobridge::ffi::{self, Status};
//! use gobridge::{Error, Result};
//!
//! /// # Safety
//! /// `out` is NULL or valid for a write of `u32`; `status` is NULL or a valid `Status`.
//! unsafe extern "C" fn my_parse(value: i64, out: *mut u32, status: *mut Status) -> i32 {
//!     let body = || {
//!         let v = u32::try_from(value).map_err(|_| Error::InvalidArgument("out of range"))?;
//!         let out = ffi::out_ptr(out)?; // refuses NULL and misalignment
//!         // SAFETY:
//!         // - `out` is non-null and aligned (`out_ptr`) and valid for a write (our contract).
//!         unsafe { out.write(v) };
//!         Ok(())
//!     };
//!     // SAFETY:
//!     // - `status` is NULL or valid for the call, as this function's own contract requires.
//!     unsafe { ffi::call(status, body) }
//! }
//!
//! let mut buf = [0u8; 64];
//! let mut status = Status::with_buffer(&mut buf);
//! let mut out = 0u32;
//! // SAFETY: `out` and `status` are valid for the call.
//! let code = unsafe { my_parse(-1, &mut out, &mut status) };
//! assert_eq!(code, Error::InvalidArgument("").code());
//! assert_eq!(status.code, code);
//! assert_eq!(&buf[..status.msg_len], b"invalid argument: out of range");
//! assert_eq!(buf[status.msg_len], 0); // always NUL-terminated
//! ```

mod guard;
mod status;

pub use guard::{NON_STRING_PANIC, call, guard};
pub use status::{Status, out_ptr};
