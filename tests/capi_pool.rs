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
