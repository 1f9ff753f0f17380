//! [`PinnedPool`]: a fixed set of pinned executors, with key affinity and least-loaded
//! placement.
#![forbid(unsafe_code)]

use super::builder::ExecutorBuilder;
use super::completions::Completions;
use super::pinned_executor::PinnedExecutor;
use super::pool_job::PoolJob;
use super::queue::IdleReservation;
use super::ticket::Ticket;
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fixed number of [`PinnedExecutor`]s: the way to run blocking native work on a bounded
/// number of OS threads.
///
/// - Keyed jobs (`run_keyed`, `submit_keyed`) always go to the same thread for the same key
///   (`key % len`, after mixing): per-key thread affinity, per-key FIFO order.
/// - Unkeyed jobs (`run`, `submit`) go to the first idle executor in index order, claimed
///   with one CAS so that concurrent submitters take different ones; when none is idle, to the
///   one with the fewest queued-plus-running jobs (ties broken round-robin). Idle-first keeps a
///   light load on the same few threads, whose caches (and, for Go callbacks, whose Go `P`)
///   are warm, instead of waking a cold thread per job. A job stops counting as load just
///   before its result is published, so a caller running one job after another stays on one
///   thread.
///
/// ```
/// use gobridge::executor::PinnedPool;
///
/// let pool = PinnedPool::new(2, "blocking")?;
/// let a = pool.run_keyed(7, gobridge::current_thread)?;
/// let b = pool.run_keyed(7, gobridge::current_thread)?;
/// assert_eq!(a, b); // same key, same OS thread
/// let tickets: Vec<_> = (0..8u64).map(|i| pool.submit(move || i * 2)).collect::<Result<_, _>>()?;
/// let sum: u64 = tickets.into_iter().map(|t| t.wait().unwrap()).sum();
/// assert_eq!(sum, 56);
/// # Ok::<(), gobridge::Error>(())
/// ```
#[derive(Debug)]
pub struct PinnedPool {
    executors: Vec<PinnedExecutor>,
    next: AtomicUsize,
}

/// Configures a [`PinnedPool`]: thread count and name prefix, plus every
/// [`ExecutorBuilder`] setting for its threads.
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    threads: usize,
    name_prefix: String,
    executor: ExecutorBuilder,
}

impl PoolBuilder {
    /// Number of threads (at least 1). Default: 1.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Thread names are `<prefix>-<index>`. Default: `gobridge-pool`.
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    /// Settings for each thread (its name is replaced by `<prefix>-<index>`).
    pub fn executor(mut self, builder: ExecutorBuilder) -> Self {
        self.executor = builder;
        self
    }

    /// Spawns the threads. `InvalidArgument` for zero threads; on a spawn error the threads
    /// already started are shut down.
    pub fn spawn(self) -> Result<PinnedPool> {
        if self.threads == 0 {
            return Err(Error::InvalidArgument("a pool needs at least one thread"));
        }
        let executors = (0..self.threads)
            .map(|i| self.executor.clone().name(format!("{}-{i}", self.name_prefix)).spawn())
            .collect::<Result<Vec<_>>>()?;
        Ok(PinnedPool { executors, next: AtomicUsize::new(0) })
    }
}

impl PinnedPool {
    /// Spawns `threads` executors named `<name_prefix>-<index>` with default settings.
    pub fn new(threads: usize, name_prefix: &str) -> Result<Self> {
        Self::builder().threads(threads).name_prefix(name_prefix).spawn()
    }

    /// A builder (thread count, name prefix, per-thread executor settings).
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            threads: 1,
            name_prefix: "gobridge-pool".to_owned(),
            executor: ExecutorBuilder::new(),
        }
    }

    /// Number of threads.
    pub fn len(&self) -> usize {
        self.executors.len()
    }

    /// Always false: a pool has at least one thread.
    pub fn is_empty(&self) -> bool {
        self.executors.is_empty()
    }

    /// The executors, in index order.
    pub fn executors(&self) -> &[PinnedExecutor] {
        &self.executors
    }

    /// The executor that serves `key`.
    pub fn executor_for_key(&self, key: u64) -> &PinnedExecutor {
        // Fibonacci hashing spreads consecutive keys; the map is fixed for the pool's life.
        let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        &self.executors[(mixed % self.executors.len() as u64) as usize]
    }

    /// The executor with the fewest queued-plus-running jobs right now.
    pub fn least_loaded(&self) -> &PinnedExecutor {
        let n = self.executors.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = &self.executors[start];
        let mut best_load = best.load();
        for i in 1..n {
            if best_load == 0 {
                break;
            }
            let candidate = &self.executors[(start + i) % n];
            let load = candidate.load();
            if load < best_load {
                best = candidate;
                best_load = load;
            }
        }
        best
    }

    /// Where an unkeyed job goes: the first idle executor (claimed until the caller has pushed
    /// the job and drops the claim), else the least-loaded one.
    fn place(&self) -> (&PinnedExecutor, Option<IdleReservation<'_>>) {
        for exec in &self.executors {
            if let Some(claim) = exec.shared().reserve_if_idle() {
                return (exec, Some(claim));
            }
        }
        (self.least_loaded(), None)
    }

    /// [`PinnedExecutor::run`] on the first idle executor, else the least-loaded one.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let (exec, claim) = self.place();
        // The claim only has to last until the job is queued; `run` waits for the job, so
        // release it first (a claim held across the wait would hide the job's own load).
        exec.run_after_queued(f, move || drop(claim))
    }

    /// [`PinnedExecutor::run`] on the executor of `key`.
    pub fn run_keyed<F, R>(&self, key: u64, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.executor_for_key(key).run(f)
    }

    /// [`PinnedExecutor::submit`] on the first idle executor, else the least-loaded one.
    pub fn submit<F, R>(&self, f: F) -> Result<Ticket<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (exec, _claim) = self.place();
        exec.submit(f) // the claim drops after the push counted the job
    }

    /// [`PinnedExecutor::submit`] on the executor of `key`.
    pub fn submit_keyed<F, R>(&self, key: u64, f: F) -> Result<Ticket<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.executor_for_key(key).submit(f)
    }

    /// [`PinnedExecutor::submit_to`] on the first idle executor, else the least-loaded one:
    /// the job reports to `completions`, which any number of jobs share, so one fd (or one
    /// spinning [`Poller`](super::Poller)) waits for all of them.
    pub fn submit_to<F, R>(&self, completions: &Arc<Completions<R>>, f: F) -> Result<PoolJob>
    where
        F: FnOnce() -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (exec, _claim) = self.place();
        exec.submit_to(completions, f) // the claim drops after the push counted the job
    }

    /// [`PinnedExecutor::submit_to`] on the executor of `key`.
    pub fn submit_keyed_to<F, R>(
        &self,
        key: u64,
        completions: &Arc<Completions<R>>,
        f: F,
    ) -> Result<PoolJob>
    where
        F: FnOnce() -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.executor_for_key(key).submit_to(completions, f)
    }

    /// Shuts every executor down (all are closed first, then joined). The first error, if any.
    pub fn shutdown(&self) -> Result<()> {
        for exec in &self.executors {
            exec.shared().close();
        }
        let mut result = Ok(());
        for exec in &self.executors {
            if let Err(e) = exec.shutdown() {
                result = result.and(Err(e));
            }
        }
        result
    }
}

impl Drop for PinnedPool {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
