//! Side by side: signal-hook's registration installs without SA_ONSTACK (read back from the
//! kernel), which crashes a Go process; gobridge's installs with it. And gobridge chains on top
//! of a signal-hook handler, fixing the audit.

use gobridge::signal::{self, Action};
use nix::sys::signal::{Signal, raise};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

fn flags(signal: Signal) -> libc::c_int {
    signal::audit().unwrap().into_iter().find(|h| h.signal == signal).unwrap().flags
}

#[test]
fn signal_hook_lacks_sa_onstack_ours_has_it() {
    let hooked = Arc::new(AtomicBool::new(false));
    let sh_id = signal_hook::flag::register(libc::SIGUSR1, hooked.clone()).unwrap();
    let theirs = flags(Signal::SIGUSR1);
    assert_eq!(theirs & libc::SA_ONSTACK, 0, "signal-hook now sets SA_ONSTACK? {theirs:#x}");
    assert_ne!(theirs & libc::SA_SIGINFO, 0);
    let flagged = signal::audit_go_compat().unwrap();
    assert!(flagged.iter().any(|h| h.signal == Signal::SIGUSR1 && h.would_crash_go()));

    static OURS: AtomicBool = AtomicBool::new(false);
    let ours_id = signal::install(Signal::SIGUSR2, Action::SetFlag(&OURS)).unwrap();
    let ours = flags(Signal::SIGUSR2);
    assert_eq!(ours & libc::SA_ONSTACK, libc::SA_ONSTACK, "{ours:#x}");
    println!("signal-hook flags {theirs:#x}, gobridge flags {ours:#x}");

    // Ours on top of signal-hook's: both run, and the installed handler is Go-compatible.
    static ON_TOP: AtomicBool = AtomicBool::new(false);
    let on_top = signal::install(Signal::SIGUSR1, Action::SetFlag(&ON_TOP)).unwrap();
    raise(Signal::SIGUSR1).unwrap();
    assert!(ON_TOP.load(SeqCst) && hooked.load(SeqCst));
    assert!(signal::audit_go_compat().unwrap().iter().all(|h| h.signal != Signal::SIGUSR1));
    signal::uninstall(on_top).unwrap();
    assert_eq!(flags(Signal::SIGUSR1), theirs, "signal-hook's disposition restored");
    signal::uninstall(ours_id).unwrap();
    assert!(signal_hook::low_level::unregister(sh_id));
}
