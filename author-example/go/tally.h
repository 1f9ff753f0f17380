#ifndef TALLY_H
#define TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gobridge.h"

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 Creates an empty tally on a thread of its own (`tally-N`) and writes its handle to `*out`.

 # Safety

 `out` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
 `GobridgeStatus`.
 */
int32_t tally_new(uint64_t *out, GobridgeStatus *status);

/*
 Adds every whitespace-separated word of `text` (UTF-8, lent for this call only) to the
 tally and writes how many words it added to `*out_words`. Text that is not UTF-8 is
 `GOBRIDGE_E_INVALID_ARGUMENT` and adds nothing.

 # Safety

 `text` is a valid view for the call; `out_words` is NULL or valid for a write of
 `uint64_t`; `status` is NULL or a valid `GobridgeStatus`.
 */
int32_t tally_add(uint64_t h, GobridgeForeignSlice_u8 text, uint64_t *out_words, GobridgeStatus *status);

/*
 Writes how many times `word` (UTF-8, lent for this call) was added to `*out`.

 # Safety

 As `tally_add`.
 */
int32_t tally_count(uint64_t h, GobridgeForeignSlice_u8 word, uint64_t *out, GobridgeStatus *status);

/*
 Writes the kernel thread id of the tally's own thread to `*out`.

 # Safety

 `out` is NULL or valid for a write of `int32_t`; `status` is NULL or a valid
 `GobridgeStatus`.
 */
int32_t tally_thread(uint64_t h, int32_t *out, GobridgeStatus *status);

/*
 Frees the tally (its thread drops the state and exits). A second free is
 `GOBRIDGE_E_STALE_HANDLE`.

 # Safety

 `status` is NULL or a valid `GobridgeStatus`.
 */
int32_t tally_free(uint64_t h, GobridgeStatus *status);

/*
 Computes the FNV-1a hash of `data` (lent for this call) on the executor Go created (its
 `Handle()`), and writes the hash and the thread it ran on. The view crosses to that thread
 and back within the call: `run` waits.

 # Safety

 `data` is a valid view for the call; `out_hash` and `out_tid` are NULL or valid for writes;
 `status` is NULL or a valid `GobridgeStatus`.
 */
int32_t tally_hash_on(uint64_t executor, GobridgeForeignSlice_u8 data, uint64_t *out_hash, int32_t *out_tid, GobridgeStatus *status);

/*
 Computes the FNV-1a hash of `data` (lent for this call) on the calling thread and writes it
 to `*out`: a function with no state, the cheapest shape of an author's call.

 # Safety

 `data` is a valid view for the call; `out` is NULL or valid for a write of `uint64_t`;
 `status` is NULL or a valid `GobridgeStatus`.
 */
int32_t tally_fnv(GobridgeForeignSlice_u8 data, uint64_t *out, GobridgeStatus *status);

/*
 Queues a long job on the executor Go created: `rounds` rounds of hashing, about 100 µs
 each, checking its cancellation token between rounds. Writes a ticket for
 `gobridge_ticket_wait` (Go: `gobridge.WaitTicket`); the ticket's outcome is 0, or
 `GOBRIDGE_E_CANCELLED` if the caller cancelled it (withdrawn, or stopped between rounds).

 # Safety

 `out_ticket` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
 `GobridgeStatus`.
 */
int32_t tally_crunch_submit(uint64_t executor, uint64_t rounds, uint64_t *out_ticket, GobridgeStatus *status);

/*
 Rounds done by every `tally_crunch_submit` job so far (never fails).
 */
uint64_t tally_crunch_rounds(void);

/*
 Panics on purpose, inside gobridge's guard: the call returns `GOBRIDGE_E_PANICKED` with the
 panic's message, and the process lives on. For tests of the panic path.

 # Safety

 `status` is NULL or a valid `GobridgeStatus`.
 */
int32_t tally_panic_for_test(GobridgeStatus *status);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* TALLY_H */
