//! The element types a foreign buffer may hold.
#![forbid(unsafe_code)]

mod sealed {
    pub trait Sealed {}
}

/// Plain old data: types for which every bit pattern of the right size is a valid value, with
/// no padding, no pointers and no drop glue — what may sit in memory written by Go or C.
///
/// Implemented for the integer and floating-point primitives and for arrays of them (arrays of
/// arrays too). The trait is **sealed**: it cannot be implemented outside gobridge.
///
/// Why a sealed trait and not `bytemuck::Pod`: the guarantee a view relies on ("any bytes Go
/// wrote are a valid `T`") is then proven by gobridge for a closed list of types rather than
/// promised by whoever writes an `unsafe impl bytemuck::Pod` for their struct; the crate keeps
/// zero dependencies for it; and the C ABI only needs bytes and numbers. The price: a view of a
/// user's `#[repr(C)]` struct is not possible — use a byte view and decode, or a view of
/// arrays (`ForeignSlice<[u32; 4]>`). A `bytemuck` feature could add that later without
/// breaking this API.
///
/// `bool` and `char` are not `Pod` (most bit patterns are invalid values); neither are
/// references, pointers, or anything with padding.
///
/// ```compile_fail,E0277
/// // `bool` has invalid bit patterns, so it is not Pod:
/// fn view(s: gobridge::buffer::ForeignSlice<'_, bool>) {}
/// ```
pub trait Pod: Copy + Send + Sync + 'static + sealed::Sealed {}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Pod for $t {}
    )*};
}

pod!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

impl<T: Pod, const N: usize> sealed::Sealed for [T; N] {}
impl<T: Pod, const N: usize> Pod for [T; N] {}
