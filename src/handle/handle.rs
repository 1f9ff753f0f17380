//! The handle value.
#![forbid(unsafe_code)]

use std::fmt;

/// An opaque, generation-checked name for a Rust object held by Go (C: `uint64_t`).
///
/// Bit layout (an implementation detail, documented for debugging): bits 56–63 the table's
/// kind tag (never 0), bits 32–55 the slot's generation, bits 0–31 the slot index. Since the
/// kind is never 0, the zero handle is never valid, and Go code can use `0` as "no handle".
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(u64);

pub(crate) const KIND_SHIFT: u32 = 56;
pub(crate) const GEN_SHIFT: u32 = 32;
/// The largest generation a slot can have; a slot that reaches it is retired on free.
pub(crate) const GEN_MAX: u32 = (1 << 24) - 1;

impl Handle {
    /// Wraps a raw handle received from C/Go. Any value is accepted: a table validates it.
    pub const fn from_raw(raw: u64) -> Self {
        Handle(raw)
    }

    /// The raw value to hand to C/Go.
    pub const fn as_raw(self) -> u64 {
        self.0
    }

    /// The kind tag of the table that issued this handle (0 for the zero handle).
    pub const fn kind(self) -> u8 {
        (self.0 >> KIND_SHIFT) as u8
    }

    pub(crate) const fn new(kind: u8, generation: u32, index: u32) -> Self {
        Handle(((kind as u64) << KIND_SHIFT) | ((generation as u64) << GEN_SHIFT) | index as u64)
    }

    pub(crate) const fn generation(self) -> u32 {
        ((self.0 >> GEN_SHIFT) as u32) & GEN_MAX
    }

    pub(crate) const fn index(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Handle({:#x}: kind {} gen {} slot {})",
            self.0,
            self.kind(),
            self.generation(),
            self.index()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let h = Handle::new(255, GEN_MAX, u32::MAX);
        assert_eq!((h.kind(), h.generation(), h.index()), (255, GEN_MAX, u32::MAX));
        let h = Handle::new(1, 0, 0);
        assert_eq!(h.as_raw(), 1 << 56);
        assert_eq!(Handle::from_raw(0).kind(), 0);
    }
}
