//! Each action observed after `raise`/`pthread_kill`; several actions share one handler; errno
//! survives a handler. Every test uses its own signals (dispositions are process-global, and
//! the tests of this binary run in parallel threads).

use gobridge::signal::{self, Action};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{SigHandler, Signal, raise};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

/// Our SIG_DFL policy terminates on SIGUSR1 & co.; these tests observe, so ignore first
/// (which also exercises chaining to SIG_IGN).
fn ignore(signal: Signal) {
    // SAFETY:
    // - SIG_IGN involves no handler code.
    unsafe { nix::sys::signal::signal(signal, SigHandler::SigIgn) }.unwrap();
}

#[test]
fn write_signal_number_reaches_the_fd() {
    ignore(Signal::SIGUSR1);
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let id = signal::install(Signal::SIGUSR1, Action::WriteSignalNumber(w.as_raw_fd())).unwrap();
    raise(Signal::SIGUSR1).unwrap();
    pthread_kill(pthread_self(), Signal::SIGUSR1).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(nix::unistd::read(&r, &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], &[libc::SIGUSR1 as u8; 2]);
    signal::uninstall(id).unwrap();
}

#[test]
fn write_message_reaches_the_fd() {
    ignore(Signal::SIGUSR2);
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let id =
        signal::install(Signal::SIGUSR2, Action::WriteMessage(w.as_raw_fd(), b"hello\n")).unwrap();
    pthread_kill(pthread_self(), Signal::SIGUSR2).unwrap();
    let mut buf = [0u8; 16];
    let n = nix::unistd::read(&r, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello\n");
    // The fd was made non-blocking, so a handler can never block on it.
    let flags = nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_ne!(flags & libc::O_NONBLOCK, 0);
    signal::uninstall(id).unwrap();
}

#[test]
fn set_flag_and_add_from_another_thread() {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    ignore(Signal::SIGALRM);
    let flag = signal::install(Signal::SIGALRM, Action::SetFlag(&FLAG)).unwrap();
    let add = signal::install(Signal::SIGALRM, Action::Add(&COUNT, 5)).unwrap();
    let target = pthread_self();
    // Another thread aims the signal at this one; we wait for it to be sent and delivered.
    std::thread::spawn(move || pthread_kill(target, Signal::SIGALRM).unwrap()).join().unwrap();
    while !FLAG.load(SeqCst) {
        std::thread::yield_now();
    }
    raise(Signal::SIGALRM).unwrap();
    assert_eq!(COUNT.load(SeqCst), 10);
    signal::uninstall(flag).unwrap();
    signal::uninstall(add).unwrap();
}

#[test]
fn several_actions_share_one_handler() {
    static A: AtomicU64 = AtomicU64::new(0);
    static B: AtomicU64 = AtomicU64::new(0);
    static C: AtomicBool = AtomicBool::new(false);
    let ids = [
        signal::install(Signal::SIGWINCH, Action::Add(&A, 1)).unwrap(),
        signal::install(Signal::SIGWINCH, Action::Add(&B, 2)).unwrap(),
        signal::install(Signal::SIGWINCH, Action::SetFlag(&C)).unwrap(),
    ];
    let installed: Vec<_> =
        signal::audit().unwrap().into_iter().filter(|h| h.signal == Signal::SIGWINCH).collect();
    assert!(installed.len() == 1 && installed[0].ours);
    for _ in 0..3 {
        raise(Signal::SIGWINCH).unwrap();
    }
    assert_eq!((A.load(SeqCst), B.load(SeqCst), C.load(SeqCst)), (3, 6, true));
    signal::uninstall(ids[1]).unwrap();
    raise(Signal::SIGWINCH).unwrap();
    assert_eq!((A.load(SeqCst), B.load(SeqCst)), (4, 6));
    signal::uninstall(ids[0]).unwrap();
    signal::uninstall(ids[2]).unwrap();
}

#[test]
fn errno_is_preserved_across_the_handler() {
    static RAN: AtomicU64 = AtomicU64::new(0);
    ignore(Signal::SIGPROF);
    // A full pipe: the handler's write fails with EAGAIN, clobbering errno inside it.
    let (_r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).unwrap();
    while nix::unistd::write(&w, &[0u8; 4096]).is_ok() {}
    let write = signal::install(Signal::SIGPROF, Action::WriteSignalNumber(w.as_raw_fd())).unwrap();
    let count = signal::install(Signal::SIGPROF, Action::Add(&RAN, 1)).unwrap();
    for magic in [1234, libc::EINTR, 0] {
        Errno::set_raw(magic);
        raise(Signal::SIGPROF).unwrap();
        assert_eq!(Errno::last_raw(), magic, "errno clobbered by the handler");
    }
    assert_eq!(RAN.load(SeqCst), 3);
    signal::uninstall(write).unwrap();
    signal::uninstall(count).unwrap();
}

#[test]
fn uncatchable_and_bad_fds_are_refused() {
    static F: AtomicBool = AtomicBool::new(false);
    for s in [Signal::SIGKILL, Signal::SIGSTOP] {
        assert!(matches!(
            signal::install(s, Action::SetFlag(&F)),
            Err(gobridge::Error::InvalidArgument(_))
        ));
    }
    assert_eq!(
        signal::install(Signal::SIGHUP, Action::WriteSignalNumber(-1)).unwrap_err(),
        gobridge::Error::Sys(Errno::EBADF)
    );
}
