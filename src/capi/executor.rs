//! Pinned executors and the tickets of submitted jobs.

use super::callback::{Callback, CallbackJob};
use crate::executor::{CancelToken, ExecutorBuilder, PinnedExecutor, Ticket, TicketWatch};
use crate::ffi::{self, Status};
use crate::handle::{Handle, HandleTable, kind};
use crate::sigmask::SignalSet;
use crate::{Error, Result};
use std::ffi::c_void;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

static EXECUTORS: HandleTable<PinnedExecutor> = HandleTable::new(kind::EXECUTOR);
static TICKETS: HandleTable<CTicket> = HandleTable::new(kind::TICKET);

/// A ticket behind a handle. No lock is ever held while its job runs or while anyone waits,
/// so the job itself may reach its own ticket (fd, cancel, even wait, which then reports
/// `InvalidArgument` instead of waiting for itself):
///
/// - `watch` waits (running a queued job inline on the executor's thread), gives the fd and
///   withdraws a queued job, all through `&self`;
/// - `state` is locked only to take the result once and cache the outcome, so that waiting
///   again returns the same answer;
/// - `token` is what the job runs under: cancelling reaches a running job.
#[derive(Debug)]
struct CTicket {
    watch: TicketWatch<Result<()>>,
    state: Mutex<TicketState>,
    token: CancelToken,
}

#[derive(Debug)]
struct TicketState {
    /// The job's own result inside the executor's (`Err(Cancelled)` from a job that saw its
    /// token is the job's answer, flattened into the outcome).
    ticket: Ticket<Result<()>>,
    outcome: Option<Result<()>>,
}

impl CTicket {
    /// The outcome if the job is finished (taken from the ticket once, then cached). The lock
    /// is held only for this: nothing here waits or runs a job.
    fn outcome(&self) -> Option<Result<()>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.outcome.is_none() {
            let taken = state.ticket.try_take()?;
            state.outcome = Some(taken.and_then(|job_result| job_result));
        }
        state.outcome.clone()
    }
}

fn executor(h: u64) -> Result<Arc<PinnedExecutor>> {
    EXECUTORS.get(Handle::from_raw(h))
}

/// The executor behind a C-ABI handle, for a Rust author's own `extern "C"` functions: Go's
/// `(*Executor).Handle()` (or `gobridge_executor_new`'s out-handle) names the executor, and
/// the author's function runs its work there:
///
/// ```
/// use gobridge::capi::executor_from_handle;
/// use gobridge::ffi::{self, Status};
///
/// /// Writes the kernel thread id the executor's work runs on.
/// ///
/// /// # Safety
/// /// `out` is NULL or valid for a write; `status` is NULL or a valid `GobridgeStatus`.
/// #[unsafe(no_mangle)]
/// pub unsafe extern "C" fn myapp_where(executor: u64, out: *mut i32, status: *mut Status) -> i32 {
///     // SAFETY:
///     // - `out` and `status` are as `call_out` requires: this function's contract.
///     unsafe {
///         ffi::call_out(status, out, || {
///             let exec = executor_from_handle(executor)?; // StaleHandle if closed or forged
///             exec.run(|| gobridge::current_thread().as_raw())
///         })
///     }
/// }
/// # let mut tid = 0;
/// # // SAFETY:
/// # // - `tid` is valid for a write; a NULL status is allowed.
/// # assert_eq!(unsafe { myapp_where(12345, &mut tid, std::ptr::null_mut()) }, gobridge::Error::StaleHandle.code());
/// ```
///
/// Errors: [`Error::StaleHandle`] for 0, a forged handle, a closed executor, or a handle of
/// another kind of object (a pool, a ticket, a buffer). The `Arc` keeps the executor's thread
/// alive while the author holds it, even past `gobridge_executor_close` (which then shuts it
/// down: later work is `Error::Shutdown`).
pub fn executor_from_handle(handle: u64) -> Result<Arc<PinnedExecutor>> {
    executor(handle)
}

/// Queues `job` on the executor named by `executor_handle` and returns a C-ABI ticket handle
/// for it, which the C caller uses like `gobridge_executor_submit`'s: `gobridge_ticket_wait` /
/// `gobridge_ticket_fd` / `gobridge_ticket_cancel` / `gobridge_ticket_free` (Go:
/// `gobridge.WaitTicket(ctx, ticket)`). `job` runs under the ticket's [`CancelToken`]:
/// `gobridge_ticket_cancel` (a Go `ctx` cancelled) withdraws it if it has not started, and
/// otherwise makes [`cancelled`](crate::executor::cancelled) true inside it, so a long job can
/// stop early and return `Err(Error::Cancelled)`; the ticket's outcome is `job`'s result.
///
/// Errors: as `gobridge_executor_submit` ([`Error::StaleHandle`], [`Error::Shutdown`]).
pub fn submit_ticket(
    executor_handle: u64,
    job: impl FnOnce() -> Result<()> + Send + 'static,
) -> Result<u64> {
    let token = CancelToken::new();
    let job_token = token.clone();
    let ticket = executor(executor_handle)?.submit(move || job_token.run(job))?;
    let watch = ticket.watch();
    let state = Mutex::new(TicketState { ticket, outcome: None });
    Ok(TICKETS.insert(CTicket { watch, state, token })?.as_raw())
}

/// The executor name a C caller passed: `name_len` bytes of UTF-8 without NUL at `name`
/// (NULL allowed when `name_len` is 0).
///
/// # Safety
///
/// `name` is NULL or valid for reads of `name_len` bytes that nobody writes during the call.
unsafe fn name_arg<'a>(name: *const u8, name_len: usize) -> Result<&'a str> {
    if name_len == 0 {
        return Ok("");
    } else if name.is_null() {
        return Err(Error::InvalidArgument("name is NULL with a non-zero length"));
    } else if name_len > isize::MAX as usize {
        return Err(Error::InvalidArgument("name is too long"));
    }
    // SAFETY:
    // - `name` is non-null and valid for reads of `name_len` (<= isize::MAX) bytes that
    //   nobody writes (this function's contract); u8 has no alignment requirement.
    let bytes = unsafe { std::slice::from_raw_parts(name, name_len) };
    let name =
        std::str::from_utf8(bytes).map_err(|_| Error::InvalidArgument("name is not UTF-8"))?;
    if name.contains('\0') {
        return Err(Error::InvalidArgument("name contains NUL"));
    }
    Ok(name)
}

/// The smallest thread stack the C ABI accepts (64 KiB): a Go callback (cgo's extra M) or a
/// modest native job overflows a smaller one.
pub const GOBRIDGE_MIN_STACK_SIZE: usize = 65536;

/// The builder of a C-ABI thread: `stack_size` bytes of stack (0 = the default, else at least
/// [`GOBRIDGE_MIN_STACK_SIZE`]) and the signals of `blocked_signals` (bit `n - 1` for signal
/// `n`) blocked from its first instruction. Shared by executors and pools.
pub(super) fn thread_builder(stack_size: usize, blocked_signals: u64) -> Result<ExecutorBuilder> {
    let mask = SignalSet::from_bits(blocked_signals)?;
    mask.check_blockable()?;
    let builder = ExecutorBuilder::new().mask(mask);
    match stack_size {
        0 => Ok(builder),
        n if n < GOBRIDGE_MIN_STACK_SIZE => Err(Error::InvalidArgument("stack size below 64 KiB")),
        n => Ok(builder.stack_size(n)),
    }
}

/// Spawns an executor: one OS thread, named `name` (`name_len` bytes of UTF-8 without NUL; the
/// kernel shows the first 15), with `stack_size` bytes of stack (0 = the default, else at least
/// 64 KiB) and the
/// signals in `blocked_signals` (bit `n - 1` for signal `n`; the Go package passes every
/// asynchronous standard signal) blocked from its first instruction. Writes its handle to `*out`.
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `out`, NULL `name` with a length, a name that
/// is not UTF-8 or contains NUL, an unknown signal bit, a stack below 64 KiB); `GOBRIDGE_E_UNBLOCKABLE` (a
/// synchronous signal, SIGKILL or SIGSTOP in the mask); `GOBRIDGE_E_SYS` (thread creation
/// failed). Nothing is created on error.
///
/// Any thread. Free with `gobridge_executor_close`.
///
/// # Safety
///
/// `name` is NULL or valid for reads of `name_len` bytes; `out` is valid for a write;
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_new(
    name: *const u8,
    name_len: usize,
    stack_size: usize,
    blocked_signals: u64,
    out: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || {
        // SAFETY:
        // - `name` is NULL or valid for reads of `name_len` bytes: this function's contract.
        let name = unsafe { name_arg(name, name_len) }?;
        let builder = thread_builder(stack_size, blocked_signals)?.name(name);
        Ok(EXECUTORS.insert(builder.spawn()?)?.as_raw())
    };
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
}

/// Writes the kernel thread id of the executor's thread to `*out`.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `out`). Any thread.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_tid(
    executor_handle: u64,
    out: *mut i32,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || Ok(executor(executor_handle)?.tid().as_raw())) }
}

/// Runs `cb(ctx)` on the executor's thread and returns when it has returned (blocking the
/// caller). Called on the executor's own thread (from inside a job), it runs inline.
///
/// Errors: `GOBRIDGE_E_SHUTDOWN` (the executor was closed before the job ran: `cb` was not
/// called); `GOBRIDGE_E_STALE_HANDLE`; `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `cb`).
///
/// Any thread; blocks. The caller and the executor spin briefly before parking, so a round
/// trip on an idle executor costs about a microsecond.
///
/// # Safety
///
/// `cb` may be called with `ctx` on the executor's thread and does not unwind; `status` is
/// NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_run(
    executor_handle: u64,
    cb: Callback,
    ctx: *mut c_void,
    status: *mut Status,
) -> i32 {
    let body = || {
        let job = CallbackJob::new(cb, ctx)?;
        executor(executor_handle)?.run(move || job.call())
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}

/// Queues `cb(ctx)` on the executor and writes a ticket handle to `*out_ticket` without
/// waiting. Wait with `gobridge_ticket_wait`, or watch `gobridge_ticket_fd` in an event loop;
/// withdraw a job that has not started with `gobridge_ticket_cancel`; always release the
/// ticket with `gobridge_ticket_free` (freeing does not cancel: the job still runs).
///
/// Errors: `GOBRIDGE_E_SHUTDOWN`, `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`
/// (NULL `cb` or `out_ticket`). Nothing is queued on error.
///
/// Any thread; does not block.
///
/// # Safety
///
/// `cb` may be called with `ctx` on the executor's thread (at most once) and does not unwind;
/// `out_ticket` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_submit(
    executor_handle: u64,
    cb: Callback,
    ctx: *mut c_void,
    out_ticket: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || {
        let job = CallbackJob::new(cb, ctx)?;
        submit_ticket(executor_handle, move || {
            job.call();
            Ok(())
        })
    };
    // SAFETY:
    // - `out_ticket` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_ticket, body) }
}

/// Queues a Rust no-op on the executor and writes a ticket handle to `*out_ticket`: what
/// `gobridge_executor_ping` does, without waiting (so a Go caller can wait in the netpoller). The ticket
/// is used and freed as `gobridge_executor_submit`'s.
///
/// Errors: `GOBRIDGE_E_SHUTDOWN`, `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`
/// (NULL `out_ticket`). Any thread; does not block.
///
/// # Safety
///
/// `out_ticket` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_submit_ping(
    executor_handle: u64,
    out_ticket: *mut u64,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_ticket` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_ticket, || submit_ticket(executor_handle, || Ok(()))) }
}

/// Runs a Rust no-op on the executor's thread and waits for it: a liveness check, and the
/// benchmark of the bare cross-thread handoff.
///
/// Errors: `GOBRIDGE_E_SHUTDOWN`, `GOBRIDGE_E_STALE_HANDLE`. Any thread; blocks.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_ping(executor_handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || executor(executor_handle)?.run(|| ())) }
}

/// Shuts the executor down and frees its handle: new work is refused, queued jobs fail with
/// `GOBRIDGE_E_SHUTDOWN` (their callbacks are never called), the running job finishes, and the
/// thread is joined (not when called from the executor's own thread, which cannot wait for
/// itself). Calls racing with close get `GOBRIDGE_E_SHUTDOWN` or `GOBRIDGE_E_STALE_HANDLE`.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE` (already closed). Any thread; blocks until the running
/// job has finished.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_close(executor_handle: u64, status: *mut Status) -> i32 {
    let body = || {
        // Shut down while the handle is still valid (so `gobridge_executor_is_shutdown` can
        // observe it), then free the handle.
        let handle = Handle::from_raw(executor_handle);
        let exec = EXECUTORS.get(handle)?;
        let result = exec.shutdown();
        EXECUTORS.remove(handle)?;
        result
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}

/// Writes whether the executor has begun shutting down (refusing new work) to `*out`; does not
/// block. While `gobridge_executor_close` is waiting for a running job, this is already true.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE` (closed), `GOBRIDGE_E_INVALID_ARGUMENT`. Any thread.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_executor_is_shutdown(
    executor_handle: u64,
    out: *mut bool,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || Ok(executor(executor_handle)?.is_shutdown())) }
}

fn ticket(h: u64) -> Result<Arc<CTicket>> {
    TICKETS.get(Handle::from_raw(h))
}

/// Writes a file descriptor that becomes readable (`POLLIN`, level-triggered, and stays so)
/// once the ticket's job has finished, been cancelled or failed by shutdown, to `*out_fd`. It
/// is non-blocking, owned by the ticket and valid until `gobridge_ticket_free`: never read from
/// it or close it (dup it if your event loop must own an fd).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`, `GOBRIDGE_E_SYS`
/// (eventfd creation). Any thread.
///
/// # Safety
///
/// `out_fd` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_ticket_fd(
    ticket_handle: u64,
    out_fd: *mut i32,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_fd` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_fd, || Ok(ticket(ticket_handle)?.watch.fd()?.as_raw_fd())) }
}

/// Waits for the ticket's job: `timeout_ns < 0` waits for ever, `0` only polls. Returns the
/// job's outcome: `0` (it ran), `GOBRIDGE_E_SHUTDOWN` (failed by shutdown, never ran),
/// `GOBRIDGE_E_CANCELLED` (cancelled, never ran) or `GOBRIDGE_E_PANICKED`; or
/// `GOBRIDGE_E_TIMEOUT` if it is not finished yet, which leaves the ticket usable. Once
/// finished, every later wait returns the same outcome.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`; `GOBRIDGE_E_INVALID_ARGUMENT` when called from inside
/// the ticket's own job (which cannot finish while it waits for itself). Any thread; called on
/// the executor's own thread with a non-zero timeout for a job that has not started, it runs
/// the job inline instead of deadlocking (a poll never runs it). No lock is held while the job runs: the job may call `gobridge_ticket_fd`,
/// `gobridge_ticket_cancel` and `gobridge_ticket_wait` on its own ticket.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_ticket_wait(
    ticket_handle: u64,
    timeout_ns: i64,
    status: *mut Status,
) -> i32 {
    let body = || {
        let t = ticket(ticket_handle)?;
        if let Some(outcome) = t.outcome() {
            return outcome;
        }
        if timeout_ns == 0 {
            // A poll: no inline run, no spinning (a Go caller polls before it parks in the
            // netpoller).
            t.watch.refuse_self_wait()?;
            return Err(Error::Timeout);
        }
        let deadline =
            u64::try_from(timeout_ns).ok().map(|ns| Instant::now() + Duration::from_nanos(ns));
        // No lock is held here: the job (run inline or on the executor) may use its ticket.
        if !t.watch.wait_ready(deadline)? {
            return Err(Error::Timeout);
        }
        // Ready: the result is taken now, or was by a concurrent wait that cached it.
        t.outcome().unwrap_or(Err(Error::Timeout))
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}

/// Cancels the ticket's job. If it has not started it never runs (its callback is never
/// called), `gobridge_ticket_wait` returns `GOBRIDGE_E_CANCELLED` and `*out_cancelled` is
/// true. If it is running, its cancellation token is set (`gobridge::executor::cancelled()`
/// is true inside it, so a job that polls it can stop early and report
/// `GOBRIDGE_E_CANCELLED`) and `*out_cancelled` is false, as it is for a job that already
/// finished or was failed by shutdown.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`. Any thread.
///
/// # Safety
///
/// `out_cancelled` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_ticket_cancel(
    ticket_handle: u64,
    out_cancelled: *mut bool,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_cancelled` and `status` are as `call_out` requires: this function's contract.
    unsafe {
        ffi::call_out(status, out_cancelled, || {
            let t = ticket(ticket_handle)?;
            t.token.cancel();
            Ok(t.watch.cancel())
        })
    }
}

/// Frees the ticket (and its fd). A job that has not run yet is detached, not cancelled: it
/// still runs. Errors: `GOBRIDGE_E_STALE_HANDLE` (freed twice). Any thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_ticket_free(ticket_handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || TICKETS.remove(Handle::from_raw(ticket_handle)).map(drop)) }
}
