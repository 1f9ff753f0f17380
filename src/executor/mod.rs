//! Pinned executors: OS threads of their own, for native code that must always run on the
//! same thread.
//!
//! # Why
//!
//! A goroutine is not a thread. Between two cgo calls it may move to another OS thread, so
//! native state that is tied to a thread — a thread-affine C library, a GL context, an `Rc`,
//! thread-local "last error" slots, per-thread signal masks — cannot be reached from Go
//! directly. `runtime.LockOSThread` helps only the one goroutine that holds the lock. A
//! [`PinnedExecutor`] inverts the problem: it owns one OS thread, created by Rust with the
//! signal mask you choose (by default the Go runtime's asynchronous signals, SIGURG and
//! SIGPROF, blocked from its first instruction), and any number of Go or Rust threads send it
//! closures to run there.
//!
//! # Anatomy
//!
//! - [`PinnedExecutor`]: the thread and its FIFO queue. [`run`](PinnedExecutor::run) sends a
//!   closure and waits for its value; the closure may borrow from the caller, like
//!   [`std::thread::scope`], because `run` does not return — not even by unwinding — before
//!   the job is finished. [`submit`](PinnedExecutor::submit) queues a `'static` closure and
//!   returns a [`Ticket`].
//! - [`Ticket<R>`]: wait, wait with a timeout, poll, [cancel](Ticket::cancel) a job that has
//!   not started, or get a [file descriptor](Ticket::fd) that becomes readable when the result
//!   is ready, so that a Go goroutine can wait in the netpoller instead of holding an OS thread.
//! - [`Pinned<S>`]: an executor that owns state `S` created by an init closure on its thread.
//!   `S` may be `!Send`; [`with`](Pinned::with) reaches it; it is dropped on its thread. A
//!   panic inside `with` [poisons](Pinned#poisoning) it, as a panic poisons a `Mutex`.
//! - [`PinnedPool`]: a fixed set of executors with key affinity (same key, same thread) and
//!   idle-first placement: blocking work on a bounded number of OS threads.
//! - [`Completions<R>`]: one queue and one file descriptor for many jobs
//!   ([`submit_to`](PinnedPool::submit_to)): each reports a [`Completion`] (its [`PoolJob`]'s
//!   id and result), so an event loop waits for any number of jobs with one fd and no thread
//!   per job, or a consumer expecting a fast answer spins on it without a system call.
//! - [`ExecutorBuilder`]: name, stack size, signal mask and spin window.
//!
//! # Failure semantics
//!
//! - A job that panics is `Err(Error::Panicked(message))` (the message of a `&str` or `String`
//!   payload, else `"non-string panic payload"`, followed by the panic's location, `at
//!   src/job.rs:12:5`, see [`record_panic_locations`](crate::ffi::record_panic_locations)); the
//!   executor keeps serving.
//! - Shutdown (explicit, or by dropping the executor) refuses new work with `Err(Shutdown)`,
//!   lets the running job finish, fails every queued job with `Err(Shutdown)` and joins the
//!   thread. Every job is run exactly once or reported as `Shutdown` (or `Cancelled`) to its
//!   waiter — never lost, never run twice. A job that never returns blocks shutdown;
//!   [`shutdown_timeout`](PinnedExecutor::shutdown_timeout) returns `Err(Timeout)` instead,
//!   after which dropping the executor detaches its thread rather than wait again (the thread
//!   exits by itself when the job returns).
//! - On the executor's own thread, `run` runs inline, waiting on a ticket of a job that has
//!   not started runs it inline, and `shutdown` closes the executor without waiting for itself.
//!   A job that waits for its own ticket gets `Err(InvalidArgument)` at once (it cannot finish
//!   while it waits for itself).
//!
//! # Latency
//!
//! Waking a parked thread costs tens of microseconds on a VM (~75 µs per round trip measured
//! here), while two spinning threads hand a job over in well under a microsecond. So both
//! sides of a handoff spin — `spin_loop` first, then `yield_now` so a busy machine is not
//! starved — for a bounded window ([`ExecutorBuilder::spin`], default [`DEFAULT_SPIN`]) before
//! parking: the idle executor waiting for work, and the caller waiting for the result. An idle
//! executor therefore burns at most one window of CPU after its last job, then sleeps.
//!
//! When the scheduler puts the caller and the executor thread on one CPU (it often moves a
//! woken thread to its waker's CPU), spinning cannot help: each side records the CPU it runs
//! on, and a waiter whose counterpart was last seen on its own CPU yields at once instead of
//! spinning first. A round trip then costs about two context switches (~3–4 µs here) instead
//! of ~0.4 µs.
//!
//! # Example
//!
//! ```
//! use gobridge::executor::{Pinned, PinnedExecutor};
//! use std::cell::RefCell;
//!
//! // A thread-affine resource (here an Rc<RefCell<..>>, which is neither Send nor Sync).
//! let log = Pinned::new("logger", || std::rc::Rc::new(RefCell::new(Vec::<String>::new())))?;
//! let line = String::from("hello");
//! log.with(|l| l.borrow_mut().push(line.clone()))?; // borrows `line` from this frame
//! assert_eq!(log.with(|l| l.borrow().len())?, 1);
//!
//! let exec = PinnedExecutor::new("jobs")?;
//! let ticket = exec.submit(|| 2 + 2)?;
//! assert_eq!(ticket.wait()?, 4);
//! assert!(matches!(exec.run(|| panic!("boom")), Err(gobridge::Error::Panicked(m)) if m.starts_with("boom at ")));
//! exec.shutdown()?;
//! assert_eq!(exec.run(|| ()), Err(gobridge::Error::Shutdown));
//! # Ok::<(), gobridge::Error>(())
//! ```
//!
//! # Limitations
//!
//! - One thread per executor, one job at a time: a long job delays every job behind it.
//! - Spinning trades CPU for latency: with many executors busy-waiting on a small machine,
//!   lower the spin window (or set it to zero).
//! - A job that never returns cannot be interrupted; shutdown can only stop waiting for it.
//! - Tickets dropped without waiting detach their job (it still runs).

mod builder;
mod cancel;
mod completions;
#[allow(unsafe_code)] // a payload that is neither Send nor Sync, finished on its own thread
mod home;
#[allow(unsafe_code)] // a job's queue link and closure cell, each touched by one thread at a time
mod job;
#[allow(unsafe_code)] // state that only the executor thread touches, reached through a pointer
mod pinned;
mod pinned_executor;
mod pinned_pool;
#[allow(unsafe_code)] // the closure cell, touched by the one thread that claimed the job
mod pool_job;
#[allow(unsafe_code)] // the lock-free stack of job links; `run`'s job in its waiter's frame
mod queue;
#[allow(unsafe_code)] // the result cell, written by the claimer and read by the owner
mod slot;
#[allow(unsafe_code)] // sched_getcpu
mod spin;
mod ticket;

#[cfg(all(test, loom))]
mod loom_tests;

pub use builder::{DEFAULT_SPIN, ExecutorBuilder};
pub use cancel::{CancelToken, cancelled, check_cancelled};
pub use completions::{Completion, Completions, Poller};
pub use pinned::Pinned;
pub use pinned_executor::PinnedExecutor;
pub use pinned_pool::{PinnedPool, PoolBuilder};
pub use pool_job::PoolJob;
pub use ticket::Ticket;

#[cfg(feature = "capi")]
pub(crate) use ticket::TicketWatch;

pub(crate) use home::Home;
