//! The process-global table of installed actions, read by the signal handler with atomics only.
//!
//! # Layout
//! One [`SignalEntry`] per standard signal number; each holds a fixed array of slots (so the
//! handler never follows a pointer that could be freed under it to *find* an action), the
//! previous disposition to chain to, and an epoch with two in-flight counters.
//!
//! # Protocol
//! Writers (install/uninstall) are serialised by the registry's mutex; the handler takes no
//! lock. A slot's payload words are written only while the slot is free and no handler can be
//! reading them; `state` then publishes them (release/acquire).
//!
//! A handler *enters* a signal's entry by incrementing `active[epoch & 1]` and re-checking that
//! the epoch did not move (if it did, it backs out and retries), reads the ready slots, runs
//! their actions, reads the previous disposition, and *leaves* by decrementing the counter —
//! before it chains to the previous handler, which may not return.
//!
//! Uninstall clears the slot's `state`, then [`synchronize`](ActionTable::synchronize)s: it
//! flips the epoch and waits until the counter of the old epoch drains to zero. Every handler
//! that could have seen the slot ready entered under the old epoch (all operations here are
//! `SeqCst`, with a `SeqCst` fence between each side's store and load, so a handler that
//! entered after the flip reads the slot after it was cleared), so
//! when uninstall returns no handler uses the action any more: the caller may close the fd or
//! free the [`SignalPipe`](super::SignalPipe) state it pointed to. New handlers never wait
//! for old ones, so a storm of signals cannot starve uninstall.
//!
//! The previous disposition is an `AtomicPtr` to an immutable, never-freed [`Previous`]
//! record (interned by the registry, so their number is bounded by the distinct dispositions
//! ever seen), so one load reads it whole, even in a handler that started long ago.
//!
//! Under `--cfg loom` the atomics are loom's and the `loom_*` tests below model install,
//! uninstall and reuse racing a handler.

use crate::primitive::hint;
use crate::primitive::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::SeqCst, fence};
use nix::sys::signal::SigHandler;

/// Slot states.
const FREE: usize = 0;
const READY: usize = 1;

/// Payload kinds (`kind` word of a slot).
const KIND_SIGNAL_NUMBER: usize = 1;
const KIND_MESSAGE: usize = 2;
const KIND_FLAG: usize = 3;
const KIND_ADD: usize = 4;
const KIND_PIPE: usize = 5;

/// What a handler does, decoded from a slot's words. Pointers are type-erased; the handler
/// (in `handler.rs`) knows what each kind points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// Write the signal number as one byte to the fd.
    SignalNumber { fd: i32 },
    /// Write `len` bytes at `ptr` (a `&'static [u8]`) to the fd.
    Message { fd: i32, ptr: *mut (), len: u64 },
    /// Store `true` into the `&'static AtomicBool` at `ptr`.
    Flag { ptr: *mut () },
    /// Add `n` to the `&'static AtomicU64` at `ptr`.
    Add { ptr: *mut (), n: u64 },
    /// Notify the `SignalPipe` state at `ptr` (alive until its actions are uninstalled).
    Pipe { ptr: *mut () },
}

/// A disposition to chain to after our actions, never freed once published: the handler and
/// what the kernel would have done with it — its `sa_flags` (SA_NODEFER, SA_RESETHAND, ...)
/// and its `sa_mask` (bit `n - 1` for signal `n`, 1..=64).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Previous {
    /// The handler (or SIG_DFL/SIG_IGN).
    pub(crate) handler: SigHandler,
    /// Its `sa_flags` as read from the kernel.
    pub(crate) flags: i32,
    /// Its `sa_mask`, bit `n - 1` for signal `n`.
    pub(crate) mask: u64,
}

impl Previous {
    /// A disposition without flags or mask (SIG_DFL, SIG_IGN).
    pub(crate) const fn bare(handler: SigHandler) -> Self {
        Previous { handler, flags: 0, mask: 0 }
    }
}

#[derive(Debug)]
struct Slot {
    state: AtomicUsize,
    kind: AtomicUsize,
    fd: AtomicUsize,
    ptr: AtomicPtr<()>,
    n: AtomicU64,
}

impl Slot {
    #[cfg(not(loom))]
    const fn new() -> Self {
        Slot {
            state: AtomicUsize::new(FREE),
            kind: AtomicUsize::new(0),
            fd: AtomicUsize::new(0),
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            n: AtomicU64::new(0),
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        Slot {
            state: AtomicUsize::new(FREE),
            kind: AtomicUsize::new(0),
            fd: AtomicUsize::new(0),
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            n: AtomicU64::new(0),
        }
    }

    /// Reads a ready slot's payload; `None` if free (or, impossibly, of an unknown kind).
    fn read(&self) -> Option<Payload> {
        if self.state.load(SeqCst) != READY {
            return None;
        }
        // Payload words never change while the slot is READY or a reader may be inside.
        let fd = self.fd.load(SeqCst) as u32 as i32;
        let ptr = self.ptr.load(SeqCst);
        let n = self.n.load(SeqCst);
        match self.kind.load(SeqCst) {
            KIND_SIGNAL_NUMBER => Some(Payload::SignalNumber { fd }),
            KIND_MESSAGE => Some(Payload::Message { fd, ptr, len: n }),
            KIND_FLAG => Some(Payload::Flag { ptr }),
            KIND_ADD => Some(Payload::Add { ptr, n }),
            KIND_PIPE => Some(Payload::Pipe { ptr }),
            _ => None,
        }
    }

    fn write(&self, payload: Payload) {
        let (kind, fd, ptr, n) = match payload {
            Payload::SignalNumber { fd } => (KIND_SIGNAL_NUMBER, fd, std::ptr::null_mut(), 0),
            Payload::Message { fd, ptr, len } => (KIND_MESSAGE, fd, ptr, len),
            Payload::Flag { ptr } => (KIND_FLAG, -1, ptr, 0),
            Payload::Add { ptr, n } => (KIND_ADD, -1, ptr, n),
            Payload::Pipe { ptr } => (KIND_PIPE, -1, ptr, 0),
        };
        self.kind.store(kind, SeqCst);
        self.fd.store(fd as u32 as usize, SeqCst);
        self.ptr.store(ptr, SeqCst);
        self.n.store(n, SeqCst);
        self.state.store(READY, SeqCst);
    }
}

/// Everything the handler needs for one signal.
#[derive(Debug)]
struct SignalEntry<const SLOTS: usize> {
    slots: [Slot; SLOTS],
    epoch: AtomicUsize,
    active: [AtomicUsize; 2],
    previous: AtomicPtr<Previous>,
    /// Handlers inside a default-action emulation that took our disposition down for a
    /// moment (see `handler::default_stop`), and how many such windows ever ended.
    emulating: AtomicUsize,
    emulations: AtomicUsize,
}

impl<const SLOTS: usize> SignalEntry<SLOTS> {
    #[cfg(not(loom))]
    const fn new() -> Self {
        SignalEntry {
            slots: [const { Slot::new() }; SLOTS],
            epoch: AtomicUsize::new(0),
            active: [AtomicUsize::new(0), AtomicUsize::new(0)],
            previous: AtomicPtr::new(std::ptr::null_mut()),
            emulating: AtomicUsize::new(0),
            emulations: AtomicUsize::new(0),
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        SignalEntry {
            slots: std::array::from_fn(|_| Slot::new()),
            epoch: AtomicUsize::new(0),
            active: [AtomicUsize::new(0), AtomicUsize::new(0)],
            previous: AtomicPtr::new(std::ptr::null_mut()),
            emulating: AtomicUsize::new(0),
            emulations: AtomicUsize::new(0),
        }
    }

    /// Registers a reader in the current epoch; returns the counter index to leave with.
    fn enter(&self) -> usize {
        loop {
            let epoch = self.epoch.load(SeqCst);
            let side = epoch & 1;
            if let Some(counter) = self.active.get(side) {
                counter.fetch_add(1, SeqCst);
                // Store-load ordering against `synchronize`: either the writer sees this
                // increment, or this reader sees the writer's epoch flip and cleared slot.
                // (A fence, not just SeqCst accesses, so that loom checks it too.)
                fence(SeqCst);
                if self.epoch.load(SeqCst) == epoch {
                    return side;
                }
                counter.fetch_sub(1, SeqCst);
            }
            hint::spin_loop();
        }
    }

    fn leave(&self, side: usize) {
        if let Some(counter) = self.active.get(side) {
            counter.fetch_sub(1, SeqCst);
        }
    }
}

/// The action table: `SIGNALS` entries (indexed by signal number) of `SLOTS` slots each.
#[derive(Debug)]
pub(crate) struct ActionTable<const SIGNALS: usize, const SLOTS: usize> {
    signals: [SignalEntry<SLOTS>; SIGNALS],
}

impl<const SIGNALS: usize, const SLOTS: usize> ActionTable<SIGNALS, SLOTS> {
    /// An empty table.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        ActionTable { signals: [const { SignalEntry::new() }; SIGNALS] }
    }

    /// An empty table.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        ActionTable { signals: std::array::from_fn(|_| SignalEntry::new()) }
    }

    /// **Handler side.** Runs `run` on every ready action of `signal`, then returns the
    /// disposition to chain to. Lock-free and allocation-free; `run` must be as well.
    /// An out-of-range `signal` runs nothing and returns `None`.
    pub(crate) fn dispatch(
        &self,
        signal: usize,
        mut run: impl FnMut(Payload),
    ) -> Option<&'static Previous> {
        let entry = self.signals.get(signal)?;
        let side = entry.enter();
        for slot in &entry.slots {
            if let Some(payload) = slot.read() {
                run(payload);
            }
        }
        let previous = entry.previous.load(SeqCst);
        entry.leave(side);
        // SAFETY:
        // - `previous` is null or was stored by `set_previous` from a `&'static Previous`, so
        //   it is aligned, points to an initialised value and is never freed or mutated.
        unsafe { previous.cast_const().as_ref() }
    }

    /// **Writer side** (registry lock held). Publishes `payload` in a free slot.
    pub(crate) fn publish(&self, signal: usize, slot: usize, payload: Payload) {
        if let Some(slot) = self.signals.get(signal).and_then(|e| e.slots.get(slot)) {
            debug_assert_eq!(slot.state.load(SeqCst), FREE);
            slot.write(payload);
        }
    }

    /// **Writer side.** Clears a slot and waits until no handler can still be using its
    /// action. When this returns, the resources the action referred to may be released.
    pub(crate) fn retire(&self, signal: usize, slot: usize) {
        if let Some(s) = self.signals.get(signal).and_then(|e| e.slots.get(slot)) {
            s.state.store(FREE, SeqCst);
            self.synchronize(signal);
        }
    }

    /// **Writer side.** Waits until every handler that entered `signal`'s entry before this
    /// call has left it (handlers that enter later are not waited for).
    pub(crate) fn synchronize(&self, signal: usize) {
        let Some(entry) = self.signals.get(signal) else { return };
        let old = entry.epoch.fetch_add(1, SeqCst) & 1;
        // Pairs with the fence in `enter` (see there).
        fence(SeqCst);
        if let Some(counter) = entry.active.get(old) {
            while counter.load(SeqCst) != 0 {
                hint::yield_now();
            }
        }
    }

    /// **Writer side.** Sets the disposition handlers of `signal` chain to.
    pub(crate) fn set_previous(&self, signal: usize, previous: &'static Previous) {
        if let Some(entry) = self.signals.get(signal) {
            entry.previous.store(std::ptr::from_ref(previous).cast_mut(), SeqCst);
        }
    }

    /// The disposition handlers of `signal` chain to now.
    pub(crate) fn previous(&self, signal: usize) -> Option<&'static Previous> {
        let previous = self.signals.get(signal)?.previous.load(SeqCst);
        // SAFETY:
        // - `previous` is null or was stored from a `&'static Previous` (see `dispatch`).
        unsafe { previous.cast_const().as_ref() }
    }

    /// **Handler side.** Marks the start of a window in which the handler has replaced our
    /// disposition by SIG_DFL (to let the kernel apply a default action itself).
    pub(crate) fn begin_emulation(&self, signal: usize) {
        if let Some(entry) = self.signals.get(signal) {
            entry.emulating.fetch_add(1, SeqCst);
        }
    }

    /// **Handler side.** Ends a window begun by [`begin_emulation`](Self::begin_emulation).
    pub(crate) fn end_emulation(&self, signal: usize) {
        if let Some(entry) = self.signals.get(signal) {
            entry.emulations.fetch_add(1, SeqCst);
            entry.emulating.fetch_sub(1, SeqCst);
        }
    }

    /// **Writer side.** Runs `read` (a read of the installed disposition) at a moment when no
    /// handler is inside an emulation window — none open before, none begun or ended during —
    /// so that it never mistakes our own momentary SIG_DFL for someone else's disposition.
    pub(crate) fn outside_emulation<T>(&self, signal: usize, mut read: impl FnMut() -> T) -> T {
        let Some(entry) = self.signals.get(signal) else { return read() };
        loop {
            let before = entry.emulations.load(SeqCst);
            if entry.emulating.load(SeqCst) == 0 {
                let value = read();
                if entry.emulating.load(SeqCst) == 0 && entry.emulations.load(SeqCst) == before {
                    return value;
                }
            }
            hint::yield_now();
        }
    }

    /// **Handler side.** Replaces the chained-to disposition `from` with `to` if it is still
    /// `from` (one atomic compare-exchange); `false` if someone else changed it first. Used to
    /// emulate SA_RESETHAND: exactly one delivery wins the one-shot handler.
    pub(crate) fn replace_previous(
        &self,
        signal: usize,
        from: &'static Previous,
        to: &'static Previous,
    ) -> bool {
        let Some(entry) = self.signals.get(signal) else { return false };
        entry
            .previous
            .compare_exchange(
                std::ptr::from_ref(from).cast_mut(),
                std::ptr::from_ref(to).cast_mut(),
                SeqCst,
                SeqCst,
            )
            .is_ok()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn publish_dispatch_retire() {
        let table = ActionTable::<4, 2>::new();
        static PREV: Previous = Previous::bare(SigHandler::SigIgn);
        table.set_previous(2, &PREV);
        let flag = std::ptr::dangling_mut::<u8>().cast::<()>();
        table.publish(2, 1, Payload::Flag { ptr: flag });
        table.publish(2, 0, Payload::SignalNumber { fd: 7 });
        let mut seen = Vec::new();
        let prev = table.dispatch(2, |p| seen.push(p));
        assert!(matches!(prev, Some(Previous { handler: SigHandler::SigIgn, .. })));
        assert_eq!(seen, [Payload::SignalNumber { fd: 7 }, Payload::Flag { ptr: flag }]);
        table.retire(2, 0);
        seen.clear();
        table.dispatch(2, |p| seen.push(p));
        assert_eq!(seen, [Payload::Flag { ptr: flag }]);
        assert!(table.dispatch(9, |_| unreachable!()).is_none());
        assert!(table.dispatch(1, |_| unreachable!()).is_none());
    }

    #[test]
    fn negative_fds_round_trip() {
        let table = ActionTable::<2, 1>::new();
        table.publish(1, 0, Payload::Message { fd: -1, ptr: std::ptr::null_mut(), len: 3 });
        let mut seen = None;
        table.dispatch(1, |p| seen = Some(p));
        assert_eq!(seen, Some(Payload::Message { fd: -1, ptr: std::ptr::null_mut(), len: 3 }));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;

    type Table = ActionTable<2, 2>;
    const SIG: usize = 1;

    /// A resource an action refers to; `released` is set once uninstall returned and the owner
    /// would free it. A handler must never use it after that.
    struct Resource {
        released: AtomicBool,
    }

    fn payload_for(resource: &Arc<Resource>) -> Payload {
        Payload::Pipe { ptr: Arc::as_ptr(resource).cast_mut().cast() }
    }

    fn use_payload(payload: Payload, resources: &[&Arc<Resource>]) {
        let Payload::Pipe { ptr } = payload else { panic!("torn payload: {payload:?}") };
        let resource = resources
            .iter()
            .find(|r| Arc::as_ptr(r).cast_mut().cast::<()>() == ptr)
            .expect("payload points to a resource that was published");
        assert!(!resource.released.load(SeqCst), "handler used an uninstalled action");
    }

    #[test]
    fn loom_uninstall_waits_for_inflight_handler() {
        loom::model(|| {
            let table = Arc::new(Table::new());
            let resource = Arc::new(Resource { released: AtomicBool::new(false) });
            table.publish(SIG, 0, payload_for(&resource));

            let handler = {
                let (table, resource) = (table.clone(), resource.clone());
                loom::thread::spawn(move || {
                    table.dispatch(SIG, |p| use_payload(p, &[&resource]));
                })
            };
            table.retire(SIG, 0);
            resource.released.store(true, SeqCst);
            handler.join().unwrap();
        });
    }

    #[test]
    fn loom_install_publishes_a_complete_action() {
        loom::model(|| {
            let table = Arc::new(Table::new());
            static PREV: Previous = Previous::bare(SigHandler::SigIgn);
            static MESSAGE: [u8; 2] = *b"hi";
            fn expected() -> Payload {
                Payload::Message { fd: 5, ptr: MESSAGE.as_ptr().cast_mut().cast(), len: 2 }
            }
            let handler = {
                let table = table.clone();
                loom::thread::spawn(move || {
                    let mut seen = None;
                    let prev = table.dispatch(SIG, |p| seen = Some(p));
                    if let Some(p) = seen {
                        assert_eq!(p, expected(), "a half-written action was visible");
                    }
                    if let Some(prev) = prev {
                        assert!(matches!(prev.handler, SigHandler::SigIgn));
                    }
                })
            };
            table.set_previous(SIG, &PREV);
            table.publish(SIG, 1, expected());
            handler.join().unwrap();
        });
    }

    #[test]
    fn loom_slot_reuse_with_a_stale_epoch_reader() {
        loom::model(|| {
            let table = Arc::new(Table::new());
            let first = Arc::new(Resource { released: AtomicBool::new(false) });
            let second = Arc::new(Resource { released: AtomicBool::new(false) });
            table.publish(SIG, 0, payload_for(&first));

            let handler = {
                let (table, first, second) = (table.clone(), first.clone(), second.clone());
                loom::thread::spawn(move || {
                    table.dispatch(SIG, |p| use_payload(p, &[&first, &second]));
                })
            };
            table.retire(SIG, 0);
            first.released.store(true, SeqCst);
            table.publish(SIG, 0, payload_for(&second));
            table.retire(SIG, 0);
            second.released.store(true, SeqCst);
            handler.join().unwrap();
        });
    }

    #[test]
    fn loom_a_one_shot_previous_is_taken_by_one_delivery() {
        loom::model(|| {
            static ONE_SHOT: Previous =
                Previous { handler: SigHandler::SigIgn, flags: libc::SA_RESETHAND, mask: 0 };
            static RESET: Previous = Previous::bare(SigHandler::SigDfl);
            let table = Arc::new(Table::new());
            table.set_previous(SIG, &ONE_SHOT);
            let deliver = |table: Arc<Table>| {
                let previous = table.dispatch(SIG, |_| {}).expect("a previous disposition");
                std::ptr::eq(previous, &ONE_SHOT) && table.replace_previous(SIG, previous, &RESET)
            };
            let other = {
                let table = table.clone();
                loom::thread::spawn(move || deliver(table))
            };
            let here = deliver(table.clone());
            let there = other.join().unwrap();
            assert!(here ^ there, "the one-shot handler ran {} times", here as u8 + there as u8);
            assert!(table.previous(SIG).is_some_and(|p| std::ptr::eq(p, &RESET)));
        });
    }

    #[test]
    fn loom_the_writer_never_reads_inside_an_emulation_window() {
        // The bad interleaving (a whole window between the writer's two checks, around its
        // read) takes three preemptions; the model is small enough to allow them.
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(3).max(3));
        builder.check(|| {
            const OURS: usize = 1;
            const DFL: usize = 0;
            let table = Arc::new(Table::new());
            let disposition = Arc::new(AtomicUsize::new(OURS));
            let handler = {
                let (table, disposition) = (table.clone(), disposition.clone());
                loom::thread::spawn(move || {
                    table.begin_emulation(SIG);
                    disposition.store(DFL, SeqCst);
                    disposition.store(OURS, SeqCst);
                    table.end_emulation(SIG);
                })
            };
            let seen = table.outside_emulation(SIG, || disposition.load(SeqCst));
            assert_eq!(seen, OURS, "the writer read the handler's momentary SIG_DFL");
            handler.join().unwrap();
        });
    }
}
