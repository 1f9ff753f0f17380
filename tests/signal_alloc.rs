//! Zero heap allocations while 100,000 signals are handled (through every action kind and a
//! `SignalPipe`), measured with a counting global allocator. The signals are raised, handled
//! and received on the test thread, so the allocator counts that thread's allocations only
//! (the test harness's own threads may allocate at any time).

use gobridge::sigmask::SignalSet;
use gobridge::signal::{self, Action, SignalPipe};
use nix::fcntl::OFlag;
use nix::sys::signal::{SigHandler, Signal, raise};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the thread under measurement; const-initialised, so reading it never allocates.
    static MEASURED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if MEASURED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, SeqCst);
    }
}

// SAFETY:
// - Every method forwards to `System` with the caller's arguments unchanged, so `System`'s
//   guarantees are ours; counting is a const thread-local read and an atomic add, which
//   allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn handling_100k_signals_allocates_nothing() {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    for s in [Signal::SIGUSR1, Signal::SIGUSR2] {
        // SAFETY:
        // - SIG_IGN involves no handler code.
        unsafe { nix::sys::signal::signal(s, SigHandler::SigIgn) }.unwrap();
    }
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let ids = [
        signal::install(Signal::SIGUSR1, Action::SetFlag(&FLAG)).unwrap(),
        signal::install(Signal::SIGUSR1, Action::Add(&COUNT, 1)).unwrap(),
        signal::install(Signal::SIGUSR1, Action::WriteSignalNumber(w.as_raw_fd())).unwrap(),
        signal::install(Signal::SIGUSR1, Action::WriteMessage(w.as_raw_fd(), b"usr1\n")).unwrap(),
    ];
    let pipe = SignalPipe::new(&SignalSet::from_signals([Signal::SIGUSR2])).unwrap();
    // Warm up: first raise, first recv.
    raise(Signal::SIGUSR1).unwrap();
    raise(Signal::SIGUSR2).unwrap();
    assert_eq!(pipe.recv().unwrap(), Signal::SIGUSR2);
    let mut sink = [0u8; 4096];

    MEASURED.set(true);
    let before = ALLOCATIONS.load(SeqCst);
    for i in 0..50_000u32 {
        raise(Signal::SIGUSR1).unwrap();
        raise(Signal::SIGUSR2).unwrap();
        assert_eq!(pipe.try_recv(), Ok(Some(Signal::SIGUSR2)));
        if i % 512 == 0 {
            let _ = nix::unistd::read(&r, &mut sink);
        }
    }
    let after = ALLOCATIONS.load(SeqCst);
    MEASURED.set(false);

    assert_eq!(after - before, 0, "heap allocations while handling 100,000 signals");
    assert_eq!(COUNT.load(SeqCst), 50_001);
    assert!(FLAG.load(SeqCst));
    drop(pipe);
    for id in ids {
        signal::uninstall(id).unwrap();
    }
}
