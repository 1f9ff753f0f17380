//! Costs of the boundary primitives, each beside its baseline in the same run:
//!
//! - `view_sum_64k`: `ForeignSlice::get()` + sum over 64 KiB vs summing the raw slice (the
//!   validation is O(1), so the target is ≤ 1.02x);
//! - `guard`: `ffi::guard` around a no-op vs the bare call, and the full `ffi::call` (guard +
//!   status write) for reference;
//! - `handle_resolve`: `HandleTable::get` vs indexing a `Vec`.
//!
//! Each group also prints a *paired* ratio (see `common/mod.rs`).
//!
//! `cargo bench --bench boundary` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick look).

mod common;

use common::paired;
use criterion::{Criterion, criterion_group, criterion_main};
use gobridge::Result;
use gobridge::buffer::ForeignSlice;
use gobridge::ffi::{self, Status};
use gobridge::handle::{HandleTable, kind};
use std::hint::black_box;

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

criterion_group!(benches, view_sum, guard, handle_resolve);
criterion_main!(benches);
