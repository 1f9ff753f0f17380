//! The panic firewall and the status writer, exercised through `extern "C"` functions as C
//! would call them. The panic zoo: every kind of payload is caught, none aborts.

use gobridge::ffi::{self, NON_STRING_PANIC, Status};
use gobridge::{Error, Result};
use std::fmt;
use std::panic::panic_any;
use std::ptr;

/// A test-only C entry point: runs the zoo animal `which` under `ffi::call`.
///
/// # Safety
/// `status` is NULL or valid for the call.
unsafe extern "C" fn zoo(which: u32, status: *mut Status) -> i32 {
    let body = || -> Result<()> {
        match which {
            0 => Ok(()),
            1 => panic!("a &'static str payload"),
            2 => panic!("a String payload: {}", 42),
            3 => panic_any(42_i32),
            4 => panic!("interior\0NUL"),
            5 => panic_any(PanickingDisplay),
            6 => panic_any(PanickingDrop),
            7 => Err(Error::InvalidArgument("plain error")),
            8 => panic_any(String::from("panic_any(String)")),
            _ => unreachable!(),
        }
    };
    // SAFETY:
    // - `status` is NULL or valid for the call (our contract).
    unsafe { ffi::call(status, body) }
}

struct PanickingDisplay;
impl fmt::Display for PanickingDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Display panicked")
    }
}
impl fmt::Debug for PanickingDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Debug panicked")
    }
}

/// A payload whose `Drop` panics with another `ChainDrop`, `n` times in a row.
struct ChainDrop(u32);
impl Drop for ChainDrop {
    fn drop(&mut self) {
        if self.0 > 0 {
            panic_any(ChainDrop(self.0 - 1));
        }
    }
}

struct PanickingDrop;
impl Drop for PanickingDrop {
    fn drop(&mut self) {
        panic!("Drop of the payload panicked");
    }
}

/// Calls `zoo(which)` with a message buffer of `cap` bytes; returns (code, message).
fn run(which: u32, cap: usize) -> (i32, Status, Vec<u8>) {
    let mut buf = vec![0xFFu8; cap];
    let mut st = Status::with_buffer(&mut buf);
    // SAFETY:
    // - `st` and its buffer are valid for the call.
    let code = unsafe { zoo(which, &mut st) };
    assert_eq!(code, st.code);
    if cap > 0 {
        assert_eq!(buf[st.msg_len], 0, "message is NUL-terminated");
    }
    (code, st, buf)
}

/// The message of `zoo(which)`, whose panics all end with their location in `zoo`
/// (`… at tests/ffi.rs:LINE:COL`), returned without it.
fn message(which: u32) -> String {
    let (code, st, buf) = run(which, 256);
    let text = String::from_utf8(buf[..st.msg_len].to_vec()).unwrap();
    if code != Error::Panicked(String::new()).code() {
        return text;
    }
    let (message, location) = text.rsplit_once(" at ").expect("a panic message without location");
    assert!(location.starts_with(concat!(file!(), ":")), "{text}");
    message.to_owned()
}

#[test]
fn success_is_code_zero_and_empty_message() {
    let (code, st, buf) = run(0, 16);
    assert_eq!((code, st.sys_errno, st.msg_len, buf[0]), (0, 0, 0, 0));
}

#[test]
fn str_payload() {
    assert_eq!(run(1, 256).0, Error::Panicked(String::new()).code());
    assert_eq!(message(1), "panicked: a &'static str payload");
}

#[test]
fn string_payloads() {
    assert_eq!(message(2), "panicked: a String payload: 42");
    assert_eq!(message(8), "panicked: panic_any(String)");
}

#[test]
fn non_string_payload() {
    assert_eq!(message(3), format!("panicked: {NON_STRING_PANIC}"));
}

#[test]
fn interior_nul_is_escaped_for_c() {
    assert_eq!(message(4), "panicked: interior\\0NUL");
    // In Rust, `guard` keeps the message as it was.
    let e = ffi::guard(|| -> Result<()> { panic!("interior\0NUL") }).unwrap_err();
    assert!(matches!(e, Error::Panicked(m) if m.starts_with("interior\0NUL at ")));
}

#[test]
fn payload_whose_display_panics_is_never_formatted() {
    assert_eq!(message(5), format!("panicked: {NON_STRING_PANIC}"));
}

#[test]
fn payload_whose_drop_panics_is_contained() {
    assert_eq!(message(6), format!("panicked: {NON_STRING_PANIC}"));
    assert!(!std::thread::panicking());
    // The firewall still works afterwards.
    assert_eq!(message(1), "panicked: a &'static str payload");
}

#[test]
fn chains_of_panicking_drops_are_contained() {
    // SAFETY:
    // - `status` may be NULL.
    unsafe extern "C" fn chain(n: u32, status: *mut Status) -> i32 {
        // SAFETY:
        // - `status` is NULL or valid for the call (our contract).
        unsafe { ffi::call(status, || panic_any(ChainDrop(n))) }
    }
    for n in [0, 1, 3, 8, 9, 50] {
        // SAFETY:
        // - a NULL status is allowed.
        assert_eq!(unsafe { chain(n, ptr::null_mut()) }, 3, "chain of {n}");
    }
    assert!(!std::thread::panicking());
}

#[test]
fn errors_pass_through() {
    assert_eq!(run(7, 256).0, 9);
    assert_eq!(message(7), "invalid argument: plain error");
}

#[test]
fn whole_zoo_on_many_threads() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    let which = (t + i) % 9;
                    let (code, _, _) = run(which, 64);
                    let expected = match which {
                        0 => 0,
                        7 => 9,
                        _ => 3,
                    };
                    assert_eq!(code, expected);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn null_status_still_returns_the_code() {
    // SAFETY:
    // - a NULL status is allowed.
    assert_eq!(unsafe { zoo(1, ptr::null_mut()) }, 3);
    // SAFETY:
    // - as above.
    assert_eq!(unsafe { zoo(0, ptr::null_mut()) }, 0);
}

#[test]
fn no_message_buffer() {
    let mut st = Status::new();
    // SAFETY:
    // - `st` is valid; msg is NULL with cap 0.
    assert_eq!(unsafe { zoo(2, &mut st) }, 3);
    assert_eq!((st.code, st.msg_len), (3, 0));
    // NULL msg with a non-zero capacity: refused as a buffer, only the code is written.
    let mut st = Status { msg_cap: 100, ..Status::new() };
    // SAFETY:
    // - `st` is valid; its NULL msg is never written.
    assert_eq!(unsafe { zoo(2, &mut st) }, 3);
    assert_eq!((st.code, st.msg_len), (3, 0));
}

#[test]
fn misaligned_status_is_ignored() {
    let mut raw = [0u8; size_of::<Status>() + 8];
    let base = raw.as_mut_ptr();
    let off = if (base as usize + 1) % align_of::<Status>() == 0 { 2 } else { 1 };
    let p = base.wrapping_add(off).cast::<Status>();
    assert!(!p.is_aligned());
    // SAFETY:
    // - a misaligned status is never dereferenced (documented), only the code returned.
    assert_eq!(unsafe { zoo(1, p) }, 3);
    assert!(raw.iter().all(|&b| b == 0));
}

#[test]
fn truncation_at_char_boundaries_of_every_capacity() {
    // A multi-byte message: every capacity yields a valid UTF-8 prefix, NUL-terminated.
    // SAFETY:
    // - status and buffers are valid for each call.
    unsafe extern "C" fn crab(status: *mut Status) -> i32 {
        // SAFETY:
        // - `status` is valid for the call (our contract).
        unsafe { ffi::call(status, || panic!("héllo wörld ✓ 🦀")) }
    }
    let mut whole = [0u8; 256];
    let mut st = Status::with_buffer(&mut whole);
    // SAFETY:
    // - `st` and its buffer are valid for the call.
    assert_eq!(unsafe { crab(&mut st) }, 3);
    let full = std::str::from_utf8(&whole[..st.msg_len]).unwrap().to_owned();
    assert!(full.starts_with("panicked: héllo wörld ✓ 🦀 at tests/ffi.rs:"), "{full}");
    for cap in 0..=full.len() + 2 {
        let mut buf = vec![0xFFu8; cap];
        let mut st = Status::with_buffer(&mut buf);
        // SAFETY:
        // - `st` and its buffer are valid for the call.
        assert_eq!(unsafe { crab(&mut st) }, 3);
        if cap == 0 {
            assert_eq!(st.msg_len, 0);
            continue;
        }
        let got = std::str::from_utf8(&buf[..st.msg_len]).expect("truncated at a char boundary");
        assert!(full.starts_with(got));
        assert!(st.msg_len < cap);
        assert_eq!(buf[st.msg_len], 0);
        // Nothing beyond the terminator was written.
        assert!(buf[st.msg_len + 1..].iter().all(|&b| b == 0xFF));
        if cap > full.len() {
            assert_eq!(got, full);
        } else {
            // The longest prefix that fits.
            let next = full[got.len()..].chars().next().unwrap().len_utf8();
            assert!(got.len() + next > cap - 1);
        }
    }
}

#[test]
fn sys_errno_is_reported() {
    // SAFETY:
    // - `status` is valid for the call.
    unsafe extern "C" fn fails(status: *mut Status) -> i32 {
        // SAFETY:
        // - `status` is valid for the call (our contract).
        unsafe { ffi::call(status, || Err(Error::Sys(nix::errno::Errno::EAGAIN))) }
    }
    let mut st = Status::new();
    // SAFETY:
    // - `st` is valid.
    assert_eq!(unsafe { fails(&mut st) }, 7);
    assert_eq!(st.sys_errno, libc::EAGAIN);
}

/// `panic!("{}", value)` whose `Display` panics is the one case no library can catch: the
/// standard library formats the message inside its panic machinery and aborts ("panicked while
/// processing panic") before any hook or `catch_unwind` runs. This test pins that behaviour
/// down in a child process, so the documentation of `guard` stays true.
#[test]
fn formatting_panic_inside_panic_macro_aborts_in_std() {
    if std::env::var_os("GOBRIDGE_FFI_CHILD").is_some() {
        let _ = ffi::guard(|| -> Result<()> { panic!("{}", PanickingDisplay) });
        std::process::exit(0); // not reached
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "formatting_panic_inside_panic_macro_aborts_in_std", "--nocapture"])
        .env("GOBRIDGE_FFI_CHILD", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("panicked while processing panic"), "{stderr}");
}
