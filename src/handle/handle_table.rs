//! The generational handle table.
#![forbid(unsafe_code)]

use super::handle::{GEN_MAX, Handle};
use crate::{Error, Result};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A thread-safe table of objects named by generation-checked [`Handle`]s.
///
/// - [`insert`](Self::insert) stores an object and returns its handle;
/// - [`get`](Self::get) returns an [`Arc`] to it, so a concurrent [`remove`](Self::remove)
///   cannot free an object that another thread is using (it is dropped with the last `Arc`);
/// - [`remove`](Self::remove) takes it out; exactly one of any number of concurrent removes of
///   one handle succeeds, the others get [`Error::StaleHandle`].
///
/// A handle is refused with [`Error::StaleHandle`] when it is 0, carries another table's
/// [kind tag](super::kind), names a slot that does not exist, or names a slot whose generation
/// moved on (the object was removed, and the slot perhaps reused). Removing bumps the slot's
/// generation, so a stale handle never resolves to the slot's next occupant.
///
/// **Generation wraparound.** Generations have 24 bits. A slot whose generation reaches the
/// maximum is *retired* when its object is removed: it is never reused, so a handle can never
/// come back to life after 2²⁴ reuses. The cost is one empty slot (a few machine words) per
/// 16 million reuses of a slot. Freed slots are reused oldest-first, which spreads reuse over
/// all free slots and keeps every slot's generation low.
///
/// The table takes its lock only around slot bookkeeping: objects are created before and
/// dropped after it, so no user code runs under the lock and a panicking `Drop` cannot poison
/// it.
pub struct HandleTable<T> {
    kind: u8,
    inner: RwLock<Inner<T>>,
}

struct Inner<T> {
    slots: Vec<Slot<T>>,
    free: VecDeque<u32>,
    len: usize,
}

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

impl<T> HandleTable<T> {
    /// An empty table whose handles carry `kind` (see [`kind`](super::kind); every table
    /// should have its own tag). `const`, so tables can be `static`s.
    ///
    /// # Panics
    ///
    /// If `kind` is 0, which is reserved so that the zero handle is never valid. In a
    /// `static`, this is a compile-time error:
    ///
    /// ```compile_fail,E0080
    /// static TABLE: gobridge::handle::HandleTable<u8> = gobridge::handle::HandleTable::new(0);
    /// ```
    pub const fn new(kind: u8) -> Self {
        assert!(kind != 0, "kind tag 0 is reserved");
        HandleTable {
            kind,
            inner: RwLock::new(Inner { slots: Vec::new(), free: VecDeque::new(), len: 0 }),
        }
    }

    /// This table's kind tag.
    pub const fn kind(&self) -> u8 {
        self.kind
    }

    /// Stores `value` and returns its handle.
    ///
    /// Fails with [`Error::LimitExceeded`] only when 2³² slots are in use.
    pub fn insert(&self, value: T) -> Result<Handle> {
        self.insert_arc(Arc::new(value))
    }

    /// Stores an object that is already shared and returns its handle.
    pub fn insert_arc(&self, value: Arc<T>) -> Result<Handle> {
        let mut inner = self.write();
        let index = match inner.free.pop_front() {
            Some(index) => index,
            None => {
                let index = u32::try_from(inner.slots.len())
                    .map_err(|_| Error::LimitExceeded("handle table is full"))?;
                inner.slots.push(Slot { generation: 0, value: None });
                index
            }
        };
        let slot = &mut inner.slots[index as usize];
        slot.value = Some(value);
        let handle = Handle::new(self.kind, slot.generation, index);
        inner.len += 1;
        Ok(handle)
    }

    /// The object named by `handle`.
    pub fn get(&self, handle: Handle) -> Result<Arc<T>> {
        if handle.kind() != self.kind {
            return Err(Error::StaleHandle);
        }
        let inner = self.read();
        match inner.slots.get(handle.index() as usize) {
            Some(Slot { generation, value: Some(value) }) if *generation == handle.generation() => {
                Ok(Arc::clone(value))
            }
            _ => Err(Error::StaleHandle),
        }
    }

    /// Whether `handle` names a live object of this table.
    pub fn contains(&self, handle: Handle) -> bool {
        self.get(handle).is_ok()
    }

    /// Takes the object named by `handle` out of the table; the handle is stale from now on.
    ///
    /// The object itself is dropped when the returned `Arc` and every `Arc` from an earlier
    /// [`get`](Self::get) are gone.
    pub fn remove(&self, handle: Handle) -> Result<Arc<T>> {
        if handle.kind() != self.kind {
            return Err(Error::StaleHandle);
        }
        let mut inner = self.write();
        let index = handle.index();
        let slot = match inner.slots.get_mut(index as usize) {
            Some(slot) if slot.generation == handle.generation() && slot.value.is_some() => slot,
            _ => return Err(Error::StaleHandle),
        };
        let value = slot.value.take().ok_or(Error::StaleHandle)?;
        let retire = slot.generation == GEN_MAX;
        if !retire {
            slot.generation += 1;
        }
        inner.len -= 1;
        if !retire {
            inner.free.push_back(index);
        }
        drop(inner);
        Ok(value)
    }

    /// The number of live objects.
    pub fn len(&self) -> usize {
        self.read().len
    }

    /// Whether the table holds no live object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // No user code runs while the lock is held, so poisoning cannot leave the table
    // inconsistent; recover from it rather than propagate a panic.
    fn read(&self) -> RwLockReadGuard<'_, Inner<T>> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<T>> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn force_generation(&self, handle: Handle, generation: u32) -> Handle {
        let mut inner = self.write();
        inner.slots[handle.index() as usize].generation = generation;
        Handle::new(self.kind, generation, handle.index())
    }
}

impl<T> fmt::Debug for HandleTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleTable").field("kind", &self.kind).field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "kind tag 0 is reserved")]
    fn kind_zero_is_refused() {
        let _ = HandleTable::<u8>::new(std::hint::black_box(0));
    }

    #[test]
    fn reused_slot_gets_new_generation() {
        let t = HandleTable::new(9);
        let a = t.insert(1).unwrap();
        t.remove(a).unwrap();
        let b = t.insert(2).unwrap();
        assert_eq!(a.index(), b.index());
        assert_ne!(a, b);
        assert_eq!(t.get(a).unwrap_err(), Error::StaleHandle);
        assert_eq!(*t.get(b).unwrap(), 2);
    }

    #[test]
    fn slot_at_max_generation_is_retired() {
        let t = HandleTable::new(9);
        let h = t.insert(1).unwrap();
        let h = t.force_generation(h, GEN_MAX);
        assert_eq!(*t.remove(h).unwrap(), 1);
        let next = t.insert(2).unwrap();
        assert_ne!(next.index(), h.index(), "a retired slot is never reused");
        assert_eq!(t.get(h).unwrap_err(), Error::StaleHandle);
        // The wrapped-around value of the old handle's generation never matches either.
        assert_eq!(t.get(Handle::new(9, 0, h.index())).unwrap_err(), Error::StaleHandle);
    }
}
