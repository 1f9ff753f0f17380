//! C functions for owned buffers and buffer views.

use super::{TypeLayout, type_layout};
use crate::buffer::{ForeignSlice, ForeignSliceMut, OwnedBuf, OwnedBufInfo};
use crate::ffi::{self, Status};
use crate::handle::Handle;

pub(crate) const LAYOUTS: &[TypeLayout] = &[
    type_layout!(OwnedBufInfo, "GobridgeOwnedBuf", [handle, ptr, len]),
    type_layout!(ForeignSlice<'static, u8>, "GobridgeForeignSlice_u8", [ptr, len]),
    type_layout!(ForeignSliceMut<'static, u8>, "GobridgeForeignSliceMut_u8", [ptr, len]),
];

/// Allocates `len` zeroed bytes of Rust memory for the caller and writes `{handle, ptr, len}`
/// to `*out`. `ptr` is 64-byte aligned, or NULL when `len` is 0.
///
/// Ownership: the caller owns the buffer until it passes `handle` to `gobridge_buffer_free`
/// (exactly once; a second free is `GOBRIDGE_E_STALE_HANDLE`, harmless). The bytes are C memory
/// for cgo: Go may keep `ptr` anywhere until the free, and must not touch them after it.
///
/// Threads: any; buffers may be freed on another thread than the one that allocated them.
///
/// Status: `GOBRIDGE_E_INVALID_ARGUMENT` (`out` NULL or misaligned, or `len` too large for
/// any allocation; nothing is allocated), `GOBRIDGE_E_LIMIT_EXCEEDED` (the byte budget set
/// with `gobridge_buffer_set_budget` would be exceeded), `GOBRIDGE_E_SYS` with
/// `sys_errno = ENOMEM` (the allocator failed).
///
/// # Safety
///
/// `out` is NULL or valid for a write of `GobridgeOwnedBuf`; `status` is NULL or a valid
/// `GobridgeStatus` (see `GobridgeStatus`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_buffer_alloc(
    len: usize,
    out: *mut OwnedBufInfo,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || OwnedBuf::alloc(len)) }
}

/// Frees the owned buffer named by `handle`; the handle is stale from now on.
///
/// Threads: any. Status: `GOBRIDGE_E_STALE_HANDLE` when `handle` is 0, forged, already freed,
/// or names another kind of object (nothing happens).
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`. No other precondition: any `handle` value is
/// accepted and checked.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_buffer_free(handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || OwnedBuf::free(Handle::from_raw(handle))) }
}

/// Writes the location `{handle, ptr, len}` of the live owned buffer `handle` to `*out`.
///
/// Threads: any. Status: `GOBRIDGE_E_STALE_HANDLE` (as for `gobridge_buffer_free`),
/// `GOBRIDGE_E_INVALID_ARGUMENT` (`out` NULL or misaligned). The pointer is valid until the
/// buffer is freed.
///
/// # Safety
///
/// `out` is NULL or valid for a write of `GobridgeOwnedBuf`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_buffer_resolve(
    handle: u64,
    out: *mut OwnedBufInfo,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || OwnedBuf::resolve(Handle::from_raw(handle))) }
}

/// Writes the number of live owned buffers to `*live_count` and their total size in bytes to
/// `*live_bytes` (either may be NULL). Any thread; never fails.
///
/// # Safety
///
/// Each pointer is NULL or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_buffer_stats(live_count: *mut usize, live_bytes: *mut usize) {
    // SAFETY:
    // - `live_count` is NULL, misaligned (both skipped) or valid for a write: our contract.
    unsafe { ffi::write_if_valid(live_count, OwnedBuf::live_count()) };
    // SAFETY:
    // - `live_bytes` likewise.
    unsafe { ffi::write_if_valid(live_bytes, OwnedBuf::live_bytes()) };
}

/// Sets the per-process byte budget of owned buffers (`SIZE_MAX` = unlimited, the default)
/// and returns the previous one. Existing buffers are kept; only new allocations beyond the
/// budget fail with `GOBRIDGE_E_LIMIT_EXCEEDED`. Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_buffer_set_budget(bytes: usize) -> usize {
    OwnedBuf::set_budget((bytes != usize::MAX).then_some(bytes)).unwrap_or(usize::MAX)
}
