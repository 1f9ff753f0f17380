//! `tally`: the worked example of gobridge's Rust-author kit (see README.md beside this crate).
//!
//! A word tally, written as if it were a thread-affine library: its state is an `Rc<RefCell<…>>`
//! (`!Send`), so it lives on a [`Pinned`] executor thread of its own and every call reaches it
//! there. The crate is one staticlib holding its own C functions (`tally_*`, header
//! `include/tally.h`) *and* gobridge's C ABI (`gobridge_*`, from the `capi` feature), which a Go
//! package links under the `gobridge_external` build tag.
//!
//! Every function follows gobridge's C conventions: an `int32_t` status code, a
//! `GobridgeStatus *` for the message, out-pointers checked before anything happens, handles
//! instead of pointers, panics caught. Errors a caller can get:
//!
//! | code | when |
//! |---|---|
//! | `GOBRIDGE_E_STALE_HANDLE` | a tally or executor handle that is 0, forged, freed or of another kind |
//! | `GOBRIDGE_E_INVALID_ARGUMENT` | a NULL or misaligned out-pointer; text that is not UTF-8 |
//! | `GOBRIDGE_E_INVALID_BUFFER` | a view that is NULL with a length, or overflows |
//! | `GOBRIDGE_E_CANCELLED` | `tally_crunch_submit`'s job stopped early on its cancellation token |
//! | `GOBRIDGE_E_PANICKED` | a panic inside a function (`tally_panic_for_test` shows it) |
//! | `GOBRIDGE_E_SHUTDOWN` | the executor was closed before the job ran |

use gobridge::capi::{self, GobridgeForeignSlice_u8, GobridgeStatus};
use gobridge::executor::{self, ExecutorBuilder, Pinned};
use gobridge::ffi;
use gobridge::handle::{Handle, HandleTable, kind};
use gobridge::sigmask::SignalSet;
use gobridge::{Error, Result};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The thread-affine state: `Rc` and `RefCell` make it `!Send`, so the compiler itself keeps it
/// on its executor thread.
type Words = Rc<RefCell<HashMap<String, u64>>>;

/// Every tally Go holds, by handle. The tag is the first one free for users' tables.
static TALLIES: HandleTable<Pinned<Words>> = HandleTable::new(kind::USER_MIN);

fn tally(h: u64) -> Result<std::sync::Arc<Pinned<Words>>> {
    TALLIES.get(Handle::from_raw(h))
}

/// Creates an empty tally on a thread of its own (`tally-N`) and writes its handle to `*out`.
///
/// # Safety
///
/// `out` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_new(out: *mut u64, status: *mut GobridgeStatus) -> i32 {
    let body = || {
        // Every asynchronous signal blocked on the tally's thread, as on the Go package's own
        // threads: a stray SIGUSR1 or SIGPIPE then goes to a Go thread instead of killing the
        // process through Go's handler.
        let words = ExecutorBuilder::new()
            .name("tally")
            .mask(SignalSet::asynchronous())
            .spawn_pinned(Words::default)?;
        Ok(TALLIES.insert(words)?.as_raw())
    };
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
}

/// Adds every whitespace-separated word of `text` (UTF-8, lent for this call only) to the
/// tally and writes how many words it added to `*out_words`. Text that is not UTF-8 is
/// `GOBRIDGE_E_INVALID_ARGUMENT` and adds nothing.
///
/// # Safety
///
/// `text` is a valid view for the call; `out_words` is NULL or valid for a write of
/// `uint64_t`; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_add(
    h: u64,
    text: GobridgeForeignSlice_u8<'_>,
    out_words: *mut u64,
    status: *mut GobridgeStatus,
) -> i32 {
    let body = || {
        let text = std::str::from_utf8(text.get()?)
            .map_err(|_| Error::InvalidArgument("text is not UTF-8"))?;
        // The borrow of the Go slice goes to the tally's thread and back within this call:
        // `with` waits for the job, as `std::thread::scope` does.
        tally(h)?.with(|words| {
            let mut words = words.borrow_mut();
            let mut added = 0;
            for word in text.split_whitespace() {
                *words.entry(word.to_owned()).or_insert(0) += 1;
                added += 1;
            }
            added
        })
    };
    // SAFETY:
    // - `out_words` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_words, body) }
}

/// Writes how many times `word` (UTF-8, lent for this call) was added to `*out`.
///
/// # Safety
///
/// As `tally_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_count(
    h: u64,
    word: GobridgeForeignSlice_u8<'_>,
    out: *mut u64,
    status: *mut GobridgeStatus,
) -> i32 {
    let body = || {
        let word = std::str::from_utf8(word.get()?)
            .map_err(|_| Error::InvalidArgument("word is not UTF-8"))?;
        tally(h)?.with(|words| words.borrow().get(word).copied().unwrap_or(0))
    };
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, body) }
}

/// Writes the kernel thread id of the tally's own thread to `*out`.
///
/// # Safety
///
/// `out` is NULL or valid for a write of `int32_t`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_thread(h: u64, out: *mut i32, status: *mut GobridgeStatus) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || Ok(tally(h)?.executor().tid().as_raw())) }
}

/// Frees the tally (its thread drops the state and exits). A second free is
/// `GOBRIDGE_E_STALE_HANDLE`.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_free(h: u64, status: *mut GobridgeStatus) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || TALLIES.remove(Handle::from_raw(h))?.shutdown()) }
}

/// Computes the FNV-1a hash of `data` (lent for this call) on the executor Go created (its
/// `Handle()`), and writes the hash and the thread it ran on. The view crosses to that thread
/// and back within the call: `run` waits.
///
/// # Safety
///
/// `data` is a valid view for the call; `out_hash` and `out_tid` are NULL or valid for writes;
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_hash_on(
    executor: u64,
    data: GobridgeForeignSlice_u8<'_>,
    out_hash: *mut u64,
    out_tid: *mut i32,
    status: *mut GobridgeStatus,
) -> i32 {
    let body = || {
        // Check the second out-pointer before any work, as call_out does for the first.
        let out_tid = ffi::out_ptr(out_tid)?;
        let bytes = data.get()?;
        let exec = capi::executor_from_handle(executor)?;
        let (hash, tid) = exec.run(|| (fnv1a(bytes), gobridge::current_thread().as_raw()))?;
        // SAFETY:
        // - `out_tid` is non-null and aligned (`out_ptr`) and valid for a write of `int32_t`
        //   (this function's contract).
        unsafe { out_tid.write(tid) };
        Ok(hash)
    };
    // SAFETY:
    // - `out_hash` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_hash, body) }
}

/// Computes the FNV-1a hash of `data` (lent for this call) on the calling thread and writes it
/// to `*out`: a function with no state, the cheapest shape of an author's call.
///
/// # Safety
///
/// `data` is a valid view for the call; `out` is NULL or valid for a write of `uint64_t`;
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_fnv(
    data: GobridgeForeignSlice_u8<'_>,
    out: *mut u64,
    status: *mut GobridgeStatus,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || Ok(fnv1a(data.get()?))) }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Rounds of `tally_crunch_submit` jobs done, over the process's life.
static CRUNCH_ROUNDS: AtomicU64 = AtomicU64::new(0);

/// Queues a long job on the executor Go created: `rounds` rounds of hashing, about 100 µs
/// each, checking its cancellation token between rounds. Writes a ticket for
/// `gobridge_ticket_wait` (Go: `gobridge.WaitTicket`); the ticket's outcome is 0, or
/// `GOBRIDGE_E_CANCELLED` if the caller cancelled it (withdrawn, or stopped between rounds).
///
/// # Safety
///
/// `out_ticket` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_crunch_submit(
    executor: u64,
    rounds: u64,
    out_ticket: *mut u64,
    status: *mut GobridgeStatus,
) -> i32 {
    let job = move || {
        let mut block = [0u8; 4096];
        for _ in 0..rounds {
            executor::check_cancelled()?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_micros(100);
            while std::time::Instant::now() < deadline {
                let h = fnv1a(&block);
                block[(h % 4096) as usize] ^= h as u8;
            }
            CRUNCH_ROUNDS.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    };
    // SAFETY:
    // - `out_ticket` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_ticket, || capi::submit_ticket(executor, job)) }
}

/// Rounds done by every `tally_crunch_submit` job so far (never fails).
#[unsafe(no_mangle)]
pub extern "C" fn tally_crunch_rounds() -> u64 {
    CRUNCH_ROUNDS.load(Ordering::Relaxed)
}

/// Panics on purpose, inside gobridge's guard: the call returns `GOBRIDGE_E_PANICKED` with the
/// panic's message, and the process lives on. For tests of the panic path.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tally_panic_for_test(status: *mut GobridgeStatus) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe {
        ffi::call(status, || -> Result<()> { panic!("tally: a bug, caught at the boundary") })
    }
}
