//! Chaining: our actions run first, then the previous disposition — an SA_SIGINFO handler
//! (same three arguments), a one-argument handler, SIG_IGN, SIG_DFL (ignored-by-default
//! signals do nothing; a terminating one still terminates, after our action: child process; a
//! stop signal gets the kernel's own default stop).

mod common;

use gobridge::signal::{self, Action};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};

const CHILD_ENV: &str = "GOBRIDGE_SIGNAL_CHAIN_CHILD";

static OURS_RAN: AtomicBool = AtomicBool::new(false);
static PREV_SIGNO: AtomicI32 = AtomicI32::new(0);
static PREV_INFO_SIGNO: AtomicI32 = AtomicI32::new(0);
static PREV_HAD_CONTEXT: AtomicBool = AtomicBool::new(false);
static PREV_SAW_OURS_FIRST: AtomicBool = AtomicBool::new(false);

extern "C" fn previous_siginfo(
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    PREV_SIGNO.store(signo, SeqCst);
    // SAFETY:
    // - The kernel (through our chaining handler, which forwards its own arguments) passes a
    //   valid `siginfo_t` for an SA_SIGINFO handler, or null, which `as_ref` handles.
    if let Some(info) = unsafe { info.as_ref() } {
        PREV_INFO_SIGNO.store(info.si_signo, SeqCst);
    }
    PREV_HAD_CONTEXT.store(!context.is_null(), SeqCst);
    PREV_SAW_OURS_FIRST.store(OURS_RAN.load(SeqCst), SeqCst);
}

static PLAIN_CALLS: AtomicU64 = AtomicU64::new(0);
static PLAIN_SIGNO: AtomicI32 = AtomicI32::new(0);

extern "C" fn previous_plain(signo: libc::c_int) {
    PLAIN_SIGNO.store(signo, SeqCst);
    PLAIN_CALLS.fetch_add(1, SeqCst);
}

fn set(signal: Signal, handler: SigHandler, flags: SaFlags) {
    let action = SigAction::new(handler, flags, SigSet::empty());
    // SAFETY:
    // - The handlers used here only touch atomics (async-signal-safe), or are SIG_DFL/SIG_IGN.
    // - Each test owns its signals.
    unsafe { sigaction(signal, &action) }.unwrap();
}

#[test]
fn chains_to_a_previous_siginfo_handler_with_the_same_arguments_after_our_action() {
    set(
        Signal::SIGUSR1,
        SigHandler::SigAction(previous_siginfo),
        SaFlags::SA_ONSTACK | SaFlags::SA_SIGINFO,
    );
    let id = signal::install(Signal::SIGUSR1, Action::SetFlag(&OURS_RAN)).unwrap();
    raise(Signal::SIGUSR1).unwrap();
    assert!(OURS_RAN.load(SeqCst));
    assert_eq!(PREV_SIGNO.load(SeqCst), libc::SIGUSR1);
    assert_eq!(PREV_INFO_SIGNO.load(SeqCst), libc::SIGUSR1, "siginfo forwarded");
    assert!(PREV_HAD_CONTEXT.load(SeqCst), "ucontext forwarded");
    assert!(PREV_SAW_OURS_FIRST.load(SeqCst), "our action runs before the previous handler");
    signal::uninstall(id).unwrap();
}

#[test]
fn chains_to_a_previous_one_argument_handler() {
    static OURS: AtomicU64 = AtomicU64::new(0);
    set(Signal::SIGUSR2, SigHandler::Handler(previous_plain), SaFlags::SA_ONSTACK);
    let id = signal::install(Signal::SIGUSR2, Action::Add(&OURS, 1)).unwrap();
    raise(Signal::SIGUSR2).unwrap();
    raise(Signal::SIGUSR2).unwrap();
    assert_eq!(OURS.load(SeqCst), 2);
    assert_eq!(PLAIN_CALLS.load(SeqCst), 2);
    assert_eq!(PLAIN_SIGNO.load(SeqCst), libc::SIGUSR2);
    signal::uninstall(id).unwrap();
    // Restored: the previous handler alone runs again.
    raise(Signal::SIGUSR2).unwrap();
    assert_eq!((OURS.load(SeqCst), PLAIN_CALLS.load(SeqCst)), (2, 3));
}

#[test]
fn sig_ign_previous_does_nothing_more() {
    static OURS: AtomicU64 = AtomicU64::new(0);
    set(Signal::SIGPIPE, SigHandler::SigIgn, SaFlags::empty());
    let id = signal::install(Signal::SIGPIPE, Action::Add(&OURS, 1)).unwrap();
    raise(Signal::SIGPIPE).unwrap();
    assert_eq!(OURS.load(SeqCst), 1, "observed, and the process lives on");
    signal::uninstall(id).unwrap();
}

/// Item 13 of issue 10: over an ignored SIGHUP or SIGINT (inherited from `nohup` or a
/// background job) gobridge refuses to install — the Go runtime would find our handler where
/// it looks for SIG_IGN — and leaves the disposition as it was.
#[test]
fn sig_ign_on_sighup_and_sigint_is_refused() {
    static OURS: AtomicU64 = AtomicU64::new(0);
    for s in [Signal::SIGHUP, Signal::SIGINT] {
        set(s, SigHandler::SigIgn, SaFlags::empty());
        let refused = signal::install(s, Action::Add(&OURS, 1)).unwrap_err();
        assert!(matches!(refused, gobridge::Error::InvalidArgument(m) if m.contains("SIG_IGN")));
        assert_eq!(common::sigaction_of(s as i32).sa_sigaction, libc::SIG_IGN);
        // Not ignored: installs as usual.
        set(s, SigHandler::Handler(previous_plain_hup), SaFlags::SA_ONSTACK);
        let id = signal::install(s, Action::Add(&OURS, 1)).unwrap();
        signal::uninstall(id).unwrap();
        set(s, SigHandler::SigIgn, SaFlags::empty());
    }
}

extern "C" fn previous_plain_hup(_: libc::c_int) {}

#[test]
fn sig_dfl_of_ignored_by_default_signals_does_nothing() {
    static OURS: AtomicU64 = AtomicU64::new(0);
    for s in [Signal::SIGURG, Signal::SIGWINCH, Signal::SIGCHLD] {
        set(s, SigHandler::SigDfl, SaFlags::empty());
        let id = signal::install(s, Action::Add(&OURS, 1)).unwrap();
        raise(s).unwrap();
        signal::uninstall(id).unwrap();
    }
    // At least one per raise: the sibling tests' child processes may add SIGCHLDs of their own
    // while ours is installed (all that matters is that each was observed and nothing died).
    assert!(OURS.load(SeqCst) >= 3, "{}", OURS.load(SeqCst));
}

#[test]
fn sig_dfl_of_a_terminating_signal_still_terminates_after_our_action() {
    if std::env::var_os(CHILD_ENV).is_some() || std::env::var_os(STOP_CHILD_ENV).is_some() {
        return; // a child runs its `child_*` test only
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_terminating_signal", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "child status {:?}: {stdout}", out.status);
    assert!(stdout.contains("gobridge action ran"), "our action did not run first: {stdout}");
    assert!(!stdout.contains("survived"), "{stdout}");
}

/// Child half of the test above (does nothing unless re-executed with the env var).
#[test]
fn child_terminating_signal() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    set(Signal::SIGTERM, SigHandler::SigDfl, SaFlags::empty());
    signal::install(Signal::SIGTERM, Action::WriteMessage(1, b"\ngobridge action ran\n")).unwrap();
    raise(Signal::SIGTERM).unwrap();
    println!("survived");
}

const STOP_CHILD_ENV: &str = "GOBRIDGE_SIGNAL_CHAIN_STOP_CHILD";

#[test]
fn sig_dfl_of_a_stop_signal_stops_the_process_after_our_action() {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::Pid;
    use std::io::Read;
    if std::env::var_os(CHILD_ENV).is_some() || std::env::var_os(STOP_CHILD_ENV).is_some() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_stop_signal", "--nocapture", "--test-threads=1"])
        .env(STOP_CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped());
    // A process group of its own in our session, so that it is not orphaned whatever ours is
    // (in an orphaned group the kernel discards the default stop: tests/signal_outcomes.rs).
    // SAFETY:
    // - The closure only calls setpgid(2), which is async-signal-safe, and does not allocate.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(std::io::Error::from)
        })
    };
    let mut child = command.spawn().unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let status = waitpid(pid, Some(WaitPidFlag::WUNTRACED)).unwrap();
    // The kernel's own default stop: parents see SIGTSTP itself, not a SIGSTOP stand-in.
    assert_eq!(status, WaitStatus::Stopped(pid, Signal::SIGTSTP), "SIGTSTP's default: stop");
    nix::sys::signal::kill(pid, Signal::SIGKILL).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(stdout.contains("gobridge action ran"), "our action did not run first: {stdout}");
}

/// Child half of the test above.
#[test]
fn child_stop_signal() {
    if std::env::var_os(STOP_CHILD_ENV).is_none() {
        return;
    }
    set(Signal::SIGTSTP, SigHandler::SigDfl, SaFlags::empty());
    signal::install(Signal::SIGTSTP, Action::WriteMessage(1, b"\ngobridge action ran\n")).unwrap();
    raise(Signal::SIGTSTP).unwrap();
    // Only reached if the parent continues us (it kills us instead).
    println!("continued");
}
