//! The in-band status every C function reports through.

use crate::Error;
use crate::buffer::ForeignSliceMut;
use std::ffi::c_char;
use std::fmt::{self, Write as _};

/// The outcome of a C ABI call, written into memory the caller provides (C: `GobridgeStatus`).
///
/// The caller sets `msg`/`msg_cap` (a message buffer it owns, or NULL/0 for none) and passes a
/// pointer; gobridge writes `code`, `sys_errno`, `msg_len` and the message. Nothing is ever
/// allocated for the caller to free, and nothing is kept in thread-local state, so a goroutine
/// that moves between OS threads reads exactly the status of its own call.
///
/// Initialise all of it before the call (Go's `var st C.GobridgeStatus` and C's
/// `GobridgeStatus st = {0}` do): `msg` and `msg_cap` are read, and garbage there is a wild
/// pointer to gobridge.
///
/// The message:
/// - is the [`Error`]'s `Display` text, empty on success;
/// - is truncated to `msg_cap - 1` bytes at a UTF-8 character boundary, and always
///   NUL-terminated when `msg_cap > 0` (`msg[msg_len] == 0`);
/// - has every NUL byte of the text (a panic message may contain one) written as the two
///   characters `\0`, so a C string reader sees the whole message.
///
/// ```c
/// char buf[256];
/// GobridgeStatus st = { .msg = buf, .msg_cap = sizeof buf };
/// if (gobridge_buffer_free(h, &st) != 0) fprintf(stderr, "code %d: %s\n", st.code, st.msg);
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct Status {
    /// Output: `0` on success, else [`Error::code`].
    pub code: i32,
    /// Output: the OS `errno` when `code` is the system-error code ([`Error::Sys`]), else 0.
    pub sys_errno: i32,
    /// Input: a caller-owned buffer for the message, or NULL.
    pub msg: *mut c_char,
    /// Input: the size of `msg` in bytes (0 when `msg` is NULL).
    pub msg_cap: usize,
    /// Output: the length of the message written, excluding the terminating NUL.
    pub msg_len: usize,
}

impl Default for Status {
    fn default() -> Self {
        Status::new()
    }
}

impl Status {
    /// A status without a message buffer: only `code` and `sys_errno` are reported.
    pub const fn new() -> Self {
        Status { code: 0, sys_errno: 0, msg: std::ptr::null_mut(), msg_cap: 0, msg_len: 0 }
    }

    /// A status whose message is written into `buf`.
    ///
    /// The status keeps a raw pointer to `buf`, not a borrow: use it only while `buf` lives
    /// (passing it to a call after `buf` is gone breaks [`call`](crate::ffi::call)'s contract).
    pub fn with_buffer(buf: &mut [u8]) -> Self {
        Status { msg: buf.as_mut_ptr().cast(), msg_cap: buf.len(), ..Status::new() }
    }

    /// Writes the outcome `err` (`None` = success) into `*status` and returns its code.
    ///
    /// # Safety
    ///
    /// `status` is NULL, misaligned (both ignored), or valid for reads and writes and not
    /// accessed by anyone else during the call, with `msg` NULL or valid for writes of
    /// `msg_cap` bytes.
    pub(crate) unsafe fn store(status: *mut Status, err: Option<&Error>) -> i32 {
        let code = err.map_or(0, Error::code);
        if status.is_null() || !status.is_aligned() {
            return code;
        }
        // SAFETY:
        // - `status` is non-null and aligned (checked above).
        // - It is valid for reads and writes and exclusively ours for the call (our contract).
        // - Every field is an integer or a raw pointer, so any initialised bytes are valid.
        let st = unsafe { &mut *status };
        st.code = code;
        st.sys_errno = match err {
            Some(Error::Sys(errno)) => *errno as i32,
            _ => 0,
        };
        st.msg_len = 0;
        // SAFETY:
        // - `msg` is NULL or valid for writes of `msg_cap` bytes for this call (our contract);
        //   `into_slice` refuses NULL with a length, overflow, and address wrap, in which case
        //   no message is written.
        let view = unsafe { ForeignSliceMut::from_raw_parts(st.msg.cast::<u8>(), st.msg_cap) };
        let Ok(buf) = view.into_slice() else { return code };
        if buf.is_empty() {
            return code;
        }
        let mut w = MsgWriter { buf, len: 0, full: false };
        if let Some(e) = err {
            // `MsgWriter` never fails; `Error`'s Display only formats gobridge's own data.
            let _ = write!(w, "{e}");
        }
        let len = w.len;
        w.buf[len] = 0;
        st.msg_len = len;
        code
    }
}

/// Writes a message into a fixed buffer: truncates at a character boundary, keeps one byte
/// for the NUL, escapes NUL bytes, and never fails.
struct MsgWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
    full: bool,
}

impl MsgWriter<'_> {
    fn push(&mut self, s: &str) {
        if self.full {
            return;
        }
        let room = self.buf.len() - 1 - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.full = true;
        }
    }
}

impl fmt::Write for MsgWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut parts = s.split('\0');
        if let Some(first) = parts.next() {
            self.push(first);
        }
        for part in parts {
            self.push("\\0");
            self.push(part);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(err: Option<&Error>, cap: usize) -> (Status, Vec<u8>) {
        let mut buf = vec![0xAAu8; cap];
        let mut st = Status::with_buffer(&mut buf);
        // SAFETY:
        // - `st` and `buf` are valid and exclusively ours for the call.
        unsafe { Status::store(&mut st, err) };
        (st, buf)
    }

    #[test]
    fn success_clears_message() {
        let (st, buf) = store(None, 8);
        assert_eq!((st.code, st.sys_errno, st.msg_len, buf[0]), (0, 0, 0, 0));
    }

    #[test]
    fn truncates_at_char_boundary_and_terminates() {
        let e = Error::Panicked("ééé".into()); // "panicked: " is 10 bytes, then 2-byte chars
        let (st, buf) = store(Some(&e), 14);
        assert_eq!(&buf[..st.msg_len], "panicked: é".as_bytes());
        assert_eq!(buf[st.msg_len], 0);
        let (st, buf) = store(Some(&e), 1);
        assert_eq!((st.msg_len, buf[0]), (0, 0));
    }

    #[test]
    fn escapes_nul_and_reports_errno() {
        let (st, buf) = store(Some(&Error::Panicked("a\0b".into())), 64);
        assert_eq!(&buf[..st.msg_len], b"panicked: a\\0b");
        let (st, _) = store(Some(&Error::Sys(nix::errno::Errno::ENOMEM)), 0);
        assert_eq!((st.code, st.sys_errno), (7, libc::ENOMEM));
    }
}
