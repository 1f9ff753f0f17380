//! Pools of pinned executors for blocking native work, with one completion fd per pool.
//!
//! A Go program that makes one blocking cgo call per request holds one OS thread per waiting
//! goroutine. A pool instead runs the blocking work on a fixed number of threads and reports
//! each finished job as a [`Completion`] in a queue whose eventfd the Go side watches in its
//! netpoller: any number of goroutines wait on channels, none on an OS thread.

use super::callback::{Callback, CallbackJob};
use super::executor::thread_builder;
use crate::executor::{self, CancelToken, ExecutorBuilder, PinnedPool, TicketWatch};
use crate::ffi::{self, Status};
use crate::handle::{Handle, HandleTable, kind};
use crate::{Error, Result};
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

/// One finished pool job, as `gobridge_pool_take_completions` reports it.
///
/// C: `GobridgeCompletion`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The job id that `gobridge_pool_submit*` returned.
    pub job: u64,
    /// `0`: the job ran; `GOBRIDGE_E_SHUTDOWN`: the pool shut down before it ran (it never
    /// will); `GOBRIDGE_E_CANCELLED`: `gobridge_pool_cancel` withdrew it before it started, or
    /// it saw its token and stopped early; `GOBRIDGE_E_PANICKED`: it panicked; another code:
    /// the job's own error.
    pub code: i32,
    /// Reserved (errno of a failed job); 0.
    pub sys_errno: i32,
}

pub(crate) const LAYOUTS: &[super::TypeLayout] =
    &[super::type_layout!(Completion, "GobridgeCompletion", [job, code, sys_errno])];

static POOLS: HandleTable<CPool> = HandleTable::new(kind::POOL);

#[derive(Debug)]
struct CPool {
    pool: PinnedPool,
    completions: Arc<Completions>,
    next_job: AtomicU64,
    /// False once shutdown began. Submitters hold the read lock across `pool.submit`, and
    /// shutdown flips it under the write lock *before* closing the executors, so a submission
    /// that saw `true` is never refused: a job id is handed out exactly when its job was
    /// accepted, and then it gets exactly one completion.
    accepting: RwLock<bool>,
    /// Every job not yet finished, by job id.
    pending: Arc<Mutex<HashMap<u64, Arc<PendingJob>>>>,
}

/// One job's shared state: its token (a running job polls it), its ticket (a queued job is
/// withdrawn through it; set once the executor accepted the job), and the flag that makes its
/// completion exactly-once (the guard and a withdrawing `cancel` race for it).
#[derive(Debug, Default)]
struct PendingJob {
    token: CancelToken,
    watch: OnceLock<TicketWatch<()>>,
    reported: AtomicBool,
}

/// The completion queue and its eventfd (non-blocking, counter mode).
///
/// The fd is written only when a consumer may be waiting on it: `armed` (a take left the queue
/// empty, and nothing has signalled since) and no poller registered (a poller takes what
/// arrives itself). So a steady stream of completions costs one write per wake-up, not one per
/// completion, and none while a waiter spins on [`Completions::poll`]. Every change of the
/// state, the fd's included, happens under the one lock: what a take saw of `armed` is what
/// the fd holds.
#[derive(Debug)]
struct Completions {
    state: Mutex<CompletionState>,
    efd: EventFd,
}

#[derive(Debug)]
struct CompletionState {
    queue: Vec<Completion>,
    /// The fd is not readable and the next completion must make it so.
    armed: bool,
    /// Consumers between `poll_begin` and `poll_end`.
    pollers: u32,
}

impl Completions {
    fn new(efd: EventFd) -> Self {
        Completions {
            state: Mutex::new(CompletionState { queue: Vec::new(), armed: true, pollers: 0 }),
            efd,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CompletionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, c: Completion) {
        let mut st = self.lock();
        st.queue.push(c);
        if st.pollers == 0 {
            self.signal_if_armed(&mut st);
        }
    }

    /// Makes the fd readable if a consumer may be waiting on it. The counter only saturates
    /// after 2^64 - 2 unread writes, and then it is readable anyway: the error is ignored.
    fn signal_if_armed(&self, st: &mut CompletionState) {
        if st.armed {
            st.armed = false;
            let _ = self.efd.write(1);
        }
    }

    /// The fd consumer's take: resets the fd if it was signalled, moves up to `slots.len()`
    /// completions out, and arms the fd when the queue is left empty (else keeps it readable).
    fn take(&self, slots: &mut [MaybeUninit<Completion>]) -> Result<usize> {
        let mut st = self.lock();
        if !st.armed {
            match self.efd.read() {
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(e) => return Err(Error::Sys(e)),
            }
            st.armed = true;
        }
        let n = Self::move_out(&mut st.queue, slots);
        if !st.queue.is_empty() {
            self.signal_if_armed(&mut st);
        }
        Ok(n)
    }

    /// A poller's take: no system call, the fd untouched.
    fn poll(&self, slots: &mut [MaybeUninit<Completion>]) -> usize {
        Self::move_out(&mut self.lock().queue, slots)
    }

    fn poll_begin(&self) {
        let mut st = self.lock();
        st.pollers = st.pollers.saturating_add(1);
    }

    /// Ends one poller's registration; the last one hands what is still queued to the fd.
    fn poll_end(&self) -> Result<()> {
        let mut st = self.lock();
        if st.pollers == 0 {
            return Err(Error::InvalidArgument("gobridge_pool_poll_end without poll_begin"));
        }
        st.pollers -= 1;
        if st.pollers == 0 && !st.queue.is_empty() {
            self.signal_if_armed(&mut st);
        }
        Ok(())
    }

    fn move_out(queue: &mut Vec<Completion>, slots: &mut [MaybeUninit<Completion>]) -> usize {
        let n = queue.len().min(slots.len());
        for (slot, c) in slots.iter_mut().zip(queue.drain(..n)) {
            slot.write(c);
        }
        n
    }
}

/// Reports a job exactly once: when it finishes (`finish`), or when it is dropped without
/// running (shut down: queued jobs are dropped) or while unwinding (panicked).
struct JobGuard {
    completions: Arc<Completions>,
    pending: Arc<Mutex<HashMap<u64, Arc<PendingJob>>>>,
    state: Arc<PendingJob>,
    job: u64,
    done: bool,
}

impl JobGuard {
    fn finish(mut self, result: Result<()>) {
        self.done = true;
        if !self.state.reported.swap(true, Ordering::AcqRel) {
            let code = result.err().map_or(0, |e| e.code());
            self.completions.push(Completion { job: self.job, code, sys_errno: 0 });
        }
    }
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.job);
        if !self.done && !self.state.reported.swap(true, Ordering::AcqRel) {
            let code = if std::thread::panicking() {
                Error::Panicked(String::new()).code()
            } else {
                Error::Shutdown.code()
            };
            self.completions.push(Completion { job: self.job, code, sys_errno: 0 });
        }
    }
}

fn pool(h: u64) -> Result<Arc<CPool>> {
    POOLS.get(Handle::from_raw(h))
}

impl CPool {
    /// Queues `work` as a new job and returns its id. Every accepted job produces exactly one
    /// completion. `work` runs under the job's cancellation token (`gobridge_pool_cancel`); a
    /// job cancelled before it starts never runs and completes with `Cancelled`.
    fn submit(&self, work: impl FnOnce() -> Result<()> + Send + 'static) -> Result<u64> {
        let accepting = self.accepting.read().unwrap_or_else(PoisonError::into_inner);
        if !*accepting {
            return Err(Error::Shutdown);
        }
        let job = self.next_job.fetch_add(1, Ordering::Relaxed) + 1;
        let state = Arc::new(PendingJob::default());
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).insert(job, Arc::clone(&state));
        let guard = JobGuard {
            completions: Arc::clone(&self.completions),
            pending: Arc::clone(&self.pending),
            state: Arc::clone(&state),
            job,
            done: false,
        };
        // The ticket is dropped once its watch is recorded: that detaches the job, which still
        // runs (its completion goes through the queue instead). No refusal is possible while we
        // hold `accepting` (see the field), so the guard never reports an id we did not return.
        let ticket = self.pool.submit(move || {
            let token = &guard.state.token;
            let result = if token.is_cancelled() { Err(Error::Cancelled) } else { token.run(work) };
            guard.finish(result);
        })?;
        let _ = state.watch.set(ticket.watch()); // set once, here: only this call has the ticket
        Ok(job)
    }

    /// Cancels `job`: sets its token (a running job sees it) and withdraws it if it is still
    /// queued, reporting it `Cancelled` at once rather than when a thread reaches it. False if
    /// it had already finished (or never existed).
    fn cancel(&self, job: u64) -> bool {
        // Clone what is needed and let the lock go: withdrawing may drop the job's closure,
        // whose guard takes the same lock.
        let Some(entry) =
            self.pending.lock().unwrap_or_else(PoisonError::into_inner).get(&job).cloned()
        else {
            return false;
        };
        entry.token.cancel();
        let withdrawn = entry.watch.get().is_some_and(TicketWatch::cancel);
        if withdrawn && !entry.reported.swap(true, Ordering::AcqRel) {
            let code = Error::Cancelled.code();
            self.completions.push(Completion { job, code, sys_errno: 0 });
        }
        true
    }

    /// Refuses new submissions from now on, then shuts the executors down (queued jobs complete
    /// with `Shutdown`, running ones finish, threads are joined).
    fn shutdown(&self) -> Result<()> {
        *self.accepting.write().unwrap_or_else(PoisonError::into_inner) = false;
        self.pool.shutdown()
    }
}

/// Starts a pool of `threads` (1..=1024) executor threads named `gobridge-pool-N`, each with
/// SIGURG and SIGPROF blocked, and writes its handle to `*out`.
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` (thread count, NULL `out`); `GOBRIDGE_E_SYS`.
/// Any thread. Free with `gobridge_pool_close`.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_new(
    threads: usize,
    out: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || new_pool(threads, ExecutorBuilder::new());
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
}

/// `gobridge_pool_new` with each thread's stack size (`0` = the default; otherwise at least
/// 64 KiB) and blocked signals (`blocked_signals` as in `gobridge_executor_new`; the Go package
/// passes every asynchronous standard signal unless told otherwise).
///
/// Errors: as `gobridge_pool_new`, and `GOBRIDGE_E_INVALID_ARGUMENT` for a stack below 64 KiB
/// or an unknown signal bit, `GOBRIDGE_E_UNBLOCKABLE` for a signal that must never be blocked.
/// Nothing is created on error.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_new_with(
    threads: usize,
    stack_size: usize,
    blocked_signals: u64,
    out: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || {
        let builder = thread_builder(stack_size, blocked_signals)?;
        new_pool(threads, builder)
    };
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
}

fn new_pool(threads: usize, executor: ExecutorBuilder) -> Result<u64> {
    if !(1..=1024).contains(&threads) {
        return Err(Error::InvalidArgument("pool threads must be in 1..=1024"));
    }
    let efd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
    let pool = PinnedPool::builder()
        .threads(threads)
        .name_prefix("gobridge-pool")
        .executor(executor)
        .spawn()?;
    let handle = POOLS.insert(CPool {
        pool,
        completions: Arc::new(Completions::new(efd)),
        next_job: AtomicU64::new(0),
        accepting: RwLock::new(true),
        pending: Arc::new(Mutex::new(HashMap::new())),
    })?;
    Ok(handle.as_raw())
}

/// Cancels pool job `job`: one that has not started never runs (its callback is never called)
/// and completes with `GOBRIDGE_E_CANCELLED`; one that is running has its cancellation token
/// set (`gobridge::executor::cancelled()` is true inside it: the built-in sleep returns early
/// with `GOBRIDGE_E_CANCELLED`, a Go callback's nested calls into Rust see it). Writes whether
/// the job was still unfinished to `*out_pending`. Its completion still arrives, exactly once.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`. Any thread; never blocks.
///
/// # Safety
///
/// `out_pending` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_cancel(
    pool_handle: u64,
    job: u64,
    out_pending: *mut bool,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_pending` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_pending, || Ok(pool(pool_handle)?.cancel(job))) }
}

/// Queues the pool's built-in blocking job, a sleep of `ns` nanoseconds on a pool thread (the
/// stand-in for any blocking native call; it sleeps in slices of at most 1 ms and stops early
/// with `GOBRIDGE_E_CANCELLED` once `gobridge_pool_cancel` sets its token), and writes its job
/// id to `*out_job`. Its completion arrives through `gobridge_pool_fd`.
///
/// Errors: `GOBRIDGE_E_SHUTDOWN`, `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`.
/// Any thread; does not block.
///
/// # Safety
///
/// `out_job` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_submit_sleep(
    pool_handle: u64,
    ns: u64,
    out_job: *mut u64,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_job` and `status` are as `call_out` requires: this function's contract.
    unsafe {
        ffi::call_out(status, out_job, || {
            pool(pool_handle)?.submit(move || cancellable_sleep(Duration::from_nanos(ns)))
        })
    }
}

/// Sleeps for `d` in slices of at most a millisecond, returning `Err(Cancelled)` as soon as the
/// running job's token is set.
fn cancellable_sleep(d: Duration) -> Result<()> {
    const SLICE: Duration = Duration::from_millis(1);
    let deadline = std::time::Instant::now() + d;
    loop {
        executor::check_cancelled()?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(SLICE));
    }
}

/// Queues `cb(ctx)` on a pool thread (the least loaded) and writes its job id to `*out_job`.
/// Exactly one completion reports it: `0` once `cb` has returned, or `GOBRIDGE_E_SHUTDOWN` if
/// the pool shut down first (then `cb` is never called).
///
/// Errors: `GOBRIDGE_E_SHUTDOWN`, `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`
/// (NULL `cb` or `out_job`). Any thread; does not block.
///
/// # Safety
///
/// `cb` may be called once with `ctx` on a pool thread and does not unwind; `out_job` is valid
/// for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_submit(
    pool_handle: u64,
    cb: Callback,
    ctx: *mut c_void,
    out_job: *mut u64,
    status: *mut Status,
) -> i32 {
    let body = || {
        let job = CallbackJob::new(cb, ctx)?;
        pool(pool_handle)?.submit(move || {
            job.call();
            Ok(())
        })
    };
    // SAFETY:
    // - `out_job` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_job, body) }
}

/// Writes the pool's completion fd to `*out_fd`: a non-blocking eventfd that is readable
/// whenever completions are waiting. Watch it (epoll, Go's netpoller), then call
/// `gobridge_pool_take_completions` until it returns fewer than `cap`. Owned by the pool and
/// valid until `gobridge_pool_close`: never read it or close it (dup it if needed).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT`. Any thread.
///
/// # Safety
///
/// `out_fd` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_fd(
    pool_handle: u64,
    out_fd: *mut i32,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_fd` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_fd, || Ok(pool(pool_handle)?.completions.efd.as_raw_fd())) }
}

/// Moves up to `cap` completions, oldest first, into `out[0..n]` and writes `n` to `*out_n`;
/// resets the fd's readiness first, so a completion that arrives after this call makes it
/// readable again (no lost wake-up). If more than `cap` were waiting, the fd stays readable.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`, `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `out_n`; NULL or
/// misaligned `out` with `cap > 0`). Any thread (one consumer at a time is the usual use; several
/// consumers each get distinct completions).
///
/// # Safety
///
/// `out` is NULL with `cap == 0`, or valid for writes of `cap` `GobridgeCompletion`s; `out_n`
/// is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_take_completions(
    pool_handle: u64,
    out: *mut Completion,
    cap: usize,
    out_n: *mut usize,
    status: *mut Status,
) -> i32 {
    let body = |slots: &mut [MaybeUninit<Completion>]| pool(pool_handle)?.completions.take(slots);
    // SAFETY:
    // - `out`/`cap`, `out_n` and `status` are as `call_out_slice` requires: this function's
    //   contract.
    unsafe { ffi::call_out_slice(status, out, cap, out_n, body) }
}

/// Moves up to `cap` completions, oldest first, into `out[0..n]` and writes `n` to `*out_n`,
/// like `gobridge_pool_take_completions` but without a system call and without touching the
/// fd: the call for a waiter that spins for its completion (between `gobridge_pool_poll_begin`
/// and `gobridge_pool_poll_end`) rather than waiting on the fd.
///
/// Errors and safety: as `gobridge_pool_take_completions`. Any thread.
///
/// # Safety
///
/// `out` is NULL with `cap == 0`, or valid for writes of `cap` `GobridgeCompletion`s; `out_n`
/// is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_poll_completions(
    pool_handle: u64,
    out: *mut Completion,
    cap: usize,
    out_n: *mut usize,
    status: *mut Status,
) -> i32 {
    let body =
        |slots: &mut [MaybeUninit<Completion>]| Ok(pool(pool_handle)?.completions.poll(slots));
    // SAFETY:
    // - `out`/`cap`, `out_n` and `status` are as `call_out_slice` requires: this function's
    //   contract.
    unsafe { ffi::call_out_slice(status, out, cap, out_n, body) }
}

/// Registers the caller as a poller: until the matching `gobridge_pool_poll_end`, completions
/// do not make the fd readable (the poller takes them with `gobridge_pool_poll_completions`,
/// and no fd consumer is woken for nothing). Pollers nest (a count); the last
/// `gobridge_pool_poll_end` makes the fd readable if completions are still queued, so none
/// is stranded. Every begin needs its end: a poller that never ends leaves the fd consumer
/// asleep.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`. Any thread; never blocks.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_poll_begin(pool_handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || pool(pool_handle).map(|p| p.completions.poll_begin())) }
}

/// Ends a `gobridge_pool_poll_begin` (see there).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`; `GOBRIDGE_E_INVALID_ARGUMENT` without a matching begin
/// (nothing changes). Any thread; never blocks.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_poll_end(pool_handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || pool(pool_handle)?.completions.poll_end()) }
}

/// Shuts the pool down without freeing it: new submissions fail with `GOBRIDGE_E_SHUTDOWN`,
/// queued jobs complete with `GOBRIDGE_E_SHUTDOWN` (never run), running jobs finish, threads
/// are joined. The fd and `gobridge_pool_take_completions` keep working, so the last
/// completions can be collected before `gobridge_pool_close`. Idempotent.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`. Any thread except a pool thread; blocks until running
/// jobs have finished.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_shutdown(pool_handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || pool(pool_handle)?.shutdown()) }
}

/// Shuts the pool down (as `gobridge_pool_shutdown`, if not done yet) and frees its handle and
/// fd. Completions not yet taken are discarded.
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE` (closed twice). Any thread except a pool thread; blocks
/// until running jobs have finished.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_close(pool_handle: u64, status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || POOLS.remove(Handle::from_raw(pool_handle))?.shutdown()) }
}
