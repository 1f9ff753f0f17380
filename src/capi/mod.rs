//! The gobridge C ABI: safe primitives for native code inside a Go process (thread-pinned
//! executors, thread-bound objects, scoped signal masks, write-only signal handlers, checked
//! buffers), for cgo or any C caller.
//!
//! Feature `capi`; the probes the Go harness's own tests call need feature `harness` as well.
//! The header `include/gobridge.h` is generated from this module by cbindgen: the doc comments
//! of the items become its comments, and its opening comment is the first paragraph above and
//! the *Conventions* section below, copied by `tests/header.rs` (so they are written only
//! here). That test fails when the checked-in header is stale.
//!
//! # Conventions
//!
//! Every function follows them.
//!
//! - Names: functions are `gobridge_<object>_<verb>`, types `Gobridge<RustName>` (the Rust
//!   `ffi::Status` is `GobridgeStatus`), constants `GOBRIDGE_*`.
//! - Errors: a fallible function is `int32_t gobridge_x(args..., GobridgeStatus *status)`. It
//!   returns 0 (`GOBRIDGE_OK`) or one of the `GOBRIDGE_E_*` codes, and writes the same code,
//!   the OS errno (for `GOBRIDGE_E_SYS`) and a NUL-terminated message into `*status` when
//!   `status` is not NULL (the message goes into the caller's `msg` buffer of `msg_cap` bytes,
//!   truncated at a UTF-8 boundary). There is no thread-local "last error": a goroutine may
//!   read its status on any thread.
//! - Results go through out-pointers, which are checked: NULL or misaligned is
//!   `GOBRIDGE_E_INVALID_ARGUMENT` and nothing happens (no object is created, nothing leaks).
//!   Out-pointers are written only on success.
//! - Objects are named by `uint64_t` handles, never pointers; 0 is never a valid handle. A
//!   freed, forged or other-kind handle is `GOBRIDGE_E_STALE_HANDLE`, never undefined
//!   behaviour.
//! - Panics never cross the boundary: a panic inside a function is `GOBRIDGE_E_PANICKED` with
//!   the panic message. Callbacks you pass must not unwind either (no C++ exception, no Go
//!   panic: recover inside the callback).
//! - Threads: unless a function says otherwise it may be called from any thread, concurrently
//!   with any other function.
//! - Memory: nothing is allocated for the caller to free except owned buffers (freed with
//!   `gobridge_buffer_free`). Caller memory passed in (views, Go slices) is used only for the
//!   duration of the call (cgo's rule).
//! - Versions: check at start-up that this header matches the library:
//!   `gobridge_abi_version() == GOBRIDGE_ABI_VERSION`, and the layouts from
//!   `gobridge_type_layouts()` match `sizeof`, `_Alignof` and `offsetof` (the Go package does
//!   both in `init()`).
//! - Linking: a Go binary holds one Rust staticlib, your own crate's, which re-exports this
//!   ABI (`pub use gobridge::capi;`, as the `capi/` crate of the repository does), linked with
//!   `#cgo LDFLAGS: ${SRCDIR}/lib/libmyapp.a -ldl -lpthread -lm`.
//! - Test probes: `gobridge_sum`, `gobridge_fill`, `gobridge_bench_noop`,
//!   `gobridge_bench_noop_guarded` and `gobridge_sleep_interruptible` exist only in a library
//!   built with feature `harness` and are declared only under `#if defined(GOBRIDGE_HARNESS)`.
//!
//! # From Go
//!
//! A status holds a pointer to its message buffer, and memory passed to C may not contain Go
//! pointers unless they are pinned. The Go package therefore never passes Go memory as a
//! status: each C function has a thin wrapper in `bridge.c` that puts a `GobridgeStatus` and a
//! 256-byte message buffer on the C stack, makes the call and copies code, errno and message
//! into its return value:
//!
//! ```c
//! gb_result gb_executor_tid(uint64_t h) {
//!     gb_result r = {0};
//!     char buf[GB_MSG_CAP];   /* 256 */
//!     buf[0] = '\0';
//!     GobridgeStatus st = {.msg = buf, .msg_cap = GB_MSG_CAP};
//!     int32_t tid = 0;
//!     int32_t code = gobridge_executor_tid(h, &tid, &st);
//!     r.value = (uint64_t)tid;
//!     gb_finish(&r, code, &st, buf);  /* code, sys_errno, a malloc'd copy of the message */
//!     return r;
//! }
//! ```
//!
//! Your own `extern "C"` functions (written with [`ffi::call_out`](crate::ffi::call_out) and
//! friends) need no wrapper: `gobridge.CallStatus` passes them a C-allocated status with its
//! message buffer and returns the package's `*gobridge.Error` (`errors.Is` with
//! `gobridge.ErrInvalidArgument`, ...):
//!
//! ```go
//! /*
//! #cgo LDFLAGS: ${SRCDIR}/lib/libmyapp.a -ldl -lpthread -lm
//! #include "gobridge.h"
//! // Rust: #[unsafe(no_mangle)] pub unsafe extern "C" fn myapp_checksum(...) -> i32
//! int32_t myapp_checksum(GobridgeForeignSlice_u8 data, uint64_t *out, GobridgeStatus *status);
//! */
//! import "C"
//!
//! func Checksum(data []byte) (uint64, error) {
//!     // A Go slice is lent for the call: its memory holds no Go pointers, so no pinning.
//!     view := C.GobridgeForeignSlice_u8{ptr: (*C.uint8_t)(unsafe.SliceData(data)), len: C.size_t(len(data))}
//!     var out C.uint64_t
//!     err := gobridge.CallStatus(func(st unsafe.Pointer) int32 {
//!         return int32(C.myapp_checksum(view, &out, (*C.GobridgeStatus)(st)))
//!     })
//!     return uint64(out), err
//! }
//! ```
//!
//! A NULL status (`nil`) still reports the code, for hot paths that do not want the text
//! (`gobridge.ErrorFromCode` turns it into the same error, without a message).
//! `unsafe.SliceData` of an empty or nil slice may be nil or not; either is accepted with
//! length 0. See [`OwnedBuf`](crate::buffer::OwnedBuf) for the Rust-owned direction.
//!
//! # Layout verification
//!
//! [`gobridge_abi_version`] and [`gobridge_type_layouts`] let the Go package check, in
//! `init()`, that the header it was compiled against matches the library it links: the size,
//! alignment and every field's offset and size of each `#[repr(C)]` type.

mod author;
mod buffer;
mod build_id;
mod callback;
mod executor;
mod misc;
mod pool;
#[cfg(feature = "harness")]
mod probe;
mod signals;
mod thread_bound;

pub use crate::codes::*;
pub use author::{
    GobridgeForeignSlice_u8, GobridgeForeignSliceMut_u8, GobridgeOwnedBuf, GobridgeStatus,
    cbindgen_config_toml,
};
pub use buffer::*;
pub use build_id::{build_id, gobridge_build_id};
pub use callback::Callback;
pub use executor::*;
pub use misc::*;
pub use pool::*;
#[cfg(feature = "harness")]
pub use probe::*;
pub use signals::*;
pub use thread_bound::*;

use crate::ffi::Status;
use std::ffi::c_char;

/// The version of the C ABI. It changes whenever a function's signature or meaning or a
/// `#[repr(C)]` type's layout changes incompatibly.
pub const GOBRIDGE_ABI_VERSION: u32 = 1;

/// The size of one field of a `#[repr(C)]` type (an entry of [`TypeLayout`]).
///
/// C: `GobridgeFieldLayout`. All pointers point to static, NUL-terminated data.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FieldLayout {
    name: *const c_char,
    offset: usize,
    size: usize,
}

/// The layout of one `#[repr(C)]` type of the C ABI, as the library was compiled.
///
/// C: `GobridgeTypeLayout`; `name` is the C type name (e.g. `"GobridgeStatus"`), `fields`
/// points to `field_count` [`FieldLayout`]s in declaration order. All static data.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TypeLayout {
    name: *const c_char,
    size: usize,
    align: usize,
    fields: *const FieldLayout,
    field_count: usize,
}

// SAFETY:
// - A `FieldLayout` can only be built by gobridge (private fields), always with a pointer to a
//   `'static` string literal, which is immutable and may be read from any thread.
unsafe impl Sync for FieldLayout {}
// SAFETY:
// - As for `FieldLayout`: `TypeLayout`s are built only by gobridge, from `'static` immutable
//   string literals and `'static` arrays of `FieldLayout`.
unsafe impl Sync for TypeLayout {}

impl FieldLayout {
    /// The field's name.
    pub fn name(&self) -> &'static str {
        // SAFETY:
        // - `name` always comes from `concat!(stringify!(field), "\0")` in `type_layout!`: a
        //   static, NUL-terminated, immutable string literal.
        let name = unsafe { std::ffi::CStr::from_ptr(self.name) };
        name.to_str().unwrap_or("")
    }
    /// The field's offset in bytes.
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// The field's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
}

impl TypeLayout {
    /// The C type's name.
    pub fn name(&self) -> &'static str {
        // SAFETY:
        // - `name` always comes from `concat!($cname, "\0")` in `type_layout!`: a static,
        //   NUL-terminated, immutable string literal.
        let name = unsafe { std::ffi::CStr::from_ptr(self.name) };
        name.to_str().unwrap_or("")
    }
    /// `sizeof`.
    pub fn size(&self) -> usize {
        self.size
    }
    /// `_Alignof`.
    pub fn align(&self) -> usize {
        self.align
    }
    /// The fields, in declaration order.
    pub fn fields(&self) -> &'static [FieldLayout] {
        // SAFETY:
        // - `fields`/`field_count` always come from a `'static` array's `as_ptr()`/`len()` in
        //   `type_layout!` (non-null, aligned, initialised, never mutated).
        unsafe { std::slice::from_raw_parts(self.fields, self.field_count) }
    }

    const EMPTY: TypeLayout = TypeLayout {
        name: std::ptr::null(),
        size: 0,
        align: 0,
        fields: std::ptr::null(),
        field_count: 0,
    };
}

#[doc(hidden)]
pub const fn field_size<S, F>(_project: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

/// `type_layout!(RustType, "CName", [field, ...])`: the [`TypeLayout`] of a `#[repr(C)]` type.
/// List every field, in declaration order (the layout test checks the count against the
/// header).
macro_rules! type_layout {
    ($ty:ty, $cname:literal, [$($field:ident),* $(,)?]) => {{
        const FIELDS: &[$crate::capi::FieldLayout] = &[$(
            $crate::capi::FieldLayout::new(
                concat!(stringify!($field), "\0"),
                ::core::mem::offset_of!($ty, $field),
                $crate::capi::field_size(|v: &$ty| &v.$field),
            )
        ),*];
        $crate::capi::TypeLayout::new(
            concat!($cname, "\0"),
            size_of::<$ty>(),
            align_of::<$ty>(),
            FIELDS,
        )
    }};
}
pub(crate) use type_layout;

impl FieldLayout {
    #[doc(hidden)]
    pub(crate) const fn new(name: &'static str, offset: usize, size: usize) -> Self {
        FieldLayout { name: name.as_ptr().cast(), offset, size }
    }
}

impl TypeLayout {
    #[doc(hidden)]
    pub(crate) const fn new(
        name: &'static str,
        size: usize,
        align: usize,
        fields: &'static [FieldLayout],
    ) -> Self {
        TypeLayout {
            name: name.as_ptr().cast(),
            size,
            align,
            fields: fields.as_ptr(),
            field_count: fields.len(),
        }
    }
}

/// The layouts of this module's own types.
const CORE_LAYOUTS: &[TypeLayout] = &[
    type_layout!(Status, "GobridgeStatus", [code, sys_errno, msg, msg_cap, msg_len]),
    type_layout!(TypeLayout, "GobridgeTypeLayout", [name, size, align, fields, field_count]),
    type_layout!(FieldLayout, "GobridgeFieldLayout", [name, offset, size]),
];

/// Every module's layouts. **To add a module's types**: give it a
/// `pub(crate) const LAYOUTS: &[TypeLayout] = &[type_layout!(...), ...];` and list it here.
const ALL_LAYOUT_PARTS: &[&[TypeLayout]] =
    &[CORE_LAYOUTS, buffer::LAYOUTS, pool::LAYOUTS, signals::LAYOUTS];

const fn count_layouts(parts: &[&[TypeLayout]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

const fn concat_layouts<const N: usize>(parts: &[&[TypeLayout]]) -> [TypeLayout; N] {
    let mut all = [TypeLayout::EMPTY; N];
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            all[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    all
}

const LAYOUT_COUNT: usize = count_layouts(ALL_LAYOUT_PARTS);
static LAYOUTS: [TypeLayout; LAYOUT_COUNT] = concat_layouts(ALL_LAYOUT_PARTS);

/// The layouts of every `#[repr(C)]` type, for Rust callers (tests, tools).
pub fn type_layouts() -> &'static [TypeLayout] {
    &LAYOUTS
}

/// Returns `GOBRIDGE_ABI_VERSION` as the library was compiled. Compare it with the header's
/// `GOBRIDGE_ABI_VERSION` before calling anything else.
///
/// Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_abi_version() -> u32 {
    GOBRIDGE_ABI_VERSION
}

/// Returns the layouts of every `#[repr(C)]` type of the ABI (a static array owned by the
/// library: never free it) and writes their number to `*count` (if `count` is not NULL).
///
/// Any thread; never fails. The Go package compares each entry with `unsafe.Sizeof`,
/// `unsafe.Alignof` and `unsafe.Offsetof` of its cgo types in `init()`.
///
/// # Safety
///
/// `count` is NULL or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_type_layouts(count: *mut usize) -> *const TypeLayout {
    // SAFETY:
    // - `count` is NULL, misaligned (both skipped) or valid for a write: our contract.
    unsafe { crate::ffi::write_if_valid(count, LAYOUTS.len()) };
    LAYOUTS.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_layout_is_reported() {
        let st = type_layouts().iter().find(|l| l.name() == "GobridgeStatus").unwrap();
        assert_eq!(st.size(), size_of::<Status>());
        let names: Vec<_> = st.fields().iter().map(FieldLayout::name).collect();
        assert_eq!(names, ["code", "sys_errno", "msg", "msg_cap", "msg_len"]);
        assert_eq!(st.fields()[2].offset(), 8);
    }
}
