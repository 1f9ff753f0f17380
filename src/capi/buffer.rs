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
    let body = || {
        let out = ffi::out_ptr(out)?;
        let info = OwnedBuf::alloc(len)?;
        // SAFETY:
        // - `out` is non-null and aligned (`out_ptr`) and valid for a write (our contract).
        unsafe { out.write(info) };
        Ok(())
    };
    // SAFETY:
    // - `status` is NULL or valid for the call (our contract).
    unsafe { ffi::call(status, body) }
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
    // - `status` is NULL or valid for the call (our contract).
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
    let body = || {
        let out = ffi::out_ptr(out)?;
        let info = OwnedBuf::resolve(Handle::from_raw(handle))?;
        // SAFETY:
        // - `out` is non-null and aligned (`out_ptr`) and valid for a write (our contract).
        unsafe { out.write(info) };
        Ok(())
    };
    // SAFETY:
    // - `status` is NULL or valid for the call (our contract).
    unsafe { ffi::call(status, body) }
}

/// Writes the number of live owned buffers to `*live_count` and their total size in bytes to
/// `*live_bytes` (either may be NULL). Any thread; never fails.
///
/// # Safety
///
/// Each pointer is NULL or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_buffer_stats(live_count: *mut usize, live_bytes: *mut usize) {
    if let Ok(p) = ffi::out_ptr(live_count) {
        // SAFETY:
        // - `p` is non-null and aligned (`out_ptr`) and valid for a write (our contract).
        unsafe { p.write(OwnedBuf::live_count()) };
    }
    if let Ok(p) = ffi::out_ptr(live_bytes) {
        // SAFETY:
        // - `p` is non-null and aligned (`out_ptr`) and valid for a write (our contract).
        unsafe { p.write(OwnedBuf::live_bytes()) };
    }
}

/// Sets the per-process byte budget of owned buffers (`SIZE_MAX` = unlimited, the default)
/// and returns the previous one. Existing buffers are kept; only new allocations beyond the
/// budget fail with `GOBRIDGE_E_LIMIT_EXCEEDED`. Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_buffer_set_budget(bytes: usize) -> usize {
    OwnedBuf::set_budget((bytes != usize::MAX).then_some(bytes)).unwrap_or(usize::MAX)
}

/// Sums the bytes of `s` (a view lent for this call) into `*out`, as `uint64_t`.
///
/// `s` is used only during the call: pass a Go slice as
/// `{(*C.uint8_t)(unsafe.SliceData(b)), C.size_t(len(b))}`; `{NULL, 0}` is the empty slice
/// (sum 0). Threads: any.
///
/// Status: `GOBRIDGE_E_INVALID_BUFFER` (NULL with a length, length overflow, address wrap;
/// the message says which), `GOBRIDGE_E_INVALID_ARGUMENT` (`out` NULL or misaligned).
///
/// # Safety
///
/// Unless `s.ptr` is NULL, it points to `s.len` readable bytes not written by anyone during
/// the call; `out` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_sum(
    s: ForeignSlice<'_, u8>,
    out: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || {
        let out = ffi::out_ptr(out)?;
        let sum = s.get()?.iter().map(|&b| u64::from(b)).sum();
        // SAFETY:
        // - `out` is non-null and aligned (`out_ptr`) and valid for a write (our contract).
        unsafe { out.write(sum) };
        Ok(())
    };
    // SAFETY:
    // - `status` is NULL or valid for the call (our contract).
    unsafe { ffi::call(status, body) }
}

/// Sets every byte of `s` (a writable view lent for this call) to `value`.
///
/// Threads: any. Status: `GOBRIDGE_E_INVALID_BUFFER` (as for `gobridge_sum`; nothing is
/// written).
///
/// # Safety
///
/// Unless `s.ptr` is NULL, it points to `s.len` writable bytes that nobody else accesses
/// during the call; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_fill(
    s: ForeignSliceMut<'_, u8>,
    value: u8,
    status: *mut Status,
) -> i32 {
    let body = || {
        s.into_slice()?.fill(value);
        Ok(())
    };
    // SAFETY:
    // - `status` is NULL or valid for the call (our contract).
    unsafe { ffi::call(status, body) }
}
