//! `SignalPipe`: recv/try_recv, counts kept when the pipe is full, a blocked reader woken from
//! another thread, the fd's readiness, and drop restoring the previous disposition.

use gobridge::sigmask::SignalSet;
use gobridge::signal::{self, SignalPipe};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigHandler, Signal, raise};

fn ignore(signal: Signal) {
    // SAFETY:
    // - SIG_IGN involves no handler code.
    unsafe { nix::sys::signal::signal(signal, SigHandler::SigIgn) }.unwrap();
}

fn readable(pipe: &SignalPipe) -> bool {
    let mut fds = [PollFd::new(pipe.fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).unwrap() == 1
}

#[test]
fn recv_and_try_recv() {
    ignore(Signal::SIGUSR1);
    ignore(Signal::SIGUSR2);
    let pipe =
        SignalPipe::new(&SignalSet::from_signals([Signal::SIGUSR1, Signal::SIGUSR2])).unwrap();
    assert_eq!(pipe.try_recv().unwrap(), None);
    assert!(!readable(&pipe));
    raise(Signal::SIGUSR1).unwrap();
    raise(Signal::SIGUSR2).unwrap();
    raise(Signal::SIGUSR2).unwrap();
    assert!(readable(&pipe));
    let mut got = vec![pipe.recv().unwrap(), pipe.try_recv().unwrap().unwrap()];
    assert!(readable(&pipe), "fd stays readable while a signal is pending");
    got.push(pipe.recv().unwrap());
    got.sort_by_key(|s| *s as i32);
    assert_eq!(got, [Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGUSR2]);
    assert_eq!(pipe.try_recv().unwrap(), None);
    assert!(!readable(&pipe));
    assert_eq!(pipe.coalesced(), 0);
    assert_eq!(pipe.signals(), SignalSet::from_signals([Signal::SIGUSR1, Signal::SIGUSR2]));
    pipe.close().unwrap();
}

#[test]
fn a_full_pipe_coalesces_wakeups_but_keeps_the_count() {
    ignore(Signal::SIGALRM);
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGALRM])).unwrap();
    // Shrink the pipe to one page so that it fills quickly.
    nix::fcntl::fcntl(pipe.fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
    const N: u64 = 10_000;
    for _ in 0..N {
        raise(Signal::SIGALRM).unwrap();
    }
    assert!(pipe.coalesced() > 0, "the pipe never filled");
    assert!(pipe.coalesced() < N);
    for i in 0..N {
        assert_eq!(pipe.try_recv().unwrap(), Some(Signal::SIGALRM), "lost at {i}");
    }
    assert_eq!(pipe.try_recv().unwrap(), None);
}

#[test]
fn a_blocked_reader_is_woken_by_a_signal_handled_on_another_thread() {
    ignore(Signal::SIGVTALRM);
    let pipe = std::sync::Arc::new(
        SignalPipe::new(&SignalSet::from_signals([Signal::SIGVTALRM])).unwrap(),
    );
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || pipe.recv().unwrap())
    };
    // Handled on this thread (raise is thread-directed); the reader blocks in poll until then.
    raise(Signal::SIGVTALRM).unwrap();
    assert_eq!(reader.join().unwrap(), Signal::SIGVTALRM);
}

#[test]
fn drop_restores_the_previous_disposition() {
    ignore(Signal::SIGPWR);
    let before: Vec<_> =
        signal::audit().unwrap().into_iter().filter(|h| h.signal == Signal::SIGPWR).collect();
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGPWR])).unwrap();
    let during = signal::audit().unwrap().into_iter().find(|h| h.signal == Signal::SIGPWR);
    assert!(during.unwrap().ours);
    drop(pipe);
    let after: Vec<_> =
        signal::audit().unwrap().into_iter().filter(|h| h.signal == Signal::SIGPWR).collect();
    assert_eq!(after, before);
    assert!(SignalPipe::new(&SignalSet::empty()).is_err());
}

#[test]
fn pipe_and_ids_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SignalPipe>();
    send_sync::<gobridge::signal::ActionId>();
    send_sync::<gobridge::signal::Action>();
}
