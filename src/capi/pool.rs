//! Pools of pinned executors for blocking native work, with one completion fd per pool: the C
//! face of [`PinnedPool::submit_to`] and [`Completions`].
//!
//! A Go program that makes one blocking cgo call per request holds one OS thread per waiting
//! goroutine. A pool instead runs the blocking work on a fixed number of threads and reports
//! each finished job as a [`Completion`] in a queue whose eventfd the Go side watches in its
//! netpoller: any number of goroutines wait on channels, none on an OS thread.

use super::callback::{Callback, CallbackJob};
use super::executor::thread_builder;
use crate::executor::{self, Completions, ExecutorBuilder, PinnedPool, PoolJob};
use crate::ffi::{self, Status};
use crate::handle::{Handle, HandleTable, kind};
use crate::{Error, Result};
use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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

/// The C ABI's pool: the Rust pool and one [`Completions`] queue for all its jobs (their
/// exactly-once reporting, the fd protocol and cancellation live in `executor`), plus the
/// lookup from a C job id to its cancel handle.
#[derive(Debug)]
struct CPool {
    pool: PinnedPool,
    completions: Arc<Completions<()>>,
    /// Every job whose completion has not been taken yet, by id. A submitter holds the lock
    /// from `submit_to` to the insert, and a take holds it while it takes: a job's entry cannot
    /// be removed before it is inserted.
    jobs: Mutex<HashMap<u64, PoolJob>>,
}

impl CPool {
    fn jobs(&self) -> MutexGuard<'_, HashMap<u64, PoolJob>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `work` as a new job and returns its id; exactly one completion reports it.
    /// `work` runs under the job's cancellation token (`gobridge_pool_cancel`); a job cancelled
    /// before it starts never runs and completes with `Cancelled`. A refused job (shut down)
    /// has no id and reports nothing.
    fn submit(&self, work: impl FnOnce() -> Result<()> + Send + 'static) -> Result<u64> {
        let mut jobs = self.jobs();
        let job = self.pool.submit_to(&self.completions, work)?;
        let id = job.id();
        jobs.insert(id, job);
        Ok(id)
    }

    /// Cancels job `id` (see [`PoolJob::cancel`]). False if it had already finished, or never
    /// existed.
    fn cancel(&self, id: u64) -> bool {
        // Clone the handle and let the lock go: withdrawing drops the job's closure here.
        let Some(job) = self.jobs().get(&id).cloned() else {
            return false;
        };
        job.cancel()
    }

    /// Moves up to `slots.len()` completions into `slots` with `take` (the fd consumer's or
    /// the poller's) and forgets the jobs it moved. Lock order: `jobs`, then the queue's (no
    /// path takes them the other way round; a job reporting takes only the queue's).
    fn take(
        &self,
        slots: &mut [MaybeUninit<Completion>],
        take: impl FnOnce(
            &Completions<()>,
            usize,
            &mut dyn FnMut(executor::Completion<()>),
        ) -> Result<usize>,
    ) -> Result<usize> {
        let mut jobs = self.jobs();
        let mut written = 0;
        take(&self.completions, slots.len(), &mut |c| {
            jobs.remove(&c.job);
            let code = c.result.err().map_or(0, |e| e.code());
            slots[written].write(Completion { job: c.job, code, sys_errno: 0 });
            written += 1;
        })
    }
}

fn pool(h: u64) -> Result<Arc<CPool>> {
    POOLS.get(Handle::from_raw(h))
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
    let completions = Arc::new(Completions::new()?);
    let pool = PinnedPool::builder()
        .threads(threads)
        .name_prefix("gobridge-pool")
        .executor(executor)
        .spawn()?;
    let handle = POOLS.insert(CPool { pool, completions, jobs: Mutex::new(HashMap::new()) })?;
    Ok(handle.as_raw())
}

/// Writes the kernel thread id of the pool's thread number `index` (`0..threads`, in the order
/// `gobridge_pool_new` spawned them) to `*out`: how a caller tells whether it runs on one of
/// the pool's threads (a nested submission that waits would wait on its own thread).
///
/// Errors: `GOBRIDGE_E_STALE_HANDLE`; `GOBRIDGE_E_INVALID_ARGUMENT` (`index` out of range, NULL
/// `out`; nothing is written). Any thread; never blocks.
///
/// # Safety
///
/// `out` is valid for a write; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_thread_tid(
    pool_handle: u64,
    index: usize,
    out: *mut i32,
    status: *mut Status,
) -> i32 {
    let body = || {
        let pool = pool(pool_handle)?;
        let exec = pool
            .pool
            .executors()
            .get(index)
            .ok_or(Error::InvalidArgument("pool thread index out of range"))?;
        Ok(exec.tid().as_raw())
    };
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
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

/// Runs `cb(ctx)` on a pool thread (the first idle one, else the least loaded) and returns
/// when it has returned, blocking the caller: no job id, no completion. The fast path for a
/// caller that can afford to hold its thread while it waits (the Go package lets one waiter
/// per pool do so, when its context can never be cancelled); the job lives in the caller's
/// frame. From inside a job of the same pool it waits for another thread of the pool like any
/// caller (a job that waits for its own pool deadlocks once every thread does; the Go package
/// runs a nested `Do` inline instead).
///
/// Errors: `GOBRIDGE_E_SHUTDOWN` (the pool shut down before the job ran: `cb` was not called);
/// `GOBRIDGE_E_STALE_HANDLE`; `GOBRIDGE_E_INVALID_ARGUMENT` (NULL `cb`). Any thread; blocks.
///
/// # Safety
///
/// `cb` may be called once with `ctx` on a pool thread and does not unwind; `status` is NULL
/// or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_run(
    pool_handle: u64,
    cb: Callback,
    ctx: *mut c_void,
    status: *mut Status,
) -> i32 {
    let body = || {
        let job = CallbackJob::new(cb, ctx)?;
        pool(pool_handle)?.pool.run(move || job.call())
    };
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
}

/// Runs the pool's built-in blocking job, a sleep of `ns` nanoseconds, on a pool thread as
/// `gobridge_pool_run` runs a callback: the caller blocks until it has slept. Nothing can
/// cancel it (use `gobridge_pool_submit_sleep` for that).
///
/// Errors: `GOBRIDGE_E_SHUTDOWN`, `GOBRIDGE_E_STALE_HANDLE`. Any thread; blocks.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_pool_run_sleep(
    pool_handle: u64,
    ns: u64,
    status: *mut Status,
) -> i32 {
    let body =
        || pool(pool_handle)?.pool.run(move || cancellable_sleep(Duration::from_nanos(ns)))?;
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, body) }
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
    unsafe { ffi::call_out(status, out_fd, || Ok(pool(pool_handle)?.completions.fd().as_raw_fd())) }
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
    let body = |slots: &mut [MaybeUninit<Completion>]| {
        pool(pool_handle)?.take(slots, |c, max, f| c.take_each(max, f))
    };
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
    let body = |slots: &mut [MaybeUninit<Completion>]| {
        let pool = pool(pool_handle)?;
        if pool.completions.looks_empty() {
            return Ok(0); // a spinner's usual answer, without the job map's lock
        }
        pool.take(slots, |c, max, f| Ok(c.poll_each(max, f)))
    };
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
    unsafe { ffi::call(status, || pool(pool_handle)?.pool.shutdown()) }
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
    unsafe { ffi::call(status, || POOLS.remove(Handle::from_raw(pool_handle))?.pool.shutdown()) }
}
