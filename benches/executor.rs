//! Executor round trips beside their baselines, in one run.
//!
//! - `round_trip/*`: a no-op request and its reply between two threads:
//!   `floor_atomic_spin` (two threads spinning on atomic flags: the hardware floor),
//!   `floor_queue_and_job_line` (the same threads moving a queue's line and a job's line, the
//!   least a queue of caller-owned jobs moves),
//!   `executor_run` (`PinnedExecutor::run`), `executor_submit_wait`, `crossbeam_channel` and
//!   `std_mpsc` (request/reply to a worker thread over two channels).
//! - `pool_throughput/2_submitters`: jobs per second through a 2-thread `PinnedPool` fed by two
//!   submitting threads (each submits batches of 32 and waits for them);
//!   `2_submitters_completions`: the same jobs reporting to a `Completions` queue per submitter.
//! - `spin_window/*`: `run` round trip after the caller was busy elsewhere for a gap, for
//!   several spin windows: shows which window keeps the executor awake across which gap.
//!
//! `round_trip` also prints *paired* ratios (see `common/mod.rs`) of `executor_run` against
//! each baseline: alternating rounds in one run, medians compared. The floor's worker spins
//! only during its own rounds (it parks during the subject's), so on a 2-core machine the
//! two never fight three spinning threads over two cores.

mod common;

use common::paired;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gobridge::executor::{Completions, PinnedExecutor, PinnedPool};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A cache line of its own (128 bytes: adjacent-line prefetch pairs 64-byte lines).
#[repr(align(128))]
struct Line<T>(T);

/// What a [`Floor`]'s two threads exchange.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// A request word and a reply word, each on a line of its own, each written by one side:
    /// the floor of any handoff (two line transfers per round trip).
    OneWriterPerLine,
    /// The least any queue whose jobs live with their submitter moves, as `run` does: the
    /// submitter writes its job's line and publishes it with a compare-exchange on the queue's
    /// line; the worker takes it with a swap, finds the job through the value it took (a
    /// dependent load, as a pointer to the caller's job is), reads it and writes the answer into
    /// it. Both lines are written by both sides.
    QueueAndJobLine,
}

#[derive(Default)]
struct Lines {
    req: Line<AtomicU64>,
    resp: Line<AtomicU64>,
    /// The queue's top: the queued job's index plus one, 0 while none is queued.
    queue: Line<AtomicU64>,
    /// The jobs' input and answer (the submitter uses the first).
    jobs: [Line<[AtomicU64; 2]>; 2],
}

impl<T: Default> Default for Line<T> {
    fn default() -> Self {
        Line(T::default())
    }
}

impl Lines {
    /// The worker's side of one round trip; false when no request was waiting.
    fn serve(&self, shape: Shape, last: &mut u64) -> bool {
        match shape {
            Shape::OneWriterPerLine => {
                let v = self.req.0.load(Ordering::Acquire);
                if v == *last {
                    return false;
                }
                *last = v;
                self.resp.0.store(v, Ordering::Release);
            }
            Shape::QueueAndJobLine => {
                if self.queue.0.load(Ordering::Relaxed) == 0 {
                    return false;
                }
                let top = self.queue.0.swap(0, Ordering::Acquire);
                let Some(index) = top.checked_sub(1) else {
                    return false;
                };
                let [input, answer] = &self.jobs[index as usize % 2].0;
                answer.store(input.load(Ordering::Relaxed), Ordering::Release);
            }
        }
        true
    }

    /// The submitter's side: request `seq` and spin for its answer.
    fn request(&self, shape: Shape, seq: u64) {
        let answer = match shape {
            Shape::OneWriterPerLine => {
                self.req.0.store(seq, Ordering::Release);
                &self.resp.0
            }
            Shape::QueueAndJobLine => {
                let [input, answer] = &self.jobs[0].0;
                input.store(seq, Ordering::Relaxed);
                let queued =
                    self.queue.0.compare_exchange(0, 1, Ordering::Release, Ordering::Relaxed);
                assert!(queued.is_ok(), "the worker takes each job before its answer");
                answer
            }
        };
        while answer.load(Ordering::Acquire) != seq {
            std::hint::spin_loop();
        }
    }
}

/// Two threads, both spinning, handing requests over through [`Lines`] of a [`Shape`]: the
/// floors `run` is measured against. Its worker can be paused (parked) so that it does not spin
/// while something else is timed.
struct Floor {
    shape: Shape,
    lines: Arc<Lines>,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    is_paused: bool,
    seq: u64,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Floor {
    fn new(shape: Shape) -> Self {
        let lines = Arc::new(Lines::default());
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let (l, s, p) = (Arc::clone(&lines), Arc::clone(&stop), Arc::clone(&paused));
        let worker = std::thread::spawn(move || {
            let mut last = 0;
            loop {
                if l.serve(shape, &mut last) {
                    continue;
                } else if s.load(Ordering::Relaxed) {
                    break;
                } else if p.load(Ordering::Relaxed) {
                    std::thread::park(); // unpark's token makes a lost wake-up impossible
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        Floor { shape, lines, stop, paused, is_paused: false, seq: 0, worker: Some(worker) }
    }

    fn pause(&mut self) {
        if !self.is_paused {
            self.is_paused = true;
            self.paused.store(true, Ordering::Relaxed);
        }
    }

    fn resume(&mut self) {
        if self.is_paused {
            self.is_paused = false;
            self.paused.store(false, Ordering::Relaxed);
            self.worker.as_ref().unwrap().thread().unpark();
        }
    }

    fn round_trip(&mut self) {
        self.resume();
        self.seq += 1;
        self.lines.request(self.shape, self.seq);
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.resume();
        if let Some(w) = self.worker.take() {
            w.join().unwrap();
        }
    }
}

/// Runs `$body` with `$round_trip` bound to one request/reply round trip to an echo thread
/// over two channels made by `$make` (crossbeam or std), then stops the thread.
macro_rules! with_echo {
    ($make:expr, |$round_trip:ident| $body:expr) => {{
        let (req_tx, req_rx) = $make;
        let (resp_tx, resp_rx) = $make;
        let worker = std::thread::spawn(move || {
            while req_rx.recv().is_ok() {
                resp_tx.send(()).unwrap();
            }
        });
        let mut $round_trip = || {
            req_tx.send(()).unwrap();
            resp_rx.recv().unwrap()
        };
        $body;
        drop(req_tx);
        worker.join().unwrap();
    }};
}

fn paired_round_trips() {
    const ROUNDS: usize = 101;
    const ITERS: u32 = 5_000;
    let exec = PinnedExecutor::new("bench-paired").unwrap();
    let run = || exec.run(|| black_box(())).unwrap();

    for (name, shape) in [
        ("round_trip executor_run / floor_atomic_spin", Shape::OneWriterPerLine),
        ("round_trip executor_run / floor_queue_and_job_line", Shape::QueueAndJobLine),
    ] {
        let floor = std::cell::RefCell::new(Floor::new(shape));
        paired(
            name,
            ROUNDS,
            ITERS,
            || floor.borrow_mut().round_trip(),
            || {
                floor.borrow_mut().pause();
                run()
            },
        );
    }

    with_echo!(crossbeam_channel::bounded::<()>(1), |round_trip| paired(
        "round_trip executor_run / crossbeam_channel",
        ROUNDS,
        ITERS / 10,
        &mut round_trip,
        run,
    ));
    with_echo!(std::sync::mpsc::channel::<()>(), |round_trip| paired(
        "round_trip executor_run / std_mpsc",
        ROUNDS,
        ITERS / 10,
        &mut round_trip,
        run,
    ));
}

fn round_trip(c: &mut Criterion) {
    paired_round_trips();
    let mut g = c.benchmark_group("round_trip");

    for (name, shape) in [
        ("floor_atomic_spin", Shape::OneWriterPerLine),
        ("floor_queue_and_job_line", Shape::QueueAndJobLine),
    ] {
        let mut floor = Floor::new(shape);
        g.bench_function(name, |b| b.iter(|| floor.round_trip()));
    }

    let exec = PinnedExecutor::new("bench-exec").unwrap();
    g.bench_function("executor_run", |b| b.iter(|| exec.run(|| black_box(())).unwrap()));
    g.bench_function("executor_submit_wait", |b| {
        b.iter(|| exec.submit(|| black_box(())).unwrap().wait().unwrap())
    });
    drop(exec);

    with_echo!(crossbeam_channel::bounded::<()>(1), |round_trip| {
        g.bench_function("crossbeam_channel", |b| b.iter(&mut round_trip))
    });
    with_echo!(std::sync::mpsc::channel::<()>(), |round_trip| {
        g.bench_function("std_mpsc", |b| b.iter(&mut round_trip))
    });
    g.finish();
}

/// Jobs per batch in `pool_throughput`.
const BATCH: u64 = 32;

/// Two threads, each running `iters / 2` jobs in batches of [`BATCH`]: each makes its batch
/// runner with `make` (per-thread state), then calls it with each batch's size. The elapsed time.
fn two_submitters<M, B>(iters: u64, make: M) -> Duration
where
    M: Fn() -> B + Sync,
    B: FnMut(u64),
{
    let per_thread = iters.div_ceil(2);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut batch = make();
                let mut left = per_thread;
                while left > 0 {
                    let n = left.min(BATCH);
                    batch(n);
                    left -= n;
                }
            });
        }
    });
    start.elapsed()
}

fn pool_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool_throughput");
    g.throughput(Throughput::Elements(1));
    let pool = &PinnedPool::new(2, "bench-pool").unwrap();
    g.bench_function("2_submitters", |b| {
        b.iter_custom(|iters| {
            two_submitters(iters, || {
                move |n: u64| {
                    let tickets: Vec<_> =
                        (0..n).map(|i| pool.submit(move || black_box(i)).unwrap()).collect();
                    for t in tickets {
                        black_box(t.wait().unwrap());
                    }
                }
            })
        })
    });
    // The same jobs reporting to one `Completions` queue per submitter, collected by a
    // spinning poller: no ticket per job, no wait per job.
    g.bench_function("2_submitters_completions", |b| {
        b.iter_custom(|iters| {
            two_submitters(iters, || {
                let done = Arc::new(Completions::new().unwrap());
                let mut got = Vec::with_capacity(BATCH as usize);
                move |n: u64| {
                    for i in 0..n {
                        pool.submit_to(&done, move || Ok(black_box(i))).unwrap();
                    }
                    let poller = done.poller();
                    got.clear();
                    // Spin, then yield: four threads share two cores here.
                    let mut spins = 0u32;
                    while got.len() < n as usize {
                        if poller.poll_into(&mut got, BATCH as usize) == 0 {
                            spins += 1;
                            if spins < 512 {
                                std::hint::spin_loop();
                            } else {
                                std::thread::yield_now();
                            }
                        }
                    }
                    black_box(&got);
                }
            })
        })
    });
    g.finish();
}

fn spin_window(c: &mut Criterion) {
    let mut g = c.benchmark_group("spin_window");
    for window_us in [0u64, 5, 50] {
        let exec = PinnedExecutor::builder()
            .name("bench-spin")
            .spin(Duration::from_micros(window_us))
            .spawn()
            .unwrap();
        for gap_us in [0u64, 20] {
            let id = BenchmarkId::new(format!("window_{window_us}us"), format!("gap_{gap_us}us"));
            g.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // The caller is busy elsewhere for the gap (not timed)...
                        let gap_end = Instant::now() + Duration::from_micros(gap_us);
                        while Instant::now() < gap_end {
                            std::hint::spin_loop();
                        }
                        // ...then calls in: timed.
                        let start = Instant::now();
                        exec.run(|| black_box(())).unwrap();
                        total += start.elapsed();
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, round_trip, pool_throughput, spin_window);
criterion_main!(benches);
