// The floor of Executor.Do: a C thread (one Go did not create) that calls an exported Go
// no-op per request, and a caller that hands it the request and spins for the answer inside
// one cgo call. No Rust, no queue, no parking: what a cgo callback round trip from a foreign
// thread costs on this Go version.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "_cgo_export.h"

static _Atomic uint64_t floor_req;
static _Atomic uint64_t floor_done;
static _Atomic int floor_stop;
static pthread_t floor_tid;

static void *floor_main(void *arg) {
	(void)arg;
	uint64_t seen = 0;
	while (!atomic_load_explicit(&floor_stop, memory_order_acquire)) {
		uint64_t r = atomic_load_explicit(&floor_req, memory_order_acquire);
		if (r == seen) {
			continue; // spin: the executor spins too while work is arriving
		}
		probeGoNoop();
		seen = r;
		atomic_store_explicit(&floor_done, r, memory_order_release);
	}
	return NULL;
}

int probe_floor_start(void) {
	atomic_store(&floor_stop, 0);
	atomic_store(&floor_req, 0);
	atomic_store(&floor_done, 0);
	return pthread_create(&floor_tid, NULL, floor_main, NULL);
}

void probe_floor_call(void) {
	uint64_t r = atomic_load_explicit(&floor_req, memory_order_relaxed) + 1;
	atomic_store_explicit(&floor_req, r, memory_order_release);
	while (atomic_load_explicit(&floor_done, memory_order_acquire) != r) {
	}
}

void probe_floor_stop(void) {
	atomic_store_explicit(&floor_stop, 1, memory_order_release);
	pthread_join(floor_tid, NULL);
}
