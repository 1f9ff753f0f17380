//! Process-global owned-buffer accounting (own test binary: counters and the budget are
//! per-process, so this file runs its checks in one test).

use gobridge::Error;
use gobridge::buffer::OwnedBuf;
use gobridge::handle::Handle;

#[test]
fn live_counts_and_byte_budget() {
    assert_eq!((OwnedBuf::live_count(), OwnedBuf::live_bytes()), (0, 0));
    assert_eq!(OwnedBuf::budget(), None);

    let a = OwnedBuf::alloc(1000).unwrap();
    let b = OwnedBuf::alloc(0).unwrap();
    assert_eq!((OwnedBuf::live_count(), OwnedBuf::live_bytes()), (2, 1000));

    // A budget below what is live: existing buffers stay, new ones are refused.
    assert_eq!(OwnedBuf::set_budget(Some(1500)), None);
    let c = OwnedBuf::alloc(500).unwrap();
    assert_eq!(OwnedBuf::alloc(1), Err(Error::LimitExceeded("owned-buffer byte budget")));
    assert_eq!((OwnedBuf::live_count(), OwnedBuf::live_bytes()), (3, 1500));
    // Zero-length buffers cost no bytes.
    let d = OwnedBuf::alloc(0).unwrap();
    OwnedBuf::free(Handle::from_raw(c.handle)).unwrap();
    let e = OwnedBuf::alloc(500).unwrap();
    assert_eq!(OwnedBuf::set_budget(Some(10)), Some(1500));
    assert!(OwnedBuf::alloc(11).is_err());

    // A failed allocation reserved nothing.
    assert_eq!(OwnedBuf::live_bytes(), 1500);
    assert_eq!(OwnedBuf::set_budget(None), Some(10));
    for info in [a, b, d, e] {
        OwnedBuf::free(Handle::from_raw(info.handle)).unwrap();
    }
    assert_eq!((OwnedBuf::live_count(), OwnedBuf::live_bytes()), (0, 0));

    // Budget races: 8 threads allocating against a budget never exceed it together.
    OwnedBuf::set_budget(Some(64 * 100));
    let handles: Vec<_> = std::thread::scope(|s| {
        let ts: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| (0..50).filter_map(|_| OwnedBuf::alloc(64).ok()).collect::<Vec<_>>())
            })
            .collect();
        ts.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(handles.len(), 100);
    assert_eq!(OwnedBuf::live_bytes(), 6400);
    OwnedBuf::set_budget(None);
    for info in handles {
        OwnedBuf::free(Handle::from_raw(info.handle)).unwrap();
    }
    assert_eq!((OwnedBuf::live_count(), OwnedBuf::live_bytes()), (0, 0));
}
