//! Masks, signal pipes and the audit through the C ABI, called as C calls them. Its own test
//! binary: it installs handlers (SIGUSR2, SIGWINCH) and changes the test threads' masks.
#![cfg(feature = "capi")]

mod common;

use common::Msg;
use gobridge::capi::*;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

/// Records the mask it runs under; `ctx` is an `&AtomicU64`.
unsafe extern "C" fn record_mask(ctx: *mut c_void) {
    // SAFETY:
    // - The test passes an `&AtomicU64` that outlives this synchronous call.
    unsafe { &*ctx.cast::<AtomicU64>() }.store(common::sigblk(), SeqCst);
}

#[test]
fn with_blocked_masks_only_inside_and_refuses_what_it_must() {
    let mut m = Msg::new();
    let before = common::sigblk();
    let seen = AtomicU64::new(0);
    let ctx = ptr::from_ref(&seen).cast_mut().cast();
    let set = bit(libc::SIGUSR1) | bit(libc::SIGPROF) | bit(libc::SIGURG);
    // SAFETY: `record_mask` does not unwind; `seen` outlives the call.
    assert_eq!(unsafe { gobridge_with_blocked(set, Some(record_mask), ctx, m.st()) }, 0);
    assert_eq!(seen.load(SeqCst), before | set, "the set was not blocked inside");
    assert_eq!(common::sigblk(), before, "the mask was not restored exactly");

    seen.store(u64::MAX, SeqCst);
    for (signals, code) in [
        (bit(libc::SIGSEGV), GOBRIDGE_E_UNBLOCKABLE),
        (bit(libc::SIGKILL) | bit(libc::SIGUSR1), GOBRIDGE_E_UNBLOCKABLE),
        (1 << 63, GOBRIDGE_E_INVALID_ARGUMENT),
    ] {
        // SAFETY: as above; the callback must not be called.
        let rc = unsafe { gobridge_with_blocked(signals, Some(record_mask), ctx, m.st()) };
        m.expect(rc, code);
        assert_eq!(seen.load(SeqCst), u64::MAX, "the callback ran after a refusal");
        assert_eq!(common::sigblk(), before);
    }
    // SAFETY: a NULL callback is refused.
    let rc = unsafe { gobridge_with_blocked(set, None, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(common::sigblk(), before);
}

#[test]
#[cfg(feature = "harness")] // the EINTR probe
fn sleep_interruptible_reports_eintr_and_refuses_a_null_counter() {
    let mut m = Msg::new();
    let mut eintr = u32::MAX;
    // SAFETY: `eintr` is valid for a write.
    assert_eq!(unsafe { gobridge_sleep_interruptible(1_000_000, true, &mut eintr, m.st()) }, 0);
    assert_eq!(eintr, 0);
    // SAFETY: a NULL counter is refused before sleeping.
    let rc = unsafe { gobridge_sleep_interruptible(1_000, false, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
}

/// The raw disposition of `signal`: (handler address, flags).
fn disposition(signal: i32) -> (libc::sighandler_t, i32) {
    let sa = common::sigaction_of(signal);
    (sa.sa_sigaction, sa.sa_flags)
}

#[test]
fn signal_pipes_deliver_audit_sees_them_and_close_restores_everything() {
    let mut m = Msg::new();
    let mut pipe = 0u64;
    for signals in [0u64, 1 << 63, bit(libc::SIGKILL)] {
        // SAFETY: `pipe` is valid for a write.
        let rc = unsafe { gobridge_signal_pipe_new(signals, &mut pipe, m.st()) };
        m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
        assert_eq!(pipe, 0);
    }
    // SAFETY: a NULL out-pointer is refused.
    let rc = unsafe { gobridge_signal_pipe_new(bit(libc::SIGUSR2), ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    // SAFETY: SIG_IGN runs no code. (Chained to SIG_DFL, SIGUSR2 would end the process.)
    assert_ne!(unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) }, libc::SIG_ERR);
    let before = disposition(libc::SIGUSR2);
    // SAFETY: `pipe` is valid for a write.
    assert_eq!(unsafe { gobridge_signal_pipe_new(bit(libc::SIGUSR2), &mut pipe, m.st()) }, 0);
    let during = disposition(libc::SIGUSR2);
    let wanted = libc::SA_ONSTACK | libc::SA_SIGINFO | libc::SA_RESTART;
    assert_eq!(during.1 & wanted, wanted, "installed without Go's flags");

    let mut sig = -1i32;
    // SAFETY: `sig` is valid for a write.
    assert_eq!(unsafe { gobridge_signal_pipe_recv(pipe, &mut sig, m.st()) }, 0);
    assert_eq!(sig, 0, "nothing caught yet");
    // SAFETY: gobridge's handler only writes to its pipe, then chains to SIG_IGN.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
    // SAFETY: `sig` is valid for a write.
    assert_eq!(unsafe { gobridge_signal_pipe_recv(pipe, &mut sig, m.st()) }, 0);
    assert_eq!(sig, libc::SIGUSR2);

    let mut reports = [HandlerReport {
        signal: 0,
        flags: 0,
        mask: 0,
        handler: false,
        on_stack: false,
        siginfo: false,
        restart: false,
        ours: false,
        go_compatible: false,
    }; 64];
    let mut n = 0usize;
    // SAFETY: `reports` holds 64 reports; `n` is valid for a write.
    let rc = unsafe { gobridge_signal_audit(reports.as_mut_ptr(), 64, &mut n, m.st()) };
    assert_eq!(rc, 0, "{}", m.text());
    let ours = reports[..n.min(64)].iter().find(|r| r.signal == libc::SIGUSR2).unwrap();
    assert!(ours.ours && ours.handler && ours.on_stack && ours.go_compatible, "{ours:?}");
    let mut count_only = 0usize;
    // SAFETY: NULL `out` with `cap == 0` asks for the count only.
    assert_eq!(unsafe { gobridge_signal_audit(ptr::null_mut(), 0, &mut count_only, m.st()) }, 0);
    assert_eq!(count_only, n);
    // SAFETY: NULL `out_n` is refused.
    let rc = unsafe { gobridge_signal_audit(reports.as_mut_ptr(), 64, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_signal_pipe_close(pipe, m.st()) }, 0);
    assert_eq!(disposition(libc::SIGUSR2), before, "close did not restore the disposition");
    // SAFETY: the status lives for the call.
    let rc = unsafe { gobridge_signal_pipe_close(pipe, m.st()) };
    m.expect(rc, GOBRIDGE_E_STALE_HANDLE);
    let mut fd = 0i32;
    // SAFETY: `fd` and `sig` are valid for writes.
    let rc = unsafe { gobridge_signal_pipe_fd(pipe, &mut fd, m.st()) };
    m.expect(rc, GOBRIDGE_E_STALE_HANDLE);
    // SAFETY: as above.
    let rc = unsafe { gobridge_signal_pipe_recv(pipe, &mut sig, m.st()) };
    m.expect(rc, GOBRIDGE_E_STALE_HANDLE);
}

/// Counts its calls; installed by hand as the "previous" handler of SIGWINCH.
static PREVIOUS_CALLS: AtomicUsize = AtomicUsize::new(0);
extern "C" fn previous(_: libc::c_int) {
    PREVIOUS_CALLS.fetch_add(1, SeqCst);
}

#[test]
fn a_signal_pipe_chains_to_the_handler_it_replaced() {
    let mut m = Msg::new();
    // SAFETY: all-zero is a valid `struct sigaction` (empty mask), filled in below.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = previous as *const () as libc::sighandler_t;
    sa.sa_flags = libc::SA_ONSTACK;
    // SAFETY: `previous` only touches an atomic; SA_ONSTACK as Go would require.
    assert_eq!(unsafe { libc::sigaction(libc::SIGWINCH, &sa, ptr::null_mut()) }, 0);
    let mut pipe = 0u64;
    // SAFETY: `pipe` is valid for a write.
    assert_eq!(unsafe { gobridge_signal_pipe_new(bit(libc::SIGWINCH), &mut pipe, m.st()) }, 0);
    // SAFETY: gobridge's handler and `previous` are both async-signal-safe.
    assert_eq!(unsafe { libc::raise(libc::SIGWINCH) }, 0);
    let mut sig = 0i32;
    // SAFETY: `sig` is valid for a write.
    assert_eq!(unsafe { gobridge_signal_pipe_recv(pipe, &mut sig, m.st()) }, 0);
    assert_eq!((sig, PREVIOUS_CALLS.load(SeqCst)), (libc::SIGWINCH, 1));
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_signal_pipe_close(pipe, m.st()) }, 0);
    assert_eq!(disposition(libc::SIGWINCH).0, previous as *const () as libc::sighandler_t);
}
