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
