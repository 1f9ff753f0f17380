//! Thread-bound objects: a `gobridge::ThreadBound` created on the caller's thread.

use crate::ffi::{self, Status};
use crate::handle::{Handle, HandleTable, kind};
use crate::{ThreadBound, current_thread};

/// The value is the owner's tid, so a check can also confirm that the value read is the
/// owner's.
static THREAD_BOUNDS: HandleTable<ThreadBound<i32>> = HandleTable::new(kind::THREAD_BOUND);

/// Creates a thread-bound object owned by the calling OS thread and writes its handle to
/// `*out`. From Go, lock the goroutine to its thread (`runtime.LockOSThread`) first, or the
/// object is only usable on whatever thread happened to run this call.
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `out`). Any thread; the caller's thread becomes
/// the owner. Free with `gobridge_thread_bound_free`.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_thread_bound_new(out: *mut u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe {
        ffi::call_out(status, out, || {
            Ok(THREAD_BOUNDS.insert(ThreadBound::new(current_thread().as_raw()))?.as_raw())
        })
    }
}

/// Checks that the calling thread owns the object: `0` on the owner thread,
/// `GOBRIDGE_E_WRONG_THREAD` elsewhere (the message names both thread ids); never a crash.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`. Any thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_thread_bound_check(handle: u64, status: *mut Status) -> i32 {
    let body = || {
        let tb = THREAD_BOUNDS.get(Handle::from_raw(handle))?;
        let owner = *tb.get()?;
        debug_assert_eq!(owner, current_thread().as_raw());
        Ok(())
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}

/// Writes the owner thread's kernel tid to `*out`.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`. Any thread.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_thread_bound_owner(
    handle: u64,
    out: *mut i32,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe {
        ffi::call_out(status, out, || {
            Ok(THREAD_BOUNDS.get(Handle::from_raw(handle))?.owner().as_raw())
        })
    }
}

/// Frees the object. On its owner thread the value is dropped there; elsewhere
/// `gobridge::ThreadBound`'s foreign-drop rule applies (never dropped on the wrong thread).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE` (freed twice). Any thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_thread_bound_free(handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || THREAD_BOUNDS.remove(Handle::from_raw(handle)).map(drop)) }
}
