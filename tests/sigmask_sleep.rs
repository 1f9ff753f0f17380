//! `sleep_interruptible` under a storm of thread-directed SIGURG (every 0.5 ms): interrupted
//! without the mask, never with it. Its own binary: it installs a process-wide SIGURG handler
//! (a no-op, SA_ONSTACK, deliberately without SA_RESTART — nanosleep is never restarted).

use gobridge::sigmask::{self, SignalSet};
use nix::sys::pthread::{Pthread, pthread_kill, pthread_self};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

extern "C" fn noop(_: libc::c_int) {}

fn storm_while<R>(target: Pthread, f: impl FnOnce() -> R) -> R {
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                pthread_kill(target, Signal::SIGURG).unwrap();
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    let result = f();
    // The target thread (this one) outlives the storm: it joins before returning.
    stop.store(true, Ordering::Relaxed);
    storm.join().unwrap();
    result
}

#[test]
fn eintr_without_the_mask_none_with_it() {
    let action = SigAction::new(SigHandler::Handler(noop), SaFlags::SA_ONSTACK, SigSet::empty());
    // SAFETY:
    // - `noop` is an `extern "C" fn(c_int)` that does nothing, trivially async-signal-safe.
    // - This binary has one test, so no other code in the process relies on SIGURG's
    //   disposition.
    unsafe { sigaction(Signal::SIGURG, &action) }.unwrap();
    let me = pthread_self();
    let before = sigmask::current_mask().unwrap();

    let unmasked =
        storm_while(me, || sigmask::sleep_interruptible(Duration::from_millis(300), None)).unwrap();
    assert!(unmasked > 0, "a SIGURG storm never interrupted nanosleep");

    let masked = storm_while(me, || {
        sigmask::sleep_interruptible(Duration::from_millis(300), Some(&SignalSet::go_runtime()))
    })
    .unwrap();
    assert_eq!(masked, 0);
    assert_eq!(sigmask::current_mask().unwrap(), before, "mask restored after the sleep");
    println!("EINTR unmasked: {unmasked}, masked: {masked}");
}
