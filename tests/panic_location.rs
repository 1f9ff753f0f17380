//! Panic messages carry the panic's location, through a panic hook that gobridge chains in
//! front of the process's own: the program's hook still sees every panic, what the default
//! hook prints is unchanged, and a location is never attributed to the wrong panic. The panic
//! hook is process-global, so this binary is its own process and the hook sequence is one
//! test.

use gobridge::executor::PinnedExecutor;
use gobridge::ffi::{self, Status};
use gobridge::{Error, Result};
use std::panic::{self, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};

/// Calls of the program's own hook (installed before gobridge's).
static PROGRAM_HOOK: AtomicUsize = AtomicUsize::new(0);
/// Calls of a hook that replaced both.
static REPLACING_HOOK: AtomicUsize = AtomicUsize::new(0);

/// `Err(Panicked)` whose message is `message` at this file's `line` (and some column).
#[track_caller]
fn assert_at(err: &Error, message: &str, line: u32) {
    let want = format!("{message} at {}:{line}:", file!());
    match err {
        Error::Panicked(m) if m.starts_with(&want) && m[want.len()..].parse::<u32>().is_ok() => {}
        other => panic!("want Panicked({want:?}<column>), got {other:?}"),
    }
}

/// A C entry point whose body panics on a known line.
///
/// # Safety
/// `status` is NULL or valid for the call.
unsafe extern "C" fn panics_in_call(status: *mut Status) -> i32 {
    let body = || -> Result<()> {
        CALL_LINE.store(line!() + 1, SeqCst);
        panic!("boom in call")
    };
    // SAFETY:
    // - `status` is NULL or valid for the call (our contract).
    unsafe { ffi::call(status, body) }
}
/// The line of the panic in `panics_in_call`.
static CALL_LINE: AtomicU32 = AtomicU32::new(0);

#[test]
fn locations_chain_with_the_programs_hook_and_are_never_stale() {
    // The program installs its own (silent) hook before it first uses gobridge.
    panic::set_hook(Box::new(|_| {
        PROGRAM_HOOK.fetch_add(1, SeqCst);
    }));

    // Through the C ABI: the status message names the file and line of the panic.
    let mut buf = [0u8; 256];
    let mut st = Status::with_buffer(&mut buf);
    // SAFETY:
    // - `st` and its buffer are valid for the call.
    assert_eq!(unsafe { panics_in_call(&mut st) }, Error::Panicked(String::new()).code());
    let text = std::str::from_utf8(&buf[..st.msg_len]).unwrap();
    let want = format!("panicked: boom in call at {}:{}:", file!(), CALL_LINE.load(SeqCst));
    assert!(text.starts_with(&want), "{text:?} does not start with {want:?}");
    assert_eq!(PROGRAM_HOOK.load(SeqCst), 1, "the program's hook no longer sees panics");

    // In an executor job, queued and inline.
    let exec = PinnedExecutor::new("located").unwrap();
    let line = line!() + 1;
    let err = exec.run(|| panic!("boom in a job")).unwrap_err();
    assert_at(&err, "boom in a job", line);
    let line = line!() + 1;
    let err = exec.submit(|| -> u8 { panic!("boom in a ticket") }).unwrap().wait().unwrap_err();
    assert_at(&err, "boom in a ticket", line);
    assert_eq!(PROGRAM_HOOK.load(SeqCst), 3);

    // A panic the body recovered from itself, then another payload resumed without the hook:
    // no location rather than the recovered panic's.
    let err = ffi::guard(|| -> Result<()> {
        let _ = catch_unwind(|| panic!("recovered"));
        resume_unwind(Box::new(String::from("resumed")))
    })
    .unwrap_err();
    assert_eq!(err, Error::Panicked("resumed".into()));
    // The same payload resumed keeps the location of its panic.
    let line = line!() + 2;
    let err = ffi::guard(|| -> Result<()> {
        let payload = catch_unwind(|| panic!("rethrown")).unwrap_err();
        resume_unwind(payload)
    })
    .unwrap_err();
    assert_at(&err, "rethrown", line);
    // Non-string payloads are located too.
    let line = line!() + 1;
    let err = ffi::guard(|| -> Result<()> { panic::panic_any(7_u8) }).unwrap_err();
    assert_at(&err, ffi::NON_STRING_PANIC, line);
    assert_eq!(PROGRAM_HOOK.load(SeqCst), 6);

    // A hook set later without chaining replaces gobridge's: messages lose the location,
    // nothing else changes (and asking again does not stack a second hook).
    panic::set_hook(Box::new(|_| {
        REPLACING_HOOK.fetch_add(1, SeqCst);
    }));
    ffi::record_panic_locations();
    let err = ffi::guard(|| -> Result<()> { panic!("unlocated") }).unwrap_err();
    assert_eq!(err, Error::Panicked("unlocated".into()));
    let err = exec.run(|| panic!("unlocated job")).unwrap_err();
    assert_eq!(err, Error::Panicked("unlocated job".into()));
    assert_eq!((PROGRAM_HOOK.load(SeqCst), REPLACING_HOOK.load(SeqCst)), (6, 2));
    let _ = panic::take_hook();
}

/// With the default hook, what a process prints for a panic caught by gobridge is what it
/// prints for any other panic: one "thread '…' panicked at file:line:col:" report, the
/// message, nothing added (run in a child, whose stderr is read back).
#[test]
fn the_default_hooks_output_is_unchanged() {
    if std::env::var_os("GOBRIDGE_PANIC_LOCATION_CHILD").is_some() {
        let _ = catch_unwind(|| panic!("plain panic"));
        let err = ffi::guard(|| -> Result<()> { panic!("guarded panic") }).unwrap_err();
        let _ = catch_unwind(|| panic!("plain panic after"));
        println!("CHILD-ERR {err}");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_default_hooks_output_is_unchanged", "--nocapture"])
        .env("GOBRIDGE_PANIC_LOCATION_CHILD", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stderr.matches("panicked at ").count(), 3, "{stderr}");
    for message in ["plain panic", "guarded panic", "plain panic after"] {
        let report = format!(":\n{message}\n");
        assert_eq!(stderr.matches(&report).count(), 1, "{message:?} not reported once: {stderr}");
    }
    // Each report has the same shape: the thread, then the location.
    let shapes: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("panicked at "))
        .map(|l| l.split(file!()).next().unwrap().to_owned())
        .collect();
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
    assert!(
        stdout.contains(&format!("CHILD-ERR panicked: guarded panic at {}:", file!())),
        "{stdout}"
    );
}
