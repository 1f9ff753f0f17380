//! [`Pinned<S>`]: state that lives on one executor thread, reached through `with`.

use super::builder::ExecutorBuilder;
use super::pinned_executor::PinnedExecutor;
use crate::ffi::panic_error;
use crate::{Error, Result};
use std::cell::{Cell, UnsafeCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard, PoisonError};

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
///
/// # Poisoning
///
/// As with [`std::sync::Mutex`], a panic while the state is borrowed may leave it
/// half-updated — an invariant between two fields broken, a C library's object in the middle
/// of a sequence of calls. So a closure passed to [`with`](Self::with) that panics **poisons**
/// the `Pinned`: that call returns `Err(Panicked(message))`, and every later `with` returns
/// `Err(Panicked("state poisoned by an earlier panic: <that message>"))` without running its
/// closure, until you decide the state is fine:
///
/// - [`is_poisoned`](Self::is_poisoned) tells, from any thread;
/// - [`with_poisoned`](Self::with_poisoned) reaches the state anyway (to inspect or repair
///   it), like [`PoisonError::into_inner`];
/// - [`clear_poison`](Self::clear_poison) lifts it, like [`Mutex::clear_poison`].
///
/// Poisoning is advisory: the state is never dropped or replaced because of it, and it is
/// still dropped on its thread at shutdown. Jobs sent with
/// [`executor().submit`](PinnedExecutor::submit) do not touch the state and are not affected.
///
/// ```
/// use gobridge::{Error, executor::Pinned};
///
/// let p = Pinned::new("ledger", || (0u64, 0u64))?; // (debits, credits): always equal
/// let r = p.with(|(debits, credits)| {
///     *debits += 10;
///     if *debits > 5 { panic!("audit failed") } // panics between the two updates
///     *credits += 10;
/// });
/// assert!(matches!(r, Err(Error::Panicked(m)) if m.starts_with("audit failed")));
/// assert!(p.is_poisoned());
/// assert!(matches!(p.with(|s| *s), Err(Error::Panicked(m)) if m.starts_with("state poisoned")));
/// // Repair, then clear.
/// p.with_poisoned(|(debits, credits)| *credits = *debits)?;
/// p.clear_poison();
/// assert_eq!(p.with(|s| *s)?, (10, 10));
/// # Ok::<(), gobridge::Error>(())
/// ```
pub struct Pinned<S: 'static> {
    exec: PinnedExecutor,
    state: StatePtr<S>,
    /// The message of the panic that poisoned the state (`None`: not poisoned). Written on the
    /// executor thread by `with`, read and cleared from any thread; never held while user code
    /// runs.
    poison: Mutex<Option<String>>,
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
        Pinned { exec, state, poison: Mutex::new(None) }
    }

    /// Runs `f` with exclusive access to the state, on the state's thread, and returns its
    /// value. Same rules as [`PinnedExecutor::run`]: `f` may borrow from the caller, and after
    /// shutdown it is `Err(Shutdown)`.
    ///
    /// A panic in `f` is `Err(Panicked)` and [poisons](Self#poisoning) the state: later
    /// calls return `Err(Panicked("state poisoned by an earlier panic: …"))` without running
    /// their closure until [`clear_poison`](Self::clear_poison).
    ///
    /// Calling `with` again from inside `f` (on the same state) would alias `&mut S`: it
    /// returns `Err(InvalidArgument)` instead.
    pub fn with<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut S) -> R + Send,
        R: Send,
    {
        self.access(f, false)
    }

    /// Like [`with`](Self::with), but runs `f` even if the state is poisoned: to look at
    /// state that a panic may have left half-updated, or to repair it before
    /// [`clear_poison`](Self::clear_poison). It does not clear the poison itself; a panic in
    /// `f` poisons the state as in `with` (keeping the first panic's message if it already was).
    pub fn with_poisoned<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut S) -> R + Send,
        R: Send,
    {
        self.access(f, true)
    }

    /// Whether a panic inside [`with`](Self::with) (or `with_poisoned`) poisoned the state and
    /// [`clear_poison`](Self::clear_poison) was not called since. Any thread; does not wait
    /// for the executor.
    pub fn is_poisoned(&self) -> bool {
        self.poison_lock().is_some()
    }

    /// Lifts the poison: later [`with`](Self::with) calls run again. Call it once the state
    /// is known to be consistent (repaired with [`with_poisoned`](Self::with_poisoned), or
    /// consistent whatever the panic interrupted). Any thread; a no-op when not poisoned.
    pub fn clear_poison(&self) {
        *self.poison_lock() = None;
    }

    fn poison_lock(&self) -> MutexGuard<'_, Option<String>> {
        lock_poison(&self.poison)
    }

    fn access<F, R>(&self, f: F, even_if_poisoned: bool) -> Result<R>
    where
        F: FnOnce(&mut S) -> R + Send,
        R: Send,
    {
        let state = self.state;
        let poison = &self.poison;
        self.exec
            .run(move || {
                // SAFETY:
                // - This closure runs on the executor thread (through `run`, queued or inline
                //   on that same thread): the only thread that ever dereferences the pointer.
                // - The cell lives until the worker loop has returned, and no job runs after
                //   that (the queue is closed and drained first).
                let cell = unsafe { state.get() };
                let _busy = cell.enter()?;
                if !even_if_poisoned {
                    if let Some(first) = lock_poison(poison).as_ref() {
                        return Err(Error::Panicked(format!(
                            "state poisoned by an earlier panic: {first}"
                        )));
                    }
                }
                // SAFETY:
                // - `enter` succeeded: no other `&mut S` exists (jobs on this thread run one
                //   at a time and nested `with` is refused), so this borrow is exclusive for
                //   the duration of `f`.
                let value = unsafe { &mut *cell.value.get() };
                // Caught here, not by `run`, so that the panic poisons the state first.
                catch_unwind(AssertUnwindSafe(|| f(value))).map_err(|payload| {
                    let err = panic_error(payload);
                    if let Error::Panicked(message) = &err {
                        lock_poison(poison).get_or_insert_with(|| message.clone());
                    }
                    err
                })
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

fn lock_poison(poison: &Mutex<Option<String>>) -> MutexGuard<'_, Option<String>> {
    poison.lock().unwrap_or_else(PoisonError::into_inner)
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
