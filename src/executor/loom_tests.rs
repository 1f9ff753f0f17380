//! loom models of the executor handoff (`RUSTFLAGS="--cfg loom"`, see `make loom`).
//!
//! They drive the real queue (`Shared`), worker loop and slot code with loom's atomics, mutex
//! and condvar; spinning is reduced to one check under loom, so what is explored is the park /
//! wake protocol, which is where a lost wake-up would hide.
#![forbid(unsafe_code)]

use super::completions::{Completion, Completions};
use super::job::{Job, Task};
use super::pool_job::pool_job;
use super::queue::Shared;
use crate::Error;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::sync::Arc;
use std::time::Duration;

fn spawn_worker(shared: &Arc<Shared>) -> thread::JoinHandle<()> {
    let worker = Arc::clone(shared);
    thread::spawn(move || {
        worker.work();
        worker.mark_exited();
    })
}

/// Runs `body` with a worker serving a fresh queue, then shuts the queue down and joins the
/// worker once it marked itself exited.
fn with_worker(body: impl FnOnce(&Arc<Shared>)) {
    let shared = Arc::new(Shared::new(Duration::ZERO));
    let worker = spawn_worker(&shared);
    body(&shared);
    shared.close();
    assert!(shared.wait_exited(None));
    worker.join().unwrap();
}

/// submit -> worker runs -> waiter parks or spins -> result handed over exactly once.
#[test]
fn loom_submit_complete_handoff() {
    loom::model(|| {
        with_worker(|shared| {
            let task = Arc::new(Task::new(|| 7u32));
            assert!(shared.push(task.clone()).is_ok());
            assert!(task.slot.wait(Duration::ZERO, None, false));
            assert_eq!(task.slot.take(), Some(Ok(7)));
            assert_eq!(task.slot.take(), None);
        });
    });
}

/// Two back-to-back jobs: the worker parks between them (or not) without losing the second.
#[test]
fn loom_worker_parks_and_wakes_between_jobs() {
    loom::model(|| {
        with_worker(|shared| {
            for i in 0..2u32 {
                let task = Arc::new(Task::new(move || i));
                assert!(shared.push(task.clone()).is_ok());
                assert!(task.slot.wait(Duration::ZERO, None, false));
                assert_eq!(task.slot.take(), Some(Ok(i)));
            }
        });
    });
}

/// Shutdown racing a submitter: every job is refused, run exactly once, or failed with
/// Shutdown — never lost, never both.
#[test]
fn loom_shutdown_races_submissions() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let runs = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let submitter = {
            let shared = Arc::clone(&shared);
            let runs = Arc::clone(&runs);
            thread::spawn(move || {
                let mut outcomes = Vec::new();
                for i in 0..2 {
                    let runs = Arc::clone(&runs);
                    let task = Arc::new(Task::new(move || {
                        runs[i].fetch_add(1, Ordering::SeqCst);
                    }));
                    match shared.push(task.clone()) {
                        Err(_) => outcomes.push((i, None)),
                        Ok(()) => {
                            assert!(task.slot.wait(Duration::ZERO, None, false));
                            outcomes.push((i, task.slot.take()));
                        }
                    }
                }
                outcomes
            })
        };
        shared.close();
        let outcomes = submitter.join().unwrap();
        assert!(shared.wait_exited(None));
        worker.join().unwrap();
        for (i, outcome) in outcomes {
            let ran = runs[i].load(Ordering::SeqCst);
            match outcome {
                None => assert_eq!(ran, 0, "refused job ran"),
                Some(Ok(())) => assert_eq!(ran, 1, "job reported Ok"),
                Some(Err(Error::Shutdown)) => assert_eq!(ran, 0, "failed job ran"),
                Some(other) => panic!("unexpected outcome {other:?}"),
            }
        }
    });
}

/// cancel racing the worker: either the job ran (cancel false) or it never will (cancel true,
/// result Cancelled).
#[test]
fn loom_cancel_races_run() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        let task = Arc::new(Task::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert!(shared.push(task.clone()).is_ok());
        let cancelled = task.fail(Error::Cancelled);
        assert!(task.slot.wait(Duration::ZERO, None, false));
        let result = task.slot.take();
        shared.close();
        worker.join().unwrap();
        if cancelled {
            assert_eq!(result, Some(Err(Error::Cancelled)));
            assert_eq!(ran.load(Ordering::SeqCst), 0);
        } else {
            assert_eq!(result, Some(Ok(())));
            assert_eq!(ran.load(Ordering::SeqCst), 1);
        }
    });
}

/// The readiness eventfd created while the worker completes: readable afterwards, whichever
/// side saw the other.
#[test]
fn loom_fd_created_while_completing() {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let task = Arc::new(Task::new(|| 1u8));
        assert!(shared.push(task.clone()).is_ok());
        let fd = task.slot.fd().unwrap();
        shared.close();
        worker.join().unwrap();
        // The job ran or was failed by the shutdown: either way the slot is ready.
        assert!(task.slot.is_ready());
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::ZERO).unwrap(), 1, "eventfd not readable");
    });
}

/// A panicking job is reported as `Panicked` and the worker serves the next job.
#[test]
fn loom_panicking_job_is_reported_and_the_worker_lives_on() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let bad = Arc::new(Task::new(|| -> u8 { std::panic::panic_any("loom boom") }));
        let good = Arc::new(Task::new(|| 2u8));
        assert!(shared.push(bad.clone()).is_ok());
        assert!(shared.push(good.clone()).is_ok());
        assert!(bad.slot.wait(Duration::ZERO, None, false));
        assert_eq!(bad.slot.take(), Some(Err(Error::Panicked("loom boom".into()))));
        assert!(good.slot.wait(Duration::ZERO, None, false));
        assert_eq!(good.slot.take(), Some(Ok(2)));
        shared.close();
        worker.join().unwrap();
    });
}

/// Two submitters and a shutdown, all concurrent: each job ran once xor reported Shutdown
/// (or was refused), and the worker exits.
#[test]
fn loom_shutdown_races_two_submitters() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    let ran = Arc::new(AtomicUsize::new(0));
                    let r = Arc::clone(&ran);
                    let task = Arc::new(Task::new(move || {
                        r.fetch_add(1, Ordering::SeqCst);
                    }));
                    let outcome = match shared.push(task.clone()) {
                        Err(_) => None,
                        Ok(()) => {
                            assert!(task.slot.wait(Duration::ZERO, None, false));
                            task.slot.take()
                        }
                    };
                    (outcome, ran.load(Ordering::SeqCst))
                })
            })
            .collect();
        shared.close();
        for s in submitters {
            match s.join().unwrap() {
                (None, ran) | (Some(Err(Error::Shutdown)), ran) => assert_eq!(ran, 0),
                (Some(Ok(())), ran) => assert_eq!(ran, 1),
                (other, _) => panic!("unexpected {other:?}"),
            }
        }
        assert!(shared.wait_exited(None));
        worker.join().unwrap();
    });
}

/// Two submitters pushing at once, one of them twice without waiting in between: the worker
/// takes one or more batches off the lock-free stack, parking and waking between them without
/// losing a push, and runs every job exactly once, each submitter's jobs in the order it pushed
/// them (each job's result is its place in the run order).
#[test]
fn loom_concurrent_pushes_run_once_in_push_order() {
    loom::model(|| {
        with_worker(|shared| {
            let order = Arc::new(AtomicUsize::new(0));
            let job = || {
                let order = Arc::clone(&order);
                Arc::new(Task::new(move || order.fetch_add(1, Ordering::SeqCst)))
            };
            let other = {
                let shared = Arc::clone(&shared);
                let task = job();
                thread::spawn(move || {
                    assert!(shared.push(task.clone()).is_ok());
                    assert!(task.slot.wait(Duration::ZERO, None, false));
                    task.slot.take()
                })
            };
            let (first, second) = (job(), job());
            assert!(shared.push(first.clone()).is_ok());
            assert!(shared.push(second.clone()).is_ok());
            assert!(second.slot.wait(Duration::ZERO, None, false));
            let (Some(Ok(a)), Some(Ok(b))) = (first.slot.take(), second.slot.take()) else {
                panic!("the first job had not run when the second had");
            };
            assert!(a < b, "pushed first, run second ({a} vs {b})");
            let Some(Ok(c)) = other.join().unwrap() else { panic!("the other job did not run") };
            let mut places = [a, b, c];
            places.sort_unstable();
            assert_eq!(places, [0, 1, 2], "every job ran exactly once");
        });
    });
}

/// A queue dropped with jobs still on its stack (no worker ever drained it) fails each of them
/// with Shutdown, and a push after close hands the job back unrun.
#[test]
fn loom_jobs_left_in_a_dropped_queue_report_shutdown() {
    loom::model(|| {
        let shared = Shared::new(Duration::ZERO);
        let queued = Arc::new(Task::new(|| 1u32));
        assert!(shared.push(queued.clone()).is_ok());
        shared.close();
        let refused = Arc::new(Task::new(|| 2u32));
        assert!(shared.push(refused.clone()).is_err());
        drop(shared);
        assert_eq!(queued.slot.take(), Some(Err(Error::Shutdown)));
        assert_eq!(refused.slot.take(), None, "a refused job is neither run nor failed");
    });
}

/// `run`'s job lives in the caller's frame: two runs borrowing the caller's data, the waiter
/// parking or not, each returning its value only once the worker has let go of the job. (A
/// worker touching a frame that has ended fails the model: loom's objects in it are gone.)
#[test]
fn loom_run_borrowed_returns_after_the_worker_let_go() {
    loom::model(|| {
        with_worker(|shared| {
            let mut data = vec![0u32];
            for i in 1..3u32 {
                let len = shared.run_borrowed(
                    || {
                        data.push(i);
                        data.len()
                    },
                    || (),
                );
                assert_eq!(len, Ok(i as usize + 1));
            }
            assert_eq!(data, [0, 1, 2]);
        });
    });
}

/// A `run` racing shutdown: its closure ran exactly when it returned a value, and a job the
/// drain failed returns Shutdown, also only once the worker let go of it.
#[test]
fn loom_run_borrowed_races_shutdown() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let closer = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.close())
        };
        let ran = AtomicUsize::new(0);
        match shared.run_borrowed(|| ran.fetch_add(1, Ordering::SeqCst), || ()) {
            Ok(_) => assert_eq!(ran.load(Ordering::SeqCst), 1),
            Err(Error::Shutdown) => assert_eq!(ran.load(Ordering::SeqCst), 0),
            other => panic!("unexpected {other:?}"),
        }
        closer.join().unwrap();
        assert!(shared.wait_exited(None));
        worker.join().unwrap();
    });
}

fn fd_readable(c: &Completions<impl Sized>) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    poll(&mut [PollFd::new(c.fd(), PollFlags::POLLIN)], PollTimeout::ZERO).unwrap() == 1
}

fn take_all<R>(c: &Completions<R>) -> Vec<Completion<R>> {
    let mut out = Vec::new();
    c.take_into(&mut out, usize::MAX).unwrap();
    out
}

/// A pool job with cancel and shutdown racing the worker: exactly one report, whose result
/// says who claimed the job (it ran: `Ok`; cancel withdrew it, or the worker saw the token
/// first: `Cancelled`; the shutdown drain: `Shutdown`), and the closure ran exactly when the
/// report is `Ok`.
#[test]
fn loom_pool_job_reports_once_whoever_claims_it() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Duration::ZERO));
        let worker = spawn_worker(&shared);
        let done = Arc::new(Completions::new().unwrap());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        let (job, queued) = pool_job(&done, move || {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        assert!(shared.push(queued).is_ok());
        let canceller = {
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let unfinished = job.cancel();
                // "Finished" only once the report is queued (nothing takes it in this model).
                assert!(unfinished || fd_readable(&done), "finished, but no report queued");
            })
        };
        shared.close();
        canceller.join().unwrap();
        worker.join().unwrap();
        let reports = take_all(&done);
        assert_eq!(reports.len(), 1, "exactly one report");
        let ran = ran.load(Ordering::SeqCst);
        match &reports[0].result {
            Ok(()) => assert_eq!(ran, 1),
            // Withdrawn by cancel, or the worker saw the token first: the closure never ran.
            Err(Error::Cancelled) => assert_eq!(ran, 0),
            Err(Error::Shutdown) => assert_eq!(ran, 0),
            other => panic!("unexpected {other:?}"),
        }
        assert!(!fd_readable(&done), "all taken: the fd is quiet");
    });
}

/// A pool job whose report the consumer has taken is finished: `cancel` says so (false), never
/// "unfinished" in the moment between the report being queued and the job marked finished.
#[test]
fn loom_pool_job_with_its_report_taken_is_finished() {
    loom::model(|| {
        with_worker(|shared| {
            let done = Arc::new(Completions::new().unwrap());
            let (job, queued) = pool_job(&done, || Ok(5u32));
            assert!(shared.push(queued).is_ok());
            let report = loop {
                if let Some(report) = take_all(&done).pop() {
                    break report;
                }
                thread::yield_now();
            };
            assert_eq!(report.result, Ok(5));
            assert!(!job.cancel(), "the report is out, but cancel said unfinished");
        });
    });
}

/// A report pushed while the consumer takes (and then would wait on the fd): the consumer got
/// it, or the fd is readable — never a report behind a quiet fd.
#[test]
fn loom_completion_is_taken_or_the_fd_is_readable() {
    loom::model(|| {
        let done = Arc::new(Completions::<u8>::new().unwrap());
        let producer = {
            let done = Arc::clone(&done);
            thread::spawn(move || {
                done.push_then(Completion { job: 1, result: Ok(1) }, || ());
                done.push_then(Completion { job: 2, result: Ok(2) }, || ());
            })
        };
        let mut got = Vec::new();
        done.take_into(&mut got, 1).unwrap();
        done.take_into(&mut got, 1).unwrap();
        producer.join().unwrap();
        if got.len() < 2 {
            assert!(fd_readable(&done), "{} report(s) behind a quiet fd", 2 - got.len());
        }
        got.extend(take_all(&done));
        assert_eq!(got.iter().map(|c| c.job).collect::<Vec<_>>(), [1, 2]);
        assert!(!fd_readable(&done));
    });
}

/// A spinning poller racing a report: the poller took it, or the poller's end handed it to the
/// fd. (A report pushed before the poller began has already made the fd readable; the poller
/// may take it, leaving a spurious readiness that the fd consumer's next take clears.)
#[test]
fn loom_poller_end_hands_over_what_it_did_not_take() {
    loom::model(|| {
        let done = Arc::new(Completions::<u8>::new().unwrap());
        let producer = {
            let done = Arc::clone(&done);
            thread::spawn(move || done.push_then(Completion { job: 1, result: Ok(1) }, || ()))
        };
        let mut got = Vec::new();
        {
            let poller = done.poller();
            poller.poll_into(&mut got, 1);
        }
        producer.join().unwrap();
        if got.is_empty() {
            assert!(fd_readable(&done), "the report behind a quiet fd");
        }
        assert_eq!(got.len() + take_all(&done).len(), 1, "one report, taken once");
        assert!(!fd_readable(&done), "a take clears any readiness");
    });
}
