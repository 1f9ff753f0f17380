//! Generation-checked handles: how every Rust object handed to Go is named.
//!
//! Go never holds a Rust pointer. It holds a [`Handle`], a `uint64_t` that a [`HandleTable`]
//! resolves back to the object. Like Go's own `runtime/cgo.Handle`, the zero handle is never
//! valid; unlike a pointer, a handle that was freed, forged, or belongs to another table is
//! *detected*: every operation on it returns [`Error::StaleHandle`](crate::Error::StaleHandle),
//! never undefined behaviour.
//!
//! One mechanism serves every kind of object (owned buffers, executors, tickets, pools,
//! thread-bound values, signal pipes): each kind has its own table with its own
//! [`kind`] tag, encoded in the handle, so a buffer handle passed to the executor functions is
//! refused.
//!
//! ```
//! use gobridge::handle::{HandleTable, kind};
//! use gobridge::Error;
//!
//! static NAMES: HandleTable<String> = HandleTable::new(kind::USER_MIN);
//!
//! let h = NAMES.insert("gopher".to_owned())?;
//! assert_eq!(*NAMES.get(h)?, "gopher");
//! let name = NAMES.remove(h)?;          // an Arc<String>: the object lives while it is used
//! assert_eq!(*name, "gopher");
//! assert_eq!(NAMES.get(h).unwrap_err(), Error::StaleHandle);    // use after free
//! assert_eq!(NAMES.remove(h).unwrap_err(), Error::StaleHandle); // double free
//! assert_eq!(NAMES.get(gobridge::handle::Handle::from_raw(0)).unwrap_err(), Error::StaleHandle);
//! # Ok::<(), gobridge::Error>(())
//! ```
#![forbid(unsafe_code)]

#[allow(clippy::module_inception)] // the file layout (handle/handle.rs) is the project's convention
mod handle;
mod handle_table;

pub use handle::Handle;
pub use handle_table::HandleTable;

/// The kind tags of gobridge's own tables, one per kind of object handed to Go.
///
/// The tag lives in a handle's top byte, so handles of different kinds never alias. Tag `0` is
/// reserved (it makes the zero handle invalid everywhere). Tags from [`USER_MIN`](kind::USER_MIN) upwards are
/// free for users' own tables; give every table its own tag.
pub mod kind {
    /// Owned buffers ([`OwnedBuf`](crate::buffer::OwnedBuf)).
    pub const BUFFER: u8 = 1;
    /// Pinned executors.
    pub const EXECUTOR: u8 = 2;
    /// Tickets of submitted jobs.
    pub const TICKET: u8 = 3;
    /// Pools of pinned executors.
    pub const POOL: u8 = 4;
    /// Thread-bound values.
    pub const THREAD_BOUND: u8 = 5;
    /// Signal pipes.
    pub const SIGNAL_PIPE: u8 = 6;
    /// The first tag free for tables outside gobridge (tags below are reserved).
    pub const USER_MIN: u8 = 64;
}
