//! PinnedExecutor, Ticket and Pinned<S> with real threads.

mod common;

use gobridge::executor::{Pinned, PinnedExecutor};
use gobridge::sigmask::SignalSet;
use gobridge::{Error, current_thread};
use nix::sys::signal::Signal;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

/// Hang guard only: never asserted on as a timing.
const GUARD: Duration = Duration::from_secs(60);

#[test]
fn run_borrows_from_the_caller_and_runs_on_the_executor_thread() {
    let exec = PinnedExecutor::new("borrow").unwrap();
    let mut buf = vec![1u32, 2, 3];
    let here = current_thread();
    let (sum, tid) = exec
        .run(|| {
            buf.push(4);
            (buf.iter().sum::<u32>(), current_thread())
        })
        .unwrap();
    assert_eq!(sum, 10);
    assert_eq!(buf, [1, 2, 3, 4]);
    assert_eq!(tid, exec.tid());
    assert_ne!(tid, here);
    // The result may borrow from the caller too.
    let first: &u32 = exec.run(|| &buf[0]).unwrap();
    assert_eq!(*first, 1);
}

/// Waits (up to the watchdog) until the kernel has released the thread `tid`: a joined
/// thread's `/proc/self/task/<tid>` can outlive the join by a moment (the kernel wakes the
/// joiner when it clears the thread's tid, before it releases the task).
fn assert_thread_exits(tid: gobridge::ThreadId) {
    let path = format!("/proc/self/task/{tid}");
    let deadline = std::time::Instant::now() + GUARD;
    while std::path::Path::new(&path).exists() {
        assert!(std::time::Instant::now() < deadline, "thread {tid} never exited");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn executor_thread_has_its_name() {
    let exec = PinnedExecutor::new("named-exec").unwrap();
    let comm = std::fs::read_to_string(format!("/proc/self/task/{}/comm", exec.tid())).unwrap();
    assert_eq!(comm.trim(), "named-exec");
    let name = exec.run(|| std::thread::current().name().map(str::to_owned)).unwrap();
    assert_eq!(name.as_deref(), Some("named-exec"));
}

#[test]
fn nested_run_from_the_executor_thread_runs_inline() {
    let exec = Arc::new(PinnedExecutor::new("nested").unwrap());
    let inner = Arc::clone(&exec);
    let (outer_tid, inner_tid, value) = exec
        .run(|| {
            let v = inner.run(|| (current_thread(), 41 + 1)).unwrap();
            (current_thread(), v.0, v.1)
        })
        .unwrap();
    assert_eq!(outer_tid, exec.tid());
    assert_eq!(inner_tid, exec.tid());
    assert_eq!(value, 42);
}

#[test]
fn waiting_on_a_ticket_from_the_executor_thread_runs_it_inline() {
    let exec = Arc::new(PinnedExecutor::new("self-wait").unwrap());
    let inner = Arc::clone(&exec);
    let got = exec
        .run(|| {
            let t = inner.submit(current_thread).unwrap();
            t.wait().unwrap()
        })
        .unwrap();
    assert_eq!(got, exec.tid());
}

/// `Err(Panicked)` whose message is `message` followed by the location of the panic, which is
/// in this file at `line`.
#[track_caller]
fn assert_panicked_at<T: std::fmt::Debug>(r: Result<T, Error>, message: &str, line: u32) {
    let want = format!("{message} at {}:{line}:", file!());
    match r {
        Err(Error::Panicked(m)) if m.starts_with(&want) => {
            let column = &m[want.len()..];
            assert!(column.parse::<u32>().is_ok(), "{m:?} does not end with a column");
        }
        other => panic!("want Panicked({want:?}...), got {other:?}"),
    }
}

#[test]
fn panics_of_every_payload_kind_are_reported_with_their_location_and_the_executor_lives_on() {
    let exec = PinnedExecutor::new("panics").unwrap();
    let line = line!() + 1;
    assert_panicked_at(exec.run(|| panic!("static str")), "static str", line);
    let n = 7;
    let line = line!() + 1;
    assert_panicked_at(exec.run(|| panic!("formatted {n}")), "formatted 7", line);
    let line = line!() + 1;
    let r = exec.run(|| std::panic::panic_any(42u32));
    assert_panicked_at(r, "non-string panic payload", line);
    let line = line!() + 1;
    let t = exec.submit(|| -> u32 { std::panic::panic_any(String::from("owned")) }).unwrap();
    assert_panicked_at(t.wait(), "owned", line);
    // Still serving, on the same thread.
    assert_eq!(exec.run(current_thread).unwrap(), exec.tid());
    // Inline (nested) panics are caught as well.
    let exec = Arc::new(exec);
    let inner = Arc::clone(&exec);
    let line = line!() + 1;
    let nested = exec.run(move || inner.run(|| panic!("inner"))).unwrap();
    assert_panicked_at(nested, "inner", line);
}

#[test]
fn run_and_submit_after_shutdown_are_refused() {
    let exec = PinnedExecutor::new("closed").unwrap();
    assert!(!exec.is_shutdown());
    exec.shutdown().unwrap();
    assert!(exec.is_shutdown());
    let ran = AtomicU32::new(0);
    assert_eq!(
        exec.run(|| {
            ran.fetch_add(1, Ordering::SeqCst);
        }),
        Err(Error::Shutdown)
    );
    assert!(matches!(exec.submit(|| ()), Err(Error::Shutdown)));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    // Idempotent.
    exec.shutdown().unwrap();
    exec.shutdown_timeout(GUARD).unwrap();
    // The thread is gone (joined).
    assert_thread_exits(exec.tid());
}

#[test]
fn shutdown_accounts_for_10000_jobs_from_8_submitters() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 1250;
    let exec = Arc::new(PinnedExecutor::new("drain").unwrap());
    let runs: Arc<Vec<AtomicU32>> =
        Arc::new((0..THREADS * PER_THREAD).map(|_| AtomicU32::new(0)).collect());
    let start = Arc::new(Barrier::new(THREADS + 1));
    let submitters: Vec<_> = (0..THREADS)
        .map(|t| {
            let exec = Arc::clone(&exec);
            let runs = Arc::clone(&runs);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut tickets = Vec::new();
                let mut refused = Vec::new();
                for i in 0..PER_THREAD {
                    let id = t * PER_THREAD + i;
                    let runs = Arc::clone(&runs);
                    match exec.submit(move || {
                        runs[id].fetch_add(1, Ordering::SeqCst);
                        std::hint::black_box(id)
                    }) {
                        Ok(ticket) => tickets.push((id, ticket)),
                        Err(e) => {
                            assert_eq!(e, Error::Shutdown);
                            refused.push(id);
                        }
                    }
                }
                let mut ran = Vec::new();
                let mut failed = refused;
                for (id, ticket) in tickets {
                    match ticket.wait() {
                        Ok(got) => {
                            assert_eq!(got, id);
                            ran.push(id);
                        }
                        Err(Error::Shutdown) => failed.push(id),
                        Err(e) => panic!("job {id}: unexpected {e}"),
                    }
                }
                (ran, failed)
            })
        })
        .collect();
    start.wait();
    // Let some jobs run, then shut down while submissions are still arriving.
    while exec.load() < 100 && runs.iter().all(|r| r.load(Ordering::SeqCst) == 0) {
        std::thread::yield_now();
    }
    exec.shutdown().unwrap();
    let (mut ran, mut failed) = (Vec::new(), Vec::new());
    for s in submitters {
        let (r, f) = s.join().unwrap();
        ran.extend(r);
        failed.extend(f);
    }
    assert_eq!(ran.len() + failed.len(), THREADS * PER_THREAD);
    for id in ran {
        assert_eq!(runs[id].load(Ordering::SeqCst), 1, "job {id} reported Ok");
    }
    for &id in &failed {
        assert_eq!(runs[id].load(Ordering::SeqCst), 0, "job {id} reported Shutdown but ran");
    }
    eprintln!("shutdown race: {} failed with Shutdown", failed.len());
}

#[test]
fn shutdown_fails_10000_queued_jobs_from_8_submitters_and_runs_none() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 1250;
    let exec = Arc::new(PinnedExecutor::new("full-queue").unwrap());
    // A gate job holds the thread, so every later job stays queued.
    let gate = Arc::new(Barrier::new(2));
    let gate_job = {
        let gate = Arc::clone(&gate);
        exec.submit(move || {
            gate.wait();
            gate.wait();
        })
        .unwrap()
    };
    gate.wait(); // the gate job is running
    let runs: Arc<Vec<AtomicU32>> =
        Arc::new((0..THREADS * PER_THREAD).map(|_| AtomicU32::new(0)).collect());
    let tickets: Vec<_> = (0..THREADS)
        .map(|t| {
            let (exec, runs) = (Arc::clone(&exec), Arc::clone(&runs));
            std::thread::spawn(move || {
                (0..PER_THREAD)
                    .map(|i| {
                        let (id, runs) = (t * PER_THREAD + i, Arc::clone(&runs));
                        exec.submit(move || runs[id].fetch_add(1, Ordering::SeqCst)).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(exec.load(), THREADS * PER_THREAD + 1, "all queued behind the gate");
    let closer = {
        let exec = Arc::clone(&exec);
        std::thread::spawn(move || exec.shutdown())
    };
    while !exec.is_shutdown() {
        std::thread::yield_now();
    }
    assert!(matches!(exec.submit(|| ()), Err(Error::Shutdown)));
    gate.wait(); // let the running job finish; shutdown then fails the queue
    closer.join().unwrap().unwrap();
    gate_job.wait().unwrap();
    let failed = tickets.into_iter().map(|t| t.wait()).collect::<Vec<_>>();
    assert_eq!(failed.len(), THREADS * PER_THREAD);
    assert!(failed.iter().all(|r| *r == Err(Error::Shutdown)), "a queued job did not fail");
    assert!(runs.iter().all(|r| r.load(Ordering::SeqCst) == 0), "a failed job ran");
    assert_eq!(exec.load(), 0);
}

#[test]
fn shutdown_timeout_does_not_hang_on_a_stuck_job() {
    let exec = PinnedExecutor::new("stuck").unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let stuck = exec
        .submit(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        })
        .unwrap();
    let queued = exec.submit(|| 1).unwrap();
    started_rx.recv_timeout(GUARD).unwrap();
    assert_eq!(exec.shutdown_timeout(Duration::from_millis(50)), Err(Error::Timeout));
    assert!(exec.is_shutdown());
    assert!(matches!(exec.submit(|| ()), Err(Error::Shutdown)));
    release_tx.send(()).unwrap();
    assert_eq!(stuck.wait(), Ok(()));
    assert_eq!(queued.wait(), Err(Error::Shutdown));
    exec.shutdown_timeout(GUARD).unwrap();
}

#[test]
fn drop_after_a_timed_out_shutdown_does_not_wait_for_the_stuck_job_again() {
    let exec = PinnedExecutor::new("stuck-drop").unwrap();
    let tid = exec.tid();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let _detached = exec
        .submit(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
            ran_tx.send(()).unwrap();
        })
        .unwrap();
    started_rx.recv_timeout(GUARD).unwrap();
    assert_eq!(exec.shutdown_timeout(Duration::from_millis(20)), Err(Error::Timeout));
    // The drop returns although the job is still stuck (bounded by GUARD, a liveness limit).
    let (dropped_tx, dropped_rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(exec);
        dropped_tx.send(()).unwrap();
    });
    dropped_rx.recv_timeout(GUARD).expect("the drop waited for the stuck job");
    // The detached thread finishes the job and exits by itself.
    release_tx.send(()).unwrap();
    ran_rx.recv_timeout(GUARD).unwrap();
    let task = format!("/proc/self/task/{tid}");
    let gone = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        !std::path::Path::new(&task).exists()
    });
    assert!(gone, "the detached executor thread never exited");
}

#[test]
fn shutdown_from_the_executor_thread_does_not_deadlock() {
    let exec = Arc::new(PinnedExecutor::new("self-stop").unwrap());
    let inner = Arc::clone(&exec);
    let after = exec.submit(|| ()).unwrap_or_else(|_| unreachable!());
    drop(after);
    let (r, refused) = exec
        .run(move || {
            let r = inner.shutdown();
            (r, inner.run(|| ()))
        })
        .unwrap();
    assert_eq!(r, Ok(()));
    assert_eq!(refused, Err(Error::Shutdown));
    exec.shutdown_timeout(GUARD).unwrap();
}

#[test]
fn dropping_the_last_handle_inside_a_job_closes_without_deadlock() {
    let exec = PinnedExecutor::new("self-drop").unwrap();
    let tid = exec.tid();
    let (tx, rx) = mpsc::channel();
    let holder = Arc::new(std::sync::Mutex::new(None::<PinnedExecutor>));
    let h = Arc::clone(&holder);
    let ticket = exec
        .submit(move || {
            // Wait until the handle has been moved into `holder`, then drop it here.
            loop {
                if let Some(e) = h.lock().unwrap().take() {
                    drop(e);
                    break;
                }
                std::thread::yield_now();
            }
            tx.send(()).unwrap();
        })
        .unwrap();
    *holder.lock().unwrap() = Some(exec);
    rx.recv_timeout(GUARD).unwrap();
    assert_eq!(ticket.wait(), Ok(()));
    // The detached thread exits on its own.
    let path = format!("/proc/self/task/{tid}");
    let deadline = std::time::Instant::now() + GUARD;
    while std::path::Path::new(&path).exists() {
        assert!(std::time::Instant::now() < deadline, "executor thread never exited");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn tickets_wait_try_take_and_timeout() {
    let exec = PinnedExecutor::new("tickets").unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let mut t = exec
        .submit(move || {
            rx.recv().unwrap();
            "done"
        })
        .unwrap();
    assert!(!t.is_ready());
    assert!(t.try_take().is_none());
    assert_eq!(t.wait_timeout(Duration::from_millis(10)), Err(Error::Timeout));
    tx.send(()).unwrap();
    assert_eq!(t.wait_timeout(GUARD), Ok("done"));
    assert!(t.is_ready());
    assert!(t.try_take().is_none(), "taken once");
    let mut t2 = exec.submit(|| 5).unwrap();
    while !t2.is_ready() {
        std::thread::yield_now();
    }
    assert_eq!(t2.try_take(), Some(Ok(5)));
    assert!(matches!(t2.wait(), Err(Error::InvalidArgument(_))));
}

#[test]
fn tickets_are_waited_through_their_fd_with_poll() {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let exec = PinnedExecutor::new("fd").unwrap();
    // fd requested before the job finishes.
    let (tx, rx) = mpsc::channel::<()>();
    let t = exec.submit(move || rx.recv().map(|_| 1)).unwrap();
    {
        let mut fds = [PollFd::new(t.fd().unwrap(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::ZERO).unwrap(), 0, "not readable before ready");
        tx.send(()).unwrap();
        assert_eq!(poll(&mut fds, PollTimeout::try_from(GUARD).unwrap()).unwrap(), 1);
        assert!(fds[0].revents().unwrap().contains(PollFlags::POLLIN));
    }
    assert_eq!(t.wait(), Ok(Ok(1)));
    // fd requested only after the job is already done.
    let t = exec.submit(|| 2).unwrap();
    while !t.is_ready() {
        std::thread::yield_now();
    }
    let mut fds = [PollFd::new(t.fd().unwrap(), PollFlags::POLLIN)];
    assert_eq!(poll(&mut fds, PollTimeout::try_from(GUARD).unwrap()).unwrap(), 1);
    // The same fd on a second call.
    assert_eq!(
        std::os::fd::AsRawFd::as_raw_fd(&t.fd().unwrap()),
        std::os::fd::AsRawFd::as_raw_fd(&t.fd().unwrap())
    );
    assert_eq!(t.wait(), Ok(2));
    // Many tickets racing completion against fd creation.
    let tickets: Vec<_> = (0..200).map(|i| exec.submit(move || i).unwrap()).collect();
    for (i, t) in tickets.into_iter().enumerate() {
        let mut fds = [PollFd::new(t.fd().unwrap(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::try_from(GUARD).unwrap()).unwrap(), 1);
        assert_eq!(t.wait(), Ok(i));
    }
}

#[test]
fn cancel_stops_a_job_that_has_not_started() {
    let exec = PinnedExecutor::new("cancel").unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let blocker = exec
        .submit(move || {
            started_tx.send(()).unwrap();
            rx.recv().unwrap();
        })
        .unwrap();
    started_rx.recv_timeout(GUARD).unwrap();
    let ran = Arc::new(AtomicU32::new(0));
    let r = Arc::clone(&ran);
    let dropped = Arc::new(());
    let d = Arc::clone(&dropped);
    let victim = exec
        .submit(move || {
            let _keep = d;
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    assert!(victim.cancel());
    assert_eq!(Arc::strong_count(&dropped), 1, "closure dropped by cancel");
    assert!(!victim.cancel(), "second cancel is a no-op");
    assert!(victim.is_ready());
    {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut fds = [PollFd::new(victim.fd().unwrap(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::ZERO).unwrap(), 1);
    }
    // A running job cannot be cancelled.
    assert!(!blocker.cancel());
    tx.send(()).unwrap();
    assert_eq!(blocker.wait(), Ok(()));
    assert_eq!(victim.wait(), Err(Error::Cancelled));
    exec.run(|| ()).unwrap(); // the cancelled entry has passed through the queue
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    // A finished job cannot be cancelled.
    let done = exec.submit(|| 3).unwrap();
    while !done.is_ready() {
        std::thread::yield_now();
    }
    assert!(!done.cancel());
    assert_eq!(done.wait(), Ok(3));
}

#[test]
fn dropped_tickets_detach_their_jobs() {
    let exec = PinnedExecutor::new("detach").unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let r = Arc::clone(&ran);
        drop(exec.submit(move || r.fetch_add(1, Ordering::SeqCst)).unwrap());
    }
    exec.run(|| ()).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 100);
}

#[test]
fn executor_thread_mask_is_read_back_from_proc() {
    let exec = PinnedExecutor::new("mask-default").unwrap();
    let blocked = common::sigblk_of(exec.tid().as_raw());
    // The caller's mask is empty in the test harness threads; the executor adds go_runtime().
    let caller = common::sigblk_of(current_thread().as_raw());
    assert_eq!(blocked, caller | SignalSet::go_runtime().to_bits());
    assert_ne!(blocked & SignalSet::go_runtime().to_bits(), 0);

    let custom = SignalSet::from_signals([Signal::SIGUSR1, Signal::SIGUSR2]);
    let exec = PinnedExecutor::builder().name("mask-custom").mask(custom).spawn().unwrap();
    assert_eq!(common::sigblk_of(exec.tid().as_raw()), caller | custom.to_bits());
    // The caller's own mask is untouched by the spawn.
    assert_eq!(common::sigblk_of(current_thread().as_raw()), caller);

    let refused = PinnedExecutor::builder().mask(SignalSet::empty().with(Signal::SIGSEGV)).spawn();
    assert!(matches!(refused, Err(Error::Unblockable(Signal::SIGSEGV))));
}

#[test]
fn stack_size_and_spin_are_configurable() {
    let exec = PinnedExecutor::builder()
        .name("big-stack")
        .stack_size(8 << 20)
        .spin(Duration::ZERO)
        .spawn()
        .unwrap();
    // 4 MiB of stack use would overflow a small stack.
    let n = exec
        .run(|| {
            let buf = [1u8; 4 << 20];
            std::hint::black_box(&buf).iter().map(|&b| b as usize).sum::<usize>()
        })
        .unwrap();
    assert_eq!(n, 4 << 20);
    // Zero spin: every handoff parks, still correct.
    for i in 0..100 {
        assert_eq!(exec.run(|| i * 2).unwrap(), i * 2);
    }
}

#[test]
fn many_callers_share_one_executor_thread() {
    let exec = PinnedExecutor::new("shared").unwrap();
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..500 {
                    let tid = exec.run(current_thread).unwrap();
                    assert_eq!(tid, exec.tid());
                    exec.run(|| total.fetch_add(1, Ordering::Relaxed)).unwrap();
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 2000);
}

#[test]
fn pinned_state_with_an_rc() {
    use std::cell::RefCell;
    use std::rc::Rc;
    struct DropsOn(Arc<AtomicU32>);
    impl Drop for DropsOn {
        fn drop(&mut self) {
            self.0.store(current_thread().as_raw() as u32, Ordering::SeqCst);
        }
    }
    let dropped_on = Arc::new(AtomicU32::new(0));
    let d = Arc::clone(&dropped_on);
    let pinned =
        Pinned::new("rc-state", move || (Rc::new(RefCell::new(Vec::new())), DropsOn(d))).unwrap();
    let tid = pinned.executor().tid();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let pinned = &pinned;
            s.spawn(move || {
                for i in 0..50u32 {
                    pinned.with(|(rc, _)| rc.borrow_mut().push(t * 1000 + i)).unwrap();
                }
            });
        }
    });
    let (len, strong) = pinned.with(|(rc, _)| (rc.borrow().len(), Rc::strong_count(rc))).unwrap();
    assert_eq!((len, strong), (200, 1));
    // A panic inside `with` poisons the state until the poison is cleared.
    assert!(matches!(pinned.with(|_| panic!("in with")), Err::<(), _>(Error::Panicked(_))));
    assert!(pinned.is_poisoned());
    pinned.clear_poison();
    // Nested `with` is refused instead of aliasing `&mut S`.
    let nested = pinned.with(|_| pinned.with(|_| ())).unwrap();
    assert!(matches!(nested, Err(Error::InvalidArgument(_))));
    assert_eq!(pinned.with(|(rc, _)| rc.borrow().len()).unwrap(), 200);
    pinned.shutdown().unwrap();
    assert_eq!(
        dropped_on.load(Ordering::SeqCst),
        tid.as_raw() as u32,
        "state dropped on its thread"
    );
    assert_eq!(pinned.with(|_| ()), Err(Error::Shutdown));
}

#[test]
fn pinned_init_panic_is_an_error() {
    let line = line!() + 1;
    let r = Pinned::<u32>::new("bad-init", || panic!("no state"));
    assert_panicked_at(r, "no state", line);
}

#[test]
fn drop_shuts_down_and_fails_queued_jobs() {
    let exec = PinnedExecutor::new("drop").unwrap();
    let tid = exec.tid();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let first = exec
        .submit(move || {
            started_tx.send(()).unwrap();
            let _ = rx.recv_timeout(Duration::from_millis(20));
            1
        })
        .unwrap();
    started_rx.recv_timeout(GUARD).unwrap();
    let queued: Vec<_> = (0..10).map(|i| exec.submit(move || i).unwrap()).collect();
    // Close while the first job still runs: `tx` stays alive so that the job waits out its
    // 20 ms (dropping it first let the job return, and the worker run a queued job, before
    // the drop closed the queue).
    drop(exec);
    drop(tx);
    assert_eq!(first.wait(), Ok(1));
    for t in queued {
        assert_eq!(t.wait(), Err(Error::Shutdown));
    }
    assert_thread_exits(tid);
}

/// The lowest CPU the calling thread may run on (its affinity mask may exclude CPU 0, as in
/// a container with a cpuset).
fn first_allowed_cpu() -> usize {
    // SAFETY: all-zero is a valid (empty) `cpu_set_t`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of its size; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(rc, 0);
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `set` is a valid `cpu_set_t` and `cpu` is below CPU_SETSIZE.
        .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .expect("no CPU in the affinity mask")
}

/// Pins the calling thread to `cpu`.
fn pin_to_cpu(cpu: usize) {
    // SAFETY: all-zero is a valid (empty) `cpu_set_t`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid `cpu_set_t`; `cpu` came from the affinity mask, so it is below
    // CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is valid for reads of its size; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    assert_eq!(rc, 0);
}

#[test]
fn caller_and_executor_on_one_cpu_still_hand_off_every_job() {
    // The scheduler often puts a waker and the thread it woke on one CPU; then both sides skip
    // pure spinning and yield to each other at once. Force that case and check the handoff.
    let exec = PinnedExecutor::new("one-cpu").unwrap();
    let cpu = first_allowed_cpu();
    pin_to_cpu(cpu);
    exec.run(move || pin_to_cpu(cpu)).unwrap();
    let mut sum = 0u64;
    for i in 0..2_000u64 {
        sum += exec
            .run(move || {
                // SAFETY: sched_getcpu has no preconditions.
                assert_eq!(unsafe { libc::sched_getcpu() }, cpu as i32, "executor left its CPU");
                i
            })
            .unwrap();
    }
    assert_eq!(sum, 2_000 * 1_999 / 2);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::sched_getcpu() }, cpu as i32);
}

/// A job that reaches its own ticket (here through a shared slot) and waits on it gets
/// `Err(InvalidArgument)` at once instead of waiting for itself for ever (the watchdog fails
/// the test rather than hang).
#[test]
fn a_job_waiting_for_its_own_ticket_is_refused_not_deadlocked() {
    type Shared = Arc<std::sync::Mutex<Option<gobridge::executor::Ticket<()>>>>;
    let exec = PinnedExecutor::new("own-ticket").unwrap();
    let gate = Arc::new(Barrier::new(2));
    let g = Arc::clone(&gate);
    let blocker = exec
        .submit(move || {
            g.wait();
        })
        .unwrap();
    let cell: Shared = Arc::default();
    let (tx, rx) = mpsc::channel();
    let job_cell = Arc::clone(&cell);
    let ticket = exec
        .submit(move || {
            let own = job_cell.lock().unwrap().take().expect("the test stored the ticket");
            let mut own_again = own;
            let timed = own_again.wait_timeout(Duration::from_secs(3600));
            let _ = tx.send((timed, own_again.wait()));
        })
        .unwrap();
    *cell.lock().unwrap() = Some(ticket);
    gate.wait(); // the job starts only now, with its ticket in the cell
    let (timed, waited) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("deadlock: a job waiting for its own ticket never returned");
    let own = Error::InvalidArgument("a job cannot wait for its own ticket");
    assert_eq!(timed, Err(own.clone()));
    assert_eq!(waited, Err(own));
    blocker.wait().unwrap();
    assert_eq!(exec.run(|| 5).unwrap(), 5, "the executor lives on");
}

/// A panic inside `with` poisons the `Pinned` (later `with` calls refuse to run, naming the
/// first panic), `with_poisoned` still reaches the state, and `clear_poison` lifts it.
#[test]
fn a_panic_in_with_poisons_the_state_until_cleared() {
    use std::sync::atomic::AtomicBool;
    let pinned = Arc::new(Pinned::new("poison", || vec![1u32, 2, 3]).unwrap());
    assert!(!pinned.is_poisoned());
    let line = line!() + 3;
    let r = pinned.with(|v| {
        v.push(4); // half-updated: the push happened, the rest did not
        panic!("broke the invariant")
    });
    assert_panicked_at(r, "broke the invariant", line);
    assert!(pinned.is_poisoned());
    // Seen from another thread too, without a round trip.
    let p = Arc::clone(&pinned);
    assert!(std::thread::spawn(move || p.is_poisoned()).join().unwrap());

    // Later `with` calls do not run their closure, and name the first panic.
    let ran = AtomicBool::new(false);
    let r = pinned.with(|_| ran.store(true, Ordering::SeqCst));
    let first = format!("broke the invariant at {}:{line}:", file!());
    match r {
        Err(Error::Panicked(m)) => {
            let rest = m.strip_prefix("state poisoned by an earlier panic: ").expect(&m);
            assert!(rest.starts_with(&first), "{m}");
        }
        other => panic!("want a poisoned error, got {other:?}"),
    }
    assert!(!ran.load(Ordering::SeqCst), "a closure ran on poisoned state");

    // The executor itself is not poisoned: plain jobs still run on its thread.
    assert_eq!(pinned.executor().submit(|| 7).unwrap().wait(), Ok(7));
    // Nested access is still refused rather than aliased.
    let nested = pinned.with_poisoned(|_| pinned.with_poisoned(|_| ())).unwrap();
    assert!(matches!(nested, Err(Error::InvalidArgument(_))));

    // `with_poisoned` reaches the state; a second panic keeps the first message.
    assert_eq!(pinned.with_poisoned(|v| v.clone()), Ok(vec![1, 2, 3, 4]));
    assert!(pinned.with_poisoned(|_| panic!("second")).is_err());
    match pinned.with(|_| ()) {
        Err(Error::Panicked(m)) => assert!(m.contains(&first), "{m}"),
        other => panic!("want a poisoned error, got {other:?}"),
    }
    // Repair, clear, and the state is usable again.
    pinned.with_poisoned(|v| v.truncate(3)).unwrap();
    pinned.clear_poison();
    assert!(!pinned.is_poisoned());
    assert_eq!(pinned.with(|v| v.len()), Ok(3));
    pinned.clear_poison(); // a no-op when not poisoned
    assert_eq!(pinned.with(|v| v.iter().sum::<u32>()), Ok(6));
    // A later panic poisons again, with its own message.
    assert!(pinned.with(|_| panic!("third")).is_err());
    match pinned.with(|_| ()) {
        Err(Error::Panicked(m)) => {
            assert!(m.starts_with("state poisoned by an earlier panic: third at "), "{m}")
        }
        other => panic!("want a poisoned error, got {other:?}"),
    }
    pinned.shutdown().unwrap();
    assert_eq!(pinned.with_poisoned(|_| ()), Err(Error::Shutdown));
}
