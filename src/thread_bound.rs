//! [`ThreadBound<T>`]: a value usable only on the OS thread that created it (documented on
//! the type, which the crate root re-exports).

use crate::executor::Home;
use crate::ffi::drop_quietly;
use crate::{Error, Result, ThreadId, current_thread};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static LEAKED: AtomicU64 = AtomicU64::new(0);
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's process-unique token, 0 until first use. `const` and without a
    /// destructor, so it stays readable while other thread-locals are being destroyed.
    static TOKEN: Cell<u64> = const { Cell::new(0) };
}

/// A process-unique identity of the calling thread (never reused, unlike kernel tids).
fn thread_token() -> u64 {
    TOKEN
        .try_with(|token| {
            let mut t = token.get();
            if t == 0 {
                t = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
                token.set(t);
            }
            t
        })
        // Unreachable for a const, destructor-less thread-local; a fresh token is "not the
        // owner", which is the safe answer.
        .unwrap_or_else(|_| NEXT_TOKEN.fetch_add(1, Ordering::Relaxed))
}

/// A value usable only on the OS thread that created it.
///
/// # Why
///
/// Go holds native objects behind handles, and the goroutine that calls back with a handle may
/// be on any OS thread. A value that is tied to its thread (an `Rc`, a `RefCell` shared with
/// thread-locals, a handle into a thread-affine C library) must then be *carried* anywhere but
/// *touched* only at home. `ThreadBound<T>` is that wrapper: it is `Send + Sync`, so it can sit
/// in a handle table, and every access checks the calling thread and returns
/// [`Error::WrongThread`] (with both thread ids) instead of panicking or racing.
///
/// # Anatomy
///
/// - [`new`](ThreadBound::new) records the creating thread: its kernel tid (for reporting) and
///   a process-unique thread token (for checking: kernel tids are reused after a thread exits,
///   tokens never are).
/// - [`get`](ThreadBound::get), [`get_mut`](ThreadBound::get_mut) and
///   [`into_inner`](ThreadBound::into_inner) succeed on the owner thread only.
/// - Dropping it on the owner thread drops `T` there. Dropping it anywhere else never runs
///   `T`'s destructor on that thread:
///   - if it was created on a [`PinnedExecutor`](crate::executor::PinnedExecutor) or
///     [`Pinned`](crate::executor::Pinned) thread, the value is **sent home**: queued to that
///     executor and dropped there, in order with its other jobs;
///   - otherwise, or if that executor has shut down, the value is **leaked** (its memory and
///     whatever it owns are never freed) and [`leaked_count`](ThreadBound::leaked_count) goes
///     up by one, so a test or a metrics endpoint can notice.
///
/// # Example
///
/// ```
/// use gobridge::{Error, ThreadBound};
/// use std::rc::Rc;
///
/// let bound = ThreadBound::new(Rc::new(5));
/// assert_eq!(**bound.get()?, 5);
/// let bound = std::thread::scope(|s| {
///     s.spawn(|| {
///         assert!(matches!(bound.get(), Err(Error::WrongThread { .. })));
///         bound // moved across threads, never touched there
///     })
///     .join()
///     .unwrap()
/// });
/// assert_eq!(Rc::strong_count(bound.get()?), 1);
/// # Ok::<(), gobridge::Error>(())
/// ```
///
/// # Limitations
///
/// - `T: 'static`: a value sent home is dropped later, asynchronously, so it may not borrow.
/// - A value created on a plain thread and dropped elsewhere is leaked, by design: the only
///   alternatives are running its destructor on the wrong thread or blocking the dropper.
/// - The check costs a thread-local read per access.
///
/// # The bug it prevents
///
/// A non-`Send` value inside a `ThreadBound` can go to another thread, but cannot be reached
/// there without the check:
///
/// ```compile_fail,E0277
/// let bound = gobridge::ThreadBound::new(std::rc::Rc::new(1));
/// std::thread::spawn(move || {
///     let rc: std::rc::Rc<i32> = bound.into_inner().unwrap();
///     rc // error: `Rc<i32>` cannot be sent between threads
/// });
/// ```
pub struct ThreadBound<T: 'static> {
    /// `None` only transiently, in `into_inner` and `drop`.
    value: Option<T>,
    owner: ThreadId,
    token: u64,
    /// The executor whose thread created the value, if any.
    home: Option<Home>,
}

// SAFETY:
// - Sending a `ThreadBound<T>` moves `T`'s bytes to another thread; moving runs no code of
//   `T`. Every access to `T` (`get`, `get_mut`, `into_inner`, `Debug`, and the destructor)
//   first checks that the calling thread is the owner; a drop elsewhere either ships the value
//   to a job that runs on the owner thread (checked again there) or leaks it.
unsafe impl<T: 'static> Send for ThreadBound<T> {}
// SAFETY:
// - Through `&ThreadBound<T>` a foreign thread can read only the owner id and token (plain
//   data); `get` hands out `&T` only on the owner thread, so `&T` never exists on two threads
//   at once and `T: Sync` is not needed.
unsafe impl<T: 'static> Sync for ThreadBound<T> {}

impl<T: 'static> ThreadBound<T> {
    /// Binds `value` to the calling thread.
    pub fn new(value: T) -> Self {
        ThreadBound {
            value: Some(value),
            owner: current_thread(),
            token: thread_token(),
            home: Home::current(),
        }
    }

    /// The kernel thread id of the owner thread.
    pub fn owner(&self) -> ThreadId {
        self.owner
    }

    /// Whether the calling thread is the owner.
    pub fn is_owner(&self) -> bool {
        thread_token() == self.token
    }

    fn check(&self) -> Result<()> {
        if self.is_owner() {
            Ok(())
        } else {
            Err(Error::WrongThread { owner: self.owner, current: current_thread() })
        }
    }

    /// The value, on the owner thread; `Err(WrongThread)` elsewhere.
    pub fn get(&self) -> Result<&T> {
        self.check()?;
        self.value.as_ref().ok_or(Error::Shutdown)
    }

    /// The value, mutably, on the owner thread; `Err(WrongThread)` elsewhere.
    pub fn get_mut(&mut self) -> Result<&mut T> {
        self.check()?;
        self.value.as_mut().ok_or(Error::Shutdown)
    }

    /// Unwraps the value on the owner thread. Elsewhere `Err(WrongThread)`, and the value is
    /// dropped as a foreign drop (sent home or leaked).
    pub fn into_inner(mut self) -> Result<T> {
        self.check()?;
        self.value.take().ok_or(Error::Shutdown)
    }

    /// How many values were leaked because they were dropped off their thread with no live
    /// executor to send them home to (process-wide, since start).
    pub fn leaked_count() -> u64 {
        LEAKED.load(Ordering::Relaxed)
    }
}

impl<T: 'static> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        let Some(value) = self.value.take() else { return };
        if self.is_owner() {
            drop(value);
            return;
        }
        let refused = match &self.home {
            // SAFETY:
            // - `drop_at_home` drops the value only on the thread whose token it carries (the
            //   owner's) and forgets it anywhere else, as `finish_there` requires.
            Some(home) => unsafe { home.finish_there((value, self.token), drop_at_home::<T>) },
            None => Err((value, self.token)),
        };
        if let Err(never_home) = refused {
            // No live executor to send it to: leak it rather than drop it off its thread.
            std::mem::forget(never_home);
            LEAKED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<T: 'static> std::fmt::Debug for ThreadBound<T>
where
    T: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ThreadBound");
        d.field("owner", &self.owner);
        match self.get() {
            Ok(value) => d.field("value", value),
            Err(_) => d.field("value", &format_args!("<on thread {}>", self.owner)),
        };
        d.finish()
    }
}

/// Runs on the owner's executor thread (see [`Home::finish_there`]): drops the value there,
/// and only there.
fn drop_at_home<T>((value, owner_token): (T, u64)) {
    if thread_token() == owner_token {
        drop_quietly(value);
    } else {
        // Not home (only if the queue were dropped elsewhere): never drop it here.
        std::mem::forget(value);
        LEAKED.fetch_add(1, Ordering::Relaxed);
    }
}
