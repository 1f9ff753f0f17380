//! Uninstall restores the previous disposition exactly (handler, flags, mask, compared raw),
//! detects a replaced handler, and rejects stale ids. Each test owns its signals.

mod common;

use gobridge::Error;
use gobridge::signal::{self, Action};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

/// (handler address, sa_flags, mask bits 1..=64) exactly as the kernel reports them.
fn raw(signal: Signal) -> (libc::sighandler_t, libc::c_int, u64) {
    let current = common::sigaction_of(signal as libc::c_int);
    let mask = (1..=64).fold(0u64, |bits, n| {
        // SAFETY:
        // - `current.sa_mask` was filled by the kernel; any `n` in 1..=64 is a valid query.
        let member = unsafe { libc::sigismember(&current.sa_mask, n) } == 1;
        if member { bits | 1 << (n - 1) } else { bits }
    });
    (current.sa_sigaction, current.sa_flags, mask)
}

extern "C" fn hand_installed(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}
extern "C" fn intruder(_: libc::c_int) {}

fn set(signal: Signal, handler: SigHandler, flags: SaFlags, mask: SigSet) {
    // SAFETY:
    // - The handlers here do nothing (async-signal-safe) or are SIG_DFL/SIG_IGN.
    unsafe { sigaction(signal, &SigAction::new(handler, flags, mask)) }.unwrap();
}

#[test]
fn uninstalling_the_last_action_restores_the_exact_disposition() {
    static C: AtomicU64 = AtomicU64::new(0);
    let mask: SigSet = [Signal::SIGHUP, Signal::SIGTERM, Signal::SIGUSR2].into_iter().collect();
    set(
        Signal::SIGUSR1,
        SigHandler::SigAction(hand_installed),
        SaFlags::SA_ONSTACK | SaFlags::SA_SIGINFO | SaFlags::SA_NODEFER,
        mask,
    );
    let before = raw(Signal::SIGUSR1);
    let ids: Vec<_> =
        (0..3).map(|_| signal::install(Signal::SIGUSR1, Action::Add(&C, 1)).unwrap()).collect();
    let during = raw(Signal::SIGUSR1);
    assert_ne!(during.0, before.0);
    let wanted = libc::SA_ONSTACK | libc::SA_SIGINFO;
    assert_eq!(during.1 & wanted, wanted);
    // The replaced handler had no SA_RESTART (it relies on EINTR): neither has ours.
    assert_eq!(during.1 & libc::SA_RESTART, 0);
    raise(Signal::SIGUSR1).unwrap();
    assert_eq!(C.load(SeqCst), 3);
    signal::uninstall(ids[1]).unwrap();
    signal::uninstall(ids[2]).unwrap();
    assert_eq!(raw(Signal::SIGUSR1), during, "ours stays while an action remains");
    signal::uninstall(ids[0]).unwrap();
    assert_eq!(raw(Signal::SIGUSR1), before);
}

#[test]
fn restores_sig_dfl_and_sig_ign() {
    static F: AtomicBool = AtomicBool::new(false);
    for (s, h) in [(Signal::SIGWINCH, SigHandler::SigDfl), (Signal::SIGUSR2, SigHandler::SigIgn)] {
        set(s, h, SaFlags::empty(), SigSet::empty());
        let before = raw(s);
        let id = signal::install(s, Action::SetFlag(&F)).unwrap();
        assert_ne!(raw(s), before);
        signal::uninstall(id).unwrap();
        assert_eq!(raw(s), before);
    }
}

#[test]
fn a_replaced_handler_is_detected_and_left_in_place() {
    static F: AtomicBool = AtomicBool::new(false);
    set(Signal::SIGALRM, SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    let first = signal::install(Signal::SIGALRM, Action::SetFlag(&F)).unwrap();
    set(Signal::SIGALRM, SigHandler::Handler(intruder), SaFlags::SA_ONSTACK, SigSet::empty());
    let theirs = raw(Signal::SIGALRM);
    assert_eq!(
        signal::install(Signal::SIGALRM, Action::SetFlag(&F)).unwrap_err(),
        Error::HandlerReplaced(Signal::SIGALRM)
    );
    assert_eq!(signal::uninstall(first).unwrap_err(), Error::HandlerReplaced(Signal::SIGALRM));
    assert_eq!(raw(Signal::SIGALRM), theirs, "their handler is not overwritten");
    // Installing over the intruder is refused: it may chain back to ours (replacing handlers
    // usually do), and chaining to it would then recurse (tests/signal_reinstall.rs).
    assert_eq!(
        signal::install(Signal::SIGALRM, Action::SetFlag(&F)).unwrap_err(),
        Error::HandlerReplaced(Signal::SIGALRM)
    );
    assert_eq!(raw(Signal::SIGALRM), theirs, "their handler is not overwritten");
    // Once the intruder is gone (SIG_IGN chains nowhere), the signal is usable afresh.
    set(Signal::SIGALRM, SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    let ignored = raw(Signal::SIGALRM);
    let again = signal::install(Signal::SIGALRM, Action::SetFlag(&F)).unwrap();
    signal::uninstall(again).unwrap();
    assert_eq!(raw(Signal::SIGALRM), ignored);
}

#[test]
fn stale_ids_and_the_slot_limit() {
    static C: AtomicU64 = AtomicU64::new(0);
    set(Signal::SIGVTALRM, SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    let id = signal::install(Signal::SIGVTALRM, Action::Add(&C, 1)).unwrap();
    signal::uninstall(id).unwrap();
    assert_eq!(signal::uninstall(id).unwrap_err(), Error::StaleHandle);
    // A new action in the same slot does not make the old id valid again.
    let reused = signal::install(Signal::SIGVTALRM, Action::Add(&C, 1)).unwrap();
    assert_eq!(signal::uninstall(id).unwrap_err(), Error::StaleHandle);
    let mut ids = vec![reused];
    loop {
        match signal::install(Signal::SIGVTALRM, Action::Add(&C, 1)) {
            Ok(id) => ids.push(id),
            Err(e) => {
                assert!(matches!(e, Error::LimitExceeded(_)), "{e:?}");
                break;
            }
        }
    }
    assert_eq!(ids.len(), 16);
    raise(Signal::SIGVTALRM).unwrap();
    assert_eq!(C.load(SeqCst), 16);
    for id in ids {
        signal::uninstall(id).unwrap();
    }
}
