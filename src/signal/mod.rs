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
//!   handlers that would crash a Go process (no SA_ONSTACK); other departures from Go's flags
//!   (no SA_RESTART, a partial mask) are reported apart, as [`advice`](HandlerInfo::advice).
//!
//! # The Go rules, plainly
//! 1. **Every handler in a Go process needs SA_ONSTACK.** Go installs its handlers with
//!    `SA_SIGINFO | SA_ONSTACK | SA_RESTART` and every signal blocked. A handler without
//!    SA_ONSTACK runs on whatever stack the thread was on — a goroutine's small stack — and
//!    when it chains to Go's handler the runtime throws *"non-Go code set up signal handler
//!    without SA_ONSTACK flag"*. gobridge always installs with SA_ONSTACK | SA_SIGINFO and
//!    every signal blocked — Go's flags and mask, exactly, in front of Go's handler — through
//!    its own `sigaction` call, never through `signal-hook-registry`, which installs with
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
//! gobridge's handler goes in front of whatever disposition was there, in a Go process or any
//! other, and **the outcome with it installed is the outcome without it** (each rule below is
//! checked in `tests/signal_outcomes.rs` against the same program without gobridge), or the
//! install is refused (see Limitations):
//! - a function installed with SA_SIGINFO is called as `f(signo, info, context)`; one installed
//!   without it as `f(signo)`. It runs with exactly the thread mask the kernel would have given
//!   it — the interrupted code's mask (from the `ucontext_t`), plus its own `sa_mask`, plus the
//!   signal unless it has SA_NODEFER — so a handler that `siglongjmp`s out leaves the mask
//!   the kernel would have left, and an SA_NODEFER handler nests. (For Go's handlers, whose
//!   mask is full like ours, no system call is needed.)
//! - SA_RESETHAND (one-shot): the first delivery chains to it and, atomically, makes the
//!   chained-to disposition SIG_DFL, as the kernel does; later deliveries get the default
//!   action (the "log, return, refault is fatal" idiom dies of the refault). Uninstall then
//!   restores SIG_DFL, not the spent handler.
//! - SA_RESTART is carried from the previous handler (one installed without it relies on
//!   EINTR); over SIG_DFL/SIG_IGN ours restarts (no call was interrupted there).
//! - SIGCHLD: SA_NOCLDSTOP and SA_NOCLDWAIT are carried into our `sigaction`; over SIG_IGN ours
//!   gets SA_NOCLDWAIT, so children are still reaped by the kernel (`waitpid` gives ECHILD).
//! - SIG_IGN: nothing.
//! - SIG_DFL: what the default would have done, so that observing a signal never changes the
//!   outcome: ignore-by-default signals (SIGCHLD, SIGURG, SIGWINCH) and SIGCONT do nothing;
//!   stop-by-default signals (SIGTSTP, SIGTTIN, SIGTTOU) get the kernel's own default: for the
//!   moment of a thread-directed `raise` the disposition is SIG_DFL and the signal unblocked on
//!   that thread, so the kernel stops the process (parents see WSTOPSIG of that very signal) or,
//!   in an orphaned process group (a daemon), discards the stop; then our disposition and the
//!   mask are put back. Every other signal terminates the process — the handler restores
//!   SIG_DFL and raises the signal again, which is delivered (and kills the process) when the
//!   handler returns, after our actions ran.
//!   To *take over* a terminating signal in a program that is not a Go program (for example
//!   to shut down gracefully on SIGTERM), set it to SIG_IGN before installing (not SIGHUP or
//!   SIGINT: see Limitations); in a Go program, call `signal.Notify` (or `signal.Ignore`) for
//!   it on the Go side.
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
//! - **SIGHUP and SIGINT while ignored are refused** ([`Error::InvalidArgument`](crate::Error)).
//!   A child of `nohup` inherits SIGHUP ignored, a background job of a non-interactive shell
//!   SIGINT; the Go runtime then installs nothing for them and, when the program later calls
//!   `signal.Notify` and `signal.Stop`/`Reset`, puts SIG_IGN back only if `Notify` found
//!   SIG_IGN. With our handler over the SIG_IGN, `Notify` finds ours, `Stop` keeps Go's handler
//!   and the next SIGHUP kills the process (exit 129) where without gobridge it survives. No
//!   emulation can change what the runtime finds, so the install is refused; the program can
//!   observe the signal through `os/signal` (or un-ignore it first, deliberately). This applies
//!   in every process: the crate cannot tell a Go process from another.
//! - When someone replaces gobridge's handler, gobridge never installs over theirs: their
//!   handler may chain back to ours, and ours chaining to theirs would recurse until the
//!   signal stack overflows. [`install`] returns [`Error::HandlerReplaced`](crate::Error) for
//!   that signal until gobridge's handler is back (theirs restored what it replaced), the
//!   disposition is SIG_DFL/SIG_IGN, or it is the very handler ours chains to (Go's, back
//!   after `signal.Ignore` and a later `signal.Notify`: a fresh install chains exactly as the
//!   orphaned one does). Meanwhile ours, if theirs chains to it, still chains on to the
//!   disposition it replaced (Go's). In a Go program, `signal.Ignore` replaces ours (and so
//!   does `signal.Notify` for a signal the runtime was not handling); `signal.Notify` for a
//!   signal Go handles already (SIGUSR1, SIGTERM, ...) does not.
//! - gobridge's handler runs on the alternate signal stack (SA_ONSTACK, which Go requires), so
//!   a previous handler installed without SA_ONSTACK now runs there too, and so do deliveries
//!   nested in it (SA_NODEFER). Go's signal stacks are 32 KiB; a thread whose alternate stack
//!   is small (Rust's main-thread stack-overflow guard stack is a few KiB) can overflow it
//!   with nested deliveries where, without gobridge, the handler ran on the thread's stack.
//! - Observing a signal whose disposition runs no handler (SIG_IGN, or SIG_DFL of a signal
//!   that is ignored or stops by default) makes its delivery run one, and a handler makes the
//!   kernel fail the system calls it never restarts (`poll`, `nanosleep`, `epoll_wait`, ... —
//!   see signal(7)) with EINTR on the thread that took the signal; without gobridge those
//!   calls were not interrupted. Every other call restarts (ours has SA_RESTART there).
//! - Races of the default-stop emulation, confined to the moment of its `raise`: a stop signal
//!   another thread takes meanwhile meets SIG_DFL (the same default, but our actions do not see
//!   it); a disposition someone else installs meanwhile is kept, not overwritten with ours;
//!   gobridge's own install and uninstall wait for the moment to pass before reading the
//!   disposition.
//! - The previous disposition is restored through the C library's `sigaction`, which installs
//!   its own signal-return trampoline (SA_RESTORER); a handler installed with a raw
//!   `rt_sigaction` and a private restorer gets the C library's back — equivalent in practice.
//!
//! # Example
//! ```
//! use gobridge::signal::{self, Action, SignalPipe};
//! use gobridge::sigmask::SignalSet;
//! use gobridge::Signal;
//! use nix::sys::signal::raise; // only to send the example its signal
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
