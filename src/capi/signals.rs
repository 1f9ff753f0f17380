//! Signal pipes (write-only handlers feeding an fd) and the handler audit.

use crate::ffi::{self, Status};
use crate::handle::{Handle, HandleTable, kind};
use crate::sigmask::SignalSet;
use crate::signal::{self, SignalPipe};
use crate::{Error, Result};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::sync::Arc;

static SIGNAL_PIPES: HandleTable<SignalPipe> = HandleTable::new(kind::SIGNAL_PIPE);

fn pipe(h: u64) -> Result<Arc<SignalPipe>> {
    SIGNAL_PIPES.get(Handle::from_raw(h))
}

/// One signal's disposition, as `gobridge_signal_audit` reports it.
///
/// C: `GobridgeHandlerReport`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerReport {
    /// The signal number.
    pub signal: i32,
    /// The raw `sa_flags`.
    pub flags: i32,
    /// `sa_mask`, bit `n - 1` for signal `n`.
    pub mask: u64,
    /// A handler function is installed (not `SIG_DFL`/`SIG_IGN`).
    pub handler: bool,
    /// `SA_ONSTACK` is set.
    pub on_stack: bool,
    /// `SA_SIGINFO` is set.
    pub siginfo: bool,
    /// `SA_RESTART` is set.
    pub restart: bool,
    /// The handler is gobridge's own.
    pub ours: bool,
    /// Safe in a Go process (no handler, or a handler with `SA_ONSTACK`).
    pub go_compatible: bool,
}

pub(crate) const LAYOUTS: &[super::TypeLayout] = &[super::type_layout!(
    HandlerReport,
    "GobridgeHandlerReport",
    [signal, flags, mask, handler, on_stack, siginfo, restart, ours, go_compatible]
)];

/// Installs gobridge's write-only handler (`SA_ONSTACK | SA_SIGINFO`, `SA_RESTART` as the
/// previous handler had it, chaining to the previous handler, normally Go's) for every signal
/// in `signals` (bit `n - 1` for signal `n`) and writes a pipe handle to `*out`. The handler
/// only writes the signal number to a pipe; read them with `gobridge_signal_pipe_recv` when
/// `gobridge_signal_pipe_fd` is readable.
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` (empty set, unknown bit, NULL `out`, SIGHUP or SIGINT
/// while ignored), `GOBRIDGE_E_HANDLER_REPLACED` (someone else's handler, which may chain back
/// to gobridge's, is installed), `GOBRIDGE_E_SYS`.
/// Any thread. Free with `gobridge_signal_pipe_close`, which uninstalls the handler.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_signal_pipe_new(
    signals: u64,
    out: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || {
        let set = SignalSet::from_bits(signals)?;
        if set.is_empty() {
            return Err(Error::InvalidArgument("no signals"));
        }
        Ok(SIGNAL_PIPES.insert(SignalPipe::new(&set)?)?.as_raw())
    };
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
}

/// Writes the pipe's read fd to `*out_fd`: non-blocking, readable while signals are waiting.
/// Owned by the pipe and valid until `gobridge_signal_pipe_close`: never read it or close it
/// (dup it if needed).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`. Any thread.
///
/// # Safety
///
/// `out_fd` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_signal_pipe_fd(
    pipe_handle: u64,
    out_fd: *mut i32,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_fd` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_fd, || Ok(pipe(pipe_handle)?.fd().as_raw_fd())) }
}

/// Takes the next caught signal without blocking and writes its number to `*out_signal`, or
/// `0` when none is waiting (which is not an error).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`, `GOBRIDGE_E_SYS`.
/// Any thread.
///
/// # Safety
///
/// `out_signal` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_signal_pipe_recv(
    pipe_handle: u64,
    out_signal: *mut i32,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_signal` and `status` are as `call_out` requires: this function's contract.
    unsafe {
        ffi::call_out(status, out_signal, || {
            Ok(pipe(pipe_handle)?.try_recv()?.map_or(0, |s| s as i32))
        })
    }
}

/// Closes the pipe: uninstalls its actions (restoring the previous disposition once no other
/// gobridge action needs the signal) and frees the handle and fd.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE` (closed twice); `GOBRIDGE_E_HANDLER_REPLACED` when
/// someone else's handler had replaced gobridge's on one of the signals (the pipe was closed
/// all the same). Any thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_signal_pipe_close(pipe_handle: u64, status: *mut Status) -> i32 {
    // Uninstall here, not in the pipe's drop (which cannot report): a replaced handler is
    // reported as GOBRIDGE_E_HANDLER_REPLACED.
    let body =
        || -> Result<()> { SIGNAL_PIPES.remove(Handle::from_raw(pipe_handle))?.uninstall_all() };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}

/// Reads every standard signal's disposition with `sigaction` (changing nothing), writes up to
/// `cap` reports into `out` in signal order and the total number of reports to `*out_n` (call
/// again with a larger array if it exceeds `cap`; 64 is always enough).
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `out_n`; NULL or misaligned `out` with
/// `cap > 0`), `GOBRIDGE_E_SYS`. Any thread.
///
/// # Safety
///
/// `out` is NULL with `cap == 0`, or valid for writes of `cap` `GobridgeHandlerReport`s;
/// `out_n` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_signal_audit(
    out: *mut HandlerReport,
    cap: usize,
    out_n: *mut usize,
    status: *mut Status,
) -> i32 {
    let body = |slots: &mut [MaybeUninit<HandlerReport>]| {
        let infos = signal::audit()?;
        for (slot, info) in slots.iter_mut().zip(&infos) {
            slot.write(HandlerReport {
                signal: info.signal as i32,
                flags: info.flags,
                mask: info.mask.to_bits(),
                handler: info.handler,
                on_stack: info.on_stack,
                siginfo: info.siginfo,
                restart: info.restart,
                ours: info.ours,
                go_compatible: info.go_compatible(),
            });
        }
        Ok(infos.len())
    };
    // SAFETY:
    // - `out`/`cap`, `out_n` and `status` are as `call_out_slice` requires: this function's
    //   contract.
    unsafe { ffi::call_out_slice(status, out, cap, out_n, body) }
}
