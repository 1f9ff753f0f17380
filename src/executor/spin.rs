//! How a waiting thread spends its spin window (pure spins, then yields), and the CPU
//! bookkeeping that tells it when spinning is waste: the thread it waits for is on its CPU.

use crate::primitive::hint;
use crate::primitive::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Iterations of pure `spin_loop` before a spinning waiter starts calling `yield_now`.
///
/// A `pause` costs ~25 ns on the project's KVM guests (10–140 cycles elsewhere), so this is
/// about 12 µs: a cgo callback round trip (~0.4–0.7 µs here) and a pool job's whole handoff
/// (~1.2 µs) complete inside it, while a `sched_yield` costs a system call and, on a busy
/// CPU, a time slice. Measured with `make bench` on the 2-vCPU VM, 32 → 512 spins: Ping
/// 0.65–1.3 µs → 0.36–0.89 µs, Executor.Do 3.7–4.1 µs → 1.3–2.3 µs, Pool.Sleep(0)
/// 1.4–2.5 µs → 1.1–1.7 µs. When the two threads share one CPU the pure phase is skipped
/// ([`on_same_cpu`]), so that case is unchanged (`taskset -c 0`: 4.2 µs vs 6.3 µs for Do).
const PURE_SPINS: u32 = 512;

/// The CPU the calling thread is running on, or [`NO_CPU`] when unknown (always under loom and
/// Miri).
pub(crate) fn current_cpu() -> u32 {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(loom), not(miri)))]
    {
        // SAFETY:
        // - `sched_getcpu` has no preconditions; it reads the rseq area or makes a vDSO call.
        let cpu = unsafe { libc::sched_getcpu() };
        u32::try_from(cpu).unwrap_or(NO_CPU)
    }
    #[cfg(not(all(any(target_os = "linux", target_os = "android"), not(loom), not(miri))))]
    NO_CPU
}

/// "CPU unknown", for [`current_cpu`] and the CPUs an executor records.
pub(crate) const NO_CPU: u32 = u32::MAX;

/// Records the calling thread's CPU in `slot`, writing only when it changed (so the cache line
/// stays shared while threads stay put).
pub(crate) fn note_cpu(slot: &AtomicU32) {
    let cpu = current_cpu();
    if slot.load(Ordering::Relaxed) != cpu {
        slot.store(cpu, Ordering::Relaxed);
    }
}

/// Whether `other`, the CPU another thread last recorded, is the calling thread's CPU: then
/// that thread can only run when this one gives the CPU up, and spinning is pure waste.
pub(crate) fn on_same_cpu(other: u32) -> bool {
    other != NO_CPU && other == current_cpu()
}

/// Spins (then yields) until `ready()` holds or `window` has passed; returns the last answer.
///
/// `co_located`: the thread we wait for was last seen on this CPU, so the pure-spin phase is
/// skipped and the first check already yields to it. (The scheduler often puts a waker and the
/// thread it woke on one CPU; there, 32 pure spins per handoff cost about as much as the
/// `sched_yield` switch itself.)
///
/// Under loom this checks once: spinning only multiplies the interleavings without adding
/// any (the park path is what is modelled).
pub(crate) fn spin_until(
    mut ready: impl FnMut() -> bool,
    window: Duration,
    co_located: bool,
) -> bool {
    if ready() {
        return true;
    }
    if cfg!(loom) || window.is_zero() {
        return false;
    }
    let start = Instant::now();
    let pure_spins = if co_located { 0 } else { PURE_SPINS };
    let mut i: u32 = 0;
    loop {
        if i < pure_spins {
            hint::spin_loop();
        } else {
            hint::yield_now();
        }
        if ready() {
            return true;
        }
        i = i.wrapping_add(1);
        // Reading the clock costs ~20 ns (vDSO): check it every 16 spins, and on every yield.
        if (i >= pure_spins || i % 16 == 0) && start.elapsed() >= window {
            return ready();
        }
    }
}
