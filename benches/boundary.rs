//! Costs of the boundary primitives, each beside its baseline in the same run:
//!
//! - `view_sum_64k`: `ForeignSlice::get()` + sum over 64 KiB vs summing the raw slice (the
//!   validation is O(1), so the target is ≤ 1.02x);
//! - `guard`: `ffi::guard` around a no-op vs the bare call, and the full `ffi::call` (guard +
//!   status write) for reference;
//! - `handle_resolve`: `HandleTable::get` vs indexing a `Vec`, and `get` from two threads at
//!   once (one handle, or one each) vs from one: what the table's shared lock costs once the
//!   C ABI is called from several threads.
//!
//! Each group also prints a *paired* ratio (see `common/mod.rs`).
//!
//! `cargo bench --bench boundary` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick look).

mod common;

use common::{paired, paired_rounds};
use criterion::{Criterion, criterion_group, criterion_main};
use gobridge::Result;
use gobridge::buffer::ForeignSlice;
use gobridge::ffi::{self, Status};
use gobridge::handle::{Handle, HandleTable, kind};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

const LEN: usize = 64 * 1024;

#[inline(never)]
fn sum_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| u64::from(b)).sum()
}

#[inline(never)]
fn sum_view(view: ForeignSlice<'_, u8>) -> Result<u64> {
    Ok(sum_bytes(view.get()?))
}

fn view_sum(c: &mut Criterion) {
    let data: Vec<u8> = (0..LEN).map(|i| i as u8).collect();
    let view_of_data = || {
        // SAFETY:
        // - `data` is live, initialised and not mutated while the view is used.
        unsafe { ForeignSlice::from_raw_parts(black_box(data.as_ptr()), LEN) }
    };
    paired(
        "view_sum_64k foreign_slice_get / raw_slice",
        101,
        200,
        || sum_bytes(black_box(&data[..])),
        || sum_view(view_of_data()).unwrap(),
    );
    let mut g = c.benchmark_group("view_sum_64k");
    g.throughput(criterion::Throughput::Bytes(LEN as u64));
    g.bench_function("raw_slice", |b| b.iter(|| sum_bytes(black_box(&data[..]))));
    g.bench_function("foreign_slice_get", |b| b.iter(|| sum_view(view_of_data()).unwrap()));
    g.finish();
}

#[inline(never)]
fn noop() -> Result<()> {
    black_box(());
    Ok(())
}

fn guard(c: &mut Criterion) {
    // Both sides call the no-op through an opaque function pointer and consume the result the
    // same way (`is_ok()`), so the comparison isolates what `guard` adds: `catch_unwind`, which
    // costs nothing unless a panic unwinds.
    let f: fn() -> Result<()> = noop;
    paired(
        "guard guard / bare_call",
        101,
        100_000,
        || black_box(f)().is_ok(),
        || ffi::guard(black_box(f)).is_ok(),
    );
    let mut g = c.benchmark_group("guard");
    g.bench_function("bare_call", |b| b.iter(|| black_box(black_box(f)().is_ok())));
    g.bench_function("guard", |b| b.iter(|| black_box(ffi::guard(black_box(f)).is_ok())));
    let mut buf = [0u8; 128];
    let mut status = Status::with_buffer(&mut buf);
    g.bench_function("ffi_call_with_status", |b| {
        b.iter(|| {
            // SAFETY:
            // - `status` and its buffer live for the whole benchmark.
            black_box(unsafe { ffi::call(black_box(&mut status), black_box(f)) })
        })
    });
    g.finish();
}

fn handle_resolve(c: &mut Criterion) {
    let table = HandleTable::new(kind::USER_MIN);
    let handles: Vec<_> = (0..1024u64).map(|i| table.insert(i).unwrap()).collect();
    let values: Vec<u64> = (0..1024).collect();
    let (mut i, mut j) = (0usize, 0usize);
    paired(
        "handle_resolve handle_table_get / vec_index",
        101,
        100_000,
        || {
            i = (i + 1) & 1023;
            values[black_box(i)]
        },
        || {
            j = (j + 1) & 1023;
            *table.get(black_box(handles[j])).unwrap()
        },
    );
    // Two threads resolving at once, on two cores: the lock's (and, for one handle, the
    // object's reference count's) cache line moves between them on every get.
    const GETS: u32 = 50_000;
    for (name, pair) in [
        ("handle_resolve get, 2 threads, one handle / 1 thread", [handles[0], handles[0]]),
        ("handle_resolve get, 2 threads, two handles / 1 thread", [handles[0], handles[1]]),
    ] {
        paired_rounds(
            name,
            51,
            || concurrent_get_ns(&table, &pair[..1], GETS),
            || concurrent_get_ns(&table, &pair, GETS),
        );
    }
    let mut g = c.benchmark_group("handle_resolve");
    let mut i = 0usize;
    g.bench_function("vec_index", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(values[black_box(i)])
        })
    });
    g.bench_function("handle_table_get", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(*table.get(black_box(handles[i])).unwrap())
        })
    });
    g.finish();
}

/// Per-get nanoseconds (the mean over threads) with one thread per handle in `handles`, each
/// on a CPU of its own (so two threads contend rather than take turns), resolving its handle
/// `gets` times, all started together.
fn concurrent_get_ns(table: &HandleTable<u64>, handles: &[Handle], gets: u32) -> f64 {
    let start = Barrier::new(handles.len());
    let total: f64 = std::thread::scope(|s| {
        let threads: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(cpu, &h)| {
                let start = &start;
                s.spawn(move || {
                    pin_to_cpu(cpu);
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..gets {
                        black_box(*table.get(black_box(h)).unwrap());
                    }
                    t.elapsed().as_secs_f64()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    total * 1e9 / f64::from(gets) / handles.len() as f64
}

/// Pins the calling thread to `cpu` (modulo the CPUs there are); a failure leaves it unpinned.
fn pin_to_cpu(cpu: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY:
    // - `cpu_set_t` is plain data: all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY:
    // - `set` is a valid `cpu_set_t` and the index is below its capacity (`available_parallelism`
    //   counts CPUs this process may use, which are fewer than `CPU_SETSIZE`).
    unsafe { libc::CPU_SET(cpu % cpus, &mut set) };
    // SAFETY:
    // - `set` is valid for reads of `size_of::<cpu_set_t>()` bytes; pid 0 is the calling thread.
    let _ = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

criterion_group!(benches, view_sum, guard, handle_resolve);
criterion_main!(benches);
