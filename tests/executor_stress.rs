//! A bounded stress of `PinnedExecutor`: many threads submit, run, cancel, detach and nest
//! jobs, a random share of which panic, while a shutdown lands at a random moment. No timing
//! is asserted; the books must balance: every job ran exactly once or was failed (Shutdown,
//! Cancelled) or refused without running, and every closure was dropped exactly once — none
//! lost, none run twice. `GOBRIDGE_STRESS_SEED` replays a run's choices of operations (not its
//! interleavings); the seed is in every message.
//!
//! The panic hook is process-global: this binary silences it (thousands of caught panics would
//! flood stderr) and is its own process.

use gobridge::Error;
use gobridge::executor::{PinnedExecutor, Ticket};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const ROUNDS: usize = 12;
const THREADS: usize = 6;
const OPS: usize = 300;
/// Every operation may use two job ids (a parent and the child it waits for inline).
const IDS_PER_ROUND: usize = THREADS * OPS * 2;

/// xorshift64*: enough randomness for choosing operations, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Per job id: how often its closure ran and was dropped.
struct Books {
    runs: Vec<AtomicU32>,
    drops: Vec<AtomicU32>,
}

/// Moved into a job's closure: counts the closure's drop, whichever path drops it.
struct DropMark {
    id: usize,
    books: Arc<Books>,
}

impl Drop for DropMark {
    fn drop(&mut self) {
        self.books.drops[self.id].fetch_add(1, SeqCst);
    }
}

/// What the submitter was told about a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Ran,
    Panicked,
    Shutdown,
    Cancelled,
    /// Refused by `submit`/`run`: never queued.
    Refused,
    /// The ticket was dropped: the job ran or was failed, nobody was told which.
    Detached,
}

/// A job body: runs, and panics when `panics`.
fn job(id: usize, books: &Arc<Books>, panics: bool) -> impl FnOnce() -> usize + Send + 'static {
    let mark = DropMark { id, books: Arc::clone(books) };
    move || {
        let mark = mark;
        mark.books.runs[mark.id].fetch_add(1, SeqCst);
        if panics {
            panic!("stress panic {}", mark.id);
        }
        mark.id
    }
}

fn told<T: std::fmt::Debug>(result: Result<T, Error>, id: usize, seed: u64) -> Told {
    match result {
        Ok(_) => Told::Ran,
        Err(Error::Panicked(m)) => {
            let want = format!("stress panic {id} at {}:", file!());
            assert!(m.starts_with(&want), "seed {seed}: job {id}: message {m:?}");
            Told::Panicked
        }
        Err(Error::Shutdown) => Told::Shutdown,
        Err(Error::Cancelled) => Told::Cancelled,
        Err(e) => panic!("seed {seed}: job {id}: unexpected {e:?}"),
    }
}

/// The ticket of a job that waited for a child: the child's result.
type NestedTicket = Ticket<Result<(), Error>>;

/// One submitter's operations; returns what it was told about each id it used.
fn submitter(
    exec: &Arc<PinnedExecutor>,
    books: &Arc<Books>,
    base: usize,
    seed: u64,
    ops_done: &AtomicUsize,
) -> Vec<(usize, Told)> {
    let mut rng = Rng::new(seed);
    let mut outcomes = Vec::new();
    let mut pending: Vec<(usize, Ticket<usize>)> = Vec::new();
    let mut nested: Vec<(usize, usize, NestedTicket)> = Vec::new();
    for op in 0..OPS {
        let id = base + 2 * op;
        let child = id + 1;
        let panics = rng.below(5) == 0;
        match rng.below(6) {
            // Submit, wait later (or cancel first, racing the worker).
            0 | 1 => match exec.submit(job(id, books, panics)) {
                Ok(ticket) => {
                    if rng.below(4) == 0 && ticket.cancel() {
                        assert_eq!(ticket.wait(), Err(Error::Cancelled), "seed {seed}");
                        outcomes.push((id, Told::Cancelled));
                    } else {
                        pending.push((id, ticket));
                    }
                }
                Err(e) => {
                    assert_eq!(e, Error::Shutdown, "seed {seed}");
                    outcomes.push((id, Told::Refused));
                }
            },
            // Submit and detach.
            2 => match exec.submit(job(id, books, panics)) {
                Ok(ticket) => {
                    drop(ticket);
                    outcomes.push((id, Told::Detached));
                }
                Err(_) => outcomes.push((id, Told::Refused)),
            },
            // Blocking run. `Shutdown` is either "refused" or "failed in the queue": never ran.
            3 => {
                let outcome = match exec.run(job(id, books, panics)) {
                    Err(Error::Shutdown) => Told::Shutdown,
                    other => told(other, id, seed),
                };
                outcomes.push((id, outcome));
            }
            // A job that submits a child and waits for it on the executor thread: the child
            // runs inline (or its submission is refused by the shutdown).
            _ => {
                let inner = Arc::clone(exec);
                let child_job = job(child, books, panics);
                let mark = DropMark { id, books: Arc::clone(books) };
                let parent = move || {
                    let mark = mark;
                    mark.books.runs[mark.id].fetch_add(1, SeqCst);
                    match inner.submit(child_job) {
                        Ok(ticket) => ticket.wait().map(|_| ()),
                        Err(_) => Err(Error::InvalidArgument("child refused")),
                    }
                };
                match exec.submit(parent) {
                    Ok(ticket) => nested.push((id, child, ticket)),
                    Err(_) => {
                        outcomes.push((id, Told::Refused));
                        outcomes.push((child, Told::Refused));
                    }
                }
            }
        }
        ops_done.fetch_add(1, SeqCst);
        if rng.below(8) == 0 {
            std::thread::yield_now();
        }
    }
    for (id, ticket) in pending {
        outcomes.push((id, told(ticket.wait(), id, seed)));
    }
    for (id, child, ticket) in nested {
        match ticket.wait() {
            Ok(Err(Error::InvalidArgument("child refused"))) => {
                outcomes.push((id, Told::Ran));
                outcomes.push((child, Told::Refused));
            }
            Ok(child_result) => {
                outcomes.push((id, Told::Ran));
                outcomes.push((child, told(child_result, child, seed)));
            }
            Err(Error::Shutdown) => {
                // The parent never ran, so its child was never submitted.
                outcomes.push((id, Told::Shutdown));
                outcomes.push((child, Told::Refused));
            }
            Err(e) => panic!("seed {seed}: parent {id}: unexpected {e:?}"),
        }
    }
    outcomes
}

#[test]
fn many_threads_random_panics_and_a_shutdown_lose_no_job() {
    std::panic::set_hook(Box::new(|_| {})); // thousands of caught panics: keep stderr quiet
    let seed = std::env::var("GOBRIDGE_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
        });
    let mut rng = Rng::new(seed);
    let mut totals = [0usize; 6];
    for round in 0..ROUNDS {
        let spin = if round % 2 == 0 { Duration::ZERO } else { Duration::from_micros(20) };
        let exec = Arc::new(PinnedExecutor::builder().name("stress").spin(spin).spawn().unwrap());
        let books = Arc::new(Books {
            runs: (0..IDS_PER_ROUND).map(|_| AtomicU32::new(0)).collect(),
            drops: (0..IDS_PER_ROUND).map(|_| AtomicU32::new(0)).collect(),
        });
        let ops_done = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Barrier::new(THREADS + 1));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (exec, books, gate) =
                    (Arc::clone(&exec), Arc::clone(&books), Arc::clone(&gate));
                let ops_done = Arc::clone(&ops_done);
                let thread_seed = seed ^ ((round * THREADS + t) as u64).wrapping_mul(0x1000_0001);
                std::thread::spawn(move || {
                    gate.wait();
                    submitter(&exec, &books, t * OPS * 2, thread_seed, &ops_done)
                })
            })
            .collect();
        gate.wait();
        // Shut down after a random share of the round's operations (at once, at the end, or
        // anywhere between).
        let after = rng.below(THREADS as u64 * OPS as u64 + 1) as usize;
        while ops_done.load(SeqCst) < after {
            std::thread::yield_now();
        }
        exec.shutdown().unwrap();
        let mut outcomes = Vec::new();
        for t in threads {
            outcomes.extend(t.join().unwrap());
        }
        assert_eq!(exec.run(|| ()), Err(Error::Shutdown), "seed {seed}");
        drop(exec);

        // The books: every id used once, every closure dropped once, runs match the reports.
        let mut seen = vec![false; IDS_PER_ROUND];
        for &(id, told) in &outcomes {
            assert!(!std::mem::replace(&mut seen[id], true), "seed {seed}: id {id} reported twice");
            let runs = books.runs[id].load(SeqCst);
            let drops = books.drops[id].load(SeqCst);
            assert_eq!(drops, 1, "seed {seed}: job {id} ({told:?}) dropped {drops} times");
            match told {
                Told::Ran | Told::Panicked => assert_eq!(runs, 1, "seed {seed}: job {id} {told:?}"),
                Told::Shutdown | Told::Cancelled | Told::Refused => {
                    assert_eq!(runs, 0, "seed {seed}: job {id} {told:?} but ran")
                }
                Told::Detached => assert!(runs <= 1, "seed {seed}: job {id} ran {runs} times"),
            }
            totals[told as usize] += 1;
        }
        // Ids that no operation used (the second id of non-nesting operations) never ran.
        for (id, used) in seen.iter().enumerate() {
            if !used {
                assert_eq!(books.runs[id].load(SeqCst), 0, "seed {seed}");
                assert_eq!(books.drops[id].load(SeqCst), 0, "seed {seed}");
            }
        }
    }
    let [ran, panicked, shutdown, cancelled, refused, detached] = totals;
    eprintln!(
        "stress seed {seed}: {ROUNDS} rounds x {THREADS} threads x {OPS} ops: ran {ran}, \
         panicked {panicked}, shutdown {shutdown}, cancelled {cancelled}, refused {refused}, \
         detached {detached}"
    );
    assert!(ran > 0 && panicked > 0, "seed {seed}: the stress exercised nothing");
}
