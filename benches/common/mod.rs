//! Shared by the bench binaries: the *paired* ratio.
//!
//! Criterion measures each function in turn, so on a loaded machine the load can change
//! between a baseline and its subject. `paired` runs subject and baseline in alternating
//! rounds and compares the medians of the per-round times, so both see the same machine.

use std::hint::black_box;
use std::time::Instant;

/// Runs `baseline` and `subject` `iters` times each (their results go through `black_box`),
/// alternately for `rounds` rounds, prints the median per-call times and their ratio
/// (subject / baseline), and returns the ratio.
pub fn paired<A, B>(
    name: &str,
    rounds: usize,
    iters: u32,
    mut baseline: impl FnMut() -> A,
    mut subject: impl FnMut() -> B,
) -> f64 {
    paired_rounds(
        name,
        rounds,
        || per_call_ns(iters, &mut baseline),
        || per_call_ns(iters, &mut subject),
    )
}

/// [`paired`] for rounds that time themselves (several threads, say): each call of `baseline`
/// and `subject` runs one round and returns its per-call nanoseconds.
#[allow(dead_code)] // not every bench binary has such rounds
pub fn paired_rounds(
    name: &str,
    rounds: usize,
    mut baseline: impl FnMut() -> f64,
    mut subject: impl FnMut() -> f64,
) -> f64 {
    let (mut base, mut subj) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        base.push(baseline());
        subj.push(subject());
    }
    base.sort_by(f64::total_cmp);
    subj.sort_by(f64::total_cmp);
    let (b, s) = (base[rounds / 2], subj[rounds / 2]);
    println!("paired {name}: baseline {b:.1} ns, subject {s:.1} ns, ratio {:.3}", s / b);
    s / b
}

fn per_call_ns<T>(iters: u32, f: &mut impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
}
