//! Which library a program linked: the crate version and the build's own tag.

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

/// `"gobridge <crate version>"`, followed by `" <tag>"` when the archive was built with the
/// environment variable `GOBRIDGE_BUILD_ID` set (a release script's commit or date; the Go
/// module's tests use it to prove that a rebuilt archive is relinked).
pub fn build_id() -> &'static str {
    match option_env!("GOBRIDGE_BUILD_ID") {
        Some(tag) if !tag.is_empty() => {
            BUILD_ID_TAGGED.get_or_init(|| format!("gobridge {} {tag}", env!("CARGO_PKG_VERSION")))
        }
        _ => concat!("gobridge ", env!("CARGO_PKG_VERSION")),
    }
}

static BUILD_ID_TAGGED: OnceLock<String> = OnceLock::new();
static BUILD_ID_C: OnceLock<CString> = OnceLock::new();

/// Returns the library's build id (see the Rust `build_id`): a static NUL-terminated string
/// owned by the library, never NULL; never free it.
///
/// Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_build_id() -> *const c_char {
    BUILD_ID_C
        .get_or_init(|| CString::new(build_id()).unwrap_or_else(|_| c"gobridge".to_owned()))
        .as_ptr()
}
