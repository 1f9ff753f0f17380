// A prototype of the alternative to gobridge's Rust-spawned executor thread: an executor
// thread that Go created. A goroutine locks its OS thread and makes one cgo call,
// probe_gt_serve, that serves a one-slot request mailbox: it spins, then parks on a futex,
// until a request arrives; a native job runs right there inside the cgo call; for a Go job the
// call returns, the goroutine runs the Go function as plain Go code and calls probe_gt_serve
// again, which first reports that job finished. One server at a time per process, and one
// submitter at a time (a Go goroutine or a C thread): the benchmarks need no more, and a real
// executor would put a queue in front of the mailbox.
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gothread.h"

// The waiting of gobridge's executor (src/executor/spin.rs): 512 pause spins (about 12 us on
// the project's VMs), then sched_yield until a 50 us window (DEFAULT_SPIN) has passed, then park.
#define GT_PURE_SPINS 512
#define GT_SPIN_WINDOW_NS 50000

static _Atomic uint64_t gt_req;    // sequence number of the latest request
static _Atomic int gt_kind;        // its kind (GT_NATIVE, GT_GO, GT_STOP), published by gt_req
static _Atomic uint64_t gt_done;   // sequence number of the last finished request
static _Atomic uint32_t gt_parked; // futex word: 1 while the server sleeps, or is about to
static uint64_t gt_seen;           // the server's own: the last request it took

static inline void gt_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t gt_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// gt_native_noop is the native job: what a Rust closure with nothing to do would cost.
static __attribute__((noinline)) void gt_native_noop(void) { __asm__ __volatile__("" ::: "memory"); }

// gt_wait_request spins, yields, then parks until a request newer than gt_seen is posted, and
// returns its sequence number.
static uint64_t gt_wait_request(void) {
	int64_t start = 0;
	for (uint32_t i = 0;; i++) {
		uint64_t r = atomic_load_explicit(&gt_req, memory_order_acquire);
		if (r != gt_seen) {
			return r;
		}
		if (i < GT_PURE_SPINS) {
			gt_pause();
			continue;
		}
		if (start == 0) {
			start = gt_now_ns();
		}
		if (gt_now_ns() - start < GT_SPIN_WINDOW_NS) {
			sched_yield();
			continue;
		}
		// Park. Dekker with gt_submit: this side stores gt_parked then loads gt_req, the
		// submitter stores gt_req then exchanges gt_parked (all seq_cst), so at least one sees
		// the other's store; the submitter clears the word before FUTEX_WAKE, so a wake-up that
		// comes before FUTEX_WAIT makes the wait return at once (EAGAIN) instead of being lost.
		atomic_store(&gt_parked, 1);
		if (atomic_load(&gt_req) == gt_seen) {
			syscall(SYS_futex, (uint32_t *)&gt_parked, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
		}
		atomic_store(&gt_parked, 0);
		i = 0;
		start = 0;
	}
}

int probe_gt_serve(int go_job_finished) {
	if (go_job_finished) {
		atomic_store_explicit(&gt_done, gt_seen, memory_order_release);
	}
	for (;;) {
		gt_seen = gt_wait_request();
		int kind = atomic_load_explicit(&gt_kind, memory_order_relaxed);
		if (kind == GT_NATIVE) {
			gt_native_noop();
			atomic_store_explicit(&gt_done, gt_seen, memory_order_release);
			continue;
		}
		if (kind == GT_STOP) {
			atomic_store_explicit(&gt_done, gt_seen, memory_order_release);
		}
		return kind; // GT_GO: the caller runs the Go job, then calls us again with 1
	}
}

// gt_submit posts one request and waits until it is done, never parking (as floor.c's caller):
// GT_PURE_SPINS pause spins, then sched_yield. The yield matters after a wake-up: the kernel
// often puts the woken server on its waker's CPU, and a pure spin (floor.c's) then keeps it off
// that CPU for a time slice (measured: 1 call in 4 after 1 ms idle took ~2.9 ms).
static void gt_submit(int kind) {
	uint64_t r = atomic_load_explicit(&gt_req, memory_order_relaxed) + 1;
	atomic_store_explicit(&gt_kind, kind, memory_order_relaxed);
	atomic_store(&gt_req, r); // seq_cst: releases gt_kind, and orders before the load below
	if (atomic_exchange(&gt_parked, 0) == 1) {
		syscall(SYS_futex, (uint32_t *)&gt_parked, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	for (uint32_t i = 0; atomic_load_explicit(&gt_done, memory_order_acquire) != r; i++) {
		if (i < GT_PURE_SPINS) {
			gt_pause();
		} else {
			sched_yield();
		}
	}
}

void probe_gt_reset(void) {
	atomic_store(&gt_req, 0);
	atomic_store(&gt_done, 0);
	atomic_store(&gt_parked, 0);
	gt_seen = 0;
}

void probe_gt_call(int kind) { gt_submit(kind); }

struct gt_batch {
	int n;
	int kind;
};

static void *gt_submitter_main(void *arg) {
	const struct gt_batch *b = arg;
	for (int i = 0; i < b->n; i++) {
		gt_submit(b->kind);
	}
	return NULL;
}

int probe_gt_native_submitter(int n, int kind) {
	struct gt_batch b = {n, kind};
	pthread_t tid;
	int err = pthread_create(&tid, NULL, gt_submitter_main, &b);
	if (err == 0) {
		err = pthread_join(tid, NULL);
	}
	return err;
}
