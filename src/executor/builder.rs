//! [`ExecutorBuilder`]: name, stack size, signal mask and spin window of an executor thread.
#![forbid(unsafe_code)]

use super::home::set_home;
use super::pinned::{Pinned, StateCell, StatePtr};
use super::pinned_executor::PinnedExecutor;
use super::queue::Shared;
use crate::ffi::{drop_quietly, panic_error};
use crate::sigmask::{SignalSet, spawn_masked_with};
use crate::{Error, Result, ThreadId, current_thread};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

/// The default spin window: how long an idle executor, and a caller waiting for a result,
/// spin (then yield) before parking.
///
/// Measured on the project's 2-vCPU VMs (see the README's performance section): a parked
/// handoff costs ~75 µs per round trip, a spinning one well under 1 µs, and a window of
/// 50 µs keeps back-to-back requests (a Go loop calling in, a burst of submissions) on the
/// spinning path while an idle executor goes to sleep within 50 µs.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// Configures and spawns a [`PinnedExecutor`] or a [`Pinned<S>`].
///
/// ```
/// use gobridge::executor::PinnedExecutor;
/// use gobridge::sigmask::SignalSet;
/// use std::time::Duration;
///
/// let exec = PinnedExecutor::builder()
///     .name("db-worker")
///     .stack_size(256 * 1024)
///     .mask(SignalSet::go_runtime())
///     .spin(Duration::from_micros(20))
///     .spawn()?;
/// assert_eq!(exec.run(|| std::thread::current().name().map(str::to_owned))?.as_deref(), Some("db-worker"));
/// # Ok::<(), gobridge::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExecutorBuilder {
    name: String,
    stack_size: Option<usize>,
    mask: SignalSet,
    spin: Duration,
}

impl Default for ExecutorBuilder {
    fn default() -> Self {
        ExecutorBuilder {
            name: "gobridge-executor".to_owned(),
            stack_size: None,
            mask: SignalSet::go_runtime(),
            spin: DEFAULT_SPIN,
        }
    }
}

impl ExecutorBuilder {
    /// A builder with the defaults: name `gobridge-executor`, the platform's default stack
    /// size, [`SignalSet::go_runtime`] blocked, a spin window of [`DEFAULT_SPIN`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The thread's name (visible in `/proc/self/task/<tid>/comm`, truncated there to 15 bytes).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The thread's stack size in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The signals blocked on the thread from its first instruction (added to the spawning
    /// thread's mask). Default: [`SignalSet::go_runtime`] (SIGURG, SIGPROF).
    pub fn mask(mut self, set: SignalSet) -> Self {
        self.mask = set;
        self
    }

    /// How long each side of a handoff spins before parking: the idle executor waiting for
    /// work, and a caller of `run`/`Ticket::wait` waiting for the result. `Duration::ZERO`
    /// parks at once (lowest CPU use, ~75 µs round trips on a VM). Default [`DEFAULT_SPIN`].
    pub fn spin(mut self, window: Duration) -> Self {
        self.spin = window;
        self
    }

    /// Spawns the executor thread.
    ///
    /// Errors: `Unblockable` if the mask names a signal that must not be blocked, `Sys` if the
    /// thread cannot be created, `InvalidArgument` if the name contains a NUL byte.
    pub fn spawn(self) -> Result<PinnedExecutor> {
        let (exec, _state) = self.spawn_with_state(|| ())?;
        Ok(exec)
    }

    /// Spawns an executor that owns the state `init()` creates on its thread.
    ///
    /// `S` need not be `Send`: it is created, used and dropped on the executor's thread only.
    /// A panic in `init` is `Err(Panicked)`, and the thread is gone.
    pub fn spawn_pinned<S, I>(self, init: I) -> Result<Pinned<S>>
    where
        I: FnOnce() -> S + Send + 'static,
        S: 'static,
    {
        let (exec, state) = self.spawn_with_state(init)?;
        Ok(Pinned::from_parts(exec, state))
    }

    fn spawn_with_state<S, I>(self, init: I) -> Result<(PinnedExecutor, StatePtr<S>)>
    where
        I: FnOnce() -> S + Send + 'static,
        S: 'static,
    {
        if self.name.as_bytes().contains(&0) {
            return Err(Error::InvalidArgument("executor name contains a NUL byte"));
        }
        // Jobs' panics carry their location (the hook is installed once per process).
        crate::ffi::record_panic_locations();
        let shared = Arc::new(Shared::new(self.spin));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(ThreadId, StatePtr<S>)>>(1);
        let mut builder = std::thread::Builder::new().name(self.name.clone());
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let worker = Arc::clone(&shared);
        let handle = spawn_masked_with(builder, &self.mask, move || {
            let tid = current_thread();
            set_home(Some(Arc::downgrade(&worker)));
            match catch_unwind(AssertUnwindSafe(init)) {
                Err(payload) => {
                    let _ = tx.send(Err(panic_error(payload)));
                }
                Ok(state) => {
                    let cell = Box::new(StateCell::new(state));
                    let ptr = StatePtr::new(&cell);
                    if tx.send(Ok((tid, ptr))).is_ok() {
                        drop(tx);
                        // `work` does not panic (jobs run under `catch_unwind`); should it
                        // ever, close the queue so that submitters get `Shutdown`, not a hang.
                        if catch_unwind(AssertUnwindSafe(|| worker.work())).is_err() {
                            worker.close();
                            let _ = catch_unwind(AssertUnwindSafe(|| worker.work()));
                        }
                    }
                    // The queue is closed and drained: no job can reach the state any more.
                    drop_quietly(cell);
                }
            }
            set_home(None);
            worker.mark_exited();
        })?;
        match rx.recv() {
            Ok(Ok((tid, state))) => {
                Ok((PinnedExecutor::from_parts(shared, tid, handle, self.name), state))
            }
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err(Error::Panicked("executor thread died during start-up".to_owned()))
            }
        }
    }
}
