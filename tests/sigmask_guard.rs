//! Mask guards: exact restore after nesting, panics and `with_blocked`; the out-of-order rule;
//! no system call for a guard whose set is already blocked. Masks are per thread and every
//! test runs on its own thread, so the tests of this binary cannot disturb each other.

mod common;

use common::sigblk;
use gobridge::Error;
use gobridge::sigmask::{self, SignalSet};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

fn bit(s: Signal) -> u64 {
    1 << (s as i32 - 1)
}

fn raw(how: SigmaskHow, signals: &[Signal]) {
    let set: SigSet = signals.iter().copied().collect();
    pthread_sigmask(how, Some(&set), None).unwrap();
}

#[test]
fn nested_guards_restore_the_exact_mask_including_realtime_bits() {
    // An unusual starting mask: SIGWINCH and a real-time signal blocked by "someone else".
    let rt = libc::SIGRTMIN() + 3;
    let mut start = *SigSet::thread_get_mask().unwrap().as_ref();
    // SAFETY:
    // - `start` is an initialised sigset_t copied from the kernel's answer.
    // - `rt` is a valid real-time signal number on Linux.
    assert_eq!(unsafe { libc::sigaddset(&mut start, rt) }, 0);
    // SAFETY:
    // - `start` was initialised by pthread_sigmask (through nix) and sigaddset above.
    let start = unsafe { SigSet::from_sigset_t_unchecked(start) };
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&start), None).unwrap();
    raw(SigmaskHow::SIG_BLOCK, &[Signal::SIGWINCH]);
    let before = sigblk();
    assert_ne!(before & (1 << (rt - 1)), 0);

    let a = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    assert_eq!(sigblk(), before | bit(Signal::SIGUSR1));
    let b = sigmask::block(&SignalSet::go_runtime()).unwrap();
    let with_b = before | bit(Signal::SIGUSR1) | bit(Signal::SIGURG) | bit(Signal::SIGPROF);
    assert_eq!(sigblk(), with_b);
    let c = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1, Signal::SIGWINCH])).unwrap();
    assert_eq!(sigblk(), with_b);
    drop(c);
    assert_eq!(sigblk(), with_b);
    drop(b);
    assert_eq!(sigblk(), before | bit(Signal::SIGUSR1));
    drop(a);
    assert_eq!(sigblk(), before, "real-time and pre-existing bits survive");
    assert_eq!(sigmask::out_of_order_drops(), 0);
}

#[test]
fn guard_restores_after_a_panic() {
    let before = sigblk();
    let result = std::panic::catch_unwind(|| {
        let _outer = sigmask::block(&SignalSet::sigprof_and_sigusr1()).unwrap();
        let _inner = sigmask::block(&SignalSet::go_runtime()).unwrap();
        assert_ne!(sigblk() & bit(Signal::SIGURG), 0);
        panic!("boom inside two guards");
    });
    assert!(result.is_err());
    assert_eq!(sigblk(), before);
}

#[test]
fn with_blocked_restores_and_returns_the_value() {
    let before = sigblk();
    let inner = sigmask::with_blocked(&SignalSet::go_runtime(), || {
        sigmask::with_blocked(&SignalSet::sigprof_and_sigusr1(), sigblk).unwrap()
    })
    .unwrap();
    assert_eq!(inner, before | bit(Signal::SIGURG) | bit(Signal::SIGPROF) | bit(Signal::SIGUSR1));
    assert_eq!(sigblk(), before);
    let caught = std::panic::catch_unwind(|| {
        sigmask::with_blocked(&SignalSet::go_runtime(), || panic!("in the closure")).unwrap()
    });
    assert!(caught.is_err());
    assert_eq!(sigblk(), before);
}

#[test]
fn out_of_order_drop_is_detected_and_never_leaves_a_wrong_mask() {
    let before = sigblk();
    let a = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    let b = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR2])).unwrap();
    // `a` goes first: retired lazily, so `b`'s promise (SIGUSR2 blocked) still holds.
    assert_eq!(a.restore(), Err(Error::InvalidArgument("mask guard released out of LIFO order")));
    assert_eq!(sigmask::out_of_order_drops(), 1);
    assert_eq!(sigblk(), before | bit(Signal::SIGUSR1) | bit(Signal::SIGUSR2));
    // When the last guard goes, the mask is what it was before the first.
    b.restore().unwrap();
    assert_eq!(sigblk(), before);

    // Three guards, middle dropped first (plain drop): the same rule.
    let a = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    let b = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR2])).unwrap();
    let c = sigmask::block(&SignalSet::from_signals([Signal::SIGALRM])).unwrap();
    drop(b);
    assert_eq!(sigmask::out_of_order_drops(), 2);
    drop(c);
    assert_eq!(sigblk(), before | bit(Signal::SIGUSR1));
    drop(a);
    assert_eq!(sigblk(), before);
}

#[test]
fn a_guard_whose_set_is_already_blocked_makes_no_system_call() {
    let before = sigblk();
    assert_eq!(before & bit(Signal::SIGUSR1), 0);
    let outer = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    // Unblock behind the guards' back: a guard that asked the kernel would block it again.
    raw(SigmaskHow::SIG_UNBLOCK, &[Signal::SIGUSR1]);
    let inner = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    assert_eq!(sigblk() & bit(Signal::SIGUSR1), 0, "nested no-op guard made a system call");
    raw(SigmaskHow::SIG_BLOCK, &[Signal::SIGUSR1]);
    drop(inner);
    assert_ne!(sigblk() & bit(Signal::SIGUSR1), 0, "its drop made a system call");
    drop(outer);
    assert_eq!(sigblk(), before);

    // Outermost guard over an already blocked set: its drop has nothing to restore.
    raw(SigmaskHow::SIG_BLOCK, &[Signal::SIGUSR2]);
    let guard = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR2])).unwrap();
    raw(SigmaskHow::SIG_UNBLOCK, &[Signal::SIGUSR2]);
    drop(guard);
    assert_eq!(sigblk() & bit(Signal::SIGUSR2), 0, "drop of a no-op guard made a system call");
    assert_eq!(sigblk(), before);
}

#[test]
fn unblockable_signals_are_refused_and_nothing_changes() {
    let before = sigblk();
    let _outer = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    let during = sigblk();
    for s in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGFPE,
        Signal::SIGILL,
        Signal::SIGTRAP,
    ] {
        let set = SignalSet::go_runtime().with(s);
        assert_eq!(sigmask::block(&set).unwrap_err(), Error::Unblockable(s));
        assert_eq!(sigmask::with_blocked(&set, || ()).unwrap_err(), Error::Unblockable(s));
        assert_eq!(sigblk(), during);
    }
    drop(_outer);
    assert_eq!(sigblk(), before);
}

#[test]
fn current_mask_reads_the_kernel() {
    let _g = sigmask::block(&SignalSet::go_runtime()).unwrap();
    let mask = sigmask::current_mask().unwrap();
    assert_eq!(mask.to_bits() & sigblk(), mask.to_bits());
    assert!(SignalSet::go_runtime().is_subset(&mask));
}
