//! The one raw signal handler gobridge installs, and the async-signal-safe helpers it uses.
//!
//! Everything reachable from [`on_signal`] is async-signal-safe: atomics, `write(2)`,
//! `sigaction(2)`, `raise(3)`, `abort(3)`, and the thread's `errno`. No allocation, no lock,
//! no formatting, no panic (no indexing, no arithmetic that could overflow, no unwrap).

use super::registry::{NSIG, TABLE};
use super::signal_pipe::PipeShared;
use super::table::{Payload, Previous};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

/// gobridge's signal handler: installed with SA_ONSTACK | SA_SIGINFO | SA_RESTART and a full
/// mask. Runs every action installed on the signal (in slot order), then chains to the
/// disposition that was there before; saves and restores `errno` around all of it.
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
    chain(previous, signo, info, context);
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

/// Chains to the disposition that was installed before gobridge's handler.
fn chain(
    previous: Option<&'static Previous>,
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    match previous.map(|p| p.0) {
        None | Some(SigHandler::SigIgn) => {}
        Some(SigHandler::SigDfl) => default_action(signo),
        Some(SigHandler::Handler(handler)) => handler(signo),
        Some(SigHandler::SigAction(handler)) => handler(signo, info, context),
    }
}

/// What SIG_DFL would have done, so installing an observer never changes the outcome:
/// ignore-by-default signals (SIGCHLD, SIGURG, SIGWINCH) and SIGCONT (the kernel continued the
/// process already) do nothing; stop-by-default ones (SIGTSTP, SIGTTIN, SIGTTOU) stop the
/// process with SIGSTOP; every other signal terminates: the default disposition is restored and
/// the signal raised again — it stays pending (blocked while we run) and kills the process as
/// soon as the handler returns, after our actions have run.
fn default_action(signo: libc::c_int) {
    match Signal::try_from(signo) {
        Ok(Signal::SIGCHLD | Signal::SIGURG | Signal::SIGWINCH | Signal::SIGCONT) | Err(_) => {}
        Ok(Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU) => {
            let _ = nix::sys::signal::raise(Signal::SIGSTOP);
        }
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
