//! Signal masks and handler delivery, each beside its baseline in the same run:
//! - `mask/raw_pair` (pthread_sigmask SIG_BLOCK + SIG_SETMASK) vs `mask/guard` (block + drop,
//!   target ≤ 1.1x) and `mask/nested_noop_guard` (a guard inside a guard that already blocks
//!   the set: no system call, target ≤ 0.05x of the raw pair);
//! - `delivery/signal_hook_pipe` (signal-hook's `low_level::pipe`: raise → read one byte) vs
//!   `delivery/signal_pipe` (raise → `SignalPipe::recv`, target ≤ 1.1x).
//!
//! Each group also prints a *paired* ratio (see `common/mod.rs`): subject and baseline in
//! alternating rounds, medians compared, so both see the same machine load.

mod common;

use common::paired;
use criterion::{Criterion, criterion_group, criterion_main};
use gobridge::sigmask::{self, SignalSet};
use gobridge::signal::SignalPipe;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask, raise};
use std::hint::black_box;
use std::io::Read;
use std::os::unix::net::UnixStream;

fn raw_pair(set: &SignalSet) {
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(set.as_sigset()), Some(&mut old)).unwrap();
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
}

fn masks(c: &mut Criterion) {
    let set = SignalSet::go_runtime();
    paired(
        "mask guard / raw pair",
        201,
        1000,
        || raw_pair(&set),
        || drop(black_box(sigmask::block(&set).unwrap())),
    );
    {
        let _outer = sigmask::block(&set).unwrap();
        paired(
            "mask nested no-op guard / raw pair",
            201,
            1000,
            || raw_pair(&set),
            || drop(black_box(sigmask::block(&set).unwrap())),
        );
    }
    let mut group = c.benchmark_group("mask");
    group.bench_function("raw_pair", |b| b.iter(|| raw_pair(&set)));
    group.bench_function("guard", |b| b.iter(|| drop(black_box(sigmask::block(&set).unwrap()))));
    group.bench_function("nested_noop_guard", |b| {
        let _outer = sigmask::block(&set).unwrap();
        b.iter(|| drop(black_box(sigmask::block(&set).unwrap())))
    });
    group.finish();
}

fn delivery(c: &mut Criterion) {
    for s in [Signal::SIGUSR1, Signal::SIGUSR2] {
        // SAFETY:
        // - SIG_IGN involves no handler code; this bench binary owns the process.
        unsafe { nix::sys::signal::signal(s, SigHandler::SigIgn) }.unwrap();
    }
    let mut group = c.benchmark_group("delivery");

    let (mut read, write) = UnixStream::pair().unwrap();
    let id = signal_hook::low_level::pipe::register(libc::SIGUSR2, write).unwrap();
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    let mut byte = [0u8; 1];
    let mut signal_hook_round_trip = || {
        raise(Signal::SIGUSR2).unwrap();
        read.read_exact(&mut byte).unwrap();
    };
    let signal_pipe_round_trip = || {
        raise(Signal::SIGUSR1).unwrap();
        black_box(pipe.recv().unwrap());
    };
    paired(
        "delivery SignalPipe / signal-hook pipe",
        101,
        200,
        &mut signal_hook_round_trip,
        signal_pipe_round_trip,
    );
    group.bench_function("signal_hook_pipe", |b| b.iter(&mut signal_hook_round_trip));
    group.bench_function("signal_pipe", |b| b.iter(signal_pipe_round_trip));
    group.finish();
    signal_hook::low_level::unregister(id);
}

criterion_group!(benches, masks, delivery);
criterion_main!(benches);
