//! The gobridge C ABI as one staticlib.
//!
//! A Go binary can hold only one Rust staticlib (two would collide on the Rust runtime's
//! symbols), so gobridge's `extern "C"` functions are meant to be re-exported from the user's
//! own staticlib. This crate is exactly that re-export and nothing else: the Go harness links
//! it, and a user's crate does the same with its own functions beside these.

pub use gobridge::capi;
