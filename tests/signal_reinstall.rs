//! Installing again after an uninstall that found gobridge's handler replaced.
//!
//! A handler that replaces ours usually saves ours and chains to it (signal-hook-registry
//! does). Once our last action is gone, ours is still reachable through theirs. Installing
//! again must not chain to theirs — theirs -> ours -> theirs would recurse until the signal
//! stack overflows — so it is refused until ours is back in place, and allowed afresh when
//! the replacement chains nowhere (SIG_DFL/SIG_IGN). Own test binary: it owns SIGUSR1/SIGUSR2.

mod common;

use gobridge::Error;
use gobridge::signal::{self, Action};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};

static OURS: AtomicU64 = AtomicU64::new(0);
static FOREIGN: AtomicU64 = AtomicU64::new(0);
/// The `sa_sigaction` the foreign handler replaced (ours), which it chains to.
static FOREIGN_PREVIOUS: AtomicUsize = AtomicUsize::new(0);

/// A foreign SA_SIGINFO handler that counts, then chains to what it replaced, the way
/// signal-hook-registry's handler does.
extern "C" fn foreign(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    FOREIGN.fetch_add(1, SeqCst);
    let previous = FOREIGN_PREVIOUS.load(SeqCst);
    if previous != libc::SIG_DFL && previous != libc::SIG_IGN {
        // SAFETY:
        // - `previous` is gobridge's SA_SIGINFO handler, read back from the kernel when this
        //   handler replaced it: a `void (*)(int, siginfo_t *, void *)`.
        let chained: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous) };
        chained(sig, info, ctx);
    }
}

fn set(signal: Signal, handler: SigHandler) -> SigAction {
    let flags = SaFlags::SA_ONSTACK | SaFlags::SA_SIGINFO | SaFlags::SA_RESTART;
    // SAFETY:
    // - `foreign` only touches atomics and chains to an async-signal-safe handler; the others
    //   are SIG_DFL/SIG_IGN or a disposition read back from the kernel.
    unsafe { sigaction(signal, &SigAction::new(handler, flags, SigSet::all())) }.unwrap()
}

fn restore(signal: Signal, action: &SigAction) {
    // SAFETY:
    // - `action` was read back from the kernel by `sigaction`: gobridge's own disposition.
    unsafe { sigaction(signal, action) }.unwrap();
}

fn handler_address(signal: Signal) -> libc::sighandler_t {
    common::sigaction_of(signal as i32).sa_sigaction
}

#[test]
fn reinstall_after_a_chaining_replacement_is_refused_until_ours_is_back() {
    let sig = Signal::SIGUSR1;
    set(sig, SigHandler::SigIgn);
    let id = signal::install(sig, Action::Add(&OURS, 1)).unwrap();

    // A foreign handler replaces ours and chains to it.
    let ours = set(sig, SigHandler::SigAction(foreign));
    FOREIGN_PREVIOUS.store(libc::sigaction::from(ours).sa_sigaction, SeqCst);
    raise(sig).unwrap();
    assert_eq!((FOREIGN.load(SeqCst), OURS.load(SeqCst)), (1, 1));

    // Our last action goes: theirs is left in place, ours (now actionless) still chains on.
    assert_eq!(signal::uninstall(id), Err(Error::HandlerReplaced(sig)));
    raise(sig).unwrap();
    assert_eq!((FOREIGN.load(SeqCst), OURS.load(SeqCst)), (2, 1));

    // Installing again over theirs would loop theirs -> ours -> theirs: refused, and the
    // signal still works (no recursion, nothing changed).
    assert_eq!(signal::install(sig, Action::Add(&OURS, 1)), Err(Error::HandlerReplaced(sig)));
    assert_eq!(handler_address(sig), foreign as *const () as libc::sighandler_t);
    raise(sig).unwrap();
    assert_eq!((FOREIGN.load(SeqCst), OURS.load(SeqCst)), (3, 1));

    // Theirs puts ours back (as an uninstalling signal-hook would): installing works again,
    // and the last uninstall restores the very first disposition, SIG_IGN.
    restore(sig, &ours);
    FOREIGN_PREVIOUS.store(libc::SIG_DFL, SeqCst);
    let id = signal::install(sig, Action::Add(&OURS, 1)).unwrap();
    raise(sig).unwrap();
    assert_eq!((FOREIGN.load(SeqCst), OURS.load(SeqCst)), (3, 2));
    signal::uninstall(id).unwrap();
    assert_eq!(handler_address(sig), libc::SIG_IGN);
}

#[test]
fn reinstall_after_a_replacement_by_sig_ign_starts_afresh() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let sig = Signal::SIGUSR2;
    set(sig, SigHandler::SigIgn);
    let id = signal::install(sig, Action::Add(&COUNT, 1)).unwrap();
    set(sig, SigHandler::SigIgn); // someone ignores the signal: nothing can chain to ours
    assert_eq!(signal::uninstall(id), Err(Error::HandlerReplaced(sig)));

    let id = signal::install(sig, Action::Add(&COUNT, 1)).unwrap();
    raise(sig).unwrap();
    assert_eq!(COUNT.load(SeqCst), 1);
    signal::uninstall(id).unwrap();
    assert_eq!(handler_address(sig), libc::SIG_IGN);
}

/// Item 14 of issue 10: a pipe whose handler was replaced reports it when closed — through
/// `SignalPipe::close` and through the C ABI's close (which used to drop the pipe and with it
/// the error) — and the signal can be watched again once nothing chains back to ours.
#[cfg(feature = "capi")]
#[test]
fn closing_a_pipe_whose_handler_was_replaced_reports_it() {
    use gobridge::capi::*;
    use gobridge::sigmask::SignalSet;
    use gobridge::signal::SignalPipe;

    for sig in [Signal::SIGWINCH, Signal::SIGPWR] {
        set(sig, SigHandler::SigIgn);
    }
    // Rust API.
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGWINCH])).unwrap();
    set(Signal::SIGWINCH, SigHandler::SigIgn); // as `signal.Ignore` does
    assert_eq!(pipe.close(), Err(Error::HandlerReplaced(Signal::SIGWINCH)));

    // C ABI.
    let mut m = common::Msg::new();
    let mut handle = 0u64;
    // SAFETY: `handle` is valid for a write; the status lives for the call.
    let rc = unsafe { gobridge_signal_pipe_new(1 << (libc::SIGPWR - 1), &mut handle, m.st()) };
    assert_eq!(rc, 0, "{}", m.text());
    set(Signal::SIGPWR, SigHandler::SigIgn);
    // SAFETY: the status lives for the call.
    let rc = unsafe { gobridge_signal_pipe_close(handle, m.st()) };
    m.expect(rc, GOBRIDGE_E_HANDLER_REPLACED);
    assert!(m.text().contains("SIGPWR"), "{}", m.text());
    // SAFETY: the status lives for the call.
    let rc = unsafe { gobridge_signal_pipe_close(handle, m.st()) };
    m.expect(rc, GOBRIDGE_E_STALE_HANDLE);

    // SIG_IGN chains nowhere: watching again works, and delivers.
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGPWR])).unwrap();
    raise(Signal::SIGPWR).unwrap();
    assert_eq!(pipe.try_recv().unwrap(), Some(Signal::SIGPWR));
    pipe.close().unwrap();
    assert_eq!(handler_address(Signal::SIGPWR), libc::SIG_IGN);
}

/// Item 14: the replacement is the very handler ours chains to (Go's, back after
/// `signal.Ignore` and `signal.Notify`): installing again chains exactly as the orphan did, so
/// it is allowed (it used to be refused for good).
#[test]
fn reinstall_over_the_handler_ours_chains_to_is_allowed() {
    static PREVIOUS: AtomicU64 = AtomicU64::new(0);
    static WATCHED: AtomicU64 = AtomicU64::new(0);
    extern "C" fn previous(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
        PREVIOUS.fetch_add(1, SeqCst);
    }
    let sig = Signal::SIGXCPU;
    set(sig, SigHandler::SigAction(previous));
    let id = signal::install(sig, Action::Add(&WATCHED, 1)).unwrap();
    set(sig, SigHandler::SigIgn); // signal.Ignore
    set(sig, SigHandler::SigAction(previous)); // signal.Notify puts the runtime's handler back
    assert_eq!(signal::uninstall(id), Err(Error::HandlerReplaced(sig)));
    let id = signal::install(sig, Action::Add(&WATCHED, 1)).unwrap();
    raise(sig).unwrap();
    assert_eq!((WATCHED.load(SeqCst), PREVIOUS.load(SeqCst)), (1, 1));
    signal::uninstall(id).unwrap();
    assert_eq!(handler_address(sig), previous as *const () as libc::sighandler_t);
}
