//! [`audit`]: every signal's disposition, and the ones that would crash a Go process.
#![forbid(unsafe_code)]

use super::disposition::{self, OUR_FLAGS, handler_of, mask_of};
use crate::Result;
use crate::sigmask::SignalSet;
use nix::sys::signal::{SigHandler, Signal};

/// One signal's current disposition, as `sigaction` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerInfo {
    /// The signal.
    pub signal: Signal,
    /// A function is installed (not SIG_DFL or SIG_IGN).
    pub handler: bool,
    /// SA_ONSTACK: the handler runs on the alternate signal stack.
    pub on_stack: bool,
    /// SA_SIGINFO: the three-argument form.
    pub siginfo: bool,
    /// SA_RESTART: interrupted system calls are restarted.
    pub restart: bool,
    /// Signals blocked while the handler runs (standard signals only).
    pub mask: SignalSet,
    /// The raw `sa_flags` (including bits such as SA_RESTORER that the C library adds).
    pub flags: i32,
    /// The handler is gobridge's.
    pub ours: bool,
}

impl HandlerInfo {
    /// Whether this disposition is safe in a Go process: no handler at all (SIG_DFL/SIG_IGN),
    /// or a handler with SA_ONSTACK — the one flag whose absence crashes Go (see
    /// [`would_crash_go`](Self::would_crash_go)). A handler can differ from Go's own flags in
    /// other ways and still be safe; [`advice`](Self::advice) lists those differences.
    pub fn go_compatible(&self) -> bool {
        !self.would_crash_go()
    }

    /// Whether this handler would crash a Go process: a function without SA_ONSTACK. When it
    /// runs on a goroutine stack and chains to Go's handler, the runtime throws "non-Go code
    /// set up signal handler without SA_ONSTACK flag" (and a goroutine stack is too small to
    /// run arbitrary handler code anyway).
    pub fn would_crash_go(&self) -> bool {
        self.handler && !self.on_stack
    }

    /// Whether a handler is installed exactly the way Go installs its own: SA_ONSTACK,
    /// SA_SIGINFO and SA_RESTART, with every (catchable) standard signal blocked while it
    /// runs. Always true without a handler.
    pub fn matches_go_flags(&self) -> bool {
        self.advice().is_empty()
    }

    /// How a handler departs from Go's own flags, other than the missing SA_ONSTACK that
    /// [`would_crash_go`](Self::would_crash_go) reports: advice, not a crash. Empty without a
    /// handler. (gobridge's own handler departs from Go's flags only where the handler it
    /// chains to does: it keeps that handler's SA_RESTART choice.)
    pub fn advice(&self) -> Vec<&'static str> {
        let mut advice = Vec::new();
        if !self.handler {
            return advice;
        }
        if !self.siginfo {
            advice.push("no SA_SIGINFO: a handler chained from it cannot get siginfo/ucontext");
        }
        if !self.restart {
            advice.push("no SA_RESTART: system calls it interrupts fail with EINTR");
        }
        if !self.mask_is_full() {
            advice.push("mask does not block every signal: other handlers can interrupt it");
        }
        advice
    }

    fn mask_is_full(&self) -> bool {
        Signal::iterator()
            .filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP))
            .all(|s| self.mask.contains(s))
    }

    fn from_raw(signal: Signal, raw: &libc::sigaction) -> Self {
        let flags = raw.sa_flags;
        HandlerInfo {
            signal,
            handler: !matches!(handler_of(raw), SigHandler::SigDfl | SigHandler::SigIgn),
            on_stack: flags & libc::SA_ONSTACK != 0,
            siginfo: flags & libc::SA_SIGINFO != 0,
            restart: flags & libc::SA_RESTART != 0,
            mask: SignalSet::from(mask_of(raw)),
            flags,
            ours: disposition::is_ours(raw),
        }
    }
}

/// Reads every standard signal's current disposition (SIGKILL and SIGSTOP included; they
/// always report SIG_DFL), in signal-number order.
///
/// # Errors
/// [`Error::Sys`](crate::Error::Sys) if `sigaction` fails.
///
/// ```
/// use gobridge::signal::{self, Action};
/// use gobridge::Signal;
/// use std::sync::atomic::AtomicBool;
///
/// static SEEN: AtomicBool = AtomicBool::new(false);
/// let id = signal::install(Signal::SIGURG, Action::SetFlag(&SEEN))?;
/// let urg = signal::audit()?.into_iter().find(|h| h.signal == Signal::SIGURG).unwrap();
/// assert!(urg.ours && urg.on_stack && urg.siginfo && urg.restart && urg.go_compatible());
/// signal::uninstall(id)?;
/// # Ok::<(), gobridge::Error>(())
/// ```
pub fn audit() -> Result<Vec<HandlerInfo>> {
    Signal::iterator()
        .map(|signal| Ok(HandlerInfo::from_raw(signal, &disposition::read(signal)?)))
        .collect()
}

/// The dispositions a Go process would not tolerate: handlers without SA_ONSTACK (they crash
/// it — see [`HandlerInfo::would_crash_go`]). Handlers that have SA_ONSTACK but otherwise
/// differ from Go's flags (no SA_RESTART, a partial mask — a Crashpad-style handler) are not
/// in it; [`HandlerInfo::advice`] describes those. An empty result means no handler in the
/// process would crash Go.
///
/// # Errors
/// As [`audit`].
pub fn audit_go_compat() -> Result<Vec<HandlerInfo>> {
    Ok(audit()?.into_iter().filter(|h| !h.go_compatible()).collect())
}

const _: () = assert!(OUR_FLAGS & libc::SA_ONSTACK != 0);
