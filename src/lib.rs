//! Safe FFI bridging primitives for Rust code that runs inside a Go process over cgo.
//!
//! (The crate guide — anatomy, Go-process rules, limitations, examples — is written here as
//! the primitives land.)
#![cfg_attr(docsrs, feature(doc_cfg))]
#![allow(dead_code, unused_imports)] // skeleton: removed once every module is written

pub mod buffer;
pub mod executor;
pub mod ffi;
pub mod handle;
pub mod sigmask;
pub mod signal;

mod error;
mod primitive;
mod thread_bound;
mod thread_id;

#[cfg(feature = "capi")]
#[cfg_attr(docsrs, doc(cfg(feature = "capi")))]
pub mod capi;

pub use error::{BufferError, Error, Result};
pub use thread_bound::ThreadBound;
pub use thread_id::{ThreadId, current_thread};
