//! `audit_go_compat` flags a handler installed by hand without SA_ONSTACK — the one departure
//! that crashes Go — and passes gobridge's own and a Crashpad-style handler (SA_ONSTACK |
//! SA_SIGINFO, no SA_RESTART, empty mask), whose departures are reported apart, as advice.

use gobridge::signal::{self, Action};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::atomic::AtomicBool;

extern "C" fn by_hand(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

#[test]
fn flags_a_handler_without_sa_onstack_and_passes_ours() {
    static F: AtomicBool = AtomicBool::new(false);
    // The way signal-hook-registry (and much C code) installs: no SA_ONSTACK.
    let crashy = SigAction::new(
        SigHandler::SigAction(by_hand),
        SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // Go's flags, but a mask that lets signals nest.
    let nesting = SigAction::new(
        SigHandler::SigAction(by_hand),
        SaFlags::SA_ONSTACK | SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // The way Crashpad installs its handlers: SA_ONSTACK | SA_SIGINFO, no SA_RESTART, empty
    // mask. Go runs fine with it.
    let crashpad = SigAction::new(
        SigHandler::SigAction(by_hand),
        SaFlags::SA_ONSTACK | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // SAFETY:
    // - `by_hand` does nothing, so it is async-signal-safe; this binary owns these signals.
    unsafe { sigaction(Signal::SIGUSR1, &crashy) }.unwrap();
    // SAFETY:
    // - As above.
    unsafe { sigaction(Signal::SIGPWR, &nesting) }.unwrap();
    // SAFETY:
    // - As above.
    unsafe { sigaction(Signal::SIGXCPU, &crashpad) }.unwrap();
    let id = signal::install(Signal::SIGUSR2, Action::SetFlag(&F)).unwrap();

    let all = signal::audit().unwrap();
    assert_eq!(all.len(), Signal::iterator().count());
    let flagged = signal::audit_go_compat().unwrap();
    let usr1 = flagged.iter().find(|h| h.signal == Signal::SIGUSR1).expect("SIGUSR1 flagged");
    assert!(usr1.handler && !usr1.on_stack && usr1.would_crash_go() && !usr1.ours);
    assert_eq!(usr1.advice().len(), 1, "{:?}", usr1.advice()); // empty mask; SA_ONSTACK apart
    // Only what crashes Go is flagged: SA_ONSTACK present means compatible, the rest is advice.
    assert!(flagged.iter().all(|h| h.would_crash_go()), "{flagged:?}");
    let pwr = all.iter().find(|h| h.signal == Signal::SIGPWR).unwrap();
    assert!(pwr.on_stack && !pwr.would_crash_go() && pwr.go_compatible());
    assert!(!pwr.matches_go_flags());
    assert_eq!(pwr.advice().len(), 1, "{:?}", pwr.advice());
    assert!(pwr.advice()[0].contains("mask"));
    let xcpu = all.iter().find(|h| h.signal == Signal::SIGXCPU).unwrap();
    assert!(xcpu.handler && xcpu.on_stack && !xcpu.restart);
    assert!(xcpu.go_compatible() && !xcpu.would_crash_go(), "Crashpad-style handler: {xcpu:?}");
    assert!(flagged.iter().all(|h| h.signal != Signal::SIGXCPU && h.signal != Signal::SIGPWR));
    let advice = xcpu.advice();
    assert_eq!(advice.len(), 2, "{advice:?}");
    assert!(advice[0].contains("SA_RESTART") && advice[1].contains("mask"), "{advice:?}");
    assert!(flagged.iter().all(|h| h.signal != Signal::SIGUSR2), "ours must pass: {flagged:?}");

    let ours = all.iter().find(|h| h.signal == Signal::SIGUSR2).unwrap();
    assert!(ours.ours && ours.handler && ours.on_stack && ours.siginfo && ours.restart);
    assert!(ours.go_compatible() && !ours.would_crash_go() && ours.matches_go_flags());
    assert_eq!(ours.flags & libc::SA_ONSTACK, libc::SA_ONSTACK);
    assert!(ours.mask.contains(Signal::SIGURG) && ours.mask.contains(Signal::SIGPROF));
    // SIG_DFL / SIG_IGN are never flagged.
    assert!(flagged.iter().all(|h| h.handler));
    signal::uninstall(id).unwrap();
}
