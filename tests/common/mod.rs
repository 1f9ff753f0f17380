//! Shared by the test binaries (each includes it with `mod common;`): a C status with its
//! message buffer, and read-backs of signal masks and dispositions from the kernel.

#![allow(dead_code)] // each binary uses the part it needs

use gobridge::ffi::Status;

/// A `GobridgeStatus` with its own message buffer, as a C caller declares one. The buffer
/// starts as 0xFF bytes, so a message that is not NUL-terminated would show.
pub struct Msg {
    buf: Box<[u8; 256]>,
    st: Status,
}

impl Msg {
    pub fn new() -> Self {
        let mut buf = Box::new([0xFFu8; 256]);
        let st = Status::with_buffer(&mut buf[..]);
        Msg { buf, st }
    }

    /// The status pointer to pass to a `gobridge_*` function.
    pub fn st(&mut self) -> *mut Status {
        &mut self.st
    }

    /// The message of the last call.
    pub fn text(&self) -> &str {
        assert_eq!(self.buf[self.st.msg_len], 0, "message not NUL-terminated");
        std::str::from_utf8(&self.buf[..self.st.msg_len]).unwrap()
    }

    /// Asserts the last call failed with `code`, reported both as the return value and in
    /// the status, with a message.
    pub fn expect(&self, rc: i32, code: i32) {
        assert_eq!(rc, code, "returned {rc}, want {code}: {}", self.text());
        assert_eq!(self.st.code, code);
        assert!(!self.text().is_empty(), "code {code} without a message");
    }
}

/// The signals blocked on the calling thread as the kernel reports them (`SigBlk` in
/// `/proc/thread-self/status`): every bit, real-time signals included.
pub fn sigblk() -> u64 {
    sigblk_in("/proc/thread-self/status")
}

/// The same for thread `tid` of this process.
pub fn sigblk_of(tid: i32) -> u64 {
    sigblk_in(&format!("/proc/self/task/{tid}/status"))
}

fn sigblk_in(status_path: &str) -> u64 {
    let status = std::fs::read_to_string(status_path).unwrap();
    let line = status.lines().find(|l| l.starts_with("SigBlk:")).unwrap();
    u64::from_str_radix(line["SigBlk:".len()..].trim(), 16).unwrap()
}

/// The current disposition of `signal`, read without changing it.
pub fn sigaction_of(signal: i32) -> libc::sigaction {
    // SAFETY: all-zero is a valid `struct sigaction`, overwritten by the read below.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a NULL new action makes this a pure read into a valid local.
    assert_eq!(unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) }, 0);
    current
}
