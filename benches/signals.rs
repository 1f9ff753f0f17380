//! Signal masks and handler delivery, each beside its baseline in the same run:
//! - `mask/raw_pair` (pthread_sigmask SIG_BLOCK + SIG_SETMASK) vs `mask/guard` (block + drop,
//!   target ≤ 1.1x) and `mask/nested_noop_guard` (a guard inside a guard that already blocks
//!   the set: no system call, target ≤ 0.05x of the raw pair);
//! - `delivery/signal_hook_pipe` (signal-hook's `low_level::pipe`: raise → read one byte) vs
//!   `delivery/signal_pipe` (raise → `SignalPipe::recv`, target ≤ 1.1x).

use criterion::{Criterion, criterion_group, criterion_main};
use gobridge::sigmask::{self, SignalSet};
use gobridge::signal::SignalPipe;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask, raise};
use std::hint::black_box;
use std::io::Read;
use std::os::unix::net::UnixStream;

fn masks(c: &mut Criterion) {
    let set = SignalSet::go_runtime();
    let mut group = c.benchmark_group("mask");
    group.bench_function("raw_pair", |b| {
        b.iter(|| {
            let mut old = SigSet::empty();
            pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(set.as_sigset()), Some(&mut old)).unwrap();
            pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
        })
    });
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
    group.bench_function("signal_hook_pipe", |b| {
        let mut byte = [0u8; 1];
        b.iter(|| {
            raise(Signal::SIGUSR2).unwrap();
            read.read_exact(&mut byte).unwrap();
        })
    });
    signal_hook::low_level::unregister(id);

    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGUSR1])).unwrap();
    group.bench_function("signal_pipe", |b| {
        b.iter(|| {
            raise(Signal::SIGUSR1).unwrap();
            black_box(pipe.recv().unwrap());
        })
    });
    group.finish();
}

criterion_group!(benches, masks, delivery);
criterion_main!(benches);
