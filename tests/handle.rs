//! The generational handle table: every misuse of a handle is `StaleHandle`, never UB, and
//! concurrent use is safe.

use gobridge::Error;
use gobridge::handle::{Handle, HandleTable, kind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

#[test]
fn zero_handle_is_never_valid() {
    let t = HandleTable::new(kind::USER_MIN);
    for _ in 0..10 {
        t.insert(()).unwrap();
    }
    let zero = Handle::from_raw(0);
    assert_eq!(t.get(zero).unwrap_err(), Error::StaleHandle);
    assert_eq!(t.remove(zero).unwrap_err(), Error::StaleHandle);
    assert_eq!(t.len(), 10);
}

#[test]
fn handles_are_nonzero_and_distinct() {
    let t = HandleTable::new(kind::USER_MIN);
    let hs: Vec<_> = (0..1000).map(|i| t.insert(i).unwrap()).collect();
    let mut raw: Vec<u64> = hs.iter().map(|h| h.as_raw()).collect();
    assert!(raw.iter().all(|&r| r != 0));
    raw.sort_unstable();
    raw.dedup();
    assert_eq!(raw.len(), 1000);
    for (i, h) in hs.iter().enumerate() {
        assert_eq!(*t.get(*h).unwrap(), i);
        assert_eq!(h.kind(), kind::USER_MIN);
    }
}

#[test]
fn double_free_and_use_after_free() {
    let t = HandleTable::new(kind::USER_MIN);
    let h = t.insert("x").unwrap();
    assert_eq!(*t.remove(h).unwrap(), "x");
    assert_eq!(t.remove(h).unwrap_err(), Error::StaleHandle);
    assert_eq!(t.get(h).unwrap_err(), Error::StaleHandle);
    assert!(!t.contains(h));
    assert!(t.is_empty());
}

#[test]
fn stale_handle_never_reaches_the_slots_next_occupant() {
    let t = HandleTable::new(kind::USER_MIN);
    let old = t.insert(1).unwrap();
    t.remove(old).unwrap();
    // Reuse the slot many times; the old handle stays dead through all of them.
    for i in 0..100 {
        let new = t.insert(i).unwrap();
        assert_eq!(t.get(old).unwrap_err(), Error::StaleHandle);
        assert_eq!(t.remove(old).unwrap_err(), Error::StaleHandle);
        assert_eq!(*t.remove(new).unwrap(), i);
    }
}

#[test]
fn handle_of_another_kind_is_stale() {
    let buffers = HandleTable::new(kind::BUFFER);
    let executors = HandleTable::new(kind::EXECUTOR);
    let b = buffers.insert("buffer").unwrap();
    let e = executors.insert("executor").unwrap();
    // Same slot index and generation, different kind: refused both ways.
    assert_eq!(b.as_raw() & 0x00FF_FFFF_FFFF_FFFF, e.as_raw() & 0x00FF_FFFF_FFFF_FFFF);
    assert_eq!(executors.get(b).unwrap_err(), Error::StaleHandle);
    assert_eq!(buffers.remove(e).unwrap_err(), Error::StaleHandle);
    assert_eq!(*buffers.get(b).unwrap(), "buffer");
}

#[test]
fn forged_handles_are_refused() {
    let t = HandleTable::new(kind::USER_MIN);
    let live: Vec<_> = (0..64).map(|i| t.insert(i).unwrap()).collect();
    // Flip every single bit of a live handle, plus arbitrary values: none resolves except the
    // handle itself.
    let h = live[17];
    for bit in 0..64 {
        let forged = Handle::from_raw(h.as_raw() ^ (1 << bit));
        if let Ok(v) = t.get(forged) {
            // A bit flip in the index may land on another live slot of the same generation:
            // that is a *valid* handle of that slot, never an unrelated object.
            assert!(live.contains(&forged), "bit {bit}: resolved to {v}");
        }
    }
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..10_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let forged = Handle::from_raw(x);
        if !live.contains(&forged) {
            assert_eq!(t.get(forged).unwrap_err(), Error::StaleHandle);
            assert_eq!(t.remove(forged).unwrap_err(), Error::StaleHandle);
        }
    }
    assert_eq!(t.len(), 64);
}

#[test]
fn concurrent_free_of_one_handle_exactly_one_succeeds() {
    let t = Arc::new(HandleTable::new(kind::USER_MIN));
    for round in 0..200 {
        let h = t.insert(round).unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (t, barrier) = (Arc::clone(&t), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    t.remove(h)
                })
            })
            .collect();
        let wins: Vec<_> = threads.into_iter().map(|j| j.join().unwrap()).collect();
        let ok = wins.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}");
        assert!(wins.iter().filter(|r| r.is_err()).all(|r| *r == Err(Error::StaleHandle)));
    }
    assert!(t.is_empty());
}

#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn get_keeps_the_object_alive_across_a_concurrent_remove() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = HandleTable::new(kind::USER_MIN);
    let h = t.insert(Counted(Arc::clone(&drops))).unwrap();
    let in_use = t.get(h).unwrap();
    let removed = t.remove(h).unwrap();
    drop(removed);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "still in use");
    assert_eq!(t.get(h).unwrap_err(), Error::StaleHandle);
    drop(in_use);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once, by the last user");
}

#[test]
fn many_threads_insert_get_remove() {
    let t = Arc::new(HandleTable::new(kind::USER_MIN));
    let threads: Vec<_> = (0..8)
        .map(|id| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..2000 {
                    mine.push((t.insert((id, i)).unwrap(), (id, i)));
                    if i % 3 == 0 {
                        let (h, v) = mine.swap_remove(i % mine.len());
                        assert_eq!(*t.remove(h).unwrap(), v);
                        assert_eq!(t.get(h).unwrap_err(), Error::StaleHandle);
                    }
                }
                for (h, v) in &mine {
                    assert_eq!(*t.get(*h).unwrap(), *v);
                }
                mine.len()
            })
        })
        .collect();
    let live: usize = threads.into_iter().map(|j| j.join().unwrap()).sum();
    assert_eq!(t.len(), live);
}

#[test]
fn panicking_drop_of_an_object_does_not_break_the_table() {
    #[derive(Debug)]
    struct Bomb(std::sync::atomic::AtomicBool);
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.0.load(Ordering::SeqCst) {
                panic!("drop bomb");
            }
        }
    }
    let t = HandleTable::new(kind::USER_MIN);
    let h = t.insert(Bomb(true.into())).unwrap();
    let other = t.insert_arc(Arc::new(Bomb(true.into()))).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(t.remove(h))));
    assert!(r.is_err());
    // The lock was never held while the object dropped: the table works on.
    assert_eq!(t.len(), 1);
    assert!(t.contains(other));
    t.remove(other).unwrap().0.store(false, Ordering::SeqCst); // defused: dropped quietly
}

#[test]
fn racing_get_and_remove_drop_every_object_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = Arc::new(HandleTable::new(kind::USER_MIN));
    const N: usize = 2000;
    let handles: Vec<_> = (0..N).map(|_| t.insert(Counted(Arc::clone(&drops))).unwrap()).collect();
    let handles = Arc::new(handles);
    let barrier = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|id| {
            let (t, handles, barrier) =
                (Arc::clone(&t), Arc::clone(&handles), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut removed = 0;
                for (i, h) in handles.iter().enumerate() {
                    if id < 3 {
                        // Readers: an object they get stays valid while they hold it.
                        if let Ok(obj) = t.get(*h) {
                            std::hint::black_box(&*obj); // touch it: it cannot be freed yet
                        }
                    } else if (i + id) % 3 == 0 || id == 5 {
                        removed += usize::from(t.remove(*h).is_ok());
                    }
                }
                removed
            })
        })
        .collect();
    let removed: usize = threads.into_iter().map(|j| j.join().unwrap()).sum();
    assert_eq!(removed, N, "every handle removed exactly once");
    assert!(t.is_empty());
    assert_eq!(drops.load(Ordering::SeqCst), N, "every object dropped exactly once");
}
