//! [`Pinned<S>`]: state that lives on one executor thread, reached through `with`.

use super::builder::ExecutorBuilder;
use super::pinned_executor::PinnedExecutor;
use crate::{Error, Result};
use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;

/// State `S` that is created, used and dropped on one executor thread.
///
/// `S` may be `!Send` and `!Sync` — an `Rc`, a raw handle into a thread-affine C library, a
/// GL context — and `Pinned<S>` is still `Send + Sync`, because `S` itself never leaves its
/// thread: [`with`](Self::with) sends the closure to the state, not the state to the caller.
///
/// ```
/// use gobridge::executor::Pinned;
/// use std::rc::Rc;
///
/// let counter = Pinned::new("counter", || Rc::new(std::cell::Cell::new(0u64)))?;
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| counter.with(|c| c.set(c.get() + 1)).unwrap());
///     }
/// });
/// assert_eq!(counter.with(|c| c.get())?, 4);
/// # Ok::<(), gobridge::Error>(())
/// ```
///
/// The state cannot escape `with`: a non-`Send` piece of it cannot be returned,
///
/// ```compile_fail,E0277
/// use gobridge::executor::Pinned;
/// let p = Pinned::new("p", || std::rc::Rc::new(1)).unwrap();
/// let escaped = p.with(|rc| rc.clone()).unwrap(); // error: `Rc<i32>` cannot be sent
/// ```
///
/// and neither can a reference to it:
///
/// ```compile_fail,E0521
/// use gobridge::executor::Pinned;
/// let p = Pinned::new("p", || vec![1, 2, 3]).unwrap();
/// let mut escaped: Option<&Vec<i32>> = None;
/// p.with(|v| escaped = Some(v)).unwrap(); // error: borrowed data escapes outside of closure
/// ```
///
/// while anything `Send` computed from it can:
///
/// ```
/// use gobridge::executor::Pinned;
/// let p = Pinned::new("p", || std::rc::Rc::new(vec![1, 2, 3])).unwrap();
/// let copied: Vec<i32> = p.with(|rc| rc.to_vec())?;
/// assert_eq!(copied, [1, 2, 3]);
/// # Ok::<(), gobridge::Error>(())
/// ```
pub struct Pinned<S: 'static> {
    exec: PinnedExecutor,
    state: StatePtr<S>,
}

impl<S> std::fmt::Debug for Pinned<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinned")
            .field("executor", &self.exec)
            .field("state", &std::any::type_name::<S>())
            .finish()
    }
}

impl<S: 'static> Pinned<S> {
    /// Spawns an executor named `name` whose state is `init()`, run on that thread.
    ///
    /// A panic in `init` is `Err(Panicked)`.
    pub fn new<I>(name: &str, init: I) -> Result<Self>
    where
        I: FnOnce() -> S + Send + 'static,
    {
        ExecutorBuilder::new().name(name).spawn_pinned(init)
    }

    pub(crate) fn from_parts(exec: PinnedExecutor, state: StatePtr<S>) -> Self {
        Pinned { exec, state }
    }

    /// Runs `f` with exclusive access to the state, on the state's thread, and returns its
    /// value. Same rules as [`PinnedExecutor::run`]: `f` may borrow from the caller, a panic
    /// is `Err(Panicked)` (the state stays usable), after shutdown it is `Err(Shutdown)`.
    ///
    /// Calling `with` again from inside `f` (on the same state) would alias `&mut S`: it
    /// returns `Err(InvalidArgument)` instead.
    pub fn with<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut S) -> R + Send,
        R: Send,
    {
        let state = self.state;
        self.exec
            .run(move || {
                // SAFETY:
                // - This closure runs on the executor thread (through `run`, queued or inline
                //   on that same thread): the only thread that ever dereferences the pointer.
                // - The cell lives until the worker loop has returned, and no job runs after
                //   that (the queue is closed and drained first).
                let cell = unsafe { state.get() };
                let _busy = cell.enter()?;
                // SAFETY:
                // - `enter` succeeded: no other `&mut S` exists (jobs on this thread run one
                //   at a time and nested `with` is refused), so this borrow is exclusive for
                //   the duration of `f`.
                let value = unsafe { &mut *cell.value.get() };
                Ok(f(value))
            })
            .and_then(|r| r)
    }

    /// The executor that owns the state: submit `'static` work there, read its tid.
    pub fn executor(&self) -> &PinnedExecutor {
        &self.exec
    }

    /// Shuts the executor down (see [`PinnedExecutor::shutdown`]); the state is dropped on
    /// its thread after the queued jobs were failed.
    pub fn shutdown(&self) -> Result<()> {
        self.exec.shutdown()
    }
}

/// The state and its re-entrancy flag; owned (boxed) by the executor thread.
pub(crate) struct StateCell<S> {
    busy: Cell<bool>,
    value: UnsafeCell<S>,
}

impl<S> StateCell<S> {
    pub(crate) fn new(value: S) -> Self {
        StateCell { busy: Cell::new(false), value: UnsafeCell::new(value) }
    }

    fn enter(&self) -> Result<BusyGuard<'_>> {
        if self.busy.replace(true) {
            return Err(Error::InvalidArgument("Pinned::with called from inside Pinned::with"));
        }
        Ok(BusyGuard(&self.busy))
    }
}

struct BusyGuard<'a>(&'a Cell<bool>);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Address of the executor thread's `StateCell<S>`.
pub(crate) struct StatePtr<S>(NonNull<StateCell<S>>);

impl<S> Clone for StatePtr<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for StatePtr<S> {}

// SAFETY:
// - A `StatePtr` is an address; it is dereferenced only on the executor thread that owns the
//   cell (see `Pinned::with`), so moving or sharing the address between threads never moves or
//   shares the `S` behind it.
unsafe impl<S> Send for StatePtr<S> {}
// SAFETY:
// - As for `Send`: `&StatePtr` only gives access to the address.
unsafe impl<S> Sync for StatePtr<S> {}

impl<S> StatePtr<S> {
    pub(crate) fn new(cell: &StateCell<S>) -> Self {
        StatePtr(NonNull::from(cell))
    }

    /// # Safety
    ///
    /// - Only on the thread that owns the cell, while the cell is alive.
    unsafe fn get<'a>(self) -> &'a StateCell<S> {
        // SAFETY:
        // - The caller guarantees we are on the owning thread and the cell is alive; the
        //   pointer came from a live `&StateCell<S>` (a `Box` that is not moved until dropped).
        unsafe { self.0.as_ref() }
    }
}
