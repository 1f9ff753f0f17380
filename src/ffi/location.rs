//! Where a caught panic happened: a panic hook, chained in front of the hook that was there,
//! records each panic's `file:line:column` in a thread-local, and [`take`] hands it to
//! the catcher ([`guard`](super::guard), an executor's job) right after `catch_unwind`.
//!
//! A process-wide hook is global state, so the rules are:
//!
//! - installed at most once per process ([`Once`]), lazily, by the first guarded call or the
//!   first executor (or explicitly with [`record_panic_locations`]), never from a thread that is
//!   panicking (`set_hook` would panic there, which would abort);
//! - it chains: every panic first has its location recorded, then goes to the hook that was
//!   installed before (the default hook, or the program's own), so what is printed or logged
//!   is exactly what it was without gobridge;
//! - it never panics: it formats three fields into a `String` and stores it with
//!   `LocalKey::try_with` (a thread whose locals are being torn down records nothing);
//! - a record is attributed only to the panic it belongs to: it is taken (so never reused) and
//!   it carries a fingerprint of the panic's message, which the catcher compares with the
//!   payload it caught. A panic that reaches the catcher without passing through the hook
//!   (`resume_unwind` of another payload, a hook that replaced ours) gets no location rather
//!   than a stale one.
#![forbid(unsafe_code)]

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

static INSTALL: Once = Once::new();

/// One recorded panic: where, and a fingerprint of its message (`None`: not a string).
pub(super) struct Record {
    location: String,
    message: Option<Fingerprint>,
}

/// Length and FNV-1a hash of a message: enough to tell the panic a record belongs to from
/// another one, without copying the message in the hook.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Fingerprint(usize, u64);

impl Fingerprint {
    fn of(message: &str) -> Self {
        let hash = message.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Fingerprint(message.len(), hash)
    }
}

thread_local! {
    /// The last panic on this thread that the hook saw and nobody has taken yet.
    static LAST: Cell<Option<Record>> = const { Cell::new(None) };
}

/// Makes gobridge's panic messages carry the panic's location (`… at src/lib.rs:12:5`) by
/// installing a panic hook that records it and then calls the hook that was installed before.
///
/// gobridge calls this itself before its first guarded call ([`guard`](super::guard), every
/// `gobridge_*` function) and when it spawns an executor, so you rarely need to. Call it
/// yourself after replacing the hook with [`std::panic::set_hook`] (which drops every hook
/// before it, gobridge's included): it is a no-op once installed, so the sequence "your
/// `set_hook`, then this" is the one that keeps both. A hook installed with the
/// `take_hook`-and-chain idiom keeps gobridge's in the chain without it.
///
/// What your program prints or logs for a panic does not change: the previous hook (by
/// default the standard library's, which prints `thread '…' panicked at …` to stderr) is
/// called for every panic, after the location is recorded. The hook costs every panic in the
/// process (caught by gobridge or not) one small allocation. Without it (a hook set later
/// that does not chain), messages simply have no location.
///
/// Called on a thread that is panicking (from a `Drop` during unwinding), it does nothing:
/// the hook cannot be changed there.
pub fn record_panic_locations() {
    if INSTALL.is_completed() || std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            record(info);
            previous(info);
        }));
    });
}

fn record(info: &PanicHookInfo<'_>) {
    let Some(location) = info.location() else { return };
    let record = Record {
        location: format!("{}:{}:{}", location.file(), location.line(), location.column()),
        message: payload_str(info.payload()).map(Fingerprint::of),
    };
    let _ = LAST.try_with(|last| last.set(Some(record)));
}

/// The payload's text if it is a `&str` or a `String` (what `PanicHookInfo::payload_as_str`
/// does, which needs Rust 1.91). `downcast_ref` runs no code of the payload.
fn payload_str(payload: &(dyn Any + Send)) -> Option<&str> {
    match payload.downcast_ref::<&'static str>() {
        Some(s) => Some(s),
        None => payload.downcast_ref::<String>().map(String::as_str),
    }
}

/// Takes this thread's record of its last panic (call it right after `catch_unwind`, before
/// the payload is dropped: a panicking `Drop` of the payload would record its own panic).
pub(super) fn take() -> Option<Record> {
    LAST.try_with(Cell::take).ok().flatten()
}

impl Record {
    /// The location, if this record belongs to a panic with this message (`None`: the payload
    /// is not a string).
    pub(super) fn location_for(self, message: Option<&str>) -> Option<String> {
        (self.message == message.map(Fingerprint::of)).then_some(self.location)
    }
}
