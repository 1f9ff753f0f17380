//! Executors, tickets, pools and thread-bound objects through the C ABI, called exactly as C
//! calls them: the round trips work, and every invalid input, forged or stale handle and use
//! after close gets its documented code and a message — never UB, a crash or a hang.
#![cfg(feature = "capi")]

mod common;

use common::Msg;
use gobridge::capi::*;
use gobridge::ffi::Status;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};

/// Counts its calls and records the thread of the last one; `ctx` is a `&Probe`.
#[derive(Default)]
struct Probe {
    calls: AtomicUsize,
    tid: AtomicI32,
}

unsafe extern "C" fn probe(ctx: *mut c_void) {
    // SAFETY:
    // - Every test passes a `&Probe` that outlives the job as `ctx`.
    let probe = unsafe { &*ctx.cast::<Probe>() };
    probe.tid.store(gobridge_current_tid(), SeqCst);
    probe.calls.fetch_add(1, SeqCst);
}

/// Waits on `ctx`, a `&Barrier` shared with the test (two parties).
unsafe extern "C" fn wait_on_barrier(ctx: *mut c_void) {
    // SAFETY:
    // - The test passes an `Arc<Barrier>`'s pointee that it keeps alive until the job ran.
    unsafe { &*ctx.cast::<Barrier>() }.wait();
}

fn ctx_of<T>(value: &T) -> *mut c_void {
    ptr::from_ref(value).cast_mut().cast()
}

fn new_executor(name: &str) -> u64 {
    let mut h = 0u64;
    let mut m = Msg::new();
    // SAFETY:
    // - `name` is valid for `name.len()` bytes, `h` for a write, `m`'s status for the call.
    let rc = unsafe { gobridge_executor_new(name.as_ptr(), name.len(), 0, 0, &mut h, m.st()) };
    assert_eq!(rc, 0, "{}", m.text());
    assert_ne!(h, 0, "handle 0 is never valid");
    h
}

#[test]
fn executor_round_trips_run_on_its_thread() {
    let h = new_executor("capi-exec");
    let mut m = Msg::new();
    let mut tid = 0i32;
    // SAFETY:
    // - `tid` is valid for a write; the status lives for the call (same for the calls below).
    assert_eq!(unsafe { gobridge_executor_tid(h, &mut tid, m.st()) }, 0);
    assert!(tid > 0 && tid != gobridge_current_tid());

    let p = Probe::default();
    // SAFETY:
    // - `probe` does not unwind; `p` outlives the blocking call.
    assert_eq!(unsafe { gobridge_executor_run(h, Some(probe), ctx_of(&p), m.st()) }, 0);
    assert_eq!((p.calls.load(SeqCst), p.tid.load(SeqCst)), (1, tid));
    // SAFETY: as above.
    assert_eq!(unsafe { gobridge_executor_ping(h, m.st()) }, 0);

    let mut ticket = 0u64;
    // SAFETY:
    // - `p` outlives the job: the test waits for the ticket before `p` goes.
    let rc = unsafe { gobridge_executor_submit(h, Some(probe), ctx_of(&p), &mut ticket, m.st()) };
    assert_eq!(rc, 0, "{}", m.text());
    let mut fd = -1i32;
    // SAFETY: `fd` is valid for a write.
    assert_eq!(unsafe { gobridge_ticket_fd(ticket, &mut fd, m.st()) }, 0);
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: `pfd` is one valid pollfd; the fd is owned by the live ticket.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 10_000) }, 1, "ticket fd never became readable");
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_wait(ticket, -1, m.st()) }, 0);
    // SAFETY: as above. Once finished, every wait returns the same outcome.
    assert_eq!(unsafe { gobridge_ticket_wait(ticket, 0, m.st()) }, 0);
    assert_eq!(p.calls.load(SeqCst), 2);
    let mut cancelled = true;
    // SAFETY: `cancelled` is valid for a write.
    assert_eq!(unsafe { gobridge_ticket_cancel(ticket, &mut cancelled, m.st()) }, 0);
    assert!(!cancelled, "a finished job was reported cancelled");
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_free(ticket, m.st()) }, 0);

    // A Rust no-op through a ticket (Ping without blocking).
    // SAFETY: `ticket` is valid for a write.
    assert_eq!(unsafe { gobridge_executor_submit_ping(h, &mut ticket, m.st()) }, 0);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_wait(ticket, -1, m.st()) }, 0);
    // SAFETY: as above.
    assert_eq!(unsafe { gobridge_ticket_free(ticket, m.st()) }, 0);
    // SAFETY: a NULL out-pointer is refused and nothing is queued.
    let rc = unsafe { gobridge_executor_submit_ping(h, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    let mut shut = true;
    // SAFETY: `shut` is valid for a write.
    assert_eq!(unsafe { gobridge_executor_is_shutdown(h, &mut shut, m.st()) }, 0);
    assert!(!shut);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_executor_close(h, m.st()) }, 0);
}

#[test]
fn a_queued_job_can_be_cancelled_and_is_never_called() {
    let h = new_executor("capi-cancel");
    let mut m = Msg::new();
    let gate = Arc::new(Barrier::new(2));
    let mut blocker = 0u64;
    // SAFETY:
    // - `gate` outlives the job: the test passes the barrier below before dropping it.
    let rc = unsafe {
        gobridge_executor_submit(h, Some(wait_on_barrier), ctx_of(&*gate), &mut blocker, m.st())
    };
    assert_eq!(rc, 0);
    let p = Probe::default();
    let mut queued = 0u64;
    // SAFETY: `p` outlives the (cancelled) job.
    let rc = unsafe { gobridge_executor_submit(h, Some(probe), ctx_of(&p), &mut queued, m.st()) };
    assert_eq!(rc, 0);
    let mut cancelled = false;
    // SAFETY: `cancelled` is valid for a write.
    assert_eq!(unsafe { gobridge_ticket_cancel(queued, &mut cancelled, m.st()) }, 0);
    assert!(cancelled, "the job behind a blocked one had already started");
    // SAFETY: the status lives for the call.
    let rc = unsafe { gobridge_ticket_wait(queued, 0, m.st()) };
    m.expect(rc, GOBRIDGE_E_CANCELLED);

    gate.wait(); // release the blocker
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_wait(blocker, -1, m.st()) }, 0);
    // SAFETY: as above; the executor has moved past the cancelled job.
    assert_eq!(unsafe { gobridge_executor_ping(h, m.st()) }, 0);
    assert_eq!(p.calls.load(SeqCst), 0, "a cancelled job was called");
    for t in [blocker, queued] {
        // SAFETY: the status lives for the call.
        assert_eq!(unsafe { gobridge_ticket_free(t, m.st()) }, 0);
    }
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_executor_close(h, m.st()) }, 0);
}

#[test]
fn executor_new_refuses_bad_input_with_its_code() {
    let mut m = Msg::new();
    let mut h = 0u64;
    let bit = |s: i32| 1u64 << (s - 1);
    /// (name bytes, pass NULL with this length instead if > 0, blocked signals, NULL out, code)
    type Case = (&'static [u8], usize, u64, bool, i32);
    let cases: [Case; 6] = [
        (b"x", 3, 0, false, GOBRIDGE_E_INVALID_ARGUMENT), // NULL name with a length
        (b"a\0b", 0, 0, false, GOBRIDGE_E_INVALID_ARGUMENT), // interior NUL
        (b"\xff\xfe", 0, 0, false, GOBRIDGE_E_INVALID_ARGUMENT), // not UTF-8
        (b"x", 0, 1 << 63, false, GOBRIDGE_E_INVALID_ARGUMENT), // no such signal
        (b"x", 0, bit(libc::SIGSEGV), false, GOBRIDGE_E_UNBLOCKABLE),
        (b"x", 0, 0, true, GOBRIDGE_E_INVALID_ARGUMENT), // NULL out
    ];
    for (name, null_len, blocked, null_out, code) in cases {
        let (name_ptr, len) =
            if null_len > 0 { (ptr::null(), null_len) } else { (name.as_ptr(), name.len()) };
        let out = if null_out { ptr::null_mut() } else { &mut h as *mut u64 };
        h = 0;
        // SAFETY:
        // - `name_ptr` is NULL or valid for `len` bytes; `out` is NULL or valid for a write.
        let rc = unsafe { gobridge_executor_new(name_ptr, len, 0, blocked, out, m.st()) };
        m.expect(rc, code);
        assert_eq!(h, 0, "an out-value was written on error");
    }
}

#[test]
fn executor_calls_refuse_null_callbacks_and_out_pointers() {
    let h = new_executor("capi-null");
    let mut m = Msg::new();
    let mut t = 0u64;
    // SAFETY: a NULL callback is refused before anything runs.
    let rc = unsafe { gobridge_executor_run(h, None, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    // SAFETY: as above.
    let rc = unsafe { gobridge_executor_submit(h, None, ptr::null_mut(), &mut t, m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    let p = Probe::default();
    // SAFETY: a NULL out-pointer is refused before the job is queued.
    let rc =
        unsafe { gobridge_executor_submit(h, Some(probe), ctx_of(&p), ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    // SAFETY: as above.
    let rc = unsafe { gobridge_executor_tid(h, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    // SAFETY: as above.
    let rc = unsafe { gobridge_executor_is_shutdown(h, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_executor_ping(h, m.st()) }, 0);
    assert_eq!(p.calls.load(SeqCst), 0, "a refused job ran");
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_executor_close(h, m.st()) }, 0);
}

/// Every C function that takes an object handle, by name (the prefix names the kind).
const CALLS: [&str; 12] = [
    "executor_tid",
    "executor_submit_ping",
    "executor_ping",
    "executor_run",
    "executor_is_shutdown",
    "ticket_wait",
    "ticket_fd",
    "ticket_cancel",
    "thread_bound_check",
    "thread_bound_owner",
    "pool_submit_sleep",
    "pool_fd",
];

/// Calls the C function `name` on handle `h` with valid out-pointers; returns its code.
fn call_by_name(name: &str, h: u64, p: &Probe, st: *mut Status) -> i32 {
    let (mut i32_out, mut u64_out, mut flag) = (0i32, 0u64, false);
    // Each call below is sound because:
    // - Out-pointers point at the locals above, `st` at the caller's live status, `p`
    //   outlives the call (a job would only run through a valid handle, which would fail the
    //   test's assertions on `p.calls`).
    match name {
        // SAFETY: see the comment above the match.
        "executor_tid" => unsafe { gobridge_executor_tid(h, &mut i32_out, st) },
        // SAFETY: see the comment above the match.
        "executor_submit_ping" => unsafe { gobridge_executor_submit_ping(h, &mut u64_out, st) },
        // SAFETY: see the comment above the match.
        "executor_ping" => unsafe { gobridge_executor_ping(h, st) },
        // SAFETY: see the comment above the match.
        "executor_run" => unsafe { gobridge_executor_run(h, Some(probe), ctx_of(p), st) },
        // SAFETY: see the comment above the match.
        "executor_is_shutdown" => unsafe { gobridge_executor_is_shutdown(h, &mut flag, st) },
        // SAFETY: see the comment above the match.
        "ticket_wait" => unsafe { gobridge_ticket_wait(h, 0, st) },
        // SAFETY: see the comment above the match.
        "ticket_fd" => unsafe { gobridge_ticket_fd(h, &mut i32_out, st) },
        // SAFETY: see the comment above the match.
        "ticket_cancel" => unsafe { gobridge_ticket_cancel(h, &mut flag, st) },
        // SAFETY: see the comment above the match.
        "thread_bound_check" => unsafe { gobridge_thread_bound_check(h, st) },
        // SAFETY: see the comment above the match.
        "thread_bound_owner" => unsafe { gobridge_thread_bound_owner(h, &mut i32_out, st) },
        // SAFETY: see the comment above the match.
        "pool_submit_sleep" => unsafe { gobridge_pool_submit_sleep(h, 1, &mut u64_out, st) },
        // SAFETY: see the comment above the match.
        "pool_fd" => unsafe { gobridge_pool_fd(h, &mut i32_out, st) },
        other => panic!("no such call {other}"),
    }
}

#[test]
fn every_object_kind_refuses_use_after_close_forged_and_foreign_handles() {
    let mut m = Msg::new();
    let exec = new_executor("capi-stale");
    let mut tb = 0u64;
    // SAFETY: `tb` is valid for a write.
    assert_eq!(unsafe { gobridge_thread_bound_new(&mut tb, m.st()) }, 0);
    let mut pool = 0u64;
    // SAFETY: `pool` is valid for a write.
    assert_eq!(unsafe { gobridge_pool_new(1, &mut pool, m.st()) }, 0);
    let mut ticket = 0u64;
    let p = Probe::default();
    // SAFETY: `p` outlives the job (waited for below).
    let rc =
        unsafe { gobridge_executor_submit(exec, Some(probe), ctx_of(&p), &mut ticket, m.st()) };
    assert_eq!(rc, 0);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_wait(ticket, -1, m.st()) }, 0);

    // Handles of one kind are stale for every other kind, and 0 and forged values for all.
    let forged = [0u64, 1, u64::MAX, exec ^ (1 << 40), tb + 1];
    let own_kind = |name: &str, h: u64| match name.split('_').next() {
        Some("executor") => h == exec,
        Some("ticket") => h == ticket,
        Some("thread") => h == tb,
        Some("pool") => h == pool,
        _ => false,
    };
    for name in CALLS {
        for h in forged.iter().copied().chain([exec, ticket, tb, pool]) {
            if own_kind(name, h) {
                continue;
            }
            let rc = call_by_name(name, h, &p, m.st());
            assert_eq!(rc, GOBRIDGE_E_STALE_HANDLE, "{name}({h:#x}): {}", m.text());
        }
    }
    assert_eq!(p.calls.load(SeqCst), 1, "a job ran through a wrong handle");

    // Close each, then every call on it and a second close are stale.
    let closes: [(u64, unsafe extern "C" fn(u64, *mut Status) -> i32); 4] = [
        (ticket, gobridge_ticket_free),
        (exec, gobridge_executor_close),
        (tb, gobridge_thread_bound_free),
        (pool, gobridge_pool_close),
    ];
    for (h, close) in closes {
        // SAFETY: the status lives for the call.
        assert_eq!(unsafe { close(h, m.st()) }, 0, "{}", m.text());
        // SAFETY: as above.
        let rc = unsafe { close(h, m.st()) };
        m.expect(rc, GOBRIDGE_E_STALE_HANDLE);
    }
    for name in CALLS {
        for h in [exec, ticket, tb, pool] {
            let rc = call_by_name(name, h, &p, m.st());
            assert_eq!(rc, GOBRIDGE_E_STALE_HANDLE, "{name}({h:#x}) after close: {}", m.text());
        }
    }
    assert_eq!(p.calls.load(SeqCst), 1);
}

#[test]
fn thread_bound_objects_answer_only_on_their_thread() {
    let mut m = Msg::new();
    let mut tb = 0u64;
    // SAFETY: a NULL out-pointer is refused.
    let rc = unsafe { gobridge_thread_bound_new(ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    // SAFETY: `tb` is valid for a write.
    assert_eq!(unsafe { gobridge_thread_bound_new(&mut tb, m.st()) }, 0);
    let mut owner = 0i32;
    // SAFETY: `owner` is valid for a write.
    assert_eq!(unsafe { gobridge_thread_bound_owner(tb, &mut owner, m.st()) }, 0);
    assert_eq!(owner, gobridge_current_tid());
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_thread_bound_check(tb, m.st()) }, 0);
    let (foreign, code, text) = std::thread::spawn(move || {
        let mut m = Msg::new();
        // SAFETY: the status lives for the call.
        let rc = unsafe { gobridge_thread_bound_check(tb, m.st()) };
        (gobridge_current_tid(), rc, m.text().to_owned())
    })
    .join()
    .unwrap();
    assert_eq!(code, GOBRIDGE_E_WRONG_THREAD);
    assert!(
        text.contains(&owner.to_string()) && text.contains(&foreign.to_string()),
        "the message names both threads: {text}"
    );
    // Freed from another thread: defined (leaked and counted, never dropped there).
    let rc = std::thread::spawn(move || {
        // SAFETY: a NULL status is allowed.
        unsafe { gobridge_thread_bound_free(tb, ptr::null_mut()) }
    })
    .join()
    .unwrap();
    assert_eq!(rc, 0);
    // SAFETY: the status lives for the call.
    let rc = unsafe { gobridge_thread_bound_check(tb, m.st()) };
    m.expect(rc, GOBRIDGE_E_STALE_HANDLE);
}

#[test]
fn pools_refuse_bad_sizes_and_null_pointers_and_report_every_job() {
    let mut m = Msg::new();
    let mut pool = 0u64;
    for threads in [0usize, 1025] {
        // SAFETY: `pool` is valid for a write.
        let rc = unsafe { gobridge_pool_new(threads, &mut pool, m.st()) };
        m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
        assert_eq!(pool, 0);
    }
    // SAFETY: a NULL out-pointer is refused.
    let rc = unsafe { gobridge_pool_new(2, ptr::null_mut(), m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    // SAFETY: `pool` is valid for a write.
    assert_eq!(unsafe { gobridge_pool_new(2, &mut pool, m.st()) }, 0);

    let mut job = 0u64;
    // SAFETY: a NULL callback is refused before anything is queued.
    let rc = unsafe { gobridge_pool_submit(pool, None, ptr::null_mut(), &mut job, m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);
    let p = Probe::default();
    let mut ids = Vec::new();
    for _ in 0..8 {
        // SAFETY: `p` outlives the jobs (the test collects all their completions first).
        let rc = unsafe { gobridge_pool_submit(pool, Some(probe), ctx_of(&p), &mut job, m.st()) };
        assert_eq!(rc, 0, "{}", m.text());
        ids.push(job);
    }
    let mut fd = -1;
    // SAFETY: `fd` is valid for a write.
    assert_eq!(unsafe { gobridge_pool_fd(pool, &mut fd, m.st()) }, 0);
    let mut done = Vec::new();
    let mut buf = [Completion { job: 0, code: -1, sys_errno: 0 }; 4];
    while done.len() < ids.len() {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, the pool's live fd.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 10_000) }, 1, "completions never came");
        let mut n = 0usize;
        // SAFETY: `buf` holds 4 completions; `n` is valid for a write.
        let rc = unsafe {
            gobridge_pool_take_completions(pool, buf.as_mut_ptr(), buf.len(), &mut n, m.st())
        };
        assert_eq!(rc, 0);
        done.extend(buf[..n].iter().map(|c| (c.job, c.code)));
    }
    done.sort_unstable();
    assert_eq!(done, ids.iter().map(|&id| (id, 0)).collect::<Vec<_>>());
    assert_eq!(p.calls.load(SeqCst), 8);
    let mut n = 0usize;
    // SAFETY: NULL `out` with `cap > 0` is refused.
    let rc = unsafe { gobridge_pool_take_completions(pool, ptr::null_mut(), 4, &mut n, m.st()) };
    m.expect(rc, GOBRIDGE_E_INVALID_ARGUMENT);

    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_pool_shutdown(pool, m.st()) }, 0);
    // SAFETY: `job` is valid for a write.
    let rc = unsafe { gobridge_pool_submit_sleep(pool, 1, &mut job, m.st()) };
    m.expect(rc, GOBRIDGE_E_SHUTDOWN);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_pool_close(pool, m.st()) }, 0);
}

/// What the jobs of `a_job_run_inline_by_ticket_wait_can_use_its_own_ticket` saw, one code
/// per call (`i32::MIN` = not called).
struct OwnTicket {
    exec: u64,
    ticket: AtomicU64,
    submit_rc: AtomicI32,
    pre_poll_rc: AtomicI32,
    pre_poll_ran: AtomicBool,
    outer_wait_rc: AtomicI32,
    rewait_rc: AtomicI32,
    fd_rc: AtomicI32,
    fd: AtomicI32,
    cancel_rc: AtomicI32,
    cancelled: AtomicBool,
    token_seen: AtomicBool,
    poll_rc: AtomicI32,
    wait_rc: AtomicI32,
    inner_tid: AtomicI32,
}

impl OwnTicket {
    fn new(exec: u64) -> Self {
        let unset = || AtomicI32::new(i32::MIN);
        OwnTicket {
            exec,
            ticket: AtomicU64::new(0),
            submit_rc: unset(),
            pre_poll_rc: unset(),
            pre_poll_ran: AtomicBool::new(true),
            outer_wait_rc: unset(),
            rewait_rc: unset(),
            fd_rc: unset(),
            fd: unset(),
            cancel_rc: unset(),
            cancelled: AtomicBool::new(true),
            token_seen: AtomicBool::new(false),
            poll_rc: unset(),
            wait_rc: unset(),
            inner_tid: unset(),
        }
    }
}

/// The inner job: touches its own ticket (fd, cancel, poll, wait) from inside itself.
unsafe extern "C" fn touches_own_ticket(ctx: *mut c_void) {
    // SAFETY:
    // - The test passes an `Arc<OwnTicket>`'s pointee that it keeps alive until both jobs ran.
    let s = unsafe { &*ctx.cast::<OwnTicket>() };
    let t = s.ticket.load(SeqCst);
    let mut m = Msg::new();
    let mut fd = -1;
    // SAFETY: `fd` is valid for a write; the status lives for the call (same below).
    s.fd_rc.store(unsafe { gobridge_ticket_fd(t, &mut fd, m.st()) }, SeqCst);
    s.fd.store(fd, SeqCst);
    let mut cancelled = true;
    // SAFETY: `cancelled` is valid for a write.
    s.cancel_rc.store(unsafe { gobridge_ticket_cancel(t, &mut cancelled, m.st()) }, SeqCst);
    s.cancelled.store(cancelled, SeqCst);
    s.token_seen.store(gobridge::executor::cancelled(), SeqCst);
    // SAFETY: the status lives for the call.
    s.poll_rc.store(unsafe { gobridge_ticket_wait(t, 0, m.st()) }, SeqCst);
    // SAFETY: the status lives for the call.
    s.wait_rc.store(unsafe { gobridge_ticket_wait(t, -1, m.st()) }, SeqCst);
    s.inner_tid.store(gobridge_current_tid(), SeqCst);
}

/// The outer job, on the executor's thread: queues the inner job (behind itself) and waits for
/// its ticket there, which runs the inner job inline.
unsafe extern "C" fn submits_and_waits_inline(ctx: *mut c_void) {
    // SAFETY:
    // - As in `touches_own_ticket`.
    let s = unsafe { &*ctx.cast::<OwnTicket>() };
    let mut m = Msg::new();
    let mut t = 0u64;
    // SAFETY:
    // - `touches_own_ticket` does not unwind and `ctx` outlives it (see above); `t` is valid
    //   for a write; the status lives for the call (same below).
    let rc =
        unsafe { gobridge_executor_submit(s.exec, Some(touches_own_ticket), ctx, &mut t, m.st()) };
    s.submit_rc.store(rc, SeqCst);
    s.ticket.store(t, SeqCst);
    // A poll only polls: it does not run the queued job inline.
    // SAFETY: the status lives for the call.
    s.pre_poll_rc.store(unsafe { gobridge_ticket_wait(t, 0, m.st()) }, SeqCst);
    s.pre_poll_ran.store(s.inner_tid.load(SeqCst) != i32::MIN, SeqCst);
    // SAFETY: the status lives for the call.
    s.outer_wait_rc.store(unsafe { gobridge_ticket_wait(t, -1, m.st()) }, SeqCst);
    // SAFETY: the status lives for the call.
    s.rewait_rc.store(unsafe { gobridge_ticket_wait(t, 0, m.st()) }, SeqCst);
}

/// Issue 10 item 5: a job run inline by `gobridge_ticket_wait` on the executor's own thread
/// can use its own ticket. (Before, the wait held the ticket's mutex while the job ran, and the
/// job's first `gobridge_ticket_fd` deadlocked: the watchdog below fails the test instead.)
#[test]
fn a_job_run_inline_by_ticket_wait_can_use_its_own_ticket() {
    let exec = new_executor("capi-own-ticket");
    let shared = Arc::new(OwnTicket::new(exec));
    let (tx, rx) = std::sync::mpsc::channel();
    let scenario = Arc::clone(&shared);
    std::thread::spawn(move || {
        let mut m = Msg::new();
        // SAFETY:
        // - `submits_and_waits_inline` does not unwind; `scenario` outlives both jobs (this
        //   call returns after the outer one, which waited for the inner one).
        let rc = unsafe {
            gobridge_executor_run(exec, Some(submits_and_waits_inline), ctx_of(&*scenario), m.st())
        };
        let _ = tx.send(rc);
    });
    let rc = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("deadlock: a job using its own ticket inside gobridge_ticket_wait never returned");
    assert_eq!(rc, 0);
    let s = &*shared;
    let mut m = Msg::new();
    let mut exec_tid = 0;
    // SAFETY: `exec_tid` is valid for a write; the status lives for the call (same below).
    assert_eq!(unsafe { gobridge_executor_tid(exec, &mut exec_tid, m.st()) }, 0);
    assert_eq!(s.submit_rc.load(SeqCst), 0);
    assert_eq!(s.pre_poll_rc.load(SeqCst), GOBRIDGE_E_TIMEOUT, "a poll of a queued job");
    assert!(!s.pre_poll_ran.load(SeqCst), "a poll ran the queued job inline");
    assert_eq!(s.inner_tid.load(SeqCst), exec_tid, "the inner job ran off the executor thread");
    assert_eq!(s.fd_rc.load(SeqCst), 0, "gobridge_ticket_fd inside the job");
    assert!(s.fd.load(SeqCst) >= 0);
    assert_eq!(s.cancel_rc.load(SeqCst), 0, "gobridge_ticket_cancel inside the job");
    assert!(!s.cancelled.load(SeqCst), "a running job was reported withdrawn");
    assert!(s.token_seen.load(SeqCst), "the cancel did not reach the running job's token");
    // Waiting for itself cannot succeed: an error at once, not a wait for ever.
    assert_eq!(s.poll_rc.load(SeqCst), GOBRIDGE_E_INVALID_ARGUMENT);
    assert_eq!(s.wait_rc.load(SeqCst), GOBRIDGE_E_INVALID_ARGUMENT);
    // The inline wait returned the job's outcome (it ignored its token: success), and again.
    assert_eq!(s.outer_wait_rc.load(SeqCst), 0);
    assert_eq!(s.rewait_rc.load(SeqCst), 0);
    let t = s.ticket.load(SeqCst);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_wait(t, -1, m.st()) }, 0, "{}", m.text());
    let mut fd = -1;
    // SAFETY: `fd` is valid for a write.
    assert_eq!(unsafe { gobridge_ticket_fd(t, &mut fd, m.st()) }, 0);
    assert_eq!(fd, s.fd.load(SeqCst), "the ticket's fd changed");
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_ticket_free(t, m.st()) }, 0);
    // SAFETY: the status lives for the call.
    assert_eq!(unsafe { gobridge_executor_close(exec, m.st()) }, 0);
}
