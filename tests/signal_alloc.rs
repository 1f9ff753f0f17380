//! Zero heap allocations while 100,000 signals are handled (through every action kind and a
//! `SignalPipe`), measured with a counting global allocator. One test in this binary, so no
//! other test allocates meanwhile.

use gobridge::sigmask::SignalSet;
use gobridge::signal::{self, Action, SignalPipe};
use nix::fcntl::OFlag;
use nix::sys::signal::{SigHandler, Signal, raise};
use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY:
// - Every method forwards to `System` with the caller's arguments unchanged, so `System`'s
//   guarantees are ours; the counter is an atomic add, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, SeqCst);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, SeqCst);
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

    assert_eq!(after - before, 0, "heap allocations while handling 100,000 signals");
    assert_eq!(COUNT.load(SeqCst), 50_001);
    assert!(FLAG.load(SeqCst));
    drop(pipe);
    for id in ids {
        signal::uninstall(id).unwrap();
    }
}
