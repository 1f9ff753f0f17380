//! Raw `sigaction` reads and swaps, and gobridge's own disposition.

use super::handler::on_signal;
use crate::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The flags gobridge always installs with: run on the alternate signal stack (Go's gsignal
/// stack on Go threads; without it Go throws "non-Go code set up signal handler without
/// SA_ONSTACK flag") and get the three-argument form (so a chained SA_SIGINFO handler receives
/// the real `siginfo_t`/`ucontext_t`). SA_RESTART and, for SIGCHLD, SA_NOCLDSTOP/SA_NOCLDWAIT
/// follow the disposition ours replaces (see [`ours_over`]).
pub(crate) const OUR_FLAGS: libc::c_int = libc::SA_ONSTACK | libc::SA_SIGINFO;

/// gobridge's disposition in front of `previous` (as read from the kernel): [`on_signal`],
/// [`OUR_FLAGS`], every signal blocked while it runs (as Go does; the chained handler gets
/// exactly the mask the kernel would have given it, see `handler.rs`), and the flags whose
/// effect the kernel applies outside any handler, carried over so that the outcome does not
/// change:
/// - SA_RESTART as the previous handler had it (a handler installed without it relies on
///   EINTR); over SIG_DFL/SIG_IGN, SA_RESTART, because there no system call is interrupted.
/// - For SIGCHLD: SA_NOCLDSTOP and SA_NOCLDWAIT as they were, and SA_NOCLDWAIT over SIG_IGN
///   (SIG_IGN on SIGCHLD is what makes the kernel reap children automatically; with a handler,
///   SA_NOCLDWAIT does the same on Linux, and the signal is still generated).
pub(crate) fn ours_over(signal: Signal, previous: &libc::sigaction) -> libc::sigaction {
    let handler = handler_of(previous);
    let mut flags = OUR_FLAGS;
    if matches!(handler, SigHandler::SigDfl | SigHandler::SigIgn) {
        flags |= libc::SA_RESTART;
    } else {
        flags |= previous.sa_flags & libc::SA_RESTART;
    }
    if signal == Signal::SIGCHLD {
        flags |= previous.sa_flags & (libc::SA_NOCLDSTOP | libc::SA_NOCLDWAIT);
        if matches!(handler, SigHandler::SigIgn) {
            flags |= libc::SA_NOCLDWAIT;
        }
    }
    let mut ours: libc::sigaction =
        SigAction::new(SigHandler::SigAction(on_signal), SaFlags::empty(), SigSet::all()).into();
    ours.sa_flags = flags;
    ours
}

/// `sa_mask` of a disposition read from the kernel, bit `n - 1` for signal `n` (1..=64).
pub(crate) fn mask_bits(raw: &libc::sigaction) -> u64 {
    (1..=64).fold(0u64, |bits, n| {
        // SAFETY:
        // - `raw.sa_mask` is an initialised `sigset_t` (filled by the kernel or by sigfillset);
        //   any `n` in 1..=64 is a valid query (glibc answers 0 for its internal signals).
        let member = unsafe { libc::sigismember(&raw.sa_mask, n) } == 1;
        if member { bits | 1 << (n - 1) } else { bits }
    })
}

// Raw `libc::sigaction` rather than `nix::sys::signal::sigaction` here: nix has no pure read
// (it always installs a new action), and the exact restore needs the disposition as the kernel
// returned it (flags, mask, restorer), which nix's `SigAction` cannot be built from.

/// The current disposition of `signal`, read without changing it.
pub(crate) fn read(signal: Signal) -> Result<libc::sigaction> {
    // SAFETY:
    // - `libc::sigaction` is plain old data; all-zero is a valid value that the call
    //   overwrites.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY:
    // - A null `act` makes sigaction a pure read: no disposition changes.
    // - `current` is a valid, writable `struct sigaction` on this stack frame.
    Errno::result(unsafe {
        libc::sigaction(signal as libc::c_int, std::ptr::null(), &mut current)
    })?;
    Ok(current)
}

/// Installs `new` for `signal`, returning the disposition it replaced.
///
/// # Safety
/// `new` must be a disposition whose handler (if any) is async-signal-safe and valid for as
/// long as it stays installed: [`ours_over`], or one previously read from the kernel.
pub(crate) unsafe fn swap(signal: Signal, new: &libc::sigaction) -> Result<libc::sigaction> {
    // SAFETY:
    // - all-zero is a valid `struct sigaction`, overwritten by the call.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY:
    // - `new` is a valid `struct sigaction` whose handler the caller vouches for (# Safety).
    // - `old` is a valid, writable `struct sigaction` on this stack frame.
    Errno::result(unsafe { libc::sigaction(signal as libc::c_int, new, &mut old) })
        .map_err(Error::Sys)?;
    Ok(old)
}

/// The handler of a disposition read from the kernel.
pub(crate) fn handler_of(raw: &libc::sigaction) -> SigHandler {
    match raw.sa_sigaction {
        libc::SIG_DFL => SigHandler::SigDfl,
        libc::SIG_IGN => SigHandler::SigIgn,
        address if raw.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY:
            // - The kernel stores exactly the address someone installed with SA_SIGINFO, which
            //   sigaction(2) defines to be a `void (*)(int, siginfo_t *, void *)`; that is the
            //   C ABI of this fn pointer type. (The same conversion nix's `SigAction::handler`
            //   makes.) `address` is neither SIG_DFL nor SIG_IGN, so it is not null.
            SigHandler::SigAction(unsafe {
                std::mem::transmute::<
                    libc::sighandler_t,
                    extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void),
                >(address)
            })
        }
        address => {
            // SAFETY:
            // - Without SA_SIGINFO the installed address is a `void (*)(int)` (sigaction(2)),
            //   the C ABI of this fn pointer type; it is not null (not SIG_DFL).
            SigHandler::Handler(unsafe {
                std::mem::transmute::<libc::sighandler_t, extern "C" fn(libc::c_int)>(address)
            })
        }
    }
}

/// Whether `raw`'s handler is gobridge's [`on_signal`].
pub(crate) fn is_ours(raw: &libc::sigaction) -> bool {
    raw.sa_sigaction == our_address()
}

/// The address of [`on_signal`] as the kernel stores it.
pub(crate) fn our_address() -> libc::sighandler_t {
    let ours: libc::sigaction =
        SigAction::new(SigHandler::SigAction(on_signal), SaFlags::empty(), SigSet::empty()).into();
    ours.sa_sigaction
}

/// The blocked-while-handling mask of a disposition read from the kernel.
pub(crate) fn mask_of(raw: &libc::sigaction) -> SigSet {
    // SAFETY:
    // - `raw.sa_mask` was filled by the kernel (through sigaction), so it is an initialised
    //   `sigset_t`.
    unsafe { SigSet::from_sigset_t_unchecked(raw.sa_mask) }
}
