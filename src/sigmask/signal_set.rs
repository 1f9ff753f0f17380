//! [`SignalSet`]: a set of signals, with the presets a Go process needs.
#![forbid(unsafe_code)]

use crate::{Error, Result};
use nix::sys::signal::{SigSet, Signal};

/// A set of signals: a newtype over the platform `sigset_t` (through `nix`'s [`SigSet`]).
///
/// Only the standard signals that [`Signal`] names can be members; real-time signals are out
/// of scope. `Debug` prints signal names, so a mask in a test failure reads as
/// `{SIGURG, SIGPROF}` rather than a bit pattern.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalSet(SigSet);

/// Signals that must never be blocked: the kernel cannot block SIGKILL/SIGSTOP, and blocking a
/// synchronous signal turns the next fault into a silent kill (and breaks Go's panics on nil
/// dereference, which arrive as SIGSEGV).
const UNBLOCKABLE: [Signal; 7] = [
    Signal::SIGKILL,
    Signal::SIGSTOP,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGTRAP,
];

/// [`UNBLOCKABLE`] as kernel bits (bit `n - 1` for signal `n`): one AND instead of seven
/// `sigismember` calls on [`block`](super::block)'s fast path.
pub(super) const UNBLOCKABLE_BITS: u64 = {
    let mut bits = 0;
    let mut i = 0;
    while i < UNBLOCKABLE.len() {
        bits |= 1u64 << (UNBLOCKABLE[i] as i32 - 1);
        i += 1;
    }
    bits
};

impl SignalSet {
    /// The empty set.
    pub fn empty() -> Self {
        SignalSet(SigSet::empty())
    }

    /// The Go runtime's asynchronous signals: SIGURG (goroutine preemption, Go ≥ 1.14) and
    /// SIGPROF (CPU profiling). The default mask of threads gobridge creates.
    pub fn go_runtime() -> Self {
        Self::from_signals([Signal::SIGURG, Signal::SIGPROF])
    }

    /// Every asynchronous standard signal: all that nix's `Signal` names but the unblockable
    /// ones (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) and SIGSYS (synchronous
    /// under seccomp). The Go package's default for the threads it asks gobridge to spawn, and
    /// the right mask for any thread of yours in a Go process: a signal Go has no use for
    /// (SIGUSR1 without `signal.Notify`, SIGPIPE, ...) that lands on a thread Go did not create
    /// makes Go's handler restore the default action and re-raise it, killing the process;
    /// blocked here, process-directed signals go to Go's threads instead. Real-time signals are
    /// not in it (glibc uses two of them to run `setuid` and cancellation on every thread).
    ///
    /// ```
    /// use gobridge::{Signal, sigmask::SignalSet};
    ///
    /// let set = SignalSet::asynchronous();
    /// assert!(set.contains(Signal::SIGUSR1) && set.contains(Signal::SIGURG));
    /// assert!(!set.contains(Signal::SIGSEGV));
    /// set.check_blockable()?;
    /// # Ok::<(), gobridge::Error>(())
    /// ```
    pub fn asynchronous() -> Self {
        Self::from_signals(
            Signal::iterator().filter(|s| !UNBLOCKABLE.contains(s) && *s != Signal::SIGSYS),
        )
    }

    /// SIGPROF and SIGUSR1: a two-signal set for tests and examples that want one runtime
    /// signal and one application signal (Go itself does not use SIGUSR1). Not a preset of
    /// any Go rule: for the runtime's signals use [`go_runtime`](Self::go_runtime).
    pub fn sigprof_and_sigusr1() -> Self {
        Self::from_signals([Signal::SIGPROF, Signal::SIGUSR1])
    }

    /// The old name of [`sigprof_and_sigusr1`](Self::sigprof_and_sigusr1): despite the name,
    /// not "the profiling signals" (SIGUSR1 has nothing to do with profiling).
    #[deprecated(since = "0.1.0", note = "use `SignalSet::sigprof_and_sigusr1()` (same set)")]
    pub fn profiling() -> Self {
        Self::sigprof_and_sigusr1()
    }

    /// A set of the given signals.
    pub fn from_signals(signals: impl IntoIterator<Item = Signal>) -> Self {
        SignalSet(signals.into_iter().collect())
    }

    /// Adds a signal; returns `self` for chaining.
    pub fn with(mut self, signal: Signal) -> Self {
        self.0.add(signal);
        self
    }

    /// Adds a signal.
    pub fn insert(&mut self, signal: Signal) {
        self.0.add(signal);
    }

    /// Removes a signal.
    pub fn remove(&mut self, signal: Signal) {
        self.0.remove(signal);
    }

    /// Whether `signal` is a member.
    pub fn contains(&self, signal: Signal) -> bool {
        self.0.contains(signal)
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The members, in signal-number order.
    pub fn iter(&self) -> impl Iterator<Item = Signal> + '_ {
        Signal::iterator().filter(|s| self.0.contains(*s))
    }

    /// Members of either set.
    pub fn union(&self, other: &SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }

    /// Members of both sets.
    pub fn intersection(&self, other: &SignalSet) -> SignalSet {
        Self::from_signals(self.iter().filter(|s| other.contains(*s)))
    }

    /// Members of `self` that are not in `other`.
    pub fn difference(&self, other: &SignalSet) -> SignalSet {
        Self::from_signals(self.iter().filter(|s| !other.contains(*s)))
    }

    /// Whether every member of `self` is in `other`.
    pub fn is_subset(&self, other: &SignalSet) -> bool {
        self.iter().all(|s| other.contains(s))
    }

    /// `Err(Error::Unblockable(sig))` for the first member that must not be blocked
    /// (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).
    pub fn check_blockable(&self) -> Result<()> {
        match UNBLOCKABLE.iter().find(|s| self.contains(**s)) {
            Some(&signal) => Err(Error::Unblockable(signal)),
            None => Ok(()),
        }
    }

    /// The set as a bit mask, bit `n - 1` for signal number `n`: the C ABI's representation.
    pub fn to_bits(&self) -> u64 {
        self.iter().fold(0, |bits, s| bits | 1u64 << (s as i32 - 1))
    }

    /// The set from a bit mask (bit `n - 1` for signal number `n`).
    ///
    /// A bit that names no standard signal is `Error::InvalidArgument`.
    pub fn from_bits(bits: u64) -> Result<SignalSet> {
        let mut set = SignalSet::empty();
        for n in 1..=64 {
            if bits & (1u64 << (n - 1)) != 0 {
                let signal = Signal::try_from(n)
                    .map_err(|_| Error::InvalidArgument("unknown signal bit"))?;
                set.insert(signal);
            }
        }
        Ok(set)
    }

    /// The underlying `nix` set.
    pub fn as_sigset(&self) -> &SigSet {
        &self.0
    }
}

impl From<SigSet> for SignalSet {
    fn from(set: SigSet) -> Self {
        SignalSet(set)
    }
}

impl From<SignalSet> for SigSet {
    fn from(set: SignalSet) -> Self {
        set.0
    }
}

impl FromIterator<Signal> for SignalSet {
    fn from_iter<I: IntoIterator<Item = Signal>>(iter: I) -> Self {
        Self::from_signals(iter)
    }
}

impl std::fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(|s| DebugName(s.as_str()))).finish()
    }
}

struct DebugName(&'static str);

impl std::fmt::Debug for DebugName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_debug() {
        assert_eq!(format!("{:?}", SignalSet::go_runtime()), "{SIGURG, SIGPROF}");
        assert_eq!(format!("{:?}", SignalSet::sigprof_and_sigusr1()), "{SIGUSR1, SIGPROF}");
        assert_eq!(format!("{:?}", SignalSet::empty()), "{}");
    }

    #[test]
    fn algebra() {
        let a = SignalSet::go_runtime();
        let b = SignalSet::sigprof_and_sigusr1();
        assert_eq!(a.intersection(&b), SignalSet::from_signals([Signal::SIGPROF]));
        assert_eq!(a.difference(&b), SignalSet::from_signals([Signal::SIGURG]));
        assert_eq!(a.union(&b).iter().count(), 3);
        assert!(a.intersection(&b).is_subset(&a));
        assert!(SignalSet::empty().is_empty());
    }

    #[test]
    fn bits_round_trip_and_reject_unknown() {
        let set = SignalSet::go_runtime().with(Signal::SIGUSR1);
        assert_eq!(SignalSet::from_bits(set.to_bits()).unwrap(), set);
        assert_eq!(SignalSet::from_bits(1 << (libc::SIGUSR1 - 1)).unwrap().to_bits(), 1 << 9);
        assert!(matches!(SignalSet::from_bits(1 << 40), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn unblockable_signals_are_refused() {
        for s in UNBLOCKABLE {
            assert_eq!(
                SignalSet::go_runtime().with(s).check_blockable(),
                Err(Error::Unblockable(s))
            );
        }
        assert_eq!(SignalSet::go_runtime().check_blockable(), Ok(()));
    }
}
