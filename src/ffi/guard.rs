//! The panic firewall.

use crate::ffi::Status;
use crate::{Error, Result};
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// The message of [`Error::Panicked`] when the panic payload is neither a `&str` nor a
/// `String` (for example `std::panic::panic_any(42)`).
pub const NON_STRING_PANIC: &str = "non-string panic payload";

/// Runs `f`, turning any panic into [`Error::Panicked`] instead of unwinding further.
///
/// `guard` never panics itself, whatever the payload:
///
/// - a `&'static str` or `String` payload (what `panic!("...")` produces) becomes the message,
///   unchanged — an interior NUL byte included (the [`Status`] writer escapes it for C);
/// - any other payload (`std::panic::panic_any(42)`, a type whose `Display` panics) becomes
///   [`NON_STRING_PANIC`]: the payload is never formatted, so no user code runs;
/// - the payload is then dropped inside a second `catch_unwind`; if its `Drop` panics too, that
///   panic's payload is dropped the same way (a chain of more than 8 panicking drops is cut by
///   leaking the last payload rather than risk a panic escaping).
///
/// The body is wrapped in [`AssertUnwindSafe`]: after a panic, state that `f` was mutating may
/// be half-updated. The caller sees `Err(Panicked)` and decides what that means (gobridge's own
/// tables never hold a lock while running user code, so they stay consistent).
///
/// # What `guard` cannot catch
///
/// - Builds with `panic = "abort"`: there is nothing to unwind.
/// - A panic *while the standard library formats a panic message*, e.g.
///   `panic!("{}", value)` where `value`'s `Display` itself panics: the standard library
///   formats the message inside its panic machinery before any hook or `catch_unwind` runs,
///   sees a panic while processing a panic, and aborts ("thread panicked while processing
///   panic"). No library can intercept that; `tests/ffi.rs` proves the abort in a child
///   process. Passing such a value as a payload (`panic_any(value)`) is caught.
///
/// # The panic hook
///
/// `guard` leaves the process's panic hook alone: the default hook still prints the panic
/// message to stderr (useful in a service's logs). A program that wants guarded panics to be
/// silent installs its own hook with [`std::panic::set_hook`]; a library must not replace a
/// process-wide hook behind its user's back, so gobridge never does.
///
/// ```
/// use gobridge::{Error, ffi::guard};
///
/// assert_eq!(guard(|| Ok(7)), Ok(7));
/// let err = guard(|| -> gobridge::Result<()> { panic!("boom {}", 1) }).unwrap_err();
/// assert_eq!(err, Error::Panicked("boom 1".into()));
/// let err = guard(|| -> gobridge::Result<()> { std::panic::panic_any(42_u32) }).unwrap_err();
/// assert_eq!(err, Error::Panicked(gobridge::ffi::NON_STRING_PANIC.into()));
/// ```
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(panic_error(payload)),
    }
}

/// The [`Error::Panicked`] of a caught panic: the one place a payload becomes text, for
/// [`guard`] and for the executor's jobs alike. The payload is then dropped with any panic
/// from its `Drop` contained.
pub(crate) fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    Error::Panicked(payload_message(payload))
}

/// Drops `value` where a panic must not escape (an executor thread, a drop sent home): a
/// panic from its destructor is caught and its payload dropped as [`guard`] drops one.
pub(crate) fn drop_quietly<T>(value: T) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
        drop_contained(payload);
    }
}

/// Extracts the message of a panic payload without running any of the payload's own code
/// except its `Drop`, which is itself contained.
fn payload_message(payload: Box<dyn Any + Send>) -> String {
    let payload = match payload.downcast::<String>() {
        Ok(s) => return *s,
        Err(other) => other,
    };
    let message = match payload.downcast_ref::<&'static str>() {
        Some(s) => (*s).to_owned(),
        None => NON_STRING_PANIC.to_owned(),
    };
    drop_contained(payload);
    message
}

/// Drops a panic payload, containing any panic from its `Drop`: the payload of that panic is
/// dropped the same way (strings drop without running user code). A chain of more than
/// `MAX_DROP_CHAIN` panicking drops is cut by leaking the last payload.
fn drop_contained(payload: Box<dyn Any + Send>) {
    const MAX_DROP_CHAIN: usize = 8;
    let mut payload = payload;
    for _ in 0..MAX_DROP_CHAIN {
        if payload.is::<String>() || payload.is::<&'static str>() {
            return; // dropping a string runs no user code and cannot panic
        }
        match panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(next) => payload = next,
        }
    }
    std::mem::forget(payload);
}

/// Runs `f` under [`guard`], writes the outcome into `*status` and returns its code
/// (`0` = success, otherwise [`Error::code`]).
///
/// This is the body of every `gobridge_*` function. `status` may be NULL (the caller only
/// wants the code); see [`Status`] for how the message is written.
///
/// # Safety
///
/// `status` is NULL or points to a [`Status`] that is valid for reads and writes for the
/// duration of the call, whose `msg` is NULL or valid for writes of `msg_cap` bytes, and which
/// nobody else accesses during the call. A misaligned `status` is ignored (only the code is
/// returned).
pub unsafe fn call(status: *mut Status, f: impl FnOnce() -> Result<()>) -> i32 {
    let result = guard(f);
    // SAFETY:
    // - `status` is NULL or valid for reads and writes with a valid `msg` buffer, as this
    //   function's own contract requires; `Status::store` checks NULL and alignment itself.
    unsafe { Status::store(status, result.as_ref().err()) }
}
