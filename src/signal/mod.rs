//! Async-signal-safe, write-only signal handlers that coexist with the Go runtime.
//!
//! # Anatomy
//! - [`Action`]: what a handler does — one of four things (write the signal number to an fd,
//!   write a fixed message to an fd, set an `AtomicBool`, add to an `AtomicU64`). Nothing else
//!   can be expressed, so a handler cannot allocate, lock, panic or call a function that is
//!   not async-signal-safe.
//! - [`install`] / [`uninstall`] with an [`ActionId`]: actions on one signal share one
//!   installed handler; uninstalling the last restores exactly what was there before.
//! - [`SignalPipe`]: signals delivered to a reader (blocking [`recv`](SignalPipe::recv),
//!   non-blocking [`try_recv`](SignalPipe::try_recv), or an [`fd`](SignalPipe::fd) for an
//!   event loop or Go's netpoller), counting instead of losing signals when the pipe is full.
//! - [`audit`] / [`audit_go_compat`] → [`HandlerInfo`]: every signal's disposition, and the
//!   handlers that would crash a Go process.
//!
//! # The Go rules, plainly
//! 1. **Every handler in a Go process needs SA_ONSTACK.** Go installs its handlers with
//!    `SA_SIGINFO | SA_ONSTACK | SA_RESTART` and every signal blocked. A handler without
//!    SA_ONSTACK runs on whatever stack the thread was on — a goroutine's small stack — and
//!    when it chains to Go's handler the runtime throws *"non-Go code set up signal handler
//!    without SA_ONSTACK flag"*. gobridge installs with exactly Go's flags and mask, through
//!    its own `sigaction` call — never through `signal-hook-registry`, which installs with
//!    `SA_RESTART | SA_SIGINFO` only.
//! 2. **Never steal Go's signals.** gobridge's handler runs its actions and then calls the
//!    handler that was installed before it (Go's, in a Go process) with the same arguments, so
//!    preemption (SIGURG), profiling (SIGPROF) and `os/signal.Notify` keep working.
//! 3. **Our actions run first**, then the previous handler: Go's default reaction to SIGTERM or
//!    SIGINT is to exit the process, and our write must happen before that.
//! 4. Uninstall puts back exactly the disposition it found — Go's handler, with Go's flags —
//!    unless someone replaced ours meanwhile ([`Error::HandlerReplaced`](crate::Error)); then
//!    theirs stays.
//!
//! # Chaining, precisely
//! The previous disposition is honoured as follows:
//! - a function installed with SA_SIGINFO is called as `f(signo, info, context)`; one installed
//!   without it as `f(signo)`;
//! - SIG_IGN: nothing;
//! - SIG_DFL: what the default would have done, so that observing a signal never changes the
//!   outcome: ignore-by-default signals (SIGCHLD, SIGURG, SIGWINCH) and SIGCONT do nothing;
//!   stop-by-default signals (SIGTSTP, SIGTTIN, SIGTTOU) stop the process; every other signal
//!   terminates it — the handler restores SIG_DFL and raises the signal again, which is
//!   delivered (and kills the process) when the handler returns, after our actions ran.
//!   To *take over* a terminating signal in a program that is not a Go program (for example
//!   to shut down gracefully on SIGTERM), set it to SIG_IGN before installing; in a Go
//!   program, call `signal.Notify` (or `signal.Ignore`) for it on the Go side.
//!
//! The previous handler's own `sa_mask`, SA_NODEFER and SA_RESETHAND are not emulated: it runs
//! inside gobridge's handler, with every signal blocked.
//!
//! # How the handler reads the table
//! Install and uninstall are serialised by a lock the handler never takes. The handler reads a
//! fixed-size array of slots per signal with atomics only, inside an epoch-counted critical
//! section; uninstall clears the slot and waits for the critical sections that began before it
//! (never for later ones), so when it returns no handler uses the action any more and its fd
//! (or [`SignalPipe`] state) may be released. The handler leaves the critical section before it
//! chains (a previous handler need not return). A loom model checks install, uninstall and
//! slot reuse against a racing handler. `errno` is saved on entry and restored on exit.
//!
//! # Limitations
//! - Standard signals only (1..=31); real-time signals are out of scope. At most 16 actions per
//!   signal.
//! - Fds given to [`Action::WriteSignalNumber`] / [`Action::WriteMessage`] are switched to
//!   `O_NONBLOCK` (unless regular files), which dups of them share, and must stay open until
//!   [`uninstall`] returns. A message is written with one `write`; a short write is not
//!   completed.
//! - The kernel does not queue standard signals: deliveries that happen while one is pending
//!   merge into one, before any handler runs.
//! - Actions on synchronous signals (SIGSEGV, …) run before Go turns the fault into a panic;
//!   that works, but is rarely what you want.
//! - In a child after `fork()` without `exec`, an uninstall can wait forever if another thread
//!   of the parent was inside the handler at the moment of the fork (its in-flight count was
//!   copied, the thread was not).
//! - When someone replaces gobridge's handler, gobridge never installs over theirs: their
//!   handler may chain back to ours, and ours chaining to theirs would recurse until the
//!   signal stack overflows. [`install`] returns [`Error::HandlerReplaced`](crate::Error) for
//!   that signal until gobridge's handler is back (theirs restored what it replaced) or the
//!   disposition is SIG_DFL/SIG_IGN. Meanwhile ours, if theirs chains to it, still chains on
//!   to the disposition it replaced (Go's).
//! - The previous disposition is restored through the C library's `sigaction`, which installs
//!   its own signal-return trampoline (SA_RESTORER); a handler installed with a raw
//!   `rt_sigaction` and a private restorer gets the C library's back — equivalent in practice.
//!
//! # Example
//! ```
//! use gobridge::signal::{self, Action, SignalPipe};
//! use gobridge::sigmask::SignalSet;
//! use nix::sys::signal::{Signal, raise};
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! static RESIZED: AtomicBool = AtomicBool::new(false);
//! let flag = signal::install(Signal::SIGWINCH, Action::SetFlag(&RESIZED))?;
//! let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGWINCH]))?;
//!
//! raise(Signal::SIGWINCH)?;
//! assert!(RESIZED.load(Ordering::SeqCst));
//! assert_eq!(pipe.recv()?, Signal::SIGWINCH);
//!
//! assert!(signal::audit_go_compat()?.iter().all(|h| !h.ours));
//! pipe.close()?;
//! signal::uninstall(flag)?;
//! # Ok::<(), gobridge::Error>(())
//! ```

// Under `--cfg loom` only the table (and its model) is built.
#![cfg_attr(loom, allow(dead_code))]

#[allow(unsafe_code)] // fstat/fcntl of the fd a pipe action writes to
mod action;
#[allow(unsafe_code)] // the previous disposition the handler reads without a lock
mod table;

#[cfg(not(loom))]
mod audit;
#[cfg(not(loom))]
#[allow(unsafe_code)] // sigaction and the raw struct it fills
mod disposition;
#[cfg(not(loom))]
#[allow(unsafe_code)] // the signal handler itself, and chaining to the previous one
mod handler;
#[cfg(not(loom))]
#[allow(unsafe_code)] // swaps dispositions (install, uninstall)
mod registry;
#[cfg(not(loom))]
mod signal_pipe;

pub use action::{Action, ActionId};
#[cfg(not(loom))]
pub use audit::{HandlerInfo, audit, audit_go_compat};
#[cfg(not(loom))]
pub use registry::{install, uninstall};
#[cfg(not(loom))]
pub use signal_pipe::SignalPipe;
