//! A read-only view of foreign memory, valid for one call.

use super::{Pod, validate};
use crate::Result;
use std::fmt;
use std::marker::PhantomData;

/// A read-only view of `len` elements of `T` at `ptr`, lent by the caller for one call.
///
/// C: `GobridgeForeignSlice_u8` for `T = u8` (`{const uint8_t *ptr; size_t len;}`). Pass a Go
/// slice `b` as `{(*C.uint8_t)(unsafe.SliceData(b)), C.size_t(len(b))}`; `{NULL, 0}` is the
/// empty slice. The memory is only read during the call.
#[repr(C)]
pub struct ForeignSlice<'a, T: Pod> {
    pub(crate) ptr: *const T,
    pub(crate) len: usize,
    _lifetime: PhantomData<&'a [T]>,
}

// SAFETY:
// - A `ForeignSlice<'a, T>` grants exactly what a `&'a [T]` grants (shared, read-only access
//   for `'a`), and `&'a [T]` is `Send` because `T: Pod` implies `T: Sync`.
unsafe impl<T: Pod> Send for ForeignSlice<'_, T> {}
// SAFETY:
// - As above: `&'a [T]` is `Sync` because `T: Pod` implies `T: Sync`.
unsafe impl<T: Pod> Sync for ForeignSlice<'_, T> {}

impl<T: Pod> Clone for ForeignSlice<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Pod> Copy for ForeignSlice<'_, T> {}

impl<T: Pod> Default for ForeignSlice<'_, T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Pod> fmt::Debug for ForeignSlice<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignSlice").field("ptr", &self.ptr).field("len", &self.len).finish()
    }
}

impl<'a, T: Pod> ForeignSlice<'a, T> {
    /// The empty view: NULL and 0 (never a dangling non-null pointer).
    pub const fn empty() -> Self {
        ForeignSlice { ptr: std::ptr::null(), len: 0, _lifetime: PhantomData }
    }

    /// A view of a Rust slice, for passing Rust memory to a function taking a view (C code
    /// or a Rust `extern "C"` function). An empty slice becomes NULL/0.
    pub const fn from_slice(slice: &'a [T]) -> Self {
        if slice.is_empty() {
            Self::empty()
        } else {
            ForeignSlice { ptr: slice.as_ptr(), len: slice.len(), _lifetime: PhantomData }
        }
    }

    /// A view from raw parts, as C would pass it.
    ///
    /// # Safety
    ///
    /// Unless `ptr` is NULL, or [`get`](Self::get) would refuse the pair, `ptr` must point to
    /// `len` initialised values of `T` inside one allocation, valid for reads and not mutated
    /// for all of `'a` (which the caller chooses: keep it as short as the loan).
    pub const unsafe fn from_raw_parts(ptr: *const T, len: usize) -> Self {
        ForeignSlice { ptr, len, _lifetime: PhantomData }
    }

    /// The pointer as passed (not validated).
    pub const fn as_ptr(&self) -> *const T {
        self.ptr
    }

    /// The length in elements as passed (not validated).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is 0.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Validates the view and returns the slice.
    ///
    /// Checks, in this order, each broken rule being a distinct
    /// [`Error::InvalidBuffer`](crate::Error::InvalidBuffer) reason:
    ///
    /// | input | result |
    /// |---|---|
    /// | NULL, `len == 0` | `Ok(&[])` — how Go passes an empty slice |
    /// | NULL, `len > 0` | [`NullWithLength`](crate::BufferError::NullWithLength) |
    /// | `ptr` not aligned for `T` | [`Misaligned`](crate::BufferError::Misaligned) |
    /// | `len * size_of::<T>()` overflows or exceeds `isize::MAX` | [`LengthOverflow`](crate::BufferError::LengthOverflow) |
    /// | `ptr + bytes` wraps the address space | [`AddressWrap`](crate::BufferError::AddressWrap) |
    ///
    /// What cannot be checked (that the memory is mapped, initialised and not written by
    /// someone else during the call) is the promise of whoever created the view: the C caller
    /// of an `unsafe extern "C"` function, or the caller of
    /// [`from_raw_parts`](Self::from_raw_parts).
    pub fn get(&self) -> Result<&'a [T]> {
        if !validate(self.ptr, self.len)? {
            return Ok(&[]);
        }
        // SAFETY:
        // - `ptr` is non-null and aligned for `T`, `len * size_of::<T>() <= isize::MAX` and
        //   the range does not wrap (all checked by `validate`).
        // - The memory holds `len` initialised `T`s in one allocation, readable and not
        //   mutated for `'a`: the promise of whoever created the view (`from_raw_parts`'s
        //   contract, or the C caller's contract of the `extern "C"` function taking it).
        // - Every bit pattern is a valid `T` (`T: Pod`).
        Ok(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }
}

impl<'a, T: Pod> From<&'a [T]> for ForeignSlice<'a, T> {
    fn from(slice: &'a [T]) -> Self {
        Self::from_slice(slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BufferError, Error};

    #[test]
    fn empty_slice_is_null() {
        let v: [u32; 0] = [];
        assert!(ForeignSlice::from_slice(&v).as_ptr().is_null());
        assert_eq!(ForeignSlice::<u8>::empty().get().unwrap(), &[] as &[u8]);
    }

    #[test]
    fn each_rule_has_its_reason() {
        let bad = |p: usize, len| {
            // SAFETY: every pair here is refused by `get`, nothing is dereferenced.
            let s = unsafe { ForeignSlice::<u32>::from_raw_parts(p as *const u32, len) };
            match s.get() {
                Err(Error::InvalidBuffer(why)) => why,
                other => panic!("{p:#x}/{len}: {other:?}"),
            }
        };
        assert_eq!(bad(0, 1), BufferError::NullWithLength);
        assert_eq!(bad(2, 1), BufferError::Misaligned);
        assert_eq!(bad(4, usize::MAX / 2), BufferError::LengthOverflow);
        assert_eq!(bad(4, isize::MAX as usize / 4 + 1), BufferError::LengthOverflow);
        assert_eq!(bad(usize::MAX - 7, 4), BufferError::AddressWrap);
    }
}
