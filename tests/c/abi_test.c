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

#include <pthread.h>
#include <stdalign.h>
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
    ExpectedField fields[8];
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

int main(void) {
    test_abi_and_layouts();
    test_status();
    test_buffers();
    test_views();
    /* Other areas (executors, pools, thread-bound, masks, signals) add their test_* here. */

    if (failures != 0) {
        fprintf(stderr, "abi_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("abi_test: all checks passed\n");
    return 0;
}
