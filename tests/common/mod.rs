//! Shared by the C ABI test binaries (each includes it with `mod common;`).

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
