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
///   unchanged — an interior NUL byte included (the [`Status`] writer escapes it for C) —
///   followed by the panic's location (see below);
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
/// # The panic hook and the location
///
/// A caught panic's message ends with where it happened, `boom at src/lib.rs:12:5`, when the
/// panic hook saw it: `guard` installs (once per process) a hook that records the location
/// and then calls the hook that was there before, so what the process prints or logs for a
/// panic is unchanged — with the default hook, the panic message still goes to stderr. See
/// [`record_panic_locations`](super::record_panic_locations) for how it chains with a hook of
/// your own; a program that wants guarded panics to be silent installs its own hook that
/// prints nothing, and gobridge's records locations in front of it all the same.
///
/// ```
/// use gobridge::{Error, ffi::guard};
///
/// assert_eq!(guard(|| Ok(7)), Ok(7));
/// let line = line!() + 1;
/// let err = guard(|| -> gobridge::Result<()> { panic!("boom {}", 1) }).unwrap_err();
/// let at = format!("boom 1 at {}:{line}:", file!());
/// assert!(matches!(&err, Error::Panicked(m) if m.starts_with(&at)), "{err}");
/// let err = guard(|| -> gobridge::Result<()> { std::panic::panic_any(42_u32) }).unwrap_err();
/// let Error::Panicked(m) = err else { unreachable!() };
/// assert!(m.starts_with(gobridge::ffi::NON_STRING_PANIC), "{m}");
/// ```
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    super::record_panic_locations();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(panic_error(payload)),
    }
}

/// The [`Error::Panicked`] of a caught panic: the one place a payload becomes text, for
/// [`guard`] and for the executor's jobs alike. The payload is then dropped with any panic
/// from its `Drop` contained.
///
/// When the panic hook of [`record_panic_locations`](super::record_panic_locations) saw this
/// panic, the message ends with its location: `boom at src/lib.rs:12:5`. Call it on the
/// thread that caught the panic, right after `catch_unwind` (the location is a thread-local).
pub(crate) fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let record = super::location::take();
    let message = payload_message(payload);
    let text = message.as_deref().unwrap_or(NON_STRING_PANIC);
    Error::Panicked(match record.and_then(|r| r.location_for(message.as_deref())) {
        Some(location) => format!("{text} at {location}"),
        None => text.to_owned(),
    })
}

/// Drops `value` where a panic must not escape (an executor thread, a drop sent home): a
/// panic from its destructor is caught and its payload dropped as [`guard`] drops one.
pub(crate) fn drop_quietly<T>(value: T) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
        drop_contained(payload);
    }
}

/// Extracts the message of a panic payload (`None`: not a string) without running any of the
/// payload's own code except its `Drop`, which is itself contained.
fn payload_message(payload: Box<dyn Any + Send>) -> Option<String> {
    let payload = match payload.downcast::<String>() {
        Ok(s) => return Some(*s),
        Err(other) => other,
    };
    let message = payload.downcast_ref::<&'static str>().map(|s| (*s).to_owned());
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
