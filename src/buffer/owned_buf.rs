//! Rust memory handed to Go, named by a generation-checked handle.

use crate::handle::{Handle, HandleTable, kind};
use crate::{Error, Result};
use std::alloc::{self, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What Go receives for an owned buffer (C: `GobridgeOwnedBuf`): the handle that names it, and
/// where its bytes are.
///
/// `ptr` is 64-byte aligned and the bytes are zeroed at allocation; for `len == 0`, `ptr` is
/// NULL (never a dangling `0x1`) — Go makes the empty slice with `unsafe.Slice(nil, 0)`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnedBufInfo {
    /// The buffer's handle (never 0 for a live buffer).
    pub handle: u64,
    /// The first byte, or NULL when `len == 0`.
    pub ptr: *mut u8,
    /// The length in bytes.
    pub len: usize,
}

/// The alignment of every [`OwnedBuf`]'s first byte (a cache line).
pub const OWNED_BUF_ALIGN: usize = 64;

// SAFETY:
// - An `OwnedBufInfo` is a description (a handle and an address), not access: reading or
//   writing the bytes through `ptr` needs `unsafe` and the caller's own synchronisation, so
//   moving or sharing the description between threads grants nothing.
unsafe impl Send for OwnedBufInfo {}
// SAFETY:
// - As above: `&OwnedBufInfo` exposes only the integer fields and the pointer value.
unsafe impl Sync for OwnedBufInfo {}

/// Rust-allocated byte buffers lent to Go for as long as Go wants them.
///
/// `OwnedBuf` is the namespace of the buffer table (one per process): [`alloc`](Self::alloc)
/// creates a buffer and returns its [`OwnedBufInfo`]; Go reads and writes the bytes through
/// `ptr` (as C memory: it may keep the pointer and store it anywhere, cgo's pointer rules do not
/// apply to it), and finally calls [`free`](Self::free) with the handle.
///
/// Every misuse of a handle is an error, never undefined behaviour: freeing twice, freeing or
/// resolving a forged handle, a handle of another kind of object, or a handle whose buffer was
/// freed (even if its slot was reused since) all return [`Error::StaleHandle`]. What a handle
/// cannot protect is the raw pointer: bytes must not be touched after `free` (as with
/// `C.free`), and Rust code that reads a buffer Go is writing needs its own synchronisation.
///
/// An optional per-process byte budget ([`set_budget`](Self::set_budget)) turns runaway
/// allocation into [`Error::LimitExceeded`]; [`live_count`](Self::live_count) and
/// [`live_bytes`](Self::live_bytes) report what is outstanding (a Go test asserts they return
/// to zero).
///
/// ```
/// use gobridge::buffer::OwnedBuf;
/// use gobridge::Error;
///
/// let buf = OwnedBuf::alloc(100)?;
/// assert_eq!(buf.ptr as usize % 64, 0);
/// // SAFETY: `ptr` is valid for `len` bytes until `free`, and nobody else uses it here.
/// unsafe { buf.ptr.write_bytes(7, buf.len) };
/// let handle = gobridge::handle::Handle::from_raw(buf.handle);
/// assert_eq!(OwnedBuf::resolve(handle)?, buf);
/// OwnedBuf::free(handle)?;
/// assert_eq!(OwnedBuf::free(handle), Err(Error::StaleHandle));   // double free
/// assert_eq!(OwnedBuf::resolve(handle), Err(Error::StaleHandle)); // use after free
/// assert!(OwnedBuf::alloc(0)?.ptr.is_null());                    // never 0x1
/// # Ok::<(), gobridge::Error>(())
/// ```
///
/// # A complete round trip from Go
///
/// The C functions over this type are `gobridge_buffer_alloc`, `gobridge_buffer_resolve` and
/// `gobridge_buffer_free` (see [`crate::capi`] with the `capi` feature). In Go, with the
/// staticlib linked:
///
/// ```go
/// package main
///
/// /*
/// #cgo LDFLAGS: ${SRCDIR}/lib/libgobridge_capi.a -lm -ldl -lpthread
/// #include "gobridge.h"
/// */
/// import "C"
///
/// import (
///     "fmt"
///     "unsafe"
/// )
///
/// func status() (*C.GobridgeStatus, []byte) {
///     msg := make([]byte, 256) // C memory is not needed: the buffer lives for the call
///     return &C.GobridgeStatus{msg: (*C.char)(unsafe.Pointer(&msg[0])), msg_cap: C.size_t(len(msg))}, msg
/// }
///
/// func main() {
///     var buf C.GobridgeOwnedBuf
///     st, _ := status()
///     if C.gobridge_buffer_alloc(4096, &buf, st) != 0 {
///         panic("alloc failed")
///     }
///     b := unsafe.Slice((*byte)(unsafe.Pointer(buf.ptr)), int(buf.len)) // Rust memory, Go view
///     b[0] = 42
///
///     // Lend the Rust-owned bytes back to Rust as a view: the sum is computed in Rust.
///     var sum C.uint64_t
///     view := C.GobridgeForeignSlice_u8{ptr: buf.ptr, len: buf.len}
///     C.gobridge_sum(view, &sum, st)
///     fmt.Println(sum) // 42
///
///     h := buf.handle
///     C.gobridge_buffer_free(h, st)
///     st, msg := status()
///     if code := C.gobridge_buffer_free(h, st); code != 0 { // double free: detected
///         fmt.Println(code, string(msg[:st.msg_len])) // 6 stale or invalid handle
///     }
/// }
/// ```
///
/// The matching C is in `tests/c/abi_test.c`; Go must not keep `b` after the free.
#[derive(Debug)]
pub struct OwnedBuf {
    _private: (),
}

/// One allocation; freed (and the counters updated) when the last `Arc` to it is dropped.
struct Allocation {
    ptr: *mut u8,
    len: usize,
}

// SAFETY:
// - `Allocation` owns its memory exclusively (no aliasing Rust references exist); it only holds
//   the pointer to give it out and to deallocate it, which any thread may do.
unsafe impl Send for Allocation {}
// SAFETY:
// - `&Allocation` only exposes the pointer value and the length, never the bytes.
unsafe impl Sync for Allocation {}

impl Drop for Allocation {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY:
            // - `ptr` was returned by `alloc_zeroed` with exactly this layout (`layout(len)`
            //   succeeded at allocation, so it succeeds again) and is deallocated only here,
            //   once, when the last `Arc<Allocation>` goes away.
            unsafe { alloc::dealloc(self.ptr, layout(self.len).expect("layout was valid")) };
        }
        LIVE_BYTES.fetch_sub(self.len, Ordering::Relaxed);
        LIVE_COUNT.fetch_sub(1, Ordering::Relaxed);
    }
}

static TABLE: HandleTable<Allocation> = HandleTable::new(kind::BUFFER);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_COUNT: AtomicUsize = AtomicUsize::new(0);
/// `usize::MAX` = no budget.
static BUDGET: AtomicUsize = AtomicUsize::new(usize::MAX);

fn layout(len: usize) -> Result<Layout> {
    Layout::from_size_align(len, OWNED_BUF_ALIGN)
        .map_err(|_| Error::InvalidArgument("buffer length too large"))
}

impl OwnedBuf {
    /// Allocates `len` zeroed bytes and returns the buffer's handle and location.
    ///
    /// Errors: [`Error::InvalidArgument`] when `len` is too large for any allocation,
    /// [`Error::LimitExceeded`] when the byte budget would be exceeded, `Error::Sys(ENOMEM)`
    /// when the allocator fails (instead of aborting the process).
    pub fn alloc(len: usize) -> Result<OwnedBufInfo> {
        let layout = layout(len)?;
        let budget = BUDGET.load(Ordering::Relaxed);
        LIVE_BYTES
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
                live.checked_add(len).filter(|&total| total <= budget)
            })
            .map_err(|_| Error::LimitExceeded("owned-buffer byte budget"))?;
        let ptr = if len == 0 {
            std::ptr::null_mut()
        } else {
            // SAFETY:
            // - `layout` has a non-zero size (`len > 0`) and a valid power-of-two alignment.
            let ptr = unsafe { alloc::alloc_zeroed(layout) };
            if ptr.is_null() {
                LIVE_BYTES.fetch_sub(len, Ordering::Relaxed);
                return Err(Error::Sys(nix::errno::Errno::ENOMEM));
            }
            ptr
        };
        LIVE_COUNT.fetch_add(1, Ordering::Relaxed);
        // From here on, dropping `allocation` (e.g. if the table is full) undoes everything.
        let allocation = Allocation { ptr, len };
        let handle = TABLE.insert(allocation)?;
        Ok(OwnedBufInfo { handle: handle.as_raw(), ptr, len })
    }

    /// Frees the buffer named by `handle`. Its handle is stale from now on.
    ///
    /// Errors: [`Error::StaleHandle`] for a freed, forged, zero or other-kind handle.
    pub fn free(handle: Handle) -> Result<()> {
        TABLE.remove(handle).map(drop)
    }

    /// Where the buffer named by `handle` is.
    ///
    /// Errors: [`Error::StaleHandle`] as for [`free`](Self::free).
    pub fn resolve(handle: Handle) -> Result<OwnedBufInfo> {
        let a = TABLE.get(handle)?;
        Ok(OwnedBufInfo { handle: handle.as_raw(), ptr: a.ptr, len: a.len })
    }

    /// The number of buffers allocated and not yet freed.
    pub fn live_count() -> usize {
        LIVE_COUNT.load(Ordering::Relaxed)
    }

    /// The bytes held by buffers allocated and not yet freed.
    pub fn live_bytes() -> usize {
        LIVE_BYTES.load(Ordering::Relaxed)
    }

    /// Sets the per-process byte budget (`None` = unlimited, the default) and returns the
    /// previous one. Buffers already allocated are kept even if they exceed a new, smaller
    /// budget; only new allocations are refused.
    pub fn set_budget(bytes: Option<usize>) -> Option<usize> {
        let old = BUDGET.swap(bytes.unwrap_or(usize::MAX), Ordering::Relaxed);
        (old != usize::MAX).then_some(old)
    }

    /// The current byte budget (`None` = unlimited).
    pub fn budget() -> Option<usize> {
        let b = BUDGET.load(Ordering::Relaxed);
        (b != usize::MAX).then_some(b)
    }
}
