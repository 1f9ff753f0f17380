//! Kernel thread identity.
//!
//! Go's goroutines move between OS threads; what native thread-affine state is bound to is the
//! OS thread, named by the kernel thread id (`gettid`). That is what [`ThreadId`] holds, so the
//! ids gobridge reports match `/proc/self/task/<tid>` and the Go side's `ThreadID()`.

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

/// The kernel thread id (`gettid`) of an OS thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(libc::pid_t);

impl ThreadId {
    /// Wraps a raw kernel thread id.
    pub const fn from_raw(tid: libc::pid_t) -> Self {
        ThreadId(tid)
    }

    /// The raw kernel thread id.
    pub const fn as_raw(self) -> libc::pid_t {
        self.0
    }
}

impl std::fmt::Display for ThreadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Bumped in every child after `fork`, so that a cached tid copied into the child (whose one
/// thread has a new tid) is recognised as stale.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

extern "C" fn bump_fork_generation() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

thread_local! {
    /// (fork generation, tid) of the current thread, or tid 0 before the first call.
    static CACHED: Cell<(u64, libc::pid_t)> = const { Cell::new((0, 0)) };
}

/// The kernel thread id of the calling OS thread.
///
/// The first call on a thread makes one `gettid` system call; later calls read a thread-local
/// cache (invalidated in a forked child), so checking thread ownership is cheap enough for
/// every access of a [`ThreadBound`](crate::ThreadBound).
pub fn current_thread() -> ThreadId {
    ATFORK.call_once(|| {
        // SAFETY:
        // - `bump_fork_generation` is an `extern "C" fn()` with static lifetime that only does an
        //   atomic add, which is async-signal-safe as required in the child after fork.
        // - The prepare and parent hooks are None, which pthread_atfork allows.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(bump_fork_generation)) };
        // Without the hook a forked child could report its parent thread's cached tid; the
        // only failure is ENOMEM, and then we simply stop caching (see below).
        if rc != 0 {
            FORK_GENERATION.store(u64::MAX, Ordering::Relaxed);
        }
    });
    let generation = FORK_GENERATION.load(Ordering::Relaxed);
    let read = || ThreadId(nix::unistd::gettid().as_raw());
    if generation == u64::MAX {
        return read();
    }
    // `try_with` fails only while thread-locals are being destroyed; fall back to the syscall.
    CACHED
        .try_with(|cached| {
            let (cached_generation, tid) = cached.get();
            if tid != 0 && cached_generation == generation {
                ThreadId(tid)
            } else {
                let id = read();
                cached.set((generation, id.0));
                id
            }
        })
        .unwrap_or_else(|_| read())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_gettid_and_differs_between_threads() {
        let here = current_thread();
        assert_eq!(here.as_raw(), nix::unistd::gettid().as_raw());
        assert_eq!(current_thread(), here);
        let there = std::thread::spawn(current_thread).join().unwrap();
        assert_ne!(here, there);
        assert!(std::path::Path::new(&format!("/proc/self/task/{here}")).exists());
    }
}

#[cfg(test)]
mod fork_tests {
    use super::*;

    #[test]
    fn forked_child_sees_its_own_tid_not_the_cached_one() {
        let parent = current_thread();
        // SAFETY:
        // - The child only calls `current_thread` (an atomic load, a thread-local read and
        //   gettid: no locks are taken on a path that the fork could have left held, since the
        //   `Once` is already complete) and then `_exit`, never returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let child = current_thread();
            let ok = child != parent && child.as_raw() == std::process::id() as libc::pid_t;
            // SAFETY: `_exit` is async-signal-safe and ends the child without running the
            // parent's atexit handlers or destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
        assert_eq!(status, nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 0));
    }
}
