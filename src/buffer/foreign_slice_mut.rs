//! A writable view of foreign memory, valid for one call.

use super::{Pod, validate};
use crate::Result;
use std::fmt;
use std::marker::PhantomData;

/// A writable view of `len` elements of `T` at `ptr`, lent by the caller for one call.
///
/// C: `GobridgeForeignSliceMut_u8` for `T = u8` (`{uint8_t *ptr; size_t len;}`). The mutable
/// twin of `ForeignSlice`: same layout, same validation, same confinement to the call; the
/// memory is read and written only during the call.
#[repr(C)]
pub struct ForeignSliceMut<'a, T: Pod> {
    pub(crate) ptr: *mut T,
    pub(crate) len: usize,
    _lifetime: PhantomData<&'a mut [T]>,
}

// SAFETY:
// - A `ForeignSliceMut<'a, T>` grants exactly what a `&'a mut [T]` grants, which is `Send`
//   because `T: Pod` implies `T: Send`.
unsafe impl<T: Pod> Send for ForeignSliceMut<'_, T> {}
// SAFETY:
// - Shared access (`&ForeignSliceMut`) only reads the pointer and length, never the elements
//   (`get` needs `&mut self`), and `&'a mut [T]` is `Sync` because `T: Sync`.
unsafe impl<T: Pod> Sync for ForeignSliceMut<'_, T> {}

impl<T: Pod> Default for ForeignSliceMut<'_, T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Pod> fmt::Debug for ForeignSliceMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignSliceMut").field("ptr", &self.ptr).field("len", &self.len).finish()
    }
}

impl<'a, T: Pod> ForeignSliceMut<'a, T> {
    /// The empty view: NULL and 0.
    pub const fn empty() -> Self {
        ForeignSliceMut { ptr: std::ptr::null_mut(), len: 0, _lifetime: PhantomData }
    }

    /// A view of a Rust slice (an empty slice becomes NULL/0).
    pub const fn from_slice(slice: &'a mut [T]) -> Self {
        if slice.is_empty() {
            Self::empty()
        } else {
            ForeignSliceMut { ptr: slice.as_mut_ptr(), len: slice.len(), _lifetime: PhantomData }
        }
    }

    /// A view from raw parts, as C would pass it.
    ///
    /// # Safety
    ///
    /// Unless `ptr` is NULL, or [`get`](Self::get) would refuse the pair, `ptr` must point to
    /// `len` initialised values of `T` inside one allocation, valid for reads and writes and
    /// accessed by nobody else for all of `'a`.
    pub const unsafe fn from_raw_parts(ptr: *mut T, len: usize) -> Self {
        ForeignSliceMut { ptr, len, _lifetime: PhantomData }
    }

    /// The pointer as passed (not validated).
    pub const fn as_ptr(&self) -> *mut T {
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

    /// Validates the view (the checks of [`ForeignSlice::get`](super::ForeignSlice::get)) and
    /// reborrows it as a mutable slice.
    ///
    /// ```
    /// use gobridge::buffer::ForeignSliceMut;
    ///
    /// extern "C" fn zero(mut s: ForeignSliceMut<'_, u16>) -> bool {
    ///     s.get().map(|s| s.fill(0)).is_ok()
    /// }
    /// let mut data = [1u16, 2, 3];
    /// assert!(zero(ForeignSliceMut::from_slice(&mut data)));
    /// assert_eq!(data, [0, 0, 0]);
    /// ```
    pub fn get(&mut self) -> Result<&mut [T]> {
        if !validate(self.ptr.cast_const(), self.len)? {
            return Ok(&mut []);
        }
        // SAFETY:
        // - `ptr` is non-null and aligned, the byte length fits `isize` and does not wrap
        //   (checked by `validate`).
        // - The memory holds `len` initialised `T`s in one allocation, readable, writable and
        //   not accessed by anyone else for `'a` (the view creator's promise); the returned
        //   borrow of `self` keeps this view from handing out a second one meanwhile.
        // - Every bit pattern is a valid `T` (`T: Pod`).
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) })
    }

    /// Validates the view and turns it into a mutable slice for all of `'a`. The view is
    /// consumed (it is not `Copy`), so safe code cannot make two `&mut [T]` from one view.
    pub fn into_slice(self) -> Result<&'a mut [T]> {
        if !validate(self.ptr.cast_const(), self.len)? {
            return Ok(&mut []);
        }
        // SAFETY:
        // - As in `get`; the view is consumed, so this is the only slice made from it.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) })
    }
}

impl<'a, T: Pod> From<&'a mut [T]> for ForeignSliceMut<'a, T> {
    fn from(slice: &'a mut [T]) -> Self {
        Self::from_slice(slice)
    }
}
