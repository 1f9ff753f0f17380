//! `spawn_masked`: the mask is in place at the thread's first line, read back from the
//! kernel's `/proc/self/task/<tid>/status`, and the parent's mask is untouched.

mod common;

use common::sigblk_of;
use gobridge::sigmask::{self, SignalSet};
use nix::sys::signal::Signal;

fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

#[test]
fn the_thread_is_masked_from_its_first_line() {
    let parent_before = sigblk_of(gettid());
    let handle = sigmask::spawn_masked(&SignalSet::go_runtime(), || sigblk_of(gettid())).unwrap();
    let first_line = handle.join().unwrap();
    for s in [Signal::SIGURG, Signal::SIGPROF] {
        assert_ne!(first_line & (1 << (s as i32 - 1)), 0, "{s:?} not blocked at first line");
    }
    assert_eq!(first_line & !(parent_before | (1 << 22) | (1 << 26)), 0, "nothing else added");
    assert_eq!(sigblk_of(gettid()), parent_before, "parent mask unchanged");
}

#[test]
fn unblockable_set_spawns_nothing() {
    let err =
        sigmask::spawn_masked(&SignalSet::from_signals([Signal::SIGSEGV]), || ()).unwrap_err();
    assert_eq!(err, gobridge::Error::Unblockable(Signal::SIGSEGV));
}

#[test]
fn spawned_inside_a_guard_keeps_both_sets() {
    let _g = sigmask::block(&SignalSet::from_signals([Signal::SIGUSR2])).unwrap();
    let inside =
        sigmask::spawn_masked(&SignalSet::go_runtime(), sigmask::current_mask).unwrap().join();
    let inside = inside.unwrap().unwrap();
    assert!(inside.contains(Signal::SIGUSR2) && inside.contains(Signal::SIGURG));
}
