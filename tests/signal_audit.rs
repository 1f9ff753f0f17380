//! `audit_go_compat` flags a handler installed by hand without SA_ONSTACK (and one with Go's
//! flags but not Go's mask), and passes gobridge's own.

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
    // SAFETY:
    // - `by_hand` does nothing, so it is async-signal-safe; this binary owns these signals.
    unsafe { sigaction(Signal::SIGUSR1, &crashy) }.unwrap();
    // SAFETY:
    // - As above.
    unsafe { sigaction(Signal::SIGPWR, &nesting) }.unwrap();
    let id = signal::install(Signal::SIGUSR2, Action::SetFlag(&F)).unwrap();

    let all = signal::audit().unwrap();
    assert_eq!(all.len(), Signal::iterator().count());
    let flagged = signal::audit_go_compat().unwrap();
    let usr1 = flagged.iter().find(|h| h.signal == Signal::SIGUSR1).expect("SIGUSR1 flagged");
    assert!(usr1.handler && !usr1.on_stack && usr1.would_crash_go() && !usr1.ours);
    let pwr = flagged.iter().find(|h| h.signal == Signal::SIGPWR).expect("SIGPWR flagged");
    assert!(pwr.on_stack && !pwr.would_crash_go() && !pwr.go_compatible());
    assert!(flagged.iter().all(|h| h.signal != Signal::SIGUSR2), "ours must pass: {flagged:?}");

    let ours = all.iter().find(|h| h.signal == Signal::SIGUSR2).unwrap();
    assert!(ours.ours && ours.handler && ours.on_stack && ours.siginfo && ours.restart);
    assert!(ours.go_compatible() && !ours.would_crash_go());
    assert_eq!(ours.flags & libc::SA_ONSTACK, libc::SA_ONSTACK);
    assert!(ours.mask.contains(Signal::SIGURG) && ours.mask.contains(Signal::SIGPROF));
    // SIG_DFL / SIG_IGN are never flagged.
    assert!(flagged.iter().all(|h| h.handler));
    signal::uninstall(id).unwrap();
}
