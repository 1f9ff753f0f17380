//! For Rust authors who put their own `extern "C"` functions beside gobridge's in one
//! staticlib: gobridge's C type names, and the cbindgen configuration with which the author's
//! header includes `gobridge.h` and uses those names instead of re-emitting the types.
//!
//! cbindgen reads only the author's crate (`parse_deps = false`), so a parameter written as
//! `ForeignSlice<'_, u8>` or `*mut Status` comes out as `ForeignSlice<uint8_t>` and `Status`,
//! which C rejects. Written with these aliases, it comes out as gobridge.h's own typedefs:
//!
//! ```
//! use gobridge::capi::{GobridgeForeignSlice_u8, GobridgeStatus};
//! use gobridge::ffi;
//!
//! /// Writes the number of bytes of `text` that are ASCII digits.
//! ///
//! /// # Safety
//! /// `text` is a view valid for the call; `out` is NULL or valid for a write; `status` is
//! /// NULL or a valid `GobridgeStatus`.
//! #[unsafe(no_mangle)]
//! pub unsafe extern "C" fn myapp_digits(
//!     text: GobridgeForeignSlice_u8<'_>,
//!     out: *mut u64,
//!     status: *mut GobridgeStatus,
//! ) -> i32 {
//!     // SAFETY:
//!     // - `out` and `status` are as `call_out` requires: this function's contract.
//!     unsafe {
//!         ffi::call_out(status, out, || {
//!             Ok(text.get()?.iter().filter(|b| b.is_ascii_digit()).count() as u64)
//!         })
//!     }
//! }
//! ```
//!
//! and cbindgen, configured with [`cbindgen_config_toml`], writes
//! `int32_t myapp_digits(GobridgeForeignSlice_u8 text, uint64_t *out, GobridgeStatus *status);`
//! after `#include "gobridge.h"`.

#![allow(non_camel_case_types)] // the aliases are spelled as the C typedefs they stand for

use crate::buffer::{ForeignSlice, ForeignSliceMut};

/// `GobridgeStatus` in gobridge.h: [`ffi::Status`](crate::ffi::Status).
pub type GobridgeStatus = crate::ffi::Status;
/// `GobridgeForeignSlice_u8` in gobridge.h: a read-only view of bytes lent for one call.
pub type GobridgeForeignSlice_u8<'a> = ForeignSlice<'a, u8>;
/// `GobridgeForeignSliceMut_u8` in gobridge.h: a writable view of bytes lent for one call.
pub type GobridgeForeignSliceMut_u8<'a> = ForeignSliceMut<'a, u8>;
/// `GobridgeOwnedBuf` in gobridge.h: [`OwnedBufInfo`](crate::buffer::OwnedBufInfo).
pub type GobridgeOwnedBuf = crate::buffer::OwnedBufInfo;

/// The cbindgen configuration (TOML, for `cbindgen::Config::from_file` or the `cbindgen` CLI's
/// `--config`) of an author's header: C, the given include guard, `#include "gobridge.h"`
/// (ship gobridge.h beside your header: the Go package's tracked copy is the one to take), the
/// author's crate only (`parse_deps = false`), and gobridge's conventions (documentation
/// copied from doc comments, `size_t` for `usize`, C++-compatible, typedef'd structs).
///
/// The worked example in the repository (`author-example/`) generates its header with it.
pub fn cbindgen_config_toml(include_guard: &str) -> String {
    format!(
        r#"# cbindgen configuration for a crate that re-exports gobridge's C ABI (from
# gobridge::capi::cbindgen_config_toml). Spell gobridge's types with their C names
# (gobridge::capi::GobridgeStatus, GobridgeForeignSlice_u8, ...) in your signatures.
language = "C"
include_guard = "{include_guard}"
includes = ["gobridge.h"]
sys_includes = ["stdbool.h", "stddef.h", "stdint.h"]
no_includes = true
documentation = true
documentation_style = "c"
style = "both"
cpp_compat = true
usize_is_size_t = true

[parse]
parse_deps = false

[export]
item_types = ["functions", "structs", "enums", "constants", "typedefs", "opaque"]

[fn]
args = "horizontal"
"#
    )
}
