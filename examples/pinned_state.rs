//! A thread-affine resource used from four threads through `Pinned<S>`.
//!
//! `AffineContext` stands in for a GL context, an interpreter, or a handle into a C library
//! that must only ever be touched by the thread that created it: it is `!Send` (it holds an
//! `Rc`) and checks its thread on every call. Four threads — in a Go process, four goroutines
//! on whatever OS threads they happen to be on — use it concurrently through `Pinned::with`,
//! and every call lands on the one thread that owns it, including its destructor.
//!
//! Run: `cargo run --example pinned_state`

use gobridge::executor::Pinned;
use gobridge::{ThreadId, current_thread};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Mutex;

/// A resource that is only valid on its creating thread.
struct AffineContext {
    home: ThreadId,
    /// `Rc<RefCell<…>>`: neither `Send` nor `Sync`, like most thread-affine handles.
    draws: Rc<RefCell<Vec<(usize, ThreadId)>>>,
}

impl AffineContext {
    fn create() -> Self {
        AffineContext { home: current_thread(), draws: Rc::default() }
    }

    /// What a thread-affine C library would corrupt silently, this one checks loudly.
    fn draw(&self, caller: usize) {
        assert_eq!(current_thread(), self.home, "context used off its thread");
        self.draws.borrow_mut().push((caller, current_thread()));
    }
}

impl Drop for AffineContext {
    fn drop(&mut self) {
        assert_eq!(current_thread(), self.home, "context destroyed off its thread");
        println!("context destroyed on its own thread {}", current_thread());
    }
}

fn main() -> gobridge::Result<()> {
    let context = Pinned::new("affine-context", AffineContext::create)?;
    let owner = context.executor().tid();
    println!("context created on executor thread {owner}");

    let callers = Mutex::new(BTreeSet::new());
    std::thread::scope(|s| {
        for caller in 0..4 {
            let (context, callers) = (&context, &callers);
            s.spawn(move || {
                callers.lock().unwrap().insert(current_thread());
                for _ in 0..250 {
                    // The closure borrows nothing it could not; the context never leaves home.
                    context.with(|ctx| ctx.draw(caller)).expect("executor alive");
                }
            });
        }
    });

    let (total, threads) = context.with(|ctx| {
        let draws = ctx.draws.borrow();
        (draws.len(), draws.iter().map(|&(_, tid)| tid).collect::<BTreeSet<_>>())
    })?;
    let callers = callers.into_inner().unwrap();
    println!("4 caller threads {callers:?} made {total} calls");
    println!("every call ran on {threads:?}");
    assert_eq!(total, 1_000);
    assert_eq!(threads.into_iter().collect::<Vec<_>>(), vec![owner]);
    assert!(!callers.contains(&owner));

    // Shutdown drops the state on its thread (the Drop impl above checks), then joins it.
    context.shutdown()?;
    assert_eq!(context.with(|_| ()), Err(gobridge::Error::Shutdown));
    println!("after shutdown, with() returns Err(Shutdown)");
    Ok(())
}
