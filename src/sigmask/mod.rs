//! Scoped signal masks for threads gobridge owns or borrows for one cgo call.

mod signal_set;
mod spawn;

pub use signal_set::SignalSet;
pub use spawn::spawn_masked_with;
