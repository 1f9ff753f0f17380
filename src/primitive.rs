//! The one place that switches between `std` and `loom` synchronisation primitives.
//!
//! Code whose interleavings loom models (the executor handoff, the signal action table) imports
//! its atomics, locks and threads from here; `RUSTFLAGS="--cfg loom"` swaps them for loom's.
#![forbid(unsafe_code)]

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }
}

#[cfg(not(loom))]
pub(crate) mod hint {
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::thread::yield_now;
}

#[cfg(loom)]
pub(crate) mod hint {
    pub(crate) use loom::hint::spin_loop;
    pub(crate) use loom::thread::yield_now;
}

/// `UnsafeCell` with loom's closure API on both sides, so modelled code reads the same.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
#[allow(dead_code)]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
