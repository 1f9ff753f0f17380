//! A thread born with the Go runtime's signals blocked, a scoped mask on the current thread,
//! and what each does to a `nanosleep` under a storm of SIGURG.
//!
//! Run: `cargo run --example masked_thread`

use gobridge::sigmask::{self, SignalSet};
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

extern "C" fn noop(_: libc::c_int) {}

fn sigblk() -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("procfs");
    status.lines().find(|l| l.starts_with("SigBlk:")).unwrap_or("SigBlk: ?").to_string()
}

fn main() -> gobridge::Result<()> {
    println!("main thread            {}  {:?}", sigblk(), sigmask::current_mask()?);

    // 1. A thread with SIGURG and SIGPROF blocked from its first instruction.
    let child = sigmask::spawn_masked(&SignalSet::go_runtime(), || {
        format!("{}  {:?}", sigblk(), sigmask::current_mask())
    })?;
    println!("spawn_masked thread    {}", child.join().expect("thread panicked"));

    // 2. A scoped mask on this thread, restored exactly when the guard goes.
    {
        let _outer = sigmask::block(&SignalSet::go_runtime())?;
        println!("inside block()         {}", sigblk());
        let _nested = sigmask::block(&SignalSet::from_signals([Signal::SIGURG]))?;
        println!("nested no-op guard     {}  (no system call)", sigblk());
    }
    println!("after the guards       {}", sigblk());

    // 3. nanosleep under a SIGURG storm aimed at this thread, without and with the mask.
    let action = SigAction::new(SigHandler::Handler(noop), SaFlags::SA_ONSTACK, SigSet::empty());
    // SAFETY:
    // - `noop` does nothing, so it is async-signal-safe.
    // - This example owns the process; nothing else relies on SIGURG's disposition.
    unsafe { sigaction(Signal::SIGURG, &action) }?;
    for mask in [None, Some(SignalSet::go_runtime())] {
        let stop = Arc::new(AtomicBool::new(false));
        let target = pthread_self();
        let storm = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = pthread_kill(target, Signal::SIGURG);
                    std::thread::sleep(Duration::from_micros(500));
                }
            })
        };
        let eintr = sigmask::sleep_interruptible(Duration::from_millis(100), mask.as_ref())?;
        stop.store(true, Ordering::Relaxed);
        storm.join().expect("storm thread panicked");
        println!("100 ms nanosleep, mask {mask:?}: interrupted {eintr} times");
    }
    Ok(())
}
