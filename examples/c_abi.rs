//! A complete round trip through gobridge's C ABI, calling the `extern "C"` functions exactly as
//! C (or Go through cgo) calls them: a Rust-owned buffer handed out, written by "C", lent back
//! to Rust as a view, freed — and every misuse answered with a status instead of a crash.
//!
//! `cargo run --features capi --example c_abi`. The same sequence in C is
//! `tests/c/abi_test.c`; in Go, see the `OwnedBuf` docs.

use gobridge::buffer::{ForeignSlice, ForeignSliceMut, OwnedBufInfo};
use gobridge::capi::*;
use gobridge::ffi::Status;
use std::ptr;

/// A `GobridgeStatus` with a message buffer, as a C caller would declare it on its stack.
struct Msg {
    buf: [u8; 128],
    st: Status,
}

impl Msg {
    fn new() -> Box<Self> {
        let mut m = Box::new(Msg { buf: [0; 128], st: Status::new() });
        m.st = Status::with_buffer(&mut m.buf);
        m
    }
    fn text(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.st.msg_len]).unwrap_or("<invalid>")
    }
}

fn main() {
    let mut m = Msg::new();
    println!("ABI version {} (header {GOBRIDGE_ABI_VERSION})", gobridge_abi_version());

    // 1. Rust memory for "C": {handle, ptr, len}.
    let mut buf = OwnedBufInfo { handle: 0, ptr: ptr::null_mut(), len: 0 };
    // SAFETY:
    // - `buf` and the status are valid for the call.
    let code = unsafe { gobridge_buffer_alloc(4096, &mut buf, &mut m.st) };
    assert_eq!(code, GOBRIDGE_OK);
    println!(
        "allocated handle {:#x}: {} bytes at {:p} (64-byte aligned)",
        buf.handle, buf.len, buf.ptr
    );

    // 2. "C" fills it through a writable view (gobridge_fill), then sums it (gobridge_sum).
    // SAFETY:
    // - `buf.ptr` is valid for `buf.len` bytes until it is freed; nobody else uses it.
    let view = unsafe { ForeignSliceMut::from_raw_parts(buf.ptr, buf.len) };
    // SAFETY:
    // - the view is valid for the call, the status too.
    assert_eq!(unsafe { gobridge_fill(view, 3, &mut m.st) }, GOBRIDGE_OK);
    let mut sum = 0u64;
    // SAFETY:
    // - as above, read-only now.
    let view = unsafe { ForeignSlice::from_raw_parts(buf.ptr, buf.len) };
    // SAFETY:
    // - the view, `sum` and the status are valid for the call.
    assert_eq!(unsafe { gobridge_sum(view, &mut sum, &mut m.st) }, GOBRIDGE_OK);
    println!("filled with 3, sum = {sum}");

    // 3. Free it; the handle is dead from now on.
    // SAFETY:
    // - the status is valid; any handle value is accepted.
    assert_eq!(unsafe { gobridge_buffer_free(buf.handle, &mut m.st) }, GOBRIDGE_OK);

    // 4. Misuse gets a status code and a message, never undefined behaviour.
    // SAFETY:
    // - as above.
    let code = unsafe { gobridge_buffer_free(buf.handle, &mut m.st) };
    println!("double free       -> code {code}: {}", m.text());
    // SAFETY:
    // - as above.
    let code = unsafe { gobridge_buffer_free(0x0100_0000_dead_beef, &mut m.st) };
    println!("forged handle     -> code {code}: {}", m.text());
    // SAFETY:
    // - a NULL view with a length is refused before any access.
    let bad = unsafe { ForeignSlice::from_raw_parts(ptr::null(), 10) };
    // SAFETY:
    // - `sum` and the status are valid.
    let code = unsafe { gobridge_sum(bad, &mut sum, &mut m.st) };
    println!("NULL with len 10  -> code {code}: {}", m.text());
    // SAFETY:
    // - a NULL out-pointer is refused.
    let code = unsafe { gobridge_buffer_alloc(16, ptr::null_mut(), &mut m.st) };
    println!("NULL out-pointer  -> code {code}: {}", m.text());

    let (mut live, mut bytes) = (0, 0);
    // SAFETY:
    // - both out-pointers are valid.
    unsafe { gobridge_buffer_stats(&mut live, &mut bytes) };
    println!("live buffers: {live} ({bytes} bytes)");
    assert_eq!((live, bytes), (0, 0));
}
