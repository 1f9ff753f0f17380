// Thin C wrappers between the Go package and gobridge's C ABI (include/gobridge.h).
//
// Every wrapper builds a GobridgeStatus with a message buffer on the C stack, calls one
// gobridge function and returns a gb_result by value. Nothing Go-allocated crosses into C for
// the status (no escape, no allocation, nothing for cgocheck to reject); on error the message
// is copied into malloc'd memory that the Go side frees.
#ifndef GOBRIDGE_GO_BRIDGE_H
#define GOBRIDGE_GO_BRIDGE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gobridge.h"

typedef struct gb_result {
	int32_t code;      // 0 = ok, else a gobridge error code
	int32_t sys_errno; // errno for code 7 (Sys)
	uint64_t value;    // the function's main out-value (handle, fd, tid, count, sum, bool)
	uint64_t value2;   // a second out-value where there is one
	void *ptr;         // a pointer out-value (owned buffers)
	char *msg;         // malloc'd message when code != 0 (may be NULL); freed by Go
} gb_result;

#define GB_MSG_CAP 256

// A status with its message buffer, in C memory (CallStatus): legal to hand to C under every
// cgocheck mode, since it holds no Go pointer.
typedef struct gb_status_block {
	GobridgeStatus st;
	char msg[GB_MSG_CAP];
} gb_status_block;

// The Go callback's C entry: ctx carries a runtime/cgo.Handle (or an executor slot reference).
void gb_go_trampoline(void *ctx);
// The same, for executors and pools made WithPreemptibleCallbacks: the Go code runs with
// SIGURG and SIGPROF unblocked (gb_runtime_signals_open, called from Go), and the thread's exact
// mask is put back afterwards (gb_runtime_signals_restore).
void gb_go_trampoline_preemptible(void *ctx);
void gb_runtime_signals_open(sigset_t *old);
void gb_runtime_signals_restore(const sigset_t *old);

gb_result gb_executor_new(const uint8_t *name, size_t name_len, size_t stack_size,
                          uint64_t blocked);
gb_result gb_executor_tid(uint64_t h);
gb_result gb_executor_run(uint64_t h, uintptr_t handle, int preemptible);
gb_result gb_executor_submit(uint64_t h, uintptr_t handle, int preemptible);
gb_result gb_executor_submit_ping(uint64_t h);
gb_result gb_executor_ping(uint64_t h);
gb_result gb_executor_close(uint64_t h);
gb_result gb_executor_is_shutdown(uint64_t h);
gb_result gb_ticket_fd(uint64_t t);
gb_result gb_ticket_wait(uint64_t t, int64_t timeout_ns);
gb_result gb_ticket_cancel(uint64_t t);
gb_result gb_ticket_free(uint64_t t);

gb_result gb_pool_new_with(size_t threads, size_t stack_size, uint64_t blocked);
gb_result gb_pool_thread_tid(uint64_t p, size_t index);
gb_result gb_pool_cancel(uint64_t p, uint64_t job);
gb_result gb_pool_submit_sleep(uint64_t p, uint64_t ns);
gb_result gb_pool_submit(uint64_t p, uintptr_t handle, int preemptible);
gb_result gb_pool_run(uint64_t p, uintptr_t handle, int preemptible);
gb_result gb_pool_run_sleep(uint64_t p, uint64_t ns);
gb_result gb_pool_fd(uint64_t p);
gb_result gb_pool_take_completions(uint64_t p, GobridgeCompletion *out, size_t cap);
gb_result gb_pool_poll_completions(uint64_t p, GobridgeCompletion *out, size_t cap);
gb_result gb_pool_poll_begin(uint64_t p);
gb_result gb_pool_poll_end(uint64_t p);
gb_result gb_pool_shutdown(uint64_t p);
gb_result gb_pool_close(uint64_t p);

gb_result gb_thread_bound_new(void);
gb_result gb_thread_bound_check_here(uint64_t h);
gb_result gb_thread_bound_owner(uint64_t h);
gb_result gb_thread_bound_free(uint64_t h);

gb_result gb_with_blocked(uint64_t signals, uintptr_t handle);

gb_result gb_signal_pipe_new(uint64_t signals);
gb_result gb_signal_pipe_fd(uint64_t h);
gb_result gb_signal_pipe_recv(uint64_t h);
gb_result gb_signal_pipe_close(uint64_t h);
gb_result gb_signal_audit(GobridgeHandlerReport *out, size_t cap);

gb_result gb_buffer_alloc(size_t len);
gb_result gb_buffer_free(uint64_t h);

#endif
