//! Install/uninstall racing real deliveries: one thread storms the process with SIGUSR1
//! while another creates and drops `SignalPipe`s and actions whose fds are closed right after
//! uninstall. Nothing crashes, every pipe that was open when a signal was handled can receive
//! it, and the original disposition is back at the end.

use gobridge::sigmask::SignalSet;
use gobridge::signal::{self, Action, SignalPipe};
use nix::fcntl::OFlag;
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{SigHandler, Signal};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

#[test]
fn install_and_uninstall_while_signals_fly() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    // SAFETY:
    // - SIG_IGN involves no handler code; this binary has one test.
    unsafe { nix::sys::signal::signal(Signal::SIGUSR1, SigHandler::SigIgn) }.unwrap();
    let before = signal::audit().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let fired = Arc::new(AtomicU64::new(0));
    let target = pthread_self();
    let storms: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let fired = fired.clone();
            std::thread::spawn(move || {
                let mut sent = 0u64;
                while !stop.load(SeqCst) {
                    // Half at the installing thread, half handled on the storming one.
                    if sent % 2 == 0 {
                        pthread_kill(target, Signal::SIGUSR1).unwrap();
                    } else {
                        nix::sys::signal::raise(Signal::SIGUSR1).unwrap();
                    }
                    sent += 1;
                    fired.fetch_add(1, SeqCst);
                }
                sent
            })
        })
        .collect();

    // At least 300 rounds, and on until the storms sent 200 signals while they ran: on a busy
    // machine the 300 rounds can end before a storm thread is first scheduled.
    let at_start = fired.load(SeqCst);
    let mut round = 0;
    while round < 300 || fired.load(SeqCst) < at_start + 200 {
        round += 1;
        let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let write =
            signal::install(Signal::SIGUSR1, Action::WriteSignalNumber(w.as_raw_fd())).unwrap();
        let add = signal::install(Signal::SIGUSR1, Action::Add(&COUNT, 1)).unwrap();
        if round % 3 == 0 {
            pthread_kill(target, Signal::SIGUSR1).unwrap();
            assert_eq!(pipe.recv().unwrap(), Signal::SIGUSR1);
        }
        signal::uninstall(write).unwrap();
        // Uninstall returned: no handler can write to `w` any more; close both ends.
        drop((r, w));
        signal::uninstall(add).unwrap();
        drop(pipe);
    }
    stop.store(true, SeqCst);
    let sent: u64 = storms.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(sent > 0);
    assert!(COUNT.load(SeqCst) > 0);
    assert_eq!(signal::audit().unwrap(), before, "every disposition restored");
}
