//! Out-pointers: checked before a C function does anything, written only on success.

use crate::ffi::{Status, call};
use crate::{Error, Result};
use std::mem::MaybeUninit;

/// Returns `ptr` as a non-null, aligned out-pointer, or `Error::InvalidArgument`.
///
/// `Ok` only proves that `ptr` is non-null and aligned; writing through it still needs the C
/// caller's promise that it is valid for a write of `T`. [`call_out`] and [`call_out_slice`]
/// make this check and the write for you; use `out_ptr` directly only for a shape they do not
/// cover.
pub fn out_ptr<T>(ptr: *mut T) -> Result<*mut T> {
    if ptr.is_null() {
        Err(Error::InvalidArgument("out-pointer is NULL"))
    } else if !ptr.is_aligned() {
        Err(Error::InvalidArgument("out-pointer is misaligned"))
    } else {
        Ok(ptr)
    }
}

/// [`call`] for a C function with one result: checks `out` first (NULL or misaligned is
/// `Error::InvalidArgument` and `f` never runs, so nothing is created), runs `f` under the
/// panic guard, writes its value to `*out` on success only, and reports the outcome in
/// `*status`.
///
/// ```
/// use gobridge::ffi::{self, Status};
/// use gobridge::Error;
///
/// /// # Safety
/// /// `out` is NULL or valid for a write of `uint32_t`; `status` is NULL or a valid status.
/// unsafe extern "C" fn my_parse(value: i64, out: *mut u32, status: *mut Status) -> i32 {
///     // SAFETY:
///     // - `out` and `status` are as `call_out` requires: this function's own contract.
///     unsafe {
///         ffi::call_out(status, out, || {
///             u32::try_from(value).map_err(|_| Error::InvalidArgument("out of range"))
///         })
///     }
/// }
///
/// let mut out = 0u32;
/// // SAFETY:
/// // - `out` is valid; a NULL status is allowed.
/// assert_eq!(unsafe { my_parse(7, &mut out, std::ptr::null_mut()) }, 0);
/// assert_eq!(out, 7);
/// // SAFETY:
/// // - a NULL out-pointer is refused before the body runs.
/// let code = unsafe { my_parse(7, std::ptr::null_mut(), std::ptr::null_mut()) };
/// assert_eq!(code, Error::InvalidArgument("").code());
/// ```
///
/// # Safety
///
/// - `status` is as [`call`] requires.
/// - `out` is NULL, misaligned (both refused), or valid for a write of `T` and not accessed
///   by anyone else during the call.
pub unsafe fn call_out<T>(status: *mut Status, out: *mut T, f: impl FnOnce() -> Result<T>) -> i32 {
    let body = || {
        let out = out_ptr(out)?;
        let value = f()?;
        // SAFETY:
        // - `out` is non-null and aligned (`out_ptr`), and valid for a write of `T` (this
        //   function's contract).
        unsafe { out.write(value) };
        Ok(())
    };
    // SAFETY:
    // - `status` is as `call` requires (this function's contract).
    unsafe { call(status, body) }
}

/// [`call`] for a C function that fills a caller's array `out[0..cap]` and writes a count to
/// `*out_n`: checks `out_n`, and `out` when `cap > 0` (NULL or misaligned is
/// `Error::InvalidArgument` and `f` never runs), then runs `f` with the array as uninitialised
/// slots. `f` writes some prefix of them and returns the count to report (which may exceed
/// `cap`, e.g. "this many exist"), written to `*out_n` on success only.
///
/// `out` may be NULL when `cap` is 0: `f` then gets an empty slice (the "how many are
/// there?" call).
///
/// # Safety
///
/// - `status` is as [`call`] requires.
/// - `out_n` is NULL, misaligned (both refused), or valid for a write of `usize`.
/// - When `cap > 0`, `out` is NULL, misaligned (both refused), or valid for writes of `cap`
///   `T`s. Neither is accessed by anyone else during the call.
pub unsafe fn call_out_slice<T>(
    status: *mut Status,
    out: *mut T,
    cap: usize,
    out_n: *mut usize,
    f: impl FnOnce(&mut [MaybeUninit<T>]) -> Result<usize>,
) -> i32 {
    let body = || {
        let out_n = out_ptr(out_n)?;
        let slots: &mut [MaybeUninit<T>] = if cap == 0 {
            &mut []
        } else {
            let out = out_ptr(out)?;
            if cap.checked_mul(size_of::<T>()).is_none_or(|bytes| bytes > isize::MAX as usize) {
                return Err(Error::InvalidArgument("array capacity is too large"));
            }
            // SAFETY:
            // - `out` is non-null and aligned (`out_ptr`) and valid for writes of `cap` `T`s,
            //   which nobody else accesses during the call (this function's contract);
            //   `cap * size_of::<T>() <= isize::MAX` (checked).
            // - `MaybeUninit<T>` has `T`'s layout and no validity requirement, so the slots
            //   may hold anything.
            unsafe { std::slice::from_raw_parts_mut(out.cast::<MaybeUninit<T>>(), cap) }
        };
        let n = f(slots)?;
        // SAFETY:
        // - `out_n` is non-null and aligned (`out_ptr`), and valid for a write (this
        //   function's contract).
        unsafe { out_n.write(n) };
        Ok(())
    };
    // SAFETY:
    // - `status` is as `call` requires (this function's contract).
    unsafe { call(status, body) }
}

/// Writes `value` to `*ptr` if `ptr` is non-null and aligned, and does nothing otherwise: for
/// the optional results of functions that never fail (`gobridge_buffer_stats`).
///
/// # Safety
///
/// `ptr` is NULL, misaligned, or valid for a write of `T`.
pub unsafe fn write_if_valid<T>(ptr: *mut T, value: T) {
    if let Ok(ptr) = out_ptr(ptr) {
        // SAFETY:
        // - `ptr` is non-null and aligned (`out_ptr`), and valid for a write (this function's
        //   contract).
        unsafe { ptr.write(value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_out_checks_the_pointer_before_the_body() {
        let mut ran = false;
        // SAFETY:
        // - NULL status and NULL out are both allowed (and the out is refused).
        let code = unsafe {
            call_out(std::ptr::null_mut(), std::ptr::null_mut::<u32>(), || {
                ran = true;
                Ok(1)
            })
        };
        assert_eq!((code, ran), (Error::InvalidArgument("").code(), false));
    }

    #[test]
    fn call_out_writes_only_on_success() {
        let mut out = 5u32;
        // SAFETY:
        // - `out` is valid for a write; NULL status is allowed.
        let code = unsafe { call_out(std::ptr::null_mut(), &mut out, || Err(Error::Timeout)) };
        assert_eq!((code, out), (Error::Timeout.code(), 5));
    }

    #[test]
    fn call_out_slice_hands_the_array_and_reports_the_count() {
        let mut out = [0u16; 4];
        let mut n = 0usize;
        // SAFETY:
        // - `out` is valid for 4 writes and `n` for one; NULL status is allowed.
        let code = unsafe {
            call_out_slice(std::ptr::null_mut(), out.as_mut_ptr(), 3, &mut n, |slots| {
                for (i, slot) in slots.iter_mut().enumerate() {
                    slot.write(i as u16 + 1);
                }
                Ok(9)
            })
        };
        assert_eq!((code, n, out), (0, 9, [1, 2, 3, 0]));
        // SAFETY:
        // - `cap == 0` with a NULL array is allowed; `n` is valid.
        let code = unsafe {
            call_out_slice(std::ptr::null_mut(), std::ptr::null_mut::<u16>(), 0, &mut n, |s| {
                Ok(s.len())
            })
        };
        assert_eq!((code, n), (0, 0));
        // SAFETY:
        // - a NULL array with `cap > 0` is refused before the body runs.
        let code = unsafe {
            call_out_slice(std::ptr::null_mut(), std::ptr::null_mut::<u16>(), 1, &mut n, |_| {
                unreachable!("refused before the body")
            })
        };
        assert_eq!(code, Error::InvalidArgument("").code());
    }
}
