/*
 * C test program for the gobridge C ABI: includes the generated header, links the staticlib,
 * and exercises the functions as a C (or cgo) caller would. Run by tests/c/main.rs, directly
 * and under valgrind memcheck (zero errors, zero definite/indirect leaks).
 *
 * Structure: one `test_<area>()` function per area of the ABI, each listed in `main`. To cover
 * a new area, add a function and a line in `main`; to add a #[repr(C)] type, add its expected
 * layout to EXPECTED_LAYOUTS (the layout test fails for types the library reports but this
 * program does not know).
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include "gobridge.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__, __LINE__, __func__, \
                    #cond);                                                            \
            failures++;                                                                \
        }                                                                              \
    } while (0)

/* A status with its own message buffer. */
typedef struct {
    char buf[256];
    GobridgeStatus st;
} Msg;

static GobridgeStatus *msg_init(Msg *m) {
    memset(m->buf, 0x7f, sizeof m->buf);
    m->st.code = -1;
    m->st.sys_errno = -1;
    m->st.msg = m->buf;
    m->st.msg_cap = sizeof m->buf;
    m->st.msg_len = 0;
    return &m->st;
}

/* ---------------------------------------------------------------- ABI version and layouts */

#define FIELD(T, f) {#f, offsetof(T, f), sizeof(((T *)0)->f)}
typedef struct {
    const char *name;
    size_t offset, size;
} ExpectedField;
typedef struct {
    const char *name;
    size_t size, align, field_count;
    ExpectedField fields[10];
} ExpectedLayout;
#define TYPE(T, n, ...) {#T, sizeof(T), alignof(T), n, {__VA_ARGS__}}

static const ExpectedLayout EXPECTED_LAYOUTS[] = {
    TYPE(GobridgeStatus, 5, FIELD(GobridgeStatus, code), FIELD(GobridgeStatus, sys_errno),
         FIELD(GobridgeStatus, msg), FIELD(GobridgeStatus, msg_cap),
         FIELD(GobridgeStatus, msg_len)),
    TYPE(GobridgeTypeLayout, 5, FIELD(GobridgeTypeLayout, name), FIELD(GobridgeTypeLayout, size),
         FIELD(GobridgeTypeLayout, align), FIELD(GobridgeTypeLayout, fields),
         FIELD(GobridgeTypeLayout, field_count)),
    TYPE(GobridgeFieldLayout, 3, FIELD(GobridgeFieldLayout, name),
         FIELD(GobridgeFieldLayout, offset), FIELD(GobridgeFieldLayout, size)),
    TYPE(GobridgeOwnedBuf, 3, FIELD(GobridgeOwnedBuf, handle), FIELD(GobridgeOwnedBuf, ptr),
         FIELD(GobridgeOwnedBuf, len)),
    TYPE(GobridgeForeignSlice_u8, 2, FIELD(GobridgeForeignSlice_u8, ptr),
         FIELD(GobridgeForeignSlice_u8, len)),
    TYPE(GobridgeForeignSliceMut_u8, 2, FIELD(GobridgeForeignSliceMut_u8, ptr),
         FIELD(GobridgeForeignSliceMut_u8, len)),
    TYPE(GobridgeCompletion, 3, FIELD(GobridgeCompletion, job), FIELD(GobridgeCompletion, code),
         FIELD(GobridgeCompletion, sys_errno)),
    TYPE(GobridgeHandlerReport, 9, FIELD(GobridgeHandlerReport, signal),
         FIELD(GobridgeHandlerReport, flags), FIELD(GobridgeHandlerReport, mask),
         FIELD(GobridgeHandlerReport, handler), FIELD(GobridgeHandlerReport, on_stack),
         FIELD(GobridgeHandlerReport, siginfo), FIELD(GobridgeHandlerReport, restart),
         FIELD(GobridgeHandlerReport, ours), FIELD(GobridgeHandlerReport, go_compatible)),
};
#define N_EXPECTED (sizeof EXPECTED_LAYOUTS / sizeof EXPECTED_LAYOUTS[0])

static void test_abi_and_layouts(void) {
    CHECK(gobridge_abi_version() == GOBRIDGE_ABI_VERSION);

    size_t n = 0;
    const GobridgeTypeLayout *layouts = gobridge_type_layouts(&n);
    CHECK(layouts != NULL);
    CHECK(n >= N_EXPECTED);
    CHECK(gobridge_type_layouts(NULL) == layouts);

    for (size_t i = 0; i < n; i++) {
        const GobridgeTypeLayout *l = &layouts[i];
        const ExpectedLayout *e = NULL;
        for (size_t j = 0; j < N_EXPECTED; j++)
            if (strcmp(EXPECTED_LAYOUTS[j].name, l->name) == 0) e = &EXPECTED_LAYOUTS[j];
        if (e == NULL) {
            fprintf(stderr, "layout of %s reported by the library is not checked here\n", l->name);
            failures++;
            continue;
        }
        CHECK(l->size == e->size);
        CHECK(l->align == e->align);
        CHECK(l->field_count == e->field_count);
        for (size_t f = 0; f < l->field_count && f < e->field_count; f++) {
            const GobridgeFieldLayout *lf = &l->fields[f];
            const ExpectedField *ef = &e->fields[f];
            if (strcmp(lf->name, ef->name) != 0 || lf->offset != ef->offset ||
                lf->size != ef->size) {
                fprintf(stderr, "%s.%s: library {%s, %zu, %zu} vs header {%s, %zu, %zu}\n",
                        l->name, ef->name, lf->name, lf->offset, lf->size, ef->name, ef->offset,
                        ef->size);
                failures++;
            }
        }
    }
}

/* ---------------------------------------------------------------- status */

static void test_status(void) {
    Msg m;
    /* NULL status: only the code. */
    CHECK(gobridge_buffer_free(0, NULL) == GOBRIDGE_E_STALE_HANDLE);

    /* Full message, NUL-terminated, msg_len excludes the NUL. */
    CHECK(gobridge_buffer_free(0, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(m.st.code == GOBRIDGE_E_STALE_HANDLE);
    CHECK(m.st.sys_errno == 0);
    CHECK(strcmp(m.buf, "stale or invalid handle") == 0);
    CHECK(m.st.msg_len == strlen(m.buf));

    /* Truncation: always NUL-terminated, nothing written past msg_cap. */
    char small[6];
    memset(small, 'x', sizeof small);
    GobridgeStatus st = {0, 0, small, 5, 0};
    CHECK(gobridge_buffer_free(0, &st) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(st.msg_len == 4);
    CHECK(strcmp(small, "stal") == 0);
    CHECK(small[5] == 'x');

    /* msg_cap 1: just the terminator. */
    st.msg_cap = 1;
    small[0] = 'x';
    CHECK(gobridge_buffer_free(0, &st) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(st.msg_len == 0 && small[0] == '\0');

    /* No message buffer at all. */
    GobridgeStatus bare = {0, 0, NULL, 0, 0};
    CHECK(gobridge_buffer_free(0, &bare) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(bare.code == GOBRIDGE_E_STALE_HANDLE && bare.msg_len == 0);

    /* Success clears the message. */
    GobridgeOwnedBuf b;
    CHECK(gobridge_buffer_alloc(1, &b, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(m.st.code == 0 && m.st.msg_len == 0 && m.buf[0] == '\0');
    CHECK(gobridge_buffer_free(b.handle, NULL) == GOBRIDGE_OK);
}

/* ---------------------------------------------------------------- owned buffers */

typedef struct {
    uint64_t handle;
    pthread_barrier_t *barrier;
    int32_t code;
} FreeRace;

static void *free_racer(void *arg) {
    FreeRace *r = arg;
    pthread_barrier_wait(r->barrier);
    r->code = gobridge_buffer_free(r->handle, NULL);
    return NULL;
}

static void test_buffers(void) {
    Msg m;
    size_t live0 = 0, bytes0 = 0;
    gobridge_buffer_stats(&live0, &bytes0);

    GobridgeOwnedBuf b;
    CHECK(gobridge_buffer_alloc(4096, &b, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(b.handle != 0);
    CHECK(b.len == 4096);
    CHECK(((uintptr_t)b.ptr % 64) == 0);
    int zeroed = 1;
    for (size_t i = 0; i < b.len; i++) zeroed &= b.ptr[i] == 0;
    CHECK(zeroed);
    for (size_t i = 0; i < b.len; i++) b.ptr[i] = (uint8_t)i;

    size_t live = 0, bytes = 0;
    gobridge_buffer_stats(&live, &bytes);
    CHECK(live == live0 + 1 && bytes == bytes0 + 4096);

    GobridgeOwnedBuf r;
    CHECK(gobridge_buffer_resolve(b.handle, &r, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(r.handle == b.handle && r.ptr == b.ptr && r.len == b.len);

    /* The Rust-owned bytes lent back to Rust as a view. */
    uint64_t sum = 0;
    GobridgeForeignSlice_u8 view = {b.ptr, b.len};
    CHECK(gobridge_sum(view, &sum, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(sum == 16 * (255 * 256 / 2)); /* 4096 bytes = 16 runs of 0..255 */

    /* Free, then every use of the handle is stale. */
    CHECK(gobridge_buffer_free(b.handle, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(gobridge_buffer_free(b.handle, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(strcmp(m.buf, "stale or invalid handle") == 0);
    memset(&r, 0, sizeof r);
    CHECK(gobridge_buffer_resolve(b.handle, &r, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(r.handle == 0 && r.ptr == NULL); /* out is written only on success */

    /* Forged handles. */
    CHECK(gobridge_buffer_free(0, NULL) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(gobridge_buffer_free(UINT64_MAX, NULL) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(gobridge_buffer_free(b.handle + 1, NULL) == GOBRIDGE_E_STALE_HANDLE);

    /* Invalid arguments allocate nothing. */
    CHECK(gobridge_buffer_alloc(16, NULL, msg_init(&m)) == GOBRIDGE_E_INVALID_ARGUMENT);
    CHECK(strcmp(m.buf, "invalid argument: out-pointer is NULL") == 0);
    CHECK(gobridge_buffer_alloc(SIZE_MAX, &b, msg_init(&m)) == GOBRIDGE_E_INVALID_ARGUMENT);
    CHECK(gobridge_buffer_resolve(1, NULL, NULL) == GOBRIDGE_E_INVALID_ARGUMENT);

    /* Zero-length buffers: NULL pointer, real handle. */
    GobridgeOwnedBuf z;
    CHECK(gobridge_buffer_alloc(0, &z, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(z.ptr == NULL && z.len == 0 && z.handle != 0);
    CHECK(gobridge_buffer_free(z.handle, NULL) == GOBRIDGE_OK);

    /* Budget. */
    CHECK(gobridge_buffer_set_budget(bytes0 + 100) == SIZE_MAX);
    CHECK(gobridge_buffer_alloc(101, &b, msg_init(&m)) == GOBRIDGE_E_LIMIT_EXCEEDED);
    CHECK(gobridge_buffer_alloc(100, &b, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(gobridge_buffer_set_budget(SIZE_MAX) == bytes0 + 100);
    CHECK(gobridge_buffer_free(b.handle, NULL) == GOBRIDGE_OK);

    /* Many buffers, freed in another order. */
    GobridgeOwnedBuf many[100];
    for (size_t i = 0; i < 100; i++)
        CHECK(gobridge_buffer_alloc(i * 33, &many[i], NULL) == GOBRIDGE_OK);
    for (size_t i = 0; i < 100; i += 2) CHECK(gobridge_buffer_free(many[i].handle, NULL) == 0);
    for (size_t i = 1; i < 100; i += 2) CHECK(gobridge_buffer_free(many[i].handle, NULL) == 0);

    /* 8 threads free the same handle: exactly one succeeds. */
    for (int round = 0; round < 20; round++) {
        CHECK(gobridge_buffer_alloc(64, &b, NULL) == GOBRIDGE_OK);
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 8);
        pthread_t threads[8];
        FreeRace races[8];
        for (int t = 0; t < 8; t++) {
            races[t] = (FreeRace){b.handle, &barrier, -1};
            pthread_create(&threads[t], NULL, free_racer, &races[t]);
        }
        int ok = 0, stale = 0;
        for (int t = 0; t < 8; t++) {
            pthread_join(threads[t], NULL);
            ok += races[t].code == GOBRIDGE_OK;
            stale += races[t].code == GOBRIDGE_E_STALE_HANDLE;
        }
        pthread_barrier_destroy(&barrier);
        CHECK(ok == 1 && stale == 7);
    }

    gobridge_buffer_stats(&live, &bytes);
    CHECK(live == live0 && bytes == bytes0);
}

/* ---------------------------------------------------------------- views */

static void test_views(void) {
    Msg m;
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i % 7);
    uint64_t expect = 0;
    for (size_t i = 0; i < sizeof data; i++) expect += data[i];

    uint64_t sum = 12345;
    GobridgeForeignSlice_u8 view = {data, sizeof data};
    CHECK(gobridge_sum(view, &sum, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(sum == expect);

    /* NULL with length 0 is the empty slice (how Go passes an empty slice). */
    GobridgeForeignSlice_u8 empty = {NULL, 0};
    CHECK(gobridge_sum(empty, &sum, NULL) == GOBRIDGE_OK);
    CHECK(sum == 0);

    /* Invalid views: distinct messages, no access. */
    GobridgeForeignSlice_u8 null_len = {NULL, 10};
    CHECK(gobridge_sum(null_len, &sum, msg_init(&m)) == GOBRIDGE_E_INVALID_BUFFER);
    CHECK(strcmp(m.buf, "invalid buffer: null pointer with a non-zero length") == 0);
    GobridgeForeignSlice_u8 too_long = {data, (size_t)PTRDIFF_MAX + 1};
    CHECK(gobridge_sum(too_long, &sum, msg_init(&m)) == GOBRIDGE_E_INVALID_BUFFER);
    CHECK(strcmp(m.buf, "invalid buffer: length in bytes exceeds isize::MAX") == 0);
    GobridgeForeignSlice_u8 wrap = {(const uint8_t *)(UINTPTR_MAX - 3), 8};
    CHECK(gobridge_sum(wrap, &sum, msg_init(&m)) == GOBRIDGE_E_INVALID_BUFFER);
    CHECK(strcmp(m.buf, "invalid buffer: pointer plus length wraps the address space") == 0);
    CHECK(gobridge_sum(view, NULL, msg_init(&m)) == GOBRIDGE_E_INVALID_ARGUMENT);

    /* Fill. */
    GobridgeForeignSliceMut_u8 part = {data + 10, 20};
    CHECK(gobridge_fill(part, 0xAB, msg_init(&m)) == GOBRIDGE_OK);
    int filled = 1;
    for (size_t i = 10; i < 30; i++) filled &= data[i] == 0xAB;
    CHECK(filled);
    CHECK(data[9] == 9 % 7 && data[30] == 30 % 7);
    GobridgeForeignSliceMut_u8 mut_empty = {NULL, 0};
    CHECK(gobridge_fill(mut_empty, 1, NULL) == GOBRIDGE_OK);
    GobridgeForeignSliceMut_u8 mut_null = {NULL, 1};
    CHECK(gobridge_fill(mut_null, 1, msg_init(&m)) == GOBRIDGE_E_INVALID_BUFFER);
}

/* ------------------------------------------------------------------- executors and tickets */

typedef struct {
    atomic_int calls;
    atomic_int tid;
} Probe;

static void probe_cb(void *ctx) {
    Probe *p = ctx;
    atomic_store(&p->tid, gobridge_current_tid());
    atomic_fetch_add(&p->calls, 1);
}

static int wait_readable(int fd) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLIN);
}

static void test_executors(void) {
    Msg m;
    uint64_t exec = 0;
    const char *name = "c-exec";
    CHECK(gobridge_executor_new((const uint8_t *)name, strlen(name), 0, 0, &exec, msg_init(&m)) ==
          GOBRIDGE_OK);
    CHECK(exec != 0);
    int32_t tid = 0;
    CHECK(gobridge_executor_tid(exec, &tid, NULL) == GOBRIDGE_OK);
    CHECK(tid > 0 && tid != gobridge_current_tid());

    Probe p = {0};
    CHECK(gobridge_executor_run(exec, probe_cb, &p, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(atomic_load(&p.calls) == 1 && atomic_load(&p.tid) == tid);
    CHECK(gobridge_executor_ping(exec, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_executor_run(exec, NULL, NULL, msg_init(&m)) == GOBRIDGE_E_INVALID_ARGUMENT);

    /* submit, wait for the ticket's fd in poll(2), collect, free */
    uint64_t ticket = 0;
    CHECK(gobridge_executor_submit(exec, probe_cb, &p, &ticket, msg_init(&m)) == GOBRIDGE_OK);
    int32_t fd = -1;
    CHECK(gobridge_ticket_fd(ticket, &fd, NULL) == GOBRIDGE_OK);
    CHECK(wait_readable(fd));
    CHECK(gobridge_ticket_wait(ticket, -1, NULL) == GOBRIDGE_OK);
    CHECK(atomic_load(&p.calls) == 2);
    CHECK(gobridge_ticket_free(ticket, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_ticket_free(ticket, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(gobridge_executor_submit_ping(exec, &ticket, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_ticket_wait(ticket, -1, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_ticket_free(ticket, NULL) == GOBRIDGE_OK);

    /* a ticket left unfreed at close is still freed by the caller afterwards */
    uint64_t late = 0;
    CHECK(gobridge_executor_submit(exec, probe_cb, &p, &late, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_ticket_wait(late, -1, NULL) == GOBRIDGE_OK);

    CHECK(gobridge_executor_close(exec, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(gobridge_executor_close(exec, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(m.st.msg_len > 0);
    CHECK(gobridge_executor_run(exec, probe_cb, &p, NULL) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(gobridge_executor_ping(0, NULL) == GOBRIDGE_E_STALE_HANDLE);
    CHECK(gobridge_ticket_wait(late, 0, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_ticket_free(late, NULL) == GOBRIDGE_OK);
    CHECK(atomic_load(&p.calls) == 3);

    /* refused input creates nothing */
    uint64_t none = 0;
    CHECK(gobridge_executor_new(NULL, 4, 0, 0, &none, msg_init(&m)) == GOBRIDGE_E_INVALID_ARGUMENT);
    CHECK(gobridge_executor_new(NULL, 0, 0, (uint64_t)1 << (SIGSEGV - 1), &none, msg_init(&m)) ==
          GOBRIDGE_E_UNBLOCKABLE);
    CHECK(none == 0);
}

/* ------------------------------------------------------------------------------- pools */

static void test_pools(void) {
    Msg m;
    uint64_t pool = 0;
    CHECK(gobridge_pool_new(0, &pool, msg_init(&m)) == GOBRIDGE_E_INVALID_ARGUMENT);
    CHECK(gobridge_pool_new(2, &pool, msg_init(&m)) == GOBRIDGE_OK);
    Probe p = {0};
    uint64_t ids[6];
    for (int i = 0; i < 3; i++) {
        CHECK(gobridge_pool_submit(pool, probe_cb, &p, &ids[i], NULL) == GOBRIDGE_OK);
        CHECK(gobridge_pool_submit_sleep(pool, 100000, &ids[3 + i], NULL) == GOBRIDGE_OK);
    }
    int32_t fd = -1;
    CHECK(gobridge_pool_fd(pool, &fd, NULL) == GOBRIDGE_OK);
    size_t done = 0;
    GobridgeCompletion out[4];
    while (done < 6 && wait_readable(fd)) {
        size_t n = 0;
        CHECK(gobridge_pool_take_completions(pool, out, 4, &n, NULL) == GOBRIDGE_OK);
        for (size_t i = 0; i < n; i++) CHECK(out[i].code == GOBRIDGE_OK);
        done += n;
    }
    CHECK(done == 6);
    CHECK(atomic_load(&p.calls) == 3);
    CHECK(gobridge_pool_shutdown(pool, NULL) == GOBRIDGE_OK);
    uint64_t job = 0;
    CHECK(gobridge_pool_submit_sleep(pool, 1, &job, msg_init(&m)) == GOBRIDGE_E_SHUTDOWN);
    CHECK(gobridge_pool_close(pool, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_pool_close(pool, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
}

/* ----------------------------------------------------------------------- thread-bound */

static void *check_elsewhere(void *arg) {
    static Msg m;
    uint64_t h = *(uint64_t *)arg;
    int32_t rc = gobridge_thread_bound_check(h, msg_init(&m));
    return (void *)(intptr_t)rc;
}

static void test_thread_bound(void) {
    Msg m;
    uint64_t h = 0;
    CHECK(gobridge_thread_bound_new(&h, msg_init(&m)) == GOBRIDGE_OK);
    int32_t owner = 0;
    CHECK(gobridge_thread_bound_owner(h, &owner, NULL) == GOBRIDGE_OK);
    CHECK(owner == gobridge_current_tid());
    CHECK(gobridge_thread_bound_check(h, NULL) == GOBRIDGE_OK);
    pthread_t t;
    void *rc = NULL;
    CHECK(pthread_create(&t, NULL, check_elsewhere, &h) == 0);
    CHECK(pthread_join(t, &rc) == 0);
    CHECK((intptr_t)rc == GOBRIDGE_E_WRONG_THREAD);
    CHECK(gobridge_thread_bound_free(h, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_thread_bound_check(h, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
}

/* ----------------------------------------------------------------- masks and signals */

static void record_mask(void *ctx) {
    sigset_t *out = ctx;
    pthread_sigmask(SIG_BLOCK, NULL, out);
}

static void test_masks_and_signals(void) {
    Msg m;
    sigset_t before, inside, after;
    pthread_sigmask(SIG_BLOCK, NULL, &before);
    uint64_t set = (uint64_t)1 << (SIGPROF - 1) | (uint64_t)1 << (SIGURG - 1);
    CHECK(gobridge_with_blocked(set, record_mask, &inside, msg_init(&m)) == GOBRIDGE_OK);
    CHECK(sigismember(&inside, SIGPROF) == 1 && sigismember(&inside, SIGURG) == 1);
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    CHECK(sigismember(&after, SIGPROF) == sigismember(&before, SIGPROF));
    CHECK(sigismember(&after, SIGURG) == sigismember(&before, SIGURG));
    CHECK(gobridge_with_blocked((uint64_t)1 << (SIGBUS - 1), record_mask, &inside, msg_init(&m)) ==
          GOBRIDGE_E_UNBLOCKABLE);
    uint32_t eintr = 99;
    CHECK(gobridge_sleep_interruptible(1000000, true, &eintr, NULL) == GOBRIDGE_OK);
    CHECK(eintr == 0);

    /* A signal pipe on SIGUSR2 (ignored first: chained to, the default would end us). */
    signal(SIGUSR2, SIG_IGN);
    uint64_t pipe_h = 0;
    CHECK(gobridge_signal_pipe_new((uint64_t)1 << (SIGUSR2 - 1), &pipe_h, msg_init(&m)) ==
          GOBRIDGE_OK);
    CHECK(raise(SIGUSR2) == 0);
    int32_t sig = 0;
    CHECK(gobridge_signal_pipe_recv(pipe_h, &sig, NULL) == GOBRIDGE_OK);
    CHECK(sig == SIGUSR2);
    GobridgeHandlerReport reports[64];
    size_t n = 0;
    CHECK(gobridge_signal_audit(reports, 64, &n, NULL) == GOBRIDGE_OK);
    int found = 0;
    for (size_t i = 0; i < n && i < 64; i++)
        if (reports[i].signal == SIGUSR2) found = reports[i].ours && reports[i].on_stack;
    CHECK(found);
    CHECK(gobridge_signal_pipe_close(pipe_h, NULL) == GOBRIDGE_OK);
    CHECK(gobridge_signal_pipe_close(pipe_h, msg_init(&m)) == GOBRIDGE_E_STALE_HANDLE);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    CHECK(now.sa_handler == SIG_IGN);
}

int main(void) {
    test_abi_and_layouts();
    test_status();
    test_buffers();
    test_views();
    test_executors();
    test_pools();
    test_thread_bound();
    test_masks_and_signals();

    if (failures != 0) {
        fprintf(stderr, "abi_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("abi_test: all checks passed\n");
    return 0;
}
