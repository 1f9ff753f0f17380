//! `PinnedPool`: key affinity, least-loaded placement, a bounded set of threads, shutdown.

use gobridge::executor::PinnedPool;
use gobridge::{Error, current_thread};
use std::collections::{HashMap, HashSet};
use std::sync::Barrier;
use std::sync::mpsc;

#[test]
fn the_same_key_always_runs_on_the_same_thread_in_order() {
    let pool = PinnedPool::new(4, "affinity").unwrap();
    let tids: HashSet<_> = pool.executors().iter().map(|e| e.tid()).collect();
    assert_eq!(tids.len(), 4);
    let mut seen = HashMap::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let pool = &pool;
                s.spawn(move || {
                    (0..64u64)
                        .map(|key| (key, pool.run_keyed(key, current_thread).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (key, tid) in handle.join().unwrap() {
                assert_eq!(*seen.entry(key).or_insert(tid), tid, "key {key} moved threads");
                assert_eq!(pool.executor_for_key(key).tid(), tid);
            }
        }
    });
    // 64 keys spread over more than one thread, and only over the pool's threads.
    let used: HashSet<_> = seen.values().copied().collect();
    assert!(used.len() > 1, "keys all landed on one thread");
    assert!(used.is_subset(&tids));

    // Per-key FIFO: submitted jobs of one key run in submission order.
    let (tx, rx) = mpsc::channel();
    let tickets: Vec<_> = (0..100u32)
        .map(|i| {
            let tx = tx.clone();
            pool.submit_keyed(42, move || tx.send(i).unwrap()).unwrap()
        })
        .collect();
    for ticket in tickets {
        ticket.wait().unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
}

#[test]
fn unkeyed_jobs_avoid_a_busy_thread() {
    let pool = PinnedPool::new(2, "least-loaded").unwrap();
    // Occupy one executor with a job that waits for the test to release it.
    let release = std::sync::Arc::new(Barrier::new(2));
    let started = std::sync::Arc::new(Barrier::new(2));
    let busy = pool.executors()[0].tid();
    let blocker = {
        let (release, started) = (release.clone(), started.clone());
        pool.executors()[0]
            .submit(move || {
                started.wait();
                release.wait();
            })
            .unwrap()
    };
    started.wait();
    // Whichever executor the round-robin start points at, the idle one is chosen.
    for _ in 0..4 {
        assert_eq!(pool.least_loaded().tid(), pool.executors()[1].tid());
    }
    let ran_on = pool.run(current_thread).unwrap();
    assert_ne!(ran_on, busy, "an unkeyed job queued behind a busy thread");
    release.wait();
    blocker.wait().unwrap();
}

/// One caller's jobs, one after another, all run on the first thread: a job leaves its
/// executor's load before its result is published, so the next placement finds that thread
/// idle again. (It left after: the caller, woken by the result, often found the thread still
/// busy and sent its next job to a cold one.)
#[test]
fn back_to_back_unkeyed_jobs_stay_on_the_first_thread() {
    let pool = PinnedPool::new(3, "warm").unwrap();
    let first = pool.executors()[0].tid();
    for i in 0..20_000 {
        assert_eq!(pool.run(current_thread).unwrap(), first, "run {i} went to another thread");
    }
    for i in 0..2_000 {
        let ticket = pool.submit(current_thread).unwrap();
        assert_eq!(ticket.wait().unwrap(), first, "submit {i} went to another thread");
    }
}

#[test]
fn a_pool_never_grows_beyond_its_threads() {
    let pool = PinnedPool::new(3, "bounded").unwrap();
    let tickets: Vec<_> = (0..2_000).map(|_| pool.submit(current_thread).unwrap()).collect();
    let ran_on: HashSet<_> = tickets.into_iter().map(|t| t.wait().unwrap()).collect();
    let tids: HashSet<_> = pool.executors().iter().map(|e| e.tid()).collect();
    assert!(ran_on.is_subset(&tids), "a job ran outside the pool: {ran_on:?} vs {tids:?}");
}

#[test]
fn zero_threads_is_refused_and_shutdown_refuses_new_work() {
    assert!(matches!(PinnedPool::new(0, "empty"), Err(Error::InvalidArgument(_))));
    let pool = PinnedPool::new(2, "closing").unwrap();
    pool.shutdown().unwrap();
    assert_eq!(pool.run(|| ()), Err(Error::Shutdown));
    assert_eq!(pool.run_keyed(1, || ()), Err(Error::Shutdown));
    assert!(matches!(pool.submit(|| ()), Err(Error::Shutdown)));
    assert!(pool.executors().iter().all(|e| e.is_shutdown()));
}
