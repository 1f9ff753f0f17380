//! Safe FFI bridging primitives for Rust code that runs inside a Go process over cgo.
//!
//! A Go process is not an ordinary host for native code. Its goroutines move between OS
//! threads after any call; its runtime owns the signal handlers and preempts goroutines with
//! SIGURG and samples them with SIGPROF; its memory may be lent to C only for the length of one
//! call; and every blocking cgo call holds an OS thread. Hand-written C shims get these wrong
//! in ways that show only in production. gobridge is the set of primitives that get them right,
//! each proven inside a real Go process by the harness in `go-harness/`.
//!
//! # Anatomy
//!
//! | Module | Primitive | The crash it turns into an error |
//! |---|---|---|
//! | [`executor`] | [`PinnedExecutor`](executor::PinnedExecutor), [`Pinned<S>`](executor::Pinned), [`PinnedPool`](executor::PinnedPool), [`Ticket`](executor::Ticket), [`Completions`](executor::Completions) | thread-affine state reached from whichever thread a goroutine happens to run on; one OS thread per blocking request |
//! | crate root | [`ThreadBound<T>`] | a goroutine that migrated threads touching a thread-affine value: [`Error::WrongThread`] instead of UB |
//! | [`sigmask`] | [`block`](sigmask::block) → [`MaskGuard`](sigmask::MaskGuard), [`spawn_masked`](sigmask::spawn_masked), [`SignalSet`](sigmask::SignalSet) | EINTR storms in native blocking calls under pprof and preemption; a mask left changed on a Go thread |
//! | [`signal`] | [`install`](signal::install) of an [`Action`](signal::Action), [`SignalPipe`](signal::SignalPipe), [`audit`](signal::audit) | "non-Go code set up signal handler without SA_ONSTACK flag"; a handler that allocates or locks |
//! | [`buffer`] | [`ForeignSlice`](buffer::ForeignSlice), [`ForeignSliceMut`](buffer::ForeignSliceMut), [`OwnedBuf`](buffer::OwnedBuf) | a Go slice kept past its call; a double free; a dangling `0x1` pointer that trips Go's checks |
//! | [`handle`] | [`HandleTable`](handle::HandleTable), [`Handle`](handle::Handle) | a stale or forged handle from Go dereferenced as a pointer |
//! | [`ffi`] | [`guard`](ffi::guard), [`call`](ffi::call), [`Status`](ffi::Status) | a Rust panic unwinding out of `extern "C"` (an abort) |
//! | `capi` (feature) | the `gobridge_*` C ABI, header `include/gobridge.h` | hand-written shims for all of the above |
//!
//! # Rules of a Go process that gobridge follows
//!
//! These are the facts every primitive is built on (sources: Go's `os/signal/doc.go`,
//! `runtime/signal_unix.go`, `cmd/cgo/doc.go`):
//!
//! 1. A signal handler installed by non-Go code must use `SA_ONSTACK` (gobridge installs with
//!    `SA_ONSTACK | SA_SIGINFO | SA_RESTART`) and chain to the handler it replaced, which in a Go
//!    process is Go's own.
//! 2. SIGURG (preemption) and SIGPROF (profiling) are the runtime's asynchronous signals. Go does
//!    not use SIGUSR1.
//! 3. Non-Go code must not persistently change the mask of a thread the Go runtime created.
//!    gobridge sets masks from birth on threads it creates, and changes a Go thread's mask only
//!    within one call, restored exactly with `SIG_SETMASK`.
//! 4. Synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) are never blocked, and
//!    SIGKILL/SIGSTOP cannot be: asking is [`Error::Unblockable`].
//! 5. Thread-local native state is only meaningful inside one cgo call or under
//!    `runtime.LockOSThread`. So errors travel in-band (a [`Status`](ffi::Status) out-parameter),
//!    never through a thread-local "last error".
//! 6. Go memory passed to native code is valid for that call only, and an empty Go slice is
//!    `NULL` with length 0: views are borrows that end with the call.
//! 7. A Rust panic must not leave an `extern "C"` function, and a Go panic must not unwind
//!    through Rust frames.
//!
//! # A tour
//!
//! Thread-affine state on a thread of its own, reached from any thread:
//!
//! ```
//! use gobridge::executor::Pinned;
//! use std::rc::Rc;
//!
//! // `Rc` is `!Send`: it is created, used and dropped on the executor's thread only.
//! let counter = Pinned::new("counter", || Rc::new(std::cell::Cell::new(0u32)))?;
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| counter.with(|c| c.set(c.get() + 1)).unwrap());
//!     }
//! });
//! assert_eq!(counter.with(|c| c.get())?, 4);
//! # Ok::<(), gobridge::Error>(())
//! ```
//!
//! A value that refuses to be touched from the wrong thread:
//!
//! ```
//! use gobridge::{Error, ThreadBound};
//!
//! let bound = ThreadBound::new(vec![1, 2, 3]);
//! assert_eq!(bound.get()?.len(), 3);
//! std::thread::scope(|s| {
//!     s.spawn(|| assert!(matches!(bound.get(), Err(Error::WrongThread { .. }))));
//! });
//! # Ok::<(), gobridge::Error>(())
//! ```
//!
//! A scoped signal mask, restored exactly when the guard drops:
//!
//! ```
//! use gobridge::sigmask::{self, SignalSet};
//!
//! let before = sigmask::current_mask()?;
//! {
//!     let _guard = sigmask::block(&SignalSet::go_runtime())?;
//!     assert!(SignalSet::go_runtime().is_subset(&sigmask::current_mask()?));
//! }
//! assert_eq!(sigmask::current_mask()?, before);
//! # Ok::<(), gobridge::Error>(())
//! ```
//!
//! A foreign buffer seen for the length of a call:
//!
//! ```
//! use gobridge::buffer::ForeignSlice;
//!
//! extern "C" fn sum(view: ForeignSlice<'_, u8>) -> u64 {
//!     view.get().map(|bytes| bytes.iter().map(|&b| u64::from(b)).sum()).unwrap_or(0)
//! }
//! assert_eq!(sum(ForeignSlice::from_slice(&[1, 2, 3])), 6);
//! assert_eq!(sum(ForeignSlice::empty()), 0);
//! ```
//!
//! Signals are process-global, so their example lives in [`signal`]'s documentation and in
//! `examples/signal_pipe.rs`.
//!
//! # Errors
//!
//! Every fallible function returns [`Result`] with the one [`Error`] type. Each variant has a
//! stable [`code`](Error::code) that the C ABI reports; bad input gets a documented error and
//! changes nothing.
//!
//! # Features
//!
//! - `capi`: the `extern "C"` functions (`gobridge_*`). Re-export them from your own
//!   staticlib (see the `capi/` crate in the repository): a Go binary can link only one Rust
//!   staticlib, since two collide on the Rust runtime's symbols.
//! - `harness`: test-only; adds the probes the Go harness's tests, demo and benchmarks call
//!   (`gobridge_sum`, `gobridge_fill`, `gobridge_bench_noop*`, `gobridge_sleep_interruptible`).
//!   Not product ABI: the header declares them only under `#if defined(GOBRIDGE_HARNESS)`.
//! - `signal-hook-compare`: test-only; lets the Go harness install a handler through
//!   signal-hook-registry to show the crash gobridge avoids. Never enable it in production.
//!
//! # Limitations
//!
//! - Linux first (x86_64 and aarch64); the thread ids are kernel tids (`gettid`) and several
//!   tests read `/proc`. Other Unixes are not supported yet.
//! - Only the standard signals that `nix`'s `Signal` names; real-time signals are out of scope.
//! - A job that never returns blocks its executor's shutdown; use
//!   [`shutdown_timeout`](executor::PinnedExecutor::shutdown_timeout).
//! - Builds with `panic = "abort"` cannot turn panics into errors.
//!
//! # Unsafe code
//!
//! The crate is `#![deny(unsafe_code)]`; the modules that need `unsafe` say so with an
//! `#[allow(unsafe_code)]` on their `mod` line (with the reason beside it), and every other
//! file is `#![forbid(unsafe_code)]`. These are all of them:
//!
//! | Module | Why it needs `unsafe` |
//! |---|---|
//! | `executor::queue`, `executor::job`, `executor::pool_job`, `executor::slot` | the lock-free intrusive job stack's links (each owned by the pusher until published, then by the worker); `run`'s job, which lives in its caller's frame with its lifetime erased for the handoff (the caller waits until the worker has let go of it); a job's closure cell (taken by the one claimer) and its result cell (written before READY, read after), as the loom models check |
//! | `executor::home` | a value that is neither `Send` nor `Sync`, carried to its own executor thread to be dropped there (`ThreadBound`'s only hook into the executor) |
//! | `executor::spin` | `sched_getcpu` |
//! | `executor::pinned` | [`Pinned`](executor::Pinned)'s state, reached on the executor thread through a pointer |
//! | `thread_bound` | `Send`/`Sync` of a value only its owner thread touches, and dropping it there |
//! | `thread_id` | `pthread_atfork` |
//! | `sigmask::eintr`, `sigmask::kernel_bits` | `nanosleep`; the kernel's bits of a `sigset_t` |
//! | `signal::handler` | the signal handler itself and the chain to the previous one |
//! | `signal::disposition`, `signal::registry`, `signal::table`, `signal::action` | `sigaction`, and the previous disposition the handler reads without a lock; `fstat`/`fcntl` of a pipe action's fd |
//! | `buffer::foreign_slice`, `buffer::foreign_slice_mut`, `buffer::owned_buf` | a caller's pointer and length become a slice; Rust memory is allocated, handed to Go and freed |
//! | `ffi::guard`, `ffi::out`, `ffi::status` | writes through the caller's status, message buffer and out-pointers |
//! | `capi` (all of it) | `#[unsafe(no_mangle)] extern "C"` functions: one `unsafe` block each, around [`ffi::call`], [`ffi::call_out`] or [`ffi::call_out_slice`] |
//!
//! Every block carries a `// SAFETY:` comment naming each invariant it relies on
//! (`clippy::undocumented_unsafe_blocks` is denied, and so is `unsafe_op_in_unsafe_fn`).
//! `CONTRIBUTING.md` says where new `unsafe` may go.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]

pub mod buffer;
pub mod executor;
pub mod ffi;
pub mod handle;
pub mod sigmask;
pub mod signal;

mod error;
mod primitive;
#[allow(unsafe_code)] // Send/Sync of a value only its owner thread touches; dropping it there
mod thread_bound;
#[allow(unsafe_code)] // pthread_atfork (and fork in its test)
mod thread_id;

#[cfg(feature = "capi")]
#[cfg_attr(docsrs, doc(cfg(feature = "capi")))]
#[allow(unsafe_code)] // every file exports `#[unsafe(no_mangle)] extern "C"` functions
pub mod capi;

pub use error::{BufferError, Error, Result, codes};
/// The errno type of [`Error::Sys`], re-exported for the same reason.
pub use nix::errno::Errno;
/// The signal type gobridge's API takes (`SignalSet::from_signals`, `Error::Unblockable`, ...),
/// re-exported so that gobridge is the only dependency an author needs.
pub use nix::sys::signal::Signal;
pub use thread_bound::ThreadBound;
pub use thread_id::{ThreadId, current_thread};
