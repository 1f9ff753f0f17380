//! Buffers that cross the boundary: Go memory lent to Rust for one call, and Rust memory
//! handed to Go.
//!
//! - [`ForeignSlice`] / [`ForeignSliceMut`]: a `#[repr(C)]` pointer + length that is an
//!   `extern "C"` parameter type. Go passes a slice as `(unsafe.SliceData(s), len(s))`; cgo's
//!   rules make that memory valid *for the call* only, and the view's lifetime says exactly
//!   that: [`get`](ForeignSlice::get) returns a `&'a [T]` that cannot outlive the call (the
//!   `compile_fail` examples [below](#confined-to-the-call) prove it cannot be stored in a
//!   `static`, returned, or sent to a thread that outlives the call). `get` validates what can be
//!   validated and returns a distinct [`BufferError`](crate::BufferError#variants) for each broken rule.
//! - [`OwnedBuf`]: Rust memory (zeroed, 64-byte aligned) handed to Go as
//!   `{handle, ptr, len}` and named by a generation-checked [`Handle`](crate::handle::Handle):
//!   double free, forged or stale handles are `Error::StaleHandle`.
//! - [`Pod`]: the element types a view may have (a sealed trait).
//!
//! Neither type ever hands Go a dangling non-null pointer: an empty view or buffer has a NULL
//! pointer (Go's pointer checks reject Rust's `NonNull::dangling()`, `0x1`).
//!
//! # A view as an `extern "C"` parameter
//!
//! The function's lifetime parameter stands for "this call", and
//! [`get`](ForeignSlice::get) hands out a `&'a [T]` that the borrow checker keeps inside the
//! call — exactly the rule cgo imposes on Go memory passed to C.
//!
//! ```
//! use gobridge::buffer::ForeignSlice;
//! use gobridge::ffi::{self, Status};
//!
//! /// # Safety
//! /// `s` points to `s.len` readable bytes (or is NULL/0); `out`, `status` as usual.
//! #[unsafe(no_mangle)]
//! pub unsafe extern "C" fn my_count_zeros(
//!     s: ForeignSlice<'_, u8>,
//!     out: *mut u64,
//!     status: *mut Status,
//! ) -> i32 {
//!     let body = || Ok(s.get()?.iter().filter(|&&b| b == 0).count() as u64);
//!     // SAFETY:
//!     // - `out` and `status` are as `call_out` requires: this function's own contract.
//!     unsafe { ffi::call_out(status, out, body) }
//! }
//!
//! let data = [0u8, 1, 0, 2];
//! let mut n = 0;
//! // SAFETY:
//! // - the view borrows `data`, `n` is a valid out-pointer, status may be NULL.
//! let code = unsafe { my_count_zeros(ForeignSlice::from_slice(&data), &mut n, std::ptr::null_mut()) };
//! assert_eq!((code, n), (0, 2));
//! ```
//!
//! # Confined to the call
//!
//! A view (or the slice it yields) cannot outlive the call.
//!
//! The slice cannot be kept in a `static`:
//!
//! ```compile_fail,E0521
//! use gobridge::buffer::ForeignSlice;
//! use std::sync::Mutex;
//! static KEPT: Mutex<Option<&'static [u8]>> = Mutex::new(None);
//! extern "C" fn keep(s: ForeignSlice<'_, u8>) {
//!     *KEPT.lock().unwrap() = Some(s.get().unwrap()); // error: borrowed data escapes
//! }
//! ```
//!
//! nor can the view itself:
//!
//! ```compile_fail,E0521
//! use gobridge::buffer::ForeignSlice;
//! use std::sync::Mutex;
//! static KEPT: Mutex<Option<ForeignSlice<'static, u8>>> = Mutex::new(None);
//! extern "C" fn keep(s: ForeignSlice<'_, u8>) {
//!     *KEPT.lock().unwrap() = Some(s); // error: borrowed data escapes
//! }
//! ```
//!
//! What it yields cannot outlive the memory it views:
//!
//! ```compile_fail,E0515
//! use gobridge::buffer::ForeignSlice;
//! fn leak() -> &'static [u8] {
//!     let data = vec![1u8, 2, 3];
//!     ForeignSlice::from_slice(&data).get().unwrap() // error: returns a borrow of `data`
//! }
//! ```
//!
//! It cannot be sent to a thread that outlives the call (`std::thread::spawn` requires
//! `'static`) — the view is `Send`, so this fails for the lifetime alone:
//!
//! ```compile_fail,E0521
//! use gobridge::buffer::ForeignSlice;
//! extern "C" fn background(s: ForeignSlice<'_, u8>) {
//!     std::thread::spawn(move || s.get().map(|b| b.len())); // error: borrowed data escapes
//! }
//! ```
//!
//! The same holds for the mutable view:
//!
//! ```compile_fail,E0521
//! use gobridge::buffer::ForeignSliceMut;
//! extern "C" fn background(s: ForeignSliceMut<'_, u8>) {
//!     std::thread::spawn(move || { let _ = s.into_slice().map(|b| b.fill(1)); }); // error
//! }
//! ```
//!
//! whereas a scoped thread, which ends before the call returns, may use a view:
//!
//! ```
//! use gobridge::buffer::ForeignSlice;
//! extern "C" fn parallel_len(s: ForeignSlice<'_, u8>) -> usize {
//!     std::thread::scope(|scope| scope.spawn(|| s.get().map_or(0, |b| b.len())).join().unwrap())
//! }
//! assert_eq!(parallel_len(ForeignSlice::from_slice(b"abc")), 3);
//! ```

#[allow(unsafe_code)] // a view becomes a slice: the caller's pointer and length
mod foreign_slice;
#[allow(unsafe_code)] // likewise, writable
mod foreign_slice_mut;
#[allow(unsafe_code)] // allocation, deallocation, Send/Sync of the pointer handed to Go
mod owned_buf;
mod pod;

pub use foreign_slice::ForeignSlice;
pub use foreign_slice_mut::ForeignSliceMut;
pub use owned_buf::{OWNED_BUF_ALIGN, OwnedBuf, OwnedBufInfo};
pub use pod::Pod;

use crate::{BufferError, Error, Result};

/// The checks shared by both views, in order: NULL with a length, alignment, length overflow,
/// address wrap. Returns `Ok(false)` for an empty view (nothing to read), `Ok(true)` when the
/// pointer may be dereferenced for `len` elements (given the creator's promise).
fn validate<T>(ptr: *const T, len: usize) -> Result<bool> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(false)
        } else {
            Err(Error::InvalidBuffer(BufferError::NullWithLength))
        };
    }
    if !ptr.is_aligned() {
        return Err(Error::InvalidBuffer(BufferError::Misaligned));
    }
    let bytes = len
        .checked_mul(size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(Error::InvalidBuffer(BufferError::LengthOverflow))?;
    if (ptr as usize).checked_add(bytes).is_none() {
        return Err(Error::InvalidBuffer(BufferError::AddressWrap));
    }
    Ok(len != 0)
}
