//! `ThreadBound<T>`: refused off its thread, and never dropped off its thread.
//!
//! `leaked_count()` is process-wide, so the tests that read it hold `LEAK_COUNTER` to keep
//! their before/after readings from interleaving.

use gobridge::executor::{Pinned, PinnedExecutor};
use gobridge::{Error, ThreadBound, ThreadId, current_thread};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

static LEAK_COUNTER: Mutex<()> = Mutex::new(());

/// Reports the thread its destructor runs on.
struct DropProbe(mpsc::Sender<ThreadId>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let _ = self.0.send(current_thread());
    }
}

#[test]
fn every_access_off_the_owner_thread_is_wrong_thread_with_both_ids() {
    let mut bound = ThreadBound::new(Rc::new(Cell::new(1u32)));
    let owner = current_thread();
    assert_eq!(bound.owner(), owner);
    assert!(bound.is_owner());
    bound.get_mut().unwrap().set(2);

    let (bound, foreign) = std::thread::spawn(move || {
        let mut bound = bound;
        let me = current_thread();
        for err in [bound.get().map(|_| ()).unwrap_err(), bound.get_mut().map(|_| ()).unwrap_err()]
        {
            assert_eq!(err, Error::WrongThread { owner, current: me });
        }
        assert!(!bound.is_owner());
        // Debug never touches the value off its thread.
        assert!(format!("{bound:?}").contains("<on thread"));
        (bound, me)
    })
    .join()
    .unwrap();
    assert_ne!(foreign, owner);
    // Back home, the value is intact and reachable; the foreign thread changed nothing.
    assert_eq!(bound.get().unwrap().get(), 2);
    assert_eq!(Rc::strong_count(bound.get().unwrap()), 1);
    assert_eq!(bound.into_inner().unwrap().get(), 2);
}

#[test]
fn a_value_is_refused_to_a_new_thread_that_reuses_nothing_of_the_owner() {
    // The owner thread exits; a later thread is never mistaken for it, even if the kernel
    // hands out the same tid again.
    let bound = std::thread::spawn(|| ThreadBound::new(5u8)).join().unwrap();
    for _ in 0..16 {
        let r = std::thread::scope(|s| s.spawn(|| bound.get().copied()).join().unwrap());
        assert!(matches!(r, Err(Error::WrongThread { .. })), "{r:?}");
    }
    let _guard = LEAK_COUNTER.lock().unwrap();
    drop(bound); // owner thread is gone: leaked, not dropped here
}

#[test]
fn drop_on_the_owner_thread_runs_the_destructor_there() {
    let (tx, rx) = mpsc::channel();
    let bound = ThreadBound::new(DropProbe(tx));
    drop(bound);
    assert_eq!(rx.recv().unwrap(), current_thread());
}

#[test]
fn dropped_on_a_foreign_thread_it_is_sent_home_to_its_executor() {
    let exec = PinnedExecutor::new("home").unwrap();
    let (tx, rx) = mpsc::channel();
    let bound = exec.run(move || ThreadBound::new(DropProbe(tx))).unwrap();
    assert_eq!(bound.owner(), exec.tid());
    let _guard = LEAK_COUNTER.lock().unwrap();
    let leaked = ThreadBound::<()>::leaked_count();
    drop(bound); // on the test thread: queued home instead
    // The drop is ordered with the executor's other jobs: after this `run`, it has happened.
    exec.run(|| ()).unwrap();
    assert_eq!(rx.try_recv().unwrap(), exec.tid());
    assert_eq!(ThreadBound::<()>::leaked_count(), leaked);
}

#[test]
fn into_inner_on_a_foreign_thread_is_refused_and_the_value_still_goes_home() {
    let exec = PinnedExecutor::new("home-into-inner").unwrap();
    let (tx, rx) = mpsc::channel();
    let bound = exec.run(move || ThreadBound::new(DropProbe(tx))).unwrap();
    let err = bound.into_inner().map(|_| ()).unwrap_err();
    assert_eq!(err, Error::WrongThread { owner: exec.tid(), current: current_thread() });
    exec.run(|| ()).unwrap();
    assert_eq!(rx.try_recv().unwrap(), exec.tid());
}

#[test]
fn values_of_a_pinned_state_thread_go_home_too() {
    let (tx, rx) = mpsc::channel();
    let pinned = Pinned::new("pinned-home", || Rc::new(7u32)).unwrap();
    let tid = pinned.executor().tid();
    let bound = pinned.with(move |rc| (ThreadBound::new(DropProbe(tx)), **rc)).unwrap();
    assert_eq!(bound.1, 7);
    drop(bound.0);
    pinned.with(|_| ()).unwrap();
    assert_eq!(rx.try_recv().unwrap(), tid);
}

#[test]
fn dropped_off_a_plain_thread_it_is_leaked_and_counted_never_dropped_elsewhere() {
    let (tx, rx) = mpsc::channel();
    let bound = std::thread::spawn(move || ThreadBound::new(DropProbe(tx))).join().unwrap();
    assert_dropping_leaks(bound, &rx);
}

/// Drops `bound` off its thread and asserts it was leaked and counted, never dropped: its
/// probe's sender is leaked with it, so `rx` is neither fed nor closed.
fn assert_dropping_leaks(bound: ThreadBound<DropProbe>, rx: &mpsc::Receiver<ThreadId>) {
    let _guard = LEAK_COUNTER.lock().unwrap();
    let leaked = ThreadBound::<()>::leaked_count();
    drop(bound);
    assert_eq!(ThreadBound::<()>::leaked_count(), leaked + 1);
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
}

#[test]
fn dropped_after_its_executor_shut_down_it_is_leaked_and_counted() {
    let exec = PinnedExecutor::new("gone").unwrap();
    let (tx, rx) = mpsc::channel();
    let bound = exec.run(move || ThreadBound::new(DropProbe(tx))).unwrap();
    exec.shutdown().unwrap();
    assert_dropping_leaks(bound, &rx);
}

#[test]
fn shared_by_reference_many_threads_are_refused_and_the_owner_is_served() {
    let bound = Arc::new(ThreadBound::new(Cell::new(0u64)));
    std::thread::scope(|s| {
        for _ in 0..8 {
            let bound = Arc::clone(&bound);
            s.spawn(move || {
                for _ in 0..1_000 {
                    assert!(matches!(bound.get(), Err(Error::WrongThread { .. })));
                }
            });
        }
        for _ in 0..1_000 {
            let cell = bound.get().unwrap();
            cell.set(cell.get() + 1);
        }
    });
    assert_eq!(bound.get().unwrap().get(), 1_000);
}
