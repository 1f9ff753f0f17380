//! `ThreadBound<T>`: what a goroutine that migrated between OS threads gets instead of
//! undefined behaviour, and what happens to a value dropped off its thread.
//!
//! Run: `cargo run --example thread_bound`

use gobridge::executor::PinnedExecutor;
use gobridge::{Error, ThreadBound, current_thread};
use std::rc::Rc;

/// Says where it was dropped.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("  {} dropped on thread {}", self.0, current_thread());
    }
}

fn main() -> gobridge::Result<()> {
    // 1. Used on its own thread: fine. Used elsewhere: a clear error naming both threads.
    let session = ThreadBound::new(Rc::new(String::from("thread-affine session")));
    println!("created on thread {}: {:?}", session.owner(), session.get()?);
    let session = std::thread::spawn(move || {
        match session.get() {
            Err(Error::WrongThread { owner, current }) => {
                println!("from thread {current}: WrongThread (owner {owner}), nothing touched")
            }
            other => panic!("expected WrongThread, got {other:?}"),
        }
        session // carried back, never touched here
    })
    .join()
    .expect("thread panicked");
    println!("back home: {:?}", session.get()?);

    // 2. Created on an executor and dropped here: sent home and dropped on the executor.
    let exec = PinnedExecutor::new("home")?;
    println!("executor thread {}; this thread {}", exec.tid(), current_thread());
    let value = exec.run(|| ThreadBound::new(Noisy("value of the executor")))?;
    drop(value);
    exec.run(|| ())?; // the drop is queued in order with the executor's jobs

    // 3. Created on a plain thread that is gone, dropped here: leaked and counted, because
    //    running its destructor on this thread is exactly the bug ThreadBound exists to stop.
    let orphan = std::thread::spawn(|| ThreadBound::new(Noisy("orphan"))).join().expect("spawn");
    let before = ThreadBound::<()>::leaked_count();
    drop(orphan);
    let leaked = ThreadBound::<()>::leaked_count() - before;
    println!("orphan dropped off its thread: not dropped, leaked_count +{leaked}");
    assert_eq!(leaked, 1);
    Ok(())
}
