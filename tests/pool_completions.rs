//! `PinnedPool::submit_to` and `Completions`: one report per accepted job — value, panic,
//! cancellation, shutdown — through one fd, which is readable exactly when a consumer has
//! something to take.

use gobridge::Error;
use gobridge::executor::{self, Completion, Completions, PinnedPool};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

fn fd_readable(c: &Completions<impl Sized>) -> bool {
    let mut fds = [PollFd::new(c.fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).unwrap() == 1
}

/// Takes reports the way an event loop does (wait for the fd, take until short) until `n`
/// have arrived.
fn collect<R>(c: &Completions<R>, n: usize) -> Vec<Completion<R>> {
    let mut out = Vec::new();
    while out.len() < n {
        poll(&mut [PollFd::new(c.fd(), PollFlags::POLLIN)], PollTimeout::NONE).unwrap();
        while c.take_into(&mut out, 16).unwrap() == 16 {}
    }
    out
}

/// A job that holds its executor until the barrier is passed twice (started, release).
fn blocker(gate: &Arc<Barrier>) -> impl FnOnce() -> gobridge::Result<()> + Send + 'static {
    let gate = Arc::clone(gate);
    move || {
        gate.wait();
        gate.wait();
        Ok(())
    }
}

#[test]
fn every_accepted_job_reports_once_with_its_id_and_value() {
    let pool = PinnedPool::new(3, "reports").unwrap();
    let done = Arc::new(Completions::new().unwrap());
    let ids: Vec<u64> =
        (0..500u64).map(|i| pool.submit_to(&done, move || Ok(i * 2)).unwrap().id()).collect();
    assert!(ids.iter().all(|&id| id != 0), "0 is never a job id");
    let reports = collect(&done, ids.len());
    assert_eq!(reports.len(), 500);
    let got: HashSet<(u64, u64)> =
        reports.into_iter().map(|c| (c.job, c.result.unwrap())).collect();
    let want: HashSet<(u64, u64)> = ids.iter().zip(0..).map(|(&id, i)| (id, i * 2)).collect();
    assert_eq!(got, want);
    assert!(!fd_readable(&done), "every report taken: the fd is quiet");
    let mut more = Vec::new();
    assert_eq!(done.take_into(&mut more, 16).unwrap(), 0);
}

#[test]
fn a_panicking_job_reports_its_message_and_the_pool_keeps_serving() {
    let pool = PinnedPool::new(1, "panics").unwrap();
    let done = Arc::new(Completions::new().unwrap());
    let job = pool.submit_to(&done, || -> gobridge::Result<()> { panic!("disk on fire") }).unwrap();
    let after = pool.submit_to(&done, || Ok(())).unwrap();
    let reports = collect(&done, 2);
    assert_eq!(reports[0].job, job.id());
    assert!(matches!(&reports[0].result, Err(Error::Panicked(m)) if m.starts_with("disk on fire")));
    assert_eq!(reports[1], Completion { job: after.id(), result: Ok(()) });
}

#[test]
fn cancel_withdraws_a_queued_job_and_reaches_a_running_one() {
    let pool = PinnedPool::new(1, "cancel").unwrap();
    let done = Arc::new(Completions::new().unwrap());
    let gate = Arc::new(Barrier::new(2));
    let running = pool.submit_to(&done, blocker(&gate)).unwrap();
    gate.wait(); // the blocker runs: the next job stays queued
    let ran = Arc::new(AtomicBool::new(false));
    let queued = {
        let ran = Arc::clone(&ran);
        pool.submit_to(&done, move || {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap()
    };
    assert!(queued.cancel(), "a queued job is unfinished");
    // Withdrawn: its report is there at once, while the blocker still runs.
    let first = collect(&done, 1);
    assert_eq!(first, [Completion { job: queued.id(), result: Err(Error::Cancelled) }]);
    assert!(running.cancel(), "a running job is unfinished");
    gate.wait();
    let second = collect(&done, 1);
    assert_eq!(second, [Completion { job: running.id(), result: Ok(()) }], "it ignored its token");
    assert!(!ran.load(Ordering::SeqCst), "a withdrawn job never runs");
    assert!(!queued.cancel() && !running.cancel(), "finished jobs: nothing to cancel");

    // A running job that looks at its token stops early and says so.
    let gate = Arc::new(Barrier::new(2));
    let looking = {
        let gate = Arc::clone(&gate);
        pool.submit_to(&done, move || {
            gate.wait();
            while !executor::cancelled() {
                std::hint::spin_loop();
            }
            executor::check_cancelled()
        })
        .unwrap()
    };
    gate.wait();
    assert!(looking.cancel());
    assert_eq!(
        collect(&done, 1),
        [Completion { job: looking.id(), result: Err(Error::Cancelled) }]
    );
}

#[test]
fn shutdown_reports_queued_jobs_and_a_refused_job_reports_nothing() {
    let pool = PinnedPool::new(1, "shutdown").unwrap();
    let done = Arc::new(Completions::new().unwrap());
    let gate = Arc::new(Barrier::new(2));
    let running = pool.submit_to(&done, blocker(&gate)).unwrap();
    gate.wait();
    let queued: Vec<u64> = (0..5).map(|_| pool.submit_to(&done, || Ok(())).unwrap().id()).collect();
    // Jobs accepted while shutdown starts: each reports; the first refused one must not.
    let mut racing = Vec::new();
    std::thread::scope(|s| {
        let stopper = s.spawn(|| pool.shutdown());
        // Shutdown waits for the running job; let it go once shutdown has closed the pool.
        while let Ok(job) = pool.submit_to(&done, || Ok(())) {
            racing.push(job.id());
            std::thread::yield_now();
        }
        gate.wait();
        stopper.join().unwrap().unwrap();
    });
    let accepted = 1 + queued.len() + racing.len();
    let mut reports = collect(&done, accepted);
    done.take_into(&mut reports, 64).unwrap();
    let mut ids: Vec<u64> = reports.iter().map(|c| c.job).collect();
    ids.sort_unstable();
    let mut want: Vec<u64> =
        [running.id()].into_iter().chain(queued.iter().copied()).chain(racing).collect();
    want.sort_unstable();
    assert_eq!(ids, want, "one report per accepted job, none for the refused one");
    assert!(reports.contains(&Completion { job: running.id(), result: Ok(()) }));
    for &id in &queued {
        assert!(
            reports.contains(&Completion { job: id, result: Err(Error::Shutdown) })
                || reports.contains(&Completion { job: id, result: Ok(()) }),
            "job {id}: one report, Shutdown unless it ran before the close"
        );
    }
    assert_eq!(pool.submit_to(&done, || Ok(())).unwrap_err(), Error::Shutdown);
}

#[test]
fn the_fd_is_readable_exactly_when_a_waiting_consumer_has_something_to_take() {
    let pool = PinnedPool::new(1, "fd").unwrap();
    let done = Arc::new(Completions::<u32>::new().unwrap());
    assert!(!fd_readable(&done));
    let gate = Arc::new(Barrier::new(2));
    let ready = {
        let gate = Arc::clone(&gate);
        move || {
            gate.wait();
            Ok(1)
        }
    };

    // A poller takes reports without the fd: it stays quiet while the poller lives.
    let poller = done.poller();
    pool.submit_to(&done, ready.clone()).unwrap();
    gate.wait();
    let mut got = Vec::new();
    while poller.poll_into(&mut got, 4) == 0 {
        std::hint::spin_loop();
    }
    assert_eq!(got.len(), 1);
    assert!(!fd_readable(&done), "a poller was registered: no write");

    // A report that arrives while the poller lives is handed to the fd when it ends.
    pool.submit_to(&done, ready.clone()).unwrap();
    gate.wait();
    pool.executors()[0].run(|| ()).unwrap(); // the report is queued once this returns
    assert!(!fd_readable(&done));
    drop(poller);
    assert!(fd_readable(&done), "the last poller's end must not strand a report");
    got.clear();
    assert_eq!(done.take_into(&mut got, 4).unwrap(), 1);
    assert!(!fd_readable(&done), "taken: quiet again");

    // Without a poller, a report makes the fd readable; a short take leaves it readable.
    for _ in 0..3 {
        pool.submit_to(&done, ready.clone()).unwrap();
        gate.wait();
    }
    pool.executors()[0].run(|| ()).unwrap();
    assert!(fd_readable(&done));
    got.clear();
    assert_eq!(done.take_into(&mut got, 2).unwrap(), 2);
    assert!(fd_readable(&done), "one left: still readable");
    assert_eq!(done.take_into(&mut got, 2).unwrap(), 1);
    assert!(!fd_readable(&done));
}
