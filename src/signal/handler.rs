//! The one raw signal handler gobridge installs, and the async-signal-safe helpers it uses.
//!
//! Everything reachable from [`on_signal`] is async-signal-safe: atomics, `write(2)`,
//! `sigaction(2)`, `pthread_sigmask(3)`, `sigemptyset`/`sigaddset`/`sigismember`, `raise(3)`,
//! `abort(3)`, and the thread's `errno`. No allocation, no lock, no formatting, no panic (no
//! indexing, no arithmetic that could overflow, no unwrap).

use super::registry::{NSIG, TABLE};
use super::signal_pipe::PipeShared;
use super::table::{Payload, Previous};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

/// What a one-shot (SA_RESETHAND) previous handler becomes after its first delivery: SIG_DFL,
/// as the kernel resets it. The registry recognises it by address (see `uninstall`).
pub(crate) static RESET: Previous = Previous::bare(SigHandler::SigDfl);

/// gobridge's signal handler: installed with SA_ONSTACK | SA_SIGINFO (SA_RESTART as the
/// replaced handler had it) and a full mask. Runs every action installed on the signal (in
/// slot order), then chains to the disposition that was there before; saves and restores
/// `errno` around all of it.
pub(crate) extern "C" fn on_signal(
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let saved_errno = Errno::last_raw();
    let index = match usize::try_from(signo) {
        Ok(index) if index > 0 && index < NSIG => index,
        _ => fatal(b"gobridge: signal handler called with an impossible signal number\n"),
    };
    let previous = TABLE.dispatch(index, |payload| run(signo, payload));
    chain(index, previous, signo, info, context);
    Errno::set_raw(saved_errno);
}

/// Runs one action.
fn run(signo: libc::c_int, payload: Payload) {
    match payload {
        Payload::SignalNumber { fd } => {
            write_nonblocking(fd, &[signo as u8]);
        }
        Payload::Message { fd, ptr, len } => {
            // SAFETY:
            // - `ptr`/`len` were taken from a `&'static [u8]` by `Action::prepare`, so they
            //   describe initialised bytes that live for the rest of the program.
            let message = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize) };
            write_nonblocking(fd, message);
        }
        Payload::Flag { ptr } => {
            // SAFETY:
            // - `ptr` was taken from a `&'static AtomicBool` by `Action::prepare`: aligned,
            //   initialised, never freed; an atomic is only ever accessed through `&`.
            let flag = unsafe { &*ptr.cast::<AtomicBool>() };
            flag.store(true, SeqCst);
        }
        Payload::Add { ptr, n } => {
            // SAFETY:
            // - `ptr` was taken from a `&'static AtomicU64` by `Action::prepare`: aligned,
            //   initialised, never freed; an atomic is only ever accessed through `&`.
            let counter = unsafe { &*ptr.cast::<AtomicU64>() };
            counter.fetch_add(n, SeqCst);
        }
        Payload::Pipe { ptr } => {
            // SAFETY:
            // - `ptr` is `Arc::as_ptr` of the `SignalPipe`'s shared state, whose `Arc` is
            //   dropped only after all its actions were uninstalled, and uninstall waits until
            //   no handler is inside the table entry (`ActionTable::retire`); we are inside it.
            // - The state is only accessed through `&` (atomics and a raw fd).
            let shared = unsafe { &*ptr.cast::<PipeShared>() };
            shared.notify(signo);
        }
    }
}

/// Chains to the disposition that was installed before gobridge's handler, as the kernel
/// would have delivered the signal to it.
fn chain(
    index: usize,
    previous: Option<&'static Previous>,
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let Some(previous) = previous else { return };
    match previous.handler {
        SigHandler::SigIgn => {}
        SigHandler::SigDfl => default_action(index, signo),
        SigHandler::Handler(_) | SigHandler::SigAction(_) => {
            if previous.flags & libc::SA_RESETHAND != 0
                && !TABLE.replace_previous(index, previous, &RESET)
            {
                // Another delivery took the one-shot handler first (the kernel serialises
                // deliveries the same way): this one gets what is there now, the default.
                match TABLE.previous(index).map(|p| p.handler) {
                    Some(SigHandler::SigDfl) => default_action(index, signo),
                    Some(SigHandler::SigIgn) | None => {}
                    Some(_) => {
                        if let Some(now) = TABLE.previous(index) {
                            call_previous(now, signo, info, context);
                        }
                    }
                }
                return;
            }
            call_previous(previous, signo, info, context);
        }
    }
}

/// Signals the comparison of masks ignores: SIGKILL and SIGSTOP cannot be blocked, and glibc
/// keeps its two internal signals (32, 33) out of every mask it is asked to set.
const MASK_DONT_CARE: u64 = 1 << (libc::SIGKILL - 1) | 1 << (libc::SIGSTOP - 1) | 0b11 << 31;

/// Calls a previous handler with exactly the thread mask the kernel would have given it: the
/// mask at the interrupted point, plus its `sa_mask`, plus the signal itself unless it was
/// installed with SA_NODEFER. Ours runs with every signal blocked, so when that is what the
/// kernel would have given (Go's handlers: full mask) no system call is made; otherwise the
/// mask is set for the call and put back after it (if the handler leaves by `siglongjmp`, it
/// leaves with the mask the kernel would have left it with).
fn call_previous(
    previous: &Previous,
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let own = if previous.flags & libc::SA_NODEFER != 0 { 0 } else { bit(signo) };
    if (previous.mask | own | MASK_DONT_CARE) == u64::MAX {
        // Its own mask blocks everything (Go's handlers): the kernel would have given it the
        // full mask ours runs with, whatever the interrupted mask; the context is not read.
        invoke(previous.handler, signo, info, context);
        return;
    }
    let (base, current) = match interrupted_mask(context) {
        // Ours blocks everything on top of the interrupted mask.
        Some(interrupted) => (interrupted, u64::MAX),
        None => match thread_mask() {
            Some(now) => (now, now),
            None => (u64::MAX, u64::MAX),
        },
    };
    let wanted = base | previous.mask | own;
    if (wanted | MASK_DONT_CARE) == (current | MASK_DONT_CARE) {
        invoke(previous.handler, signo, info, context);
        return;
    }
    let set = sigset_of(wanted);
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY:
    // - `set` is an initialised `sigset_t`; `old` is a writable one that the call fills.
    // - pthread_sigmask(3) is async-signal-safe; the mask is put back below.
    let masked = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, old.as_mut_ptr()) } == 0;
    invoke(previous.handler, signo, info, context);
    if masked {
        // SAFETY:
        // - `old` was filled by the successful call above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    }
}

fn invoke(
    handler: SigHandler,
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    match handler {
        SigHandler::Handler(handler) => handler(signo),
        SigHandler::SigAction(handler) => handler(signo, info, context),
        SigHandler::SigDfl | SigHandler::SigIgn => {}
    }
}

/// Bit `signo - 1` (0 for a number outside 1..=64).
fn bit(signo: libc::c_int) -> u64 {
    match u32::try_from(signo) {
        Ok(n @ 1..=64) => 1u64.checked_shl(n - 1).unwrap_or(0),
        _ => 0,
    }
}

/// The mask of the interrupted code, which the kernel saved in the `ucontext_t` it passed (and
/// restores when the handler returns). On 64-bit Linux `uc_sigmask` begins with the kernel's
/// 64-bit signal set, bit `n - 1` for signal `n`.
#[cfg(all(any(target_os = "linux", target_os = "android"), target_pointer_width = "64"))]
fn interrupted_mask(context: *mut libc::c_void) -> Option<u64> {
    let context = context.cast::<libc::ucontext_t>();
    if context.is_null() {
        return None;
    }
    // SAFETY:
    // - For an SA_SIGINFO handler the kernel passes a valid `ucontext_t` (a handler that calls
    //   ours forwards the one it got), so the place projection stays inside it.
    let mask = unsafe { &raw const (*context).uc_sigmask };
    // SAFETY:
    // - `uc_sigmask` is an initialised `sigset_t` of at least 8 bytes whose first 8 bytes are
    //   the kernel's signal set (an array of 64-bit words on 64-bit Linux); read unaligned so
    //   no alignment is assumed.
    Some(unsafe { mask.cast::<u64>().read_unaligned() })
}

/// Elsewhere the interrupted mask is not read from the context.
#[cfg(not(all(any(target_os = "linux", target_os = "android"), target_pointer_width = "64")))]
fn interrupted_mask(_context: *mut libc::c_void) -> Option<u64> {
    None
}

/// The calling thread's mask, bit `n - 1` for signal `n`.
fn thread_mask() -> Option<u64> {
    let mut now = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY:
    // - A null `set` makes this a pure read into `now`, a writable `sigset_t`.
    if unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), now.as_mut_ptr()) } != 0
    {
        return None;
    }
    // SAFETY:
    // - Filled by the successful call above.
    let now = unsafe { now.assume_init() };
    Some((1..=64).fold(0u64, |bits, n| {
        // SAFETY:
        // - `now` is an initialised `sigset_t`; any `n` in 1..=64 is a valid query.
        if unsafe { libc::sigismember(&now, n) } == 1 { bits | bit(n) } else { bits }
    }))
}

/// A `sigset_t` holding the signals of `bits` (glibc refuses its internal ones, which is fine).
fn sigset_of(bits: u64) -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY:
    // - sigemptyset initialises the whole `sigset_t` it is given (a writable one here).
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    for n in 1..=64 {
        if bits & bit(n) != 0 {
            // SAFETY:
            // - `set` was initialised by sigemptyset; an invalid `n` is refused with EINVAL.
            unsafe { libc::sigaddset(set.as_mut_ptr(), n) };
        }
    }
    // SAFETY:
    // - Initialised by sigemptyset above.
    unsafe { set.assume_init() }
}

/// What SIG_DFL would have done, so installing an observer never changes the outcome:
/// ignore-by-default signals (SIGCHLD, SIGURG, SIGWINCH) and SIGCONT (the kernel continued the
/// process already) do nothing; stop-by-default ones (SIGTSTP, SIGTTIN, SIGTTOU) get the
/// kernel's own default action ([`default_stop`]); every other signal terminates: the default
/// disposition is restored and the signal raised again — it stays pending (blocked while we
/// run) and kills the process as soon as the handler returns, after our actions have run.
fn default_action(index: usize, signo: libc::c_int) {
    match Signal::try_from(signo) {
        Ok(Signal::SIGCHLD | Signal::SIGURG | Signal::SIGWINCH | Signal::SIGCONT) | Err(_) => {}
        Ok(Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU) => default_stop(index, signo),
        Ok(signal) => {
            let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
            // SAFETY:
            // - Installing SIG_DFL involves no handler code, so no handler-safety condition
            //   applies; sigaction(2) is async-signal-safe.
            let _ = unsafe { nix::sys::signal::sigaction(signal, &default) };
            let _ = nix::sys::signal::raise(signal);
        }
    }
}

/// The default action of a stop signal, taken by the kernel itself: it stops the process
/// (parents see the very signal in WSTOPSIG) or, in an orphaned process group, discards it.
/// For the moment of the `raise`, the disposition is SIG_DFL and the signal unblocked on this
/// thread (the raise is directed at this thread, so the kernel acts on it before `raise`
/// returns); then the mask and our disposition are put back.
///
/// Races, all confined to that window: a stop signal another thread takes meanwhile meets
/// SIG_DFL — the same default, but our actions do not see it; a disposition someone else
/// installs meanwhile is kept (ours is not put back over it); gobridge's own install and
/// uninstall wait for the window to close before they read the disposition
/// (`ActionTable::outside_emulation`).
fn default_stop(index: usize, signo: libc::c_int) {
    TABLE.begin_emulation(index);
    // SAFETY:
    // - all-zero is a valid `struct sigaction`: SIG_DFL (0), no flags, an empty mask.
    let default: libc::sigaction = unsafe { std::mem::zeroed() };
    let mut ours = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY:
    // - Installing SIG_DFL involves no handler code; `ours` is a writable `struct sigaction`
    //   that the call fills with the disposition it replaces (ours).
    if unsafe { libc::sigaction(signo, &default, ours.as_mut_ptr()) } == 0 {
        let only = sigset_of(bit(signo));
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY:
        // - `only` is initialised; `old` is a writable `sigset_t` the call fills.
        let unblocked =
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &only, old.as_mut_ptr()) } == 0;
        // SAFETY:
        // - raise(3) is async-signal-safe and takes no pointer.
        unsafe { libc::raise(signo) };
        if unblocked {
            // SAFETY:
            // - `old` was filled by the successful call above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
        }
        let mut now = MaybeUninit::<libc::sigaction>::uninit();
        // SAFETY:
        // - `ours` was filled by the successful sigaction above: our own disposition, whose
        //   handler is this async-signal-safe, `'static` code.
        // - `now` is a writable `struct sigaction` the call fills.
        if unsafe { libc::sigaction(signo, ours.as_ptr(), now.as_mut_ptr()) } == 0 {
            // SAFETY:
            // - Filled by the successful call above.
            let now = unsafe { now.assume_init_ref() };
            if now.sa_sigaction != libc::SIG_DFL {
                // Someone installed theirs while ours was down: keep theirs.
                // SAFETY:
                // - `now` was read back from the kernel as the installed disposition.
                unsafe { libc::sigaction(signo, now, std::ptr::null_mut()) };
            }
        }
    }
    TABLE.end_emulation(index);
}

/// One `write(2)` that never blocks on a fd prepared with O_NONBLOCK; returns its result
/// (`-1` with `errno` set on failure, which callers may inspect: the handler restores errno).
pub(crate) fn write_nonblocking(fd: libc::c_int, bytes: &[u8]) -> isize {
    // SAFETY:
    // - `bytes` is a valid, initialised buffer of `bytes.len()` bytes for the whole call.
    // - `fd` is only an integer to the kernel: a closed fd yields EBADF, not UB.
    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) }
}

/// An impossible state inside the handler: write a fixed message and abort (as signal-hook
/// does); nothing else is safe here.
fn fatal(message: &'static [u8]) -> ! {
    write_nonblocking(libc::STDERR_FILENO, message);
    // abort(3), which is async-signal-safe.
    std::process::abort()
}
