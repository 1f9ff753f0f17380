// See bridge.h. Compiled by cgo as part of package gobridge.
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "_cgo_export.h"

// Copies the status into r after a call that returned code.
static void gb_finish(gb_result *r, int32_t code, const GobridgeStatus *st, const char *buf) {
	r->code = code;
	if (code == 0) {
		return;
	}
	r->sys_errno = st->sys_errno;
	size_t n = strnlen(buf, GB_MSG_CAP);
	char *m = malloc(n + 1);
	if (m != NULL) {
		memcpy(m, buf, n);
		m[n] = '\0';
	}
	r->msg = m;
}

// GB_BEGIN declares r and a status with its message buffer on the C stack; GB_END(code) fills
// r from the call's code and status and returns it.
#define GB_BEGIN                                                                         \
	gb_result r = {0};                                                                   \
	char buf[GB_MSG_CAP];                                                                \
	buf[0] = '\0';                                                                       \
	GobridgeStatus st = {.code = 0, .sys_errno = 0, .msg = buf, .msg_cap = GB_MSG_CAP, .msg_len = 0};
#define GB_END(code_expr)                                                                \
	gb_finish(&r, (code_expr), &st, buf);                                                \
	return r;

void gb_go_trampoline(void *ctx) { gobridgeGoCallback((uintptr_t)ctx); }

// On a gobridge thread SIGURG and SIGPROF are blocked (the default mask), so Go code in a
// callback could neither be preempted asynchronously (a loop without function calls holds up
// every stop-the-world, GC's included, until it ends) nor sampled by the CPU profiler. This
// trampoline's Go side opens them for the callback (gb_runtime_signals_open and _restore, cgo
// calls made from the callback). Not here in C: a SIGURG that the runtime sent while the thread
// had it blocked is delivered the moment it is unblocked, and delivered in plain C code between
// callbacks (no goroutine on the thread) the runtime cannot acknowledge it, so it would never
// preempt this thread again (it sends one preemption signal at a time per thread). Inside a cgo
// call made from Go it is acknowledged.
void gb_go_trampoline_preemptible(void *ctx) { gobridgeGoCallbackPreemptible((uintptr_t)ctx); }

void gb_runtime_signals_open(sigset_t *old) {
	sigset_t runtime_signals;
	sigemptyset(&runtime_signals);
	sigaddset(&runtime_signals, SIGURG);
	sigaddset(&runtime_signals, SIGPROF);
	pthread_sigmask(SIG_UNBLOCK, &runtime_signals, old); // our own mask, valid sets: cannot fail
}

// SIG_SETMASK with the mask gb_runtime_signals_open found puts back the exact mask.
void gb_runtime_signals_restore(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

static GobridgeCallback gb_trampoline(int preemptible) {
	return preemptible ? gb_go_trampoline_preemptible : gb_go_trampoline;
}


gb_result gb_executor_new(const uint8_t *name, size_t name_len, size_t stack_size,
                          uint64_t blocked) {
	GB_BEGIN
	uint64_t h = 0;
	int32_t code = gobridge_executor_new(name, name_len, stack_size, blocked, &h, &st);
	r.value = h;
	GB_END(code)
}

gb_result gb_executor_tid(uint64_t h) {
	GB_BEGIN
	int32_t tid = 0;
	int32_t code = gobridge_executor_tid(h, &tid, &st);
	r.value = (uint64_t)tid;
	GB_END(code)
}

gb_result gb_executor_run(uint64_t h, uintptr_t handle, int preemptible) {
	GB_BEGIN
	GB_END(gobridge_executor_run(h, gb_trampoline(preemptible), (void *)handle, &st))
}

gb_result gb_executor_submit(uint64_t h, uintptr_t handle, int preemptible) {
	GB_BEGIN
	uint64_t t = 0;
	int32_t code = gobridge_executor_submit(h, gb_trampoline(preemptible), (void *)handle, &t, &st);
	r.value = t;
	GB_END(code)
}

gb_result gb_executor_submit_ping(uint64_t h) {
	GB_BEGIN
	uint64_t t = 0;
	int32_t code = gobridge_executor_submit_ping(h, &t, &st);
	r.value = t;
	GB_END(code)
}

gb_result gb_executor_ping(uint64_t h) {
	GB_BEGIN
	GB_END(gobridge_executor_ping(h, &st))
}

gb_result gb_executor_close(uint64_t h) {
	GB_BEGIN
	GB_END(gobridge_executor_close(h, &st))
}

gb_result gb_executor_is_shutdown(uint64_t h) {
	GB_BEGIN
	bool shut = false;
	int32_t code = gobridge_executor_is_shutdown(h, &shut, &st);
	r.value = shut ? 1 : 0;
	GB_END(code)
}

gb_result gb_ticket_fd(uint64_t t) {
	GB_BEGIN
	int32_t fd = -1;
	int32_t code = gobridge_ticket_fd(t, &fd, &st);
	r.value = (uint64_t)(int64_t)fd;
	GB_END(code)
}

gb_result gb_ticket_wait(uint64_t t, int64_t timeout_ns) {
	GB_BEGIN
	GB_END(gobridge_ticket_wait(t, timeout_ns, &st))
}

gb_result gb_ticket_cancel(uint64_t t) {
	GB_BEGIN
	bool cancelled = false;
	int32_t code = gobridge_ticket_cancel(t, &cancelled, &st);
	r.value = cancelled ? 1 : 0;
	GB_END(code)
}

gb_result gb_ticket_free(uint64_t t) {
	GB_BEGIN
	GB_END(gobridge_ticket_free(t, &st))
}

gb_result gb_pool_new_with(size_t threads, size_t stack_size, uint64_t blocked) {
	GB_BEGIN
	uint64_t h = 0;
	int32_t code = gobridge_pool_new_with(threads, stack_size, blocked, &h, &st);
	r.value = h;
	GB_END(code)
}

gb_result gb_pool_thread_tid(uint64_t p, size_t index) {
	GB_BEGIN
	int32_t tid = 0;
	int32_t code = gobridge_pool_thread_tid(p, index, &tid, &st);
	r.value = (uint64_t)tid;
	GB_END(code)
}

gb_result gb_pool_cancel(uint64_t p, uint64_t job) {
	GB_BEGIN
	bool pending = false;
	int32_t code = gobridge_pool_cancel(p, job, &pending, &st);
	r.value = pending ? 1 : 0;
	GB_END(code)
}

gb_result gb_pool_submit_sleep(uint64_t p, uint64_t ns) {
	GB_BEGIN
	uint64_t job = 0;
	int32_t code = gobridge_pool_submit_sleep(p, ns, &job, &st);
	r.value = job;
	GB_END(code)
}

gb_result gb_pool_submit(uint64_t p, uintptr_t handle, int preemptible) {
	GB_BEGIN
	uint64_t job = 0;
	int32_t code = gobridge_pool_submit(p, gb_trampoline(preemptible), (void *)handle, &job, &st);
	r.value = job;
	GB_END(code)
}

gb_result gb_pool_run(uint64_t p, uintptr_t handle, int preemptible) {
	GB_BEGIN
	GB_END(gobridge_pool_run(p, gb_trampoline(preemptible), (void *)handle, &st))
}

gb_result gb_pool_run_sleep(uint64_t p, uint64_t ns) {
	GB_BEGIN
	GB_END(gobridge_pool_run_sleep(p, ns, &st))
}

gb_result gb_pool_fd(uint64_t p) {
	GB_BEGIN
	int32_t fd = -1;
	int32_t code = gobridge_pool_fd(p, &fd, &st);
	r.value = (uint64_t)(int64_t)fd;
	GB_END(code)
}

gb_result gb_pool_take_completions(uint64_t p, GobridgeCompletion *out, size_t cap) {
	GB_BEGIN
	size_t n = 0;
	int32_t code = gobridge_pool_take_completions(p, out, cap, &n, &st);
	r.value = n;
	GB_END(code)
}

gb_result gb_pool_poll_completions(uint64_t p, GobridgeCompletion *out, size_t cap) {
	GB_BEGIN
	size_t n = 0;
	int32_t code = gobridge_pool_poll_completions(p, out, cap, &n, &st);
	r.value = n;
	GB_END(code)
}

gb_result gb_pool_poll_begin(uint64_t p) {
	GB_BEGIN
	GB_END(gobridge_pool_poll_begin(p, &st))
}

gb_result gb_pool_poll_end(uint64_t p) {
	GB_BEGIN
	GB_END(gobridge_pool_poll_end(p, &st))
}

gb_result gb_pool_shutdown(uint64_t p) {
	GB_BEGIN
	GB_END(gobridge_pool_shutdown(p, &st))
}

gb_result gb_pool_close(uint64_t p) {
	GB_BEGIN
	GB_END(gobridge_pool_close(p, &st))
}

gb_result gb_thread_bound_new(void) {
	GB_BEGIN
	uint64_t h = 0;
	int32_t code = gobridge_thread_bound_new(&h, &st);
	r.value = h;
	r.value2 = (uint64_t)gobridge_current_tid();
	GB_END(code)
}

// Checks and reports the calling thread's tid from inside the same cgo call, so the Go side
// can verify each answer against the thread it was actually given on.
gb_result gb_thread_bound_check_here(uint64_t h) {
	GB_BEGIN
	r.value = (uint64_t)gobridge_current_tid();
	GB_END(gobridge_thread_bound_check(h, &st))
}

gb_result gb_thread_bound_owner(uint64_t h) {
	GB_BEGIN
	int32_t tid = 0;
	int32_t code = gobridge_thread_bound_owner(h, &tid, &st);
	r.value = (uint64_t)tid;
	GB_END(code)
}

gb_result gb_thread_bound_free(uint64_t h) {
	GB_BEGIN
	GB_END(gobridge_thread_bound_free(h, &st))
}

gb_result gb_with_blocked(uint64_t signals, uintptr_t handle) {
	GB_BEGIN
	GB_END(gobridge_with_blocked(signals, gb_go_trampoline, (void *)handle, &st))
}


gb_result gb_signal_pipe_new(uint64_t signals) {
	GB_BEGIN
	uint64_t h = 0;
	int32_t code = gobridge_signal_pipe_new(signals, &h, &st);
	r.value = h;
	GB_END(code)
}

gb_result gb_signal_pipe_fd(uint64_t h) {
	GB_BEGIN
	int32_t fd = -1;
	int32_t code = gobridge_signal_pipe_fd(h, &fd, &st);
	r.value = (uint64_t)(int64_t)fd;
	GB_END(code)
}

gb_result gb_signal_pipe_recv(uint64_t h) {
	GB_BEGIN
	int32_t sig = 0;
	int32_t code = gobridge_signal_pipe_recv(h, &sig, &st);
	r.value = (uint64_t)sig;
	GB_END(code)
}

gb_result gb_signal_pipe_close(uint64_t h) {
	GB_BEGIN
	GB_END(gobridge_signal_pipe_close(h, &st))
}

gb_result gb_signal_audit(GobridgeHandlerReport *out, size_t cap) {
	GB_BEGIN
	size_t n = 0;
	int32_t code = gobridge_signal_audit(out, cap, &n, &st);
	r.value = n;
	GB_END(code)
}

gb_result gb_buffer_alloc(size_t len) {
	GB_BEGIN
	GobridgeOwnedBuf b;
	memset(&b, 0, sizeof b);
	int32_t code = gobridge_buffer_alloc(len, &b, &st);
	r.value = b.handle;
	r.ptr = (void *)b.ptr;
	r.value2 = b.len;
	GB_END(code)
}

gb_result gb_buffer_free(uint64_t h) {
	GB_BEGIN
	GB_END(gobridge_buffer_free(h, &st))
}
