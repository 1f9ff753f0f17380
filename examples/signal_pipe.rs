//! Write-only signal handlers: a `SignalPipe`, the four actions, chaining to a handler that
//! was there before, and the Go-compatibility audit next to a signal-hook-style handler.
//!
//! Run: `cargo run --example signal_pipe`

use gobridge::sigmask::SignalSet;
use gobridge::signal::{self, Action, SignalPipe};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

static PREVIOUS_CALLS: AtomicU64 = AtomicU64::new(0);

/// Stands in for the Go runtime's handler: installed before us, chained to by us.
extern "C" fn previous(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    PREVIOUS_CALLS.fetch_add(1, SeqCst);
}

/// The way signal-hook-registry installs (no SA_ONSTACK): fatal in a Go process.
extern "C" fn careless(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

fn main() -> gobridge::Result<()> {
    // SIGUSR1 terminates by default, and gobridge keeps the previous outcome; a Go process has
    // its own handler there. Here, "the previous handler" is ours to install.
    let flags = SaFlags::SA_ONSTACK | SaFlags::SA_SIGINFO | SaFlags::SA_RESTART;
    // SAFETY:
    // - `previous` only does an atomic add (async-signal-safe); this example owns the process.
    unsafe {
        sigaction(
            Signal::SIGUSR1,
            &SigAction::new(SigHandler::SigAction(previous), flags, SigSet::all()),
        )
    }?;

    // 1. A SignalPipe for SIGUSR1 and SIGWINCH, read from another thread.
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGUSR1, Signal::SIGWINCH]))?;
    std::thread::scope(|s| -> gobridge::Result<()> {
        let reader =
            s.spawn(|| -> gobridge::Result<Vec<Signal>> { (0..3).map(|_| pipe.recv()).collect() });
        raise(Signal::SIGUSR1)?;
        raise(Signal::SIGWINCH)?;
        raise(Signal::SIGUSR1)?;
        let got = reader.join().expect("reader panicked")?;
        println!("SignalPipe received {got:?} (read fd {})", pipe.fd().as_raw_fd());
        Ok(())
    })?;
    println!(
        "the previous SIGUSR1 handler still ran {} times (chained after our action)",
        PREVIOUS_CALLS.load(SeqCst)
    );

    // 2. The four actions on one signal, sharing one handler.
    static FLAG: AtomicBool = AtomicBool::new(false);
    static TOTAL: AtomicU64 = AtomicU64::new(0);
    let (r, w) = nix::unistd::pipe()?;
    let ids = [
        signal::install(Signal::SIGUSR1, Action::SetFlag(&FLAG))?,
        signal::install(Signal::SIGUSR1, Action::Add(&TOTAL, 10))?,
        signal::install(Signal::SIGUSR1, Action::WriteSignalNumber(w.as_raw_fd()))?,
        signal::install(Signal::SIGUSR1, Action::WriteMessage(w.as_raw_fd(), b" <- SIGUSR1"))?,
    ];
    raise(Signal::SIGUSR1)?;
    let mut buf = [0u8; 32];
    let n = nix::unistd::read(&r, &mut buf)?;
    println!(
        "actions: flag={} total={} fd got byte {} and message {:?}",
        FLAG.load(SeqCst),
        TOTAL.load(SeqCst),
        buf[0],
        String::from_utf8_lossy(&buf[1..n])
    );
    for id in ids {
        signal::uninstall(id)?;
    }
    assert_eq!(pipe.try_recv()?, Some(Signal::SIGUSR1), "the pipe saw it too");

    // 3. The audit: a careless handler is flagged, ours passes.
    // SAFETY:
    // - `careless` does nothing; SIGUSR2 is unused otherwise in this example.
    unsafe {
        sigaction(
            Signal::SIGUSR2,
            &SigAction::new(SigHandler::SigAction(careless), SaFlags::SA_RESTART, SigSet::empty()),
        )
    }?;
    for h in signal::audit()?.iter().filter(|h| h.handler) {
        println!(
            "{:<9} ours={:<5} SA_ONSTACK={:<5} go_compatible={:<5} would_crash_go={}",
            h.signal.as_str(),
            h.ours,
            h.on_stack,
            h.go_compatible(),
            h.would_crash_go()
        );
    }
    // Rust's own SIGSEGV/SIGBUS stack-overflow handlers (installed by std in a Rust `main`,
    // not in a Go process that links a Rust staticlib) have SA_ONSTACK but not Go's SA_RESTART
    // and full mask: reported as differing, not as crashing.
    let bad = signal::audit_go_compat()?;
    let names: Vec<_> = bad.iter().map(|h| h.signal.as_str()).collect();
    let crashing: Vec<_> =
        bad.iter().filter(|h| h.would_crash_go()).map(|h| h.signal.as_str()).collect();
    println!("audit_go_compat: {names:?}; would crash Go: {crashing:?}");
    assert_eq!(crashing, ["SIGUSR2"]);

    // 4. Closing restores exactly what was there before.
    pipe.close()?;
    let usr1 = signal::audit()?.into_iter().find(|h| h.signal == Signal::SIGUSR1);
    println!("after close, SIGUSR1 is ours: {}", usr1.is_some_and(|h| h.ours));
    Ok(())
}
