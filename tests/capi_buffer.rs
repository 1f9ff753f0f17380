//! The buffer functions of the C ABI, called exactly as C calls them: every invalid input
//! gets its documented code and a message, never UB, a crash or a leak.
#![cfg(feature = "capi")]

mod common;

use common::Msg;
use gobridge::buffer::OwnedBufInfo;
#[cfg(feature = "harness")]
use gobridge::buffer::{ForeignSlice, ForeignSliceMut};
use gobridge::capi::*;
use gobridge::handle::{HandleTable, kind};
use std::ptr;
use std::sync::{Arc, Barrier, Mutex};

/// Live-buffer counters are per-process and some tests assert exact counts, so every test
/// that allocates runs under this lock.
static COUNTERS: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    COUNTERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn stats() -> (usize, usize) {
    let (mut n, mut b) = (0, 0);
    // SAFETY:
    // - both out-pointers are valid.
    unsafe { gobridge_buffer_stats(&mut n, &mut b) };
    (n, b)
}

fn alloc(len: usize) -> OwnedBufInfo {
    let mut out = OwnedBufInfo { handle: 0, ptr: ptr::null_mut(), len: 0 };
    let mut m = Msg::new();
    // SAFETY:
    // - `out` and the status are valid.
    let code = unsafe { gobridge_buffer_alloc(len, &mut out, m.st()) };
    assert_eq!(code, GOBRIDGE_OK, "{}", m.text());
    out
}

fn free(handle: u64) -> (i32, String) {
    let mut m = Msg::new();
    // SAFETY:
    // - the status is valid; any handle value is allowed.
    let code = unsafe { gobridge_buffer_free(handle, m.st()) };
    (code, m.text().to_owned())
}

#[test]
fn alloc_resolve_free_round_trip() {
    let _g = serial();
    let before = stats();
    let b = alloc(1000);
    assert_eq!(b.ptr as usize % 64, 0);
    assert_eq!(stats(), (before.0 + 1, before.1 + 1000));
    let mut r = OwnedBufInfo { handle: 0, ptr: ptr::null_mut(), len: 0 };
    // SAFETY:
    // - valid out-pointer, NULL status allowed.
    assert_eq!(unsafe { gobridge_buffer_resolve(b.handle, &mut r, ptr::null_mut()) }, 0);
    assert_eq!(r, b);
    assert_eq!(free(b.handle), (GOBRIDGE_OK, String::new()));
    assert_eq!(stats(), before);
}

#[test]
fn null_or_misaligned_out_pointer_is_invalid_argument_and_allocates_nothing() {
    let _g = serial();
    let before = stats();
    let mut m = Msg::new();
    // SAFETY:
    // - NULL `out` is allowed by the contract and refused.
    let code = unsafe { gobridge_buffer_alloc(64, ptr::null_mut(), m.st()) };
    assert_eq!(code, GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(m.text(), "invalid argument: out-pointer is NULL");
    let mut raw = [0u64; 8];
    let misaligned = raw.as_mut_ptr().cast::<u8>().wrapping_add(4).cast::<OwnedBufInfo>();
    // SAFETY:
    // - a misaligned `out` is refused before any write.
    let code = unsafe { gobridge_buffer_alloc(64, misaligned, m.st()) };
    assert_eq!(code, GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(m.text(), "invalid argument: out-pointer is misaligned");
    assert_eq!(raw, [0; 8]);
    assert_eq!(stats(), before, "nothing leaked");

    let b = alloc(8);
    // SAFETY:
    // - NULL `out` is refused.
    let code = unsafe { gobridge_buffer_resolve(b.handle, ptr::null_mut(), m.st()) };
    assert_eq!(code, GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(free(b.handle).0, GOBRIDGE_OK);
    // SAFETY:
    // - NULL out-pointers of the stats function are skipped.
    unsafe { gobridge_buffer_stats(ptr::null_mut(), ptr::null_mut()) };
}

#[test]
fn huge_length_is_invalid_argument() {
    let _g = serial();
    let mut out = OwnedBufInfo { handle: 0, ptr: ptr::null_mut(), len: 0 };
    let mut m = Msg::new();
    // SAFETY:
    // - valid pointers.
    let code = unsafe { gobridge_buffer_alloc(usize::MAX, &mut out, m.st()) };
    assert_eq!(code, GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(out.handle, 0, "out is written only on success");
}

#[test]
fn double_free_zero_forged_and_other_kind_handles_are_stale() {
    let _g = serial();
    let b = alloc(16);
    assert_eq!(free(b.handle).0, GOBRIDGE_OK);
    assert_eq!(free(b.handle), (GOBRIDGE_E_STALE_HANDLE, "stale or invalid handle".to_owned()));
    assert_eq!(free(0).0, GOBRIDGE_E_STALE_HANDLE);
    assert_eq!(free(u64::MAX).0, GOBRIDGE_E_STALE_HANDLE);
    assert_eq!(free(b.handle ^ 0xFFFF_FFFF).0, GOBRIDGE_E_STALE_HANDLE);
    // A handle of another kind (an executor's) with the same slot and generation bits.
    let executors = HandleTable::new(kind::EXECUTOR);
    let e = executors.insert(()).unwrap();
    assert_eq!(free(e.as_raw()).0, GOBRIDGE_E_STALE_HANDLE);
    let other_kind = (b.handle & 0x00FF_FFFF_FFFF_FFFF) | (u64::from(kind::EXECUTOR) << 56);
    assert_eq!(free(other_kind).0, GOBRIDGE_E_STALE_HANDLE);
    assert!(executors.contains(e));
}

#[test]
fn use_after_free_is_stale_even_after_slot_reuse() {
    let _g = serial();
    let b = alloc(32);
    assert_eq!(free(b.handle).0, GOBRIDGE_OK);
    let reused: Vec<_> = (0..16).map(|_| alloc(32)).collect();
    let mut out = OwnedBufInfo { handle: 0, ptr: ptr::null_mut(), len: 0 };
    let mut m = Msg::new();
    // SAFETY:
    // - valid pointers; the stale handle is refused.
    let code = unsafe { gobridge_buffer_resolve(b.handle, &mut out, m.st()) };
    assert_eq!(code, GOBRIDGE_E_STALE_HANDLE);
    assert_eq!(out.handle, 0);
    assert_eq!(free(b.handle).0, GOBRIDGE_E_STALE_HANDLE);
    for r in reused {
        assert_eq!(free(r.handle).0, GOBRIDGE_OK);
    }
}

#[test]
fn concurrent_free_from_8_threads_exactly_one_succeeds() {
    let _g = serial();
    for _ in 0..100 {
        let b = alloc(128);
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    free(b.handle).0
                })
            })
            .collect();
        let codes: Vec<i32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(codes.iter().filter(|&&c| c == GOBRIDGE_OK).count(), 1, "{codes:?}");
        assert_eq!(codes.iter().filter(|&&c| c == GOBRIDGE_E_STALE_HANDLE).count(), 7);
    }
}

#[test]
fn zero_length_buffer_has_null_pointer() {
    let _g = serial();
    let b = alloc(0);
    assert!(b.ptr.is_null());
    assert_ne!(b.handle, 0);
    assert_eq!(free(b.handle).0, GOBRIDGE_OK);
}

#[test]
fn budget_through_the_c_abi() {
    let _g = serial();
    let live = stats().1;
    assert_eq!(gobridge_buffer_set_budget(live + 100), usize::MAX);
    let mut out = OwnedBufInfo { handle: 0, ptr: ptr::null_mut(), len: 0 };
    let mut m = Msg::new();
    // SAFETY:
    // - valid pointers.
    assert_eq!(unsafe { gobridge_buffer_alloc(101, &mut out, m.st()) }, GOBRIDGE_E_LIMIT_EXCEEDED);
    assert_eq!(m.text(), "resource limit exceeded: owned-buffer byte budget");
    let ok = alloc(100);
    assert_eq!(gobridge_buffer_set_budget(usize::MAX), live + 100);
    assert_eq!(free(ok.handle).0, GOBRIDGE_OK);
}

#[cfg(feature = "harness")]
fn sum(s: ForeignSlice<'_, u8>) -> (i32, u64, String) {
    let mut out = 0;
    let mut m = Msg::new();
    // SAFETY:
    // - views passed here are either valid or refused by validation; pointers valid.
    let code = unsafe { gobridge_sum(s, &mut out, m.st()) };
    (code, out, m.text().to_owned())
}

#[test]
#[cfg(feature = "harness")] // the probes
fn sum_and_fill_valid_views() {
    let mut data: Vec<u8> = (0..=255).collect();
    assert_eq!(sum(ForeignSlice::from_slice(&data)).1, 255 * 256 / 2);
    assert_eq!(sum(ForeignSlice::empty()), (0, 0, String::new()));
    let mut m = Msg::new();
    // SAFETY:
    // - the view borrows `data` mutably for the call.
    let code = unsafe { gobridge_fill(ForeignSliceMut::from_slice(&mut data[10..20]), 7, m.st()) };
    assert_eq!(code, 0);
    assert!(data[10..20].iter().all(|&b| b == 7));
    assert_eq!(data[9], 9);
    assert_eq!(data[20], 20);
    // SAFETY:
    // - the empty view is fine.
    assert_eq!(unsafe { gobridge_fill(ForeignSliceMut::empty(), 7, m.st()) }, 0);
}

#[test]
#[cfg(feature = "harness")] // the probes
fn sum_and_fill_refuse_invalid_views_with_distinct_messages() {
    let cases: [(usize, usize, &str); 3] = [
        (0, 5, "invalid buffer: null pointer with a non-zero length"),
        (0x1000, isize::MAX as usize + 1, "invalid buffer: length in bytes exceeds isize::MAX"),
        (usize::MAX - 3, 8, "invalid buffer: pointer plus length wraps the address space"),
    ];
    for (addr, len, msg) in cases {
        // SAFETY:
        // - every view here is refused by validation before any access.
        let view = unsafe { ForeignSlice::from_raw_parts(addr as *const u8, len) };
        assert_eq!(sum(view), (GOBRIDGE_E_INVALID_BUFFER, 0, msg.to_owned()));
        let mut m = Msg::new();
        // SAFETY:
        // - as above.
        let view = unsafe { ForeignSliceMut::from_raw_parts(addr as *mut u8, len) };
        // SAFETY:
        // - the refused view is never written.
        assert_eq!(unsafe { gobridge_fill(view, 1, m.st()) }, GOBRIDGE_E_INVALID_BUFFER);
        assert_eq!(m.text(), msg);
    }
}

#[test]
#[cfg(feature = "harness")] // the probes
fn sum_with_null_out_is_invalid_argument() {
    let data = [1u8, 2, 3];
    let mut m = Msg::new();
    // SAFETY:
    // - NULL `out` is refused.
    let code = unsafe { gobridge_sum(ForeignSlice::from_slice(&data), ptr::null_mut(), m.st()) };
    assert_eq!(code, GOBRIDGE_E_INVALID_ARGUMENT);
    let mut raw = [0u64; 2];
    let misaligned = raw.as_mut_ptr().cast::<u8>().wrapping_add(1).cast::<u64>();
    // SAFETY:
    // - misaligned `out` is refused.
    let code = unsafe { gobridge_sum(ForeignSlice::from_slice(&data), misaligned, m.st()) };
    assert_eq!(code, GOBRIDGE_E_INVALID_ARGUMENT);
}

#[test]
fn abi_version_and_layouts() {
    assert_eq!(gobridge_abi_version(), GOBRIDGE_ABI_VERSION);
    let mut n = 0;
    // SAFETY:
    // - valid out-pointer.
    let p = unsafe { gobridge_type_layouts(&mut n) };
    assert!(!p.is_null());
    assert_eq!(n, type_layouts().len());
    // SAFETY:
    // - NULL count is allowed.
    assert_eq!(unsafe { gobridge_type_layouts(ptr::null_mut()) }, p);
    let find = |name: &str| type_layouts().iter().find(|l| l.name() == name).unwrap();
    let ob = find("GobridgeOwnedBuf");
    assert_eq!((ob.size(), ob.align()), (24, 8));
    let offsets: Vec<_> = ob.fields().iter().map(|f| (f.name(), f.offset(), f.size())).collect();
    assert_eq!(offsets, [("handle", 0, 8), ("ptr", 8, 8), ("len", 16, 8)]);
    let fs = find("GobridgeForeignSlice_u8");
    assert_eq!((fs.size(), fs.fields().len()), (16, 2));
    assert_eq!(find("GobridgeForeignSliceMut_u8").size(), 16);
    assert_eq!(find("GobridgeStatus").size(), 32);
    // Every layout is internally consistent: fields in order, inside the type.
    for l in type_layouts() {
        assert!(l.size() > 0 && l.align().is_power_of_two(), "{}", l.name());
        let mut end = 0;
        for f in l.fields() {
            assert!(
                f.offset() >= end && f.offset() + f.size() <= l.size(),
                "{}.{}",
                l.name(),
                f.name()
            );
            end = f.offset() + f.size();
        }
    }
}
