//! Buffer views and owned buffers through the Rust API.

use gobridge::buffer::{ForeignSlice, ForeignSliceMut, OWNED_BUF_ALIGN, OwnedBuf};
use gobridge::handle::Handle;
use gobridge::{BufferError, Error};

fn reason<T: gobridge::buffer::Pod>(addr: usize, len: usize) -> BufferError {
    // SAFETY: every pair passed here is refused by `get`, so nothing is dereferenced.
    let view = unsafe { ForeignSlice::<T>::from_raw_parts(addr as *const T, len) };
    // SAFETY: as above.
    let view_mut = unsafe { ForeignSliceMut::<T>::from_raw_parts(addr as *mut T, len) };
    let a = match view.get() {
        Err(Error::InvalidBuffer(why)) => why,
        other => panic!("{addr:#x}/{len}: accepted ({:?})", other.map(<[T]>::len)),
    };
    let b = match view_mut.into_slice() {
        Err(Error::InvalidBuffer(why)) => why,
        other => panic!("{addr:#x}/{len}: mut accepted ({:?})", other.map(|s| s.len())),
    };
    assert_eq!(a, b, "both views agree");
    a
}

#[test]
fn null_with_zero_length_is_the_empty_slice() {
    // SAFETY: NULL/0 is always allowed.
    let v = unsafe { ForeignSlice::<u64>::from_raw_parts(std::ptr::null(), 0) };
    assert_eq!(v.get().unwrap(), &[] as &[u64]);
    // SAFETY: as above.
    let mut m = unsafe { ForeignSliceMut::<u8>::from_raw_parts(std::ptr::null_mut(), 0) };
    assert!(m.get().unwrap().is_empty());
    assert!(ForeignSlice::<u8>::default().get().unwrap().is_empty());
}

#[test]
fn null_with_length() {
    assert_eq!(reason::<u8>(0, 1), BufferError::NullWithLength);
    assert_eq!(reason::<u64>(0, usize::MAX), BufferError::NullWithLength);
}

#[test]
fn misaligned() {
    assert_eq!(reason::<u32>(0x1001, 1), BufferError::Misaligned);
    assert_eq!(reason::<u64>(0x1004, 2), BufferError::Misaligned);
    assert_eq!(reason::<f64>(0x1002, 0), BufferError::Misaligned);
    assert_eq!(reason::<[u16; 3]>(0x1001, 1), BufferError::Misaligned);
}

#[test]
fn length_overflow() {
    assert_eq!(reason::<u8>(0x1000, isize::MAX as usize + 1), BufferError::LengthOverflow);
    assert_eq!(reason::<u32>(0x1000, usize::MAX / 4 + 1), BufferError::LengthOverflow);
    assert_eq!(reason::<u64>(0x1000, isize::MAX as usize / 8 + 1), BufferError::LengthOverflow);
    assert_eq!(reason::<[u8; 1024]>(0x1000, usize::MAX / 1024), BufferError::LengthOverflow);
}

#[test]
fn address_wrap() {
    assert_eq!(reason::<u8>(usize::MAX - 10, 12), BufferError::AddressWrap);
    assert_eq!(reason::<u64>(usize::MAX - 15, 3), BufferError::AddressWrap);
    // Ending one past the last address (the sum is 2^64) wraps too.
    assert_eq!(reason::<u8>(usize::MAX / 2 + 2, isize::MAX as usize), BufferError::AddressWrap);
}

#[test]
fn valid_views_of_every_pod_kind() {
    let a = [1u8, 2, 3];
    assert_eq!(ForeignSlice::from_slice(&a[..]).get().unwrap(), &a);
    let b = [1.5f64, -2.0];
    assert_eq!(ForeignSlice::from_slice(&b[..]).get().unwrap(), &b);
    let c = [[1u16, 2], [3, 4]];
    assert_eq!(ForeignSlice::from_slice(&c[..]).get().unwrap(), &c);
    let mut d = [0i128; 4];
    ForeignSliceMut::from_slice(&mut d[..]).into_slice().unwrap()[2] = -7;
    assert_eq!(d[2], -7);
}

#[test]
fn empty_rust_slices_become_null_never_dangling() {
    let empty: &[u32] = &[];
    let v = ForeignSlice::from_slice(empty);
    assert!(v.as_ptr().is_null());
    assert_eq!(v.len(), 0);
    let mut empty_mut: [u8; 0] = [];
    assert!(ForeignSliceMut::from_slice(&mut empty_mut[..]).as_ptr().is_null());
    assert!(ForeignSlice::<u8>::empty().as_ptr().is_null());
}

#[test]
fn views_are_usable_by_scoped_threads() {
    let data: Vec<u32> = (0..1000).collect();
    let view = ForeignSlice::from_slice(&data[..]);
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|k| {
                s.spawn(move || {
                    view.get()
                        .unwrap()
                        .iter()
                        .skip(k)
                        .step_by(4)
                        .map(|&x| u64::from(x))
                        .sum::<u64>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(total, 999 * 1000 / 2);
}

#[test]
fn owned_buffers_are_aligned_zeroed_and_checked() {
    let mut infos = Vec::new();
    for len in [1, 7, 63, 64, 65, 4096, 1 << 20] {
        let info = OwnedBuf::alloc(len).unwrap();
        assert_eq!(info.len, len);
        assert_eq!(info.ptr as usize % OWNED_BUF_ALIGN, 0);
        assert_ne!(info.handle, 0);
        // SAFETY: `ptr` is valid for `len` bytes until freed, and only this test uses it.
        let bytes = unsafe { std::slice::from_raw_parts_mut(info.ptr, info.len) };
        assert!(bytes.iter().all(|&b| b == 0), "zeroed");
        bytes.fill(0xAB);
        infos.push(info);
    }
    for info in &infos {
        let h = Handle::from_raw(info.handle);
        assert_eq!(OwnedBuf::resolve(h).unwrap(), *info);
        OwnedBuf::free(h).unwrap();
        assert_eq!(OwnedBuf::free(h), Err(Error::StaleHandle));
        assert_eq!(OwnedBuf::resolve(h), Err(Error::StaleHandle));
    }
}

#[test]
fn zero_length_owned_buffer_has_a_null_pointer_and_a_real_handle() {
    let info = OwnedBuf::alloc(0).unwrap();
    assert!(info.ptr.is_null());
    assert_eq!(info.len, 0);
    let h = Handle::from_raw(info.handle);
    assert_eq!(OwnedBuf::resolve(h).unwrap().ptr, std::ptr::null_mut());
    OwnedBuf::free(h).unwrap();
    assert_eq!(OwnedBuf::free(h), Err(Error::StaleHandle));
}

#[test]
fn absurd_lengths_are_refused_without_allocating() {
    assert!(matches!(OwnedBuf::alloc(usize::MAX), Err(Error::InvalidArgument(_))));
    assert!(matches!(OwnedBuf::alloc(isize::MAX as usize), Err(Error::InvalidArgument(_))));
}

#[test]
fn owned_buffers_freed_from_other_threads() {
    let infos: Vec<_> = (0..64).map(|i| OwnedBuf::alloc(i * 10).unwrap()).collect();
    std::thread::scope(|s| {
        for chunk in infos.chunks(16) {
            s.spawn(move || {
                for info in chunk {
                    OwnedBuf::free(Handle::from_raw(info.handle)).unwrap();
                }
            });
        }
    });
    for info in &infos {
        assert_eq!(OwnedBuf::resolve(Handle::from_raw(info.handle)), Err(Error::StaleHandle));
    }
}
