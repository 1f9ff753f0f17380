//! The pool functions of the C ABI, called as C calls them: one completion per job id handed
//! out, even when submissions race the pool's shutdown.
#![cfg(feature = "capi")]

use gobridge::capi::*;
use std::collections::HashMap;
use std::ptr;
use std::sync::Barrier;

fn take_all(pool: u64) -> Vec<Completion> {
    let mut all = Vec::new();
    let mut buf = [Completion { job: 0, code: 0, sys_errno: 0 }; 64];
    loop {
        let mut n = 0usize;
        // SAFETY:
        // - `buf` is valid for 64 completions and `n` for a write; a NULL status is allowed.
        let rc = unsafe {
            gobridge_pool_take_completions(
                pool,
                buf.as_mut_ptr(),
                buf.len(),
                &mut n,
                ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0);
        all.extend_from_slice(&buf[..n]);
        if n < buf.len() {
            return all;
        }
    }
}

#[test]
fn submissions_racing_shutdown_get_exactly_one_completion_per_returned_id() {
    for round in 0..20 {
        let mut pool = 0u64;
        // SAFETY:
        // - `pool` is valid for a write; a NULL status is allowed.
        assert_eq!(unsafe { gobridge_pool_new(2, &mut pool, ptr::null_mut()) }, 0);
        let start = Barrier::new(5);
        let accepted: Vec<u64> = std::thread::scope(|s| {
            let submitters: Vec<_> = (0..4)
                .map(|_| {
                    let start = &start;
                    s.spawn(move || {
                        start.wait();
                        let mut ids = Vec::new();
                        loop {
                            let mut job = 0u64;
                            // SAFETY:
                            // - `job` is valid for a write; a NULL status is allowed.
                            let rc = unsafe {
                                gobridge_pool_submit_sleep(pool, 1_000, &mut job, ptr::null_mut())
                            };
                            match rc {
                                0 => ids.push(job),
                                GOBRIDGE_E_SHUTDOWN => return ids,
                                other => panic!("submit: unexpected code {other}"),
                            }
                        }
                    })
                })
                .collect();
            start.wait();
            std::thread::sleep(std::time::Duration::from_micros(200 * (round % 5)));
            // SAFETY:
            // - A NULL status is allowed.
            assert_eq!(unsafe { gobridge_pool_shutdown(pool, ptr::null_mut()) }, 0);
            submitters.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });

        let mut completions: HashMap<u64, Vec<i32>> = HashMap::new();
        for c in take_all(pool) {
            completions.entry(c.job).or_default().push(c.code);
        }
        for id in &accepted {
            let codes = completions.remove(id).unwrap_or_default();
            assert_eq!(codes.len(), 1, "job {id}: completions {codes:?}");
            assert!(codes[0] == 0 || codes[0] == GOBRIDGE_E_SHUTDOWN, "job {id}: {codes:?}");
        }
        assert!(completions.is_empty(), "completions for ids never handed out: {completions:?}");
        // SAFETY:
        // - A NULL status is allowed.
        assert_eq!(unsafe { gobridge_pool_close(pool, ptr::null_mut()) }, 0);
    }
}

/// Whether `fd` is readable within `timeout_ms` (0: right now).
fn readable(fd: i32, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY:
    // - `pfd` is one valid `pollfd` for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n == 1 && pfd.revents & libc::POLLIN != 0
}

fn submit_sleep0(pool: u64) -> u64 {
    let mut job = 0u64;
    // SAFETY:
    // - `job` is valid for a write; a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_submit_sleep(pool, 0, &mut job, ptr::null_mut()) }, 0);
    job
}

/// Waits until `job` has finished and its completion is queued (`cancel` reports it no longer
/// pending once its completion was pushed). A hang guard, not a timing assertion.
fn wait_finished(pool: u64, job: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut pending = true;
        // SAFETY:
        // - `pending` is valid for a write; a NULL status is allowed.
        assert_eq!(unsafe { gobridge_pool_cancel(pool, job, &mut pending, ptr::null_mut()) }, 0);
        if !pending {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "job {job} never finished");
        std::thread::yield_now();
    }
}

fn poll_all(pool: u64) -> Vec<Completion> {
    let mut buf = [Completion { job: 0, code: 0, sys_errno: 0 }; 8];
    let mut n = 0usize;
    // SAFETY:
    // - `buf` is valid for 8 completions and `n` for a write; a NULL status is allowed.
    let rc = unsafe {
        gobridge_pool_poll_completions(pool, buf.as_mut_ptr(), buf.len(), &mut n, ptr::null_mut())
    };
    assert_eq!(rc, 0);
    buf[..n].to_vec()
}

#[test]
fn a_poller_takes_completions_without_the_fd_and_the_last_end_hands_the_rest_over() {
    let mut pool = 0u64;
    let mut fd = -1;
    // SAFETY:
    // - `pool` is valid for a write; a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_new(1, &mut pool, ptr::null_mut()) }, 0);
    // SAFETY:
    // - `fd` is valid for a write; a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_fd(pool, &mut fd, ptr::null_mut()) }, 0);
    // An end without a begin is refused and changes nothing.
    // SAFETY:
    // - A NULL status is allowed.
    let rc = unsafe { gobridge_pool_poll_end(pool, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    // Without a poller: each completion makes the fd readable; a take that empties the queue
    // resets it.
    let a = submit_sleep0(pool);
    assert!(readable(fd, 30_000), "no wake-up for job {a}");
    assert_eq!(take_all(pool).iter().map(|c| c.job).collect::<Vec<_>>(), [a]);
    assert!(!readable(fd, 0), "the fd stays readable after the queue was emptied");

    // A poller: completions are queued for it and the fd stays quiet.
    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_poll_begin(pool, ptr::null_mut()) }, 0);
    let b = submit_sleep0(pool);
    wait_finished(pool, b);
    assert!(!readable(fd, 0), "a completion woke the fd while a poller was registered");
    assert_eq!(poll_all(pool).iter().map(|c| c.job).collect::<Vec<_>>(), [b]);

    // A completion the poller did not take is handed to the fd by the last end.
    let c = submit_sleep0(pool);
    wait_finished(pool, c);
    assert!(!readable(fd, 0));
    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_poll_end(pool, ptr::null_mut()) }, 0);
    assert!(readable(fd, 0), "the last poll_end left a completion stranded");
    assert_eq!(take_all(pool).iter().map(|c| c.job).collect::<Vec<_>>(), [c]);
    assert!(!readable(fd, 0));

    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_close(pool, ptr::null_mut()) }, 0);
    // SAFETY:
    // - A NULL status is allowed.
    let rc = unsafe { gobridge_pool_poll_begin(pool, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_STALE_HANDLE);
    // SAFETY:
    // - A NULL status is allowed.
    let rc = unsafe { gobridge_pool_poll_end(pool, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_STALE_HANDLE);
}

unsafe extern "C" fn record_tid(ctx: *mut std::ffi::c_void) {
    // SAFETY:
    // - `ctx` is the `AtomicI32` the test passed, alive until it has waited for this job.
    let slot = unsafe { &*(ctx as *const std::sync::atomic::AtomicI32) };
    slot.store(gobridge::current_thread().as_raw(), std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn thread_tids_name_the_threads_that_run_the_jobs_and_an_index_past_the_end_is_refused() {
    let mut pool = 0u64;
    // SAFETY:
    // - `pool` is valid for a write; a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_new(3, &mut pool, ptr::null_mut()) }, 0);
    let mut tids = Vec::new();
    for index in 0..3 {
        let mut tid = 0i32;
        // SAFETY:
        // - `tid` is valid for a write; a NULL status is allowed.
        assert_eq!(unsafe { gobridge_pool_thread_tid(pool, index, &mut tid, ptr::null_mut()) }, 0);
        tids.push(tid);
    }
    assert!(tids.iter().all(|&t| t > 0) && tids[0] != tids[1] && tids[1] != tids[2]);
    let mut tid = -7i32;
    // SAFETY:
    // - `tid` is valid for a write; a NULL status is allowed.
    let rc = unsafe { gobridge_pool_thread_tid(pool, 3, &mut tid, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(tid, -7, "nothing written on error");
    // SAFETY:
    // - NULL `out` is refused before any write; a NULL status is allowed.
    let rc = unsafe { gobridge_pool_thread_tid(pool, 0, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    // A job runs on one of the named threads.
    let ran_on = std::sync::atomic::AtomicI32::new(0);
    let mut job = 0u64;
    // SAFETY:
    // - `record_tid` may be called once with `ran_on`, which outlives the job (waited below);
    //   `job` is valid for a write; a NULL status is allowed.
    let rc = unsafe {
        gobridge_pool_submit(
            pool,
            Some(record_tid),
            &ran_on as *const _ as *mut std::ffi::c_void,
            &mut job,
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !take_all(pool).iter().any(|c| c.job == job) {
        assert!(std::time::Instant::now() < deadline, "job {job} never completed"); // hang guard
        std::thread::yield_now();
    }
    assert!(tids.contains(&ran_on.load(std::sync::atomic::Ordering::SeqCst)));

    // SAFETY:
    // - `pool` is a live handle; a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_close(pool, ptr::null_mut()) }, 0);
    let mut tid = 0i32;
    // SAFETY:
    // - `tid` is valid for a write; a NULL status is allowed.
    let rc = unsafe { gobridge_pool_thread_tid(pool, 0, &mut tid, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_STALE_HANDLE);
}

/// `gobridge_pool_run`: the callback has run on a pool thread when the call returns, with no
/// job id and no completion; refusals (NULL callback, shut down, closed) never call it.
#[test]
fn a_blocking_run_returns_after_its_callback_ran_on_a_pool_thread() {
    let mut pool = 0u64;
    // SAFETY:
    // - `pool` is valid for a write; a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_new(2, &mut pool, ptr::null_mut()) }, 0);
    let tids: Vec<i32> = (0..2)
        .map(|index| {
            let mut tid = 0i32;
            // SAFETY:
            // - `tid` is valid for a write; a NULL status is allowed.
            let rc = unsafe { gobridge_pool_thread_tid(pool, index, &mut tid, ptr::null_mut()) };
            assert_eq!(rc, 0);
            tid
        })
        .collect();
    let ran_on = std::sync::atomic::AtomicI32::new(0);
    let ctx = &ran_on as *const _ as *mut std::ffi::c_void;
    // SAFETY:
    // - `record_tid` may be called once with `ran_on`, which outlives the call (it waits);
    //   a NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_run(pool, Some(record_tid), ctx, ptr::null_mut()) }, 0);
    let tid = ran_on.load(std::sync::atomic::Ordering::SeqCst);
    assert!(tids.contains(&tid), "ran on {tid}, not a pool thread ({tids:?})");
    assert_ne!(tid, gobridge::current_thread().as_raw());
    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_run_sleep(pool, 1_000, ptr::null_mut()) }, 0);
    assert!(take_all(pool).is_empty(), "a blocking run left a completion");
    // SAFETY:
    // - A NULL callback is refused before anything runs; a NULL status is allowed.
    let rc = unsafe { gobridge_pool_run(pool, None, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    ran_on.store(0, std::sync::atomic::Ordering::SeqCst);
    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_shutdown(pool, ptr::null_mut()) }, 0);
    // SAFETY:
    // - As above; the shut-down pool refuses the job, so `record_tid` is never called.
    let rc = unsafe { gobridge_pool_run(pool, Some(record_tid), ctx, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_SHUTDOWN);
    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_run_sleep(pool, 0, ptr::null_mut()) }, GOBRIDGE_E_SHUTDOWN);
    // SAFETY:
    // - A NULL status is allowed.
    assert_eq!(unsafe { gobridge_pool_close(pool, ptr::null_mut()) }, 0);
    // SAFETY:
    // - As above: a closed handle is refused.
    let rc = unsafe { gobridge_pool_run(pool, Some(record_tid), ctx, ptr::null_mut()) };
    assert_eq!(rc, GOBRIDGE_E_STALE_HANDLE);
    assert_eq!(ran_on.load(std::sync::atomic::Ordering::SeqCst), 0, "a refused run called back");
}
