//! Chaining must not change what the previous disposition would have done.
//!
//! Each scenario is a small program run twice as a child process — once with the previous
//! disposition alone, once with a gobridge action installed in front of it — and the two
//! outcomes must be equal: what the program printed, and every `waitpid` event the parent saw
//! (stops with their WSTOPSIG, the exit status or the killing signal). gobridge's action writes
//! "gobridge: observed" to stderr from the handler, which proves it was in front; that line is
//! not part of the outcome.
//!
//! Its own test binary without the libtest harness (`harness = false`): the children are
//! single-threaded, so a signal raised or a SIGCHLD generated during a system call is handled
//! on the one thread before the call returns, and every outcome is deterministic.
//!
//! `cargo test --all-features --test signal_outcomes [-- NAME]` runs every scenario (or those
//! whose name contains NAME) and prints both outcomes of each.

// Every child is reaped with `waitpid` on its pid (or by the kernel, which is what the
// SIGCHLD scenarios check), never through `Child::wait`.
#![allow(clippy::zombie_processes)]

use gobridge::signal::{self, Action};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, raise, sigaction};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};

const SCENARIO_ENV: &str = "GOBRIDGE_OUTCOME_SCENARIO";
const WITH_ENV: &str = "GOBRIDGE_OUTCOME_WITH_GOBRIDGE";
const OBSERVED: &[u8] = b"gobridge: observed\n";

/// How the parent starts the child.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    /// In the parent's process group.
    Inherit,
    /// In a process group of its own, in the parent's session: job control applies (a stop
    /// signal's default stops it).
    Job,
    /// In a session of its own (`setsid`): an orphaned process group, as a daemon is in
    /// (the kernel discards the default stop of SIGTSTP/SIGTTIN/SIGTTOU).
    Orphaned,
}

struct Scenario {
    name: &'static str,
    group: Group,
    body: fn(),
    /// Part of the outcome without gobridge, which shows the scenario tests what it says.
    expect: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "item8_stop_signals_in_an_orphaned_group",
        group: Group::Orphaned,
        body: stop_signals,
        expect: "after SIGTTOU; exited 0",
    },
    Scenario {
        name: "item8_sigtstp_in_a_job",
        group: Group::Job,
        body: sigtstp_once,
        expect: "stopped by SIGTSTP",
    },
    Scenario {
        name: "item9_sigchld_ignored_reaps",
        group: Group::Inherit,
        body: sigchld_ignored,
        expect: "waitpid: ECHILD",
    },
    Scenario {
        name: "item9_sigchld_nocldwait_reaps",
        group: Group::Inherit,
        body: sigchld_nocldwait,
        expect: "waitpid: ECHILD",
    },
    Scenario {
        name: "item9_sigchld_nocldstop",
        group: Group::Inherit,
        body: sigchld_nocldstop,
        expect: "stop/continue notified: false",
    },
    Scenario {
        name: "item10_handler_without_sa_restart_gets_eintr",
        group: Group::Inherit,
        body: read_under_alarms_without_restart,
        expect: "read: EINTR",
    },
    Scenario {
        name: "item10_handler_with_sa_restart_restarts",
        group: Group::Inherit,
        body: read_under_alarms_with_restart,
        expect: "read: data",
    },
    Scenario {
        name: "item11_resethand_refault_is_fatal",
        group: Group::Inherit,
        body: resethand_sigsegv,
        expect: "killed by SIGSEGV",
    },
    Scenario {
        name: "item11_resethand_leaves_sig_dfl",
        group: Group::Inherit,
        body: resethand_then_uninstall,
        expect: "disposition after: SIG_DFL",
    },
    Scenario {
        name: "item12_previous_handler_mask",
        group: Group::Inherit,
        body: mask_in_previous_handler,
        expect: "mask in handler: 0x",
    },
    Scenario {
        name: "item12_sa_nodefer_nests",
        group: Group::Inherit,
        body: nodefer_nesting,
        expect: "max depth 2",
    },
];

fn main() {
    if let Ok(name) = std::env::var(SCENARIO_ENV) {
        let scenario = SCENARIOS.iter().find(|s| s.name == name).expect("known scenario");
        (scenario.body)();
        return;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        if filter.as_deref().is_some_and(|f| !scenario.name.contains(f)) {
            continue;
        }
        let (without, observed_without) = run(scenario, false);
        let (with, observed_with) = run(scenario, true);
        println!("{}\n  without gobridge: {without}\n  with gobridge:    {with}", scenario.name);
        if !without.contains(scenario.expect) {
            failures.push(format!("{}: without gobridge, no {:?}", scenario.name, scenario.expect));
        }
        if observed_without != 0 || observed_with == 0 {
            failures
                .push(format!("{}: gobridge's action ran {observed_with} times", scenario.name));
        }
        if with != without {
            failures.push(format!("{}: outcomes differ", scenario.name));
        }
    }
    if !failures.is_empty() {
        eprintln!("FAILED:\n  {}", failures.join("\n  "));
        std::process::exit(1);
    }
    println!("all outcomes equal");
}

/// Runs one scenario in a child; returns its outcome and how often gobridge's action ran.
fn run(scenario: &Scenario, with_gobridge: bool) -> (String, usize) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(SCENARIO_ENV, scenario.name)
        .env(WITH_ENV, if with_gobridge { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let group = scenario.group;
    // SAFETY:
    // - The closure runs in the child between fork and exec and only makes async-signal-safe
    //   system calls (setrlimit, setpgid, setsid) without allocating.
    unsafe { command.pre_exec(move || prepare_child(group)) };
    let mut child = command.spawn().unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let mut events = Vec::new();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WUNTRACED)).unwrap() {
            WaitStatus::Stopped(_, signal) => {
                events.push(format!("stopped by {}", signal.as_str()));
                // Continue it (a stopped process in an orphaned group would never be).
                let next = if events.len() > 6 { Signal::SIGKILL } else { Signal::SIGCONT };
                kill(pid, next).unwrap();
            }
            WaitStatus::Exited(_, code) => {
                events.push(format!("exited {code}"));
                break;
            }
            WaitStatus::Signaled(_, signal, _) => {
                events.push(format!("killed by {}", signal.as_str()));
                break;
            }
            _ => {}
        }
    }
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let observed = stderr.matches(std::str::from_utf8(OBSERVED).unwrap()).count();
    let other_stderr: Vec<&str> =
        stderr.lines().filter(|l| !l.starts_with("gobridge: observed")).collect();
    let mut outcome: Vec<String> = stdout.lines().map(str::to_owned).collect();
    outcome.extend(other_stderr.iter().map(|l| format!("stderr: {l}")));
    outcome.extend(events);
    (outcome.join("; "), observed)
}

/// Between fork and exec: no core files (some scenarios die of SIGSEGV), and the group.
fn prepare_child(group: Group) -> std::io::Result<()> {
    let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY:
    // - `none` is a valid `rlimit` for the whole call.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    match group {
        Group::Inherit => Ok(()),
        Group::Job => Ok(nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0))?),
        Group::Orphaned => Ok(nix::unistd::setsid().map(drop)?),
    }
}

// ---- Child side: each runs single-threaded in its own process. ----

fn with_gobridge() -> bool {
    std::env::var(WITH_ENV).as_deref() == Ok("1")
}

/// In the run with gobridge, puts a gobridge action in front of `signal`'s disposition.
fn observe(signal: Signal) -> Option<signal::ActionId> {
    with_gobridge().then(|| signal::install(signal, Action::WriteMessage(2, OBSERVED)).unwrap())
}

fn set(signal: Signal, handler: SigHandler, flags: SaFlags, mask: SigSet) {
    // SAFETY:
    // - Every handler in this file only touches atomics and makes async-signal-safe calls
    //   (write, raise, pthread_sigmask, sigismember); or it is SIG_DFL/SIG_IGN.
    // - The child is single-threaded and owns its signals.
    unsafe { sigaction(signal, &SigAction::new(handler, flags, mask)) }.unwrap();
}

/// Writes a fixed message with one `write(2)` (async-signal-safe).
fn say(message: &[u8]) {
    // SAFETY:
    // - `message` is a valid buffer for the whole call; fd 1 is only an integer to the kernel.
    unsafe { libc::write(1, message.as_ptr().cast(), message.len()) };
}

/// The calling thread's signal mask, bit `n - 1` for signal `n`.
fn thread_mask() -> u64 {
    let mut now = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY:
    // - A null `set` makes this a pure read into `now`, a writable `sigset_t`.
    let read =
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), now.as_mut_ptr()) };
    assert_eq!(read, 0);
    // SAFETY:
    // - Filled by the successful call above.
    let now = unsafe { now.assume_init() };
    (1..=64).fold(0, |bits, n| {
        // SAFETY:
        // - `now` is an initialised `sigset_t`; any `n` in 1..=64 is a valid query.
        if unsafe { libc::sigismember(&now, n) } == 1 { bits | 1 << (n - 1) } else { bits }
    })
}

/// Item 8: SIGTSTP, SIGTTIN and SIGTTOU at SIG_DFL in an orphaned process group: the kernel
/// discards each default stop and the program runs on.
fn stop_signals() {
    for signal in [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU] {
        set(signal, SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        observe(signal);
        raise(signal).unwrap();
        println!("after {}", signal.as_str());
    }
}

/// Item 8: SIGTSTP at SIG_DFL in a job: the process stops with WSTOPSIG = SIGTSTP.
fn sigtstp_once() {
    set(Signal::SIGTSTP, SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    observe(Signal::SIGTSTP);
    raise(Signal::SIGTSTP).unwrap();
    println!("continued");
}

fn spawn(program: &str, args: &[&str]) -> Pid {
    let child = Command::new(program).args(args).spawn().unwrap();
    Pid::from_raw(child.id() as i32)
}

fn print_wait(result: nix::Result<WaitStatus>) {
    match result {
        Ok(WaitStatus::Exited(_, code)) => println!("waitpid: exited {code}"),
        Ok(WaitStatus::Stopped(_, signal)) => println!("waitpid: stopped by {}", signal.as_str()),
        Ok(other) => println!("waitpid: {other:?}"),
        Err(e) => println!("waitpid: {e:?}"),
    }
}

/// Item 9: SIGCHLD ignored: children are reaped by the kernel, `waitpid` finds none.
fn sigchld_ignored() {
    set(Signal::SIGCHLD, SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    observe(Signal::SIGCHLD);
    let pid = spawn("true", &[]);
    print_wait(waitpid(pid, None));
}

static CHLD_CALLS: AtomicU64 = AtomicU64::new(0);
static CHLD_CODES: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_chld(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    CHLD_CALLS.fetch_add(1, SeqCst);
    // SAFETY:
    // - For an SA_SIGINFO handler the kernel passes a valid `siginfo_t` (or our chaining
    //   handler forwards it); `as_ref` handles null.
    if let Some(info) = unsafe { info.as_ref() } {
        if let Ok(code @ 0..=63) = u32::try_from(info.si_code) {
            CHLD_CODES.fetch_or(1 << code, SeqCst);
        }
    }
}

/// Item 9: a SIGCHLD handler with SA_NOCLDWAIT: children are reaped, the handler still runs.
fn sigchld_nocldwait() {
    let flags = SaFlags::SA_SIGINFO | SaFlags::SA_RESTART | SaFlags::SA_NOCLDWAIT;
    set(Signal::SIGCHLD, SigHandler::SigAction(on_chld), flags, SigSet::empty());
    observe(Signal::SIGCHLD);
    let pid = spawn("true", &[]);
    print_wait(waitpid(pid, None));
    println!("previous handler calls: {}", CHLD_CALLS.load(SeqCst));
}

/// Item 9: a SIGCHLD handler with SA_NOCLDSTOP: no SIGCHLD when a child stops or continues.
fn sigchld_nocldstop() {
    let flags = SaFlags::SA_SIGINFO | SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP;
    set(Signal::SIGCHLD, SigHandler::SigAction(on_chld), flags, SigSet::empty());
    observe(Signal::SIGCHLD);
    let pid = spawn("sh", &["-c", "kill -STOP $$; exit 0"]);
    print_wait(waitpid(pid, Some(WaitPidFlag::WUNTRACED)));
    kill(pid, Signal::SIGCONT).unwrap();
    print_wait(waitpid(pid, None));
    let codes = CHLD_CODES.load(SeqCst);
    let stop_or_continue = 1 << libc::CLD_STOPPED | 1 << libc::CLD_CONTINUED;
    println!("stop/continue notified: {}", codes & stop_or_continue != 0);
    println!("exit notified: {}", codes & 1 << libc::CLD_EXITED != 0);
}

static ALARM_WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static IN_READ: AtomicBool = AtomicBool::new(false);
static ALARMS_IN_READ: AtomicU64 = AtomicU64::new(0);

/// A SIGALRM handler: after five alarms during the read, it writes the data the read waits
/// for (so a read that restarts after each alarm ends too, without any timeout).
extern "C" fn on_alarm(_: libc::c_int) {
    if IN_READ.load(SeqCst) && ALARMS_IN_READ.fetch_add(1, SeqCst) == 4 {
        let fd = ALARM_WRITE_FD.load(SeqCst);
        // SAFETY:
        // - A one-byte static buffer; `fd` is only an integer to the kernel.
        unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    }
}

fn read_under_alarms(flags: SaFlags) {
    let (read, write) = nix::unistd::pipe().unwrap();
    ALARM_WRITE_FD.store(std::os::fd::AsRawFd::as_raw_fd(&write), SeqCst);
    set(Signal::SIGALRM, SigHandler::Handler(on_alarm), flags, SigSet::empty());
    observe(Signal::SIGALRM);
    let every = libc::timeval { tv_sec: 0, tv_usec: 20_000 };
    let timer = libc::itimerval { it_interval: every, it_value: every };
    // SAFETY:
    // - `timer` is a valid `itimerval`; a null old value is allowed.
    assert_eq!(unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) }, 0);
    IN_READ.store(true, SeqCst);
    let mut buf = [0u8; 1];
    match nix::unistd::read(&read, &mut buf) {
        Ok(n) => println!("read: data ({n} byte)"),
        Err(e) => println!("read: {e:?}"),
    }
    IN_READ.store(false, SeqCst);
    let off = libc::itimerval {
        it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
        it_value: libc::timeval { tv_sec: 0, tv_usec: 0 },
    };
    // SAFETY:
    // - As above; this disarms the timer.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &off, std::ptr::null_mut()) };
}

/// Item 10: a handler installed without SA_RESTART: the blocking read fails with EINTR.
fn read_under_alarms_without_restart() {
    read_under_alarms(SaFlags::empty());
}

/// Item 10: with SA_RESTART: the read restarts and returns the data.
fn read_under_alarms_with_restart() {
    read_under_alarms(SaFlags::SA_RESTART);
}

static ONE_SHOT_CALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn log_and_return(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    ONE_SHOT_CALLS.fetch_add(1, SeqCst);
    say(b"one-shot handler ran\n");
}

/// Item 11: "log, return, refault is fatal": a one-shot SIGSEGV handler runs once, the second
/// fault gets the default action and kills the process.
fn resethand_sigsegv() {
    let flags = SaFlags::SA_SIGINFO | SaFlags::SA_ONSTACK | SaFlags::SA_RESETHAND;
    set(Signal::SIGSEGV, SigHandler::SigAction(log_and_return), flags, SigSet::empty());
    observe(Signal::SIGSEGV);
    for i in 0..3 {
        raise(Signal::SIGSEGV).unwrap();
        println!("survived fault {i}");
    }
}

/// Item 11: after a one-shot handler ran, the disposition is SIG_DFL — after gobridge's
/// uninstall too.
fn resethand_then_uninstall() {
    let flags = SaFlags::SA_SIGINFO | SaFlags::SA_RESETHAND;
    set(Signal::SIGUSR2, SigHandler::SigAction(log_and_return), flags, SigSet::empty());
    let id = observe(Signal::SIGUSR2);
    raise(Signal::SIGUSR2).unwrap();
    if let Some(id) = id {
        signal::uninstall(id).unwrap();
    }
    let mut now = std::mem::MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY:
    // - A null new action makes this a pure read into `now`, a writable `struct sigaction`.
    assert_eq!(unsafe { libc::sigaction(libc::SIGUSR2, std::ptr::null(), now.as_mut_ptr()) }, 0);
    // SAFETY:
    // - Filled by the successful call above.
    let now = unsafe { now.assume_init() };
    let handler = match now.sa_sigaction {
        libc::SIG_DFL => "SIG_DFL",
        libc::SIG_IGN => "SIG_IGN",
        _ => "a handler",
    };
    println!("disposition after: {handler}");
}

static MASK_INSIDE: AtomicU64 = AtomicU64::new(0);

extern "C" fn record_mask(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    MASK_INSIDE.store(thread_mask(), SeqCst);
}

/// Item 12: the previous handler runs with the interrupted mask (SIGWINCH) + its sa_mask
/// (SIGUSR2) + the signal itself (SIGUSR1) — the mask a handler that `siglongjmp`s out
/// without restoring the mask leaves behind — and the mask is back after it.
fn mask_in_previous_handler() {
    let winch = SigSet::from_iter([Signal::SIGWINCH]);
    winch.thread_block().unwrap();
    let mask = SigSet::from_iter([Signal::SIGUSR2]);
    set(Signal::SIGUSR1, SigHandler::SigAction(record_mask), SaFlags::SA_SIGINFO, mask);
    observe(Signal::SIGUSR1);
    raise(Signal::SIGUSR1).unwrap();
    println!("mask in handler: {:#x}", MASK_INSIDE.load(SeqCst));
    println!("mask after: {:#x}", thread_mask());
}

static DEPTH: AtomicU64 = AtomicU64::new(0);
static MAX_DEPTH: AtomicU64 = AtomicU64::new(0);
static NESTED_CALLS: AtomicU64 = AtomicU64::new(0);
static MASK_AT_DEPTH_1: AtomicU64 = AtomicU64::new(0);

/// Raises its own signal once from inside itself: with SA_NODEFER it is delivered at once,
/// nested (the Boehm-GC-style probe relies on that for its second fault).
extern "C" fn nest_once(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let depth = DEPTH.fetch_add(1, SeqCst) + 1;
    MAX_DEPTH.fetch_max(depth, SeqCst);
    if NESTED_CALLS.fetch_add(1, SeqCst) == 0 {
        MASK_AT_DEPTH_1.store(thread_mask(), SeqCst);
        let _ = raise(Signal::SIGUSR1);
    }
    DEPTH.fetch_sub(1, SeqCst);
}

/// Gives the thread a 256 KiB alternate signal stack (Rust's own, for its stack-overflow
/// report, is a few KiB). gobridge's handler has SA_ONSTACK, as Go requires, so a previous
/// handler without it runs there too, and so do deliveries nested in it (see Limitations).
fn roomy_altstack() {
    let stack: &'static mut [u8] = Box::leak(vec![0u8; 256 * 1024].into_boxed_slice());
    let alt = libc::stack_t { ss_sp: stack.as_mut_ptr().cast(), ss_flags: 0, ss_size: stack.len() };
    // SAFETY:
    // - `alt` describes a leaked (never freed) writable buffer of `ss_size` bytes; a null old
    //   value is allowed.
    assert_eq!(unsafe { libc::sigaltstack(&alt, std::ptr::null_mut()) }, 0);
}

/// Item 12: SA_NODEFER: the signal is not blocked in its handler, so it nests.
fn nodefer_nesting() {
    roomy_altstack();
    let flags = SaFlags::SA_SIGINFO | SaFlags::SA_NODEFER;
    set(Signal::SIGUSR1, SigHandler::SigAction(nest_once), flags, SigSet::empty());
    observe(Signal::SIGUSR1);
    raise(Signal::SIGUSR1).unwrap();
    println!("calls {}", NESTED_CALLS.load(SeqCst));
    println!("max depth {}", MAX_DEPTH.load(SeqCst));
    println!("mask in handler: {:#x}", MASK_AT_DEPTH_1.load(SeqCst));
}
