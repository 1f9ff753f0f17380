//! The writer side: installing and uninstalling actions, and the handler's disposition.

use super::action::{Action, ActionId};
use super::disposition::{self, handler_of, is_ours};
use super::table::{ActionTable, Payload, Previous};
use crate::{Error, Result};
use nix::sys::signal::{SigHandler, Signal};
use std::sync::{Mutex, PoisonError};

/// Table entries: standard signal numbers are 1..=31 on Linux.
pub(crate) const NSIG: usize = 32;
/// Actions one signal can hold at once.
pub(crate) const SLOTS: usize = 16;

/// The process-global action table that [`on_signal`](super::handler::on_signal) reads.
pub(crate) static TABLE: ActionTable<NSIG, SLOTS> = ActionTable::new();

/// Writer-side bookkeeping, behind one lock (the handler never takes it).
static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());

#[derive(Debug, Clone, Copy)]
struct SlotState {
    occupied: bool,
    generation: u32,
}

#[derive(Debug)]
struct SignalState {
    /// Occupied slots.
    count: usize,
    /// The disposition our handler replaced, restored when the last action goes.
    ///
    /// Also kept while `count == 0` when that restore found our handler replaced by someone
    /// else's (an *orphaned* handler): theirs may still chain to ours, which chains on to
    /// this disposition, so installing again must not chain to theirs (see `install_payload`).
    saved: Option<libc::sigaction>,
    slots: [SlotState; SLOTS],
}

#[derive(Debug)]
struct Registry {
    signals: [SignalState; NSIG],
    /// Every `Previous` ever published, so that equal dispositions share one leaked record:
    /// memory is bounded by the number of distinct previous handlers, not by install cycles.
    interned: Vec<&'static Previous>,
}

impl Registry {
    const fn new() -> Self {
        const EMPTY: SignalState = SignalState {
            count: 0,
            saved: None,
            slots: [SlotState { occupied: false, generation: 0 }; SLOTS],
        };
        Registry { signals: [EMPTY; NSIG], interned: Vec::new() }
    }

    fn intern(&mut self, handler: SigHandler) -> &'static Previous {
        // Chaining to ourselves would recurse forever; it can only happen if someone put our
        // handler back after replacing it, and then there is nothing else to chain to.
        let handler = match handler {
            SigHandler::SigAction(f) if f as libc::sighandler_t == disposition::our_address() => {
                SigHandler::SigIgn
            }
            other => other,
        };
        let key = key_of(handler);
        if let Some(found) = self.interned.iter().find(|p| key_of(p.0) == key) {
            return found;
        }
        let record: &'static Previous = Box::leak(Box::new(Previous(handler)));
        self.interned.push(record);
        record
    }
}

/// (kind, address) identity of a handler (fn pointers are compared by address).
fn key_of(handler: SigHandler) -> (u8, libc::sighandler_t) {
    match handler {
        SigHandler::SigDfl => (0, 0),
        SigHandler::SigIgn => (1, 0),
        SigHandler::Handler(f) => (2, f as libc::sighandler_t),
        SigHandler::SigAction(f) => (3, f as libc::sighandler_t),
    }
}

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    // The registry's invariants hold between statements that cannot panic; a poisoned lock
    // (a panic elsewhere while it was held) leaves it usable.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn index_of(signal: Signal) -> Result<usize> {
    if matches!(signal, Signal::SIGKILL | Signal::SIGSTOP) {
        return Err(Error::InvalidArgument("SIGKILL and SIGSTOP cannot be caught"));
    }
    let index = signal as i32 as usize;
    // `Signal` names only standard signals, 1..NSIG.
    assert!(index != 0 && index < NSIG, "{signal:?} is outside 1..NSIG");
    Ok(index)
}

/// Installs `action` on `signal`.
///
/// The first action on a signal installs gobridge's handler (SA_ONSTACK | SA_SIGINFO |
/// SA_RESTART, every signal blocked while it runs) and saves the disposition it replaces;
/// later actions share that handler. When the signal arrives, the actions run in installation
/// slot order, then the saved disposition is chained to (see the [module docs](super)).
///
/// Fds are made non-blocking (`O_NONBLOCK`, unless a regular file) and must stay open until
/// [`uninstall`] returns.
///
/// # Errors
/// - [`Error::InvalidArgument`] for SIGKILL or SIGSTOP.
/// - [`Error::LimitExceeded`] when the signal already holds 16 actions.
/// - [`Error::HandlerReplaced`] when gobridge's handler is supposed to be installed on the
///   signal but someone replaced it (the action would never run). This includes a signal
///   whose last [`uninstall`] reported `HandlerReplaced` and whose handler is still that
///   replacement: it may chain back to gobridge's, so chaining to it would recurse. Install
///   works again once gobridge's handler is back in place (the replacement restored what it
///   replaced) or the disposition is SIG_DFL/SIG_IGN.
/// - [`Error::Sys`] for a bad fd (`EBADF`) or a failing `sigaction`.
///
/// ```
/// use gobridge::signal::{self, Action};
/// use nix::sys::signal::{Signal, raise};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// static WINCHES: AtomicU64 = AtomicU64::new(0);
/// let id = signal::install(Signal::SIGWINCH, Action::Add(&WINCHES, 1))?;
/// raise(Signal::SIGWINCH)?;
/// assert_eq!(WINCHES.load(Ordering::SeqCst), 1);
/// signal::uninstall(id)?;
/// # Ok::<(), gobridge::Error>(())
/// ```
pub fn install(signal: Signal, action: Action) -> Result<ActionId> {
    index_of(signal)?;
    install_payload(signal, action.prepare()?)
}

/// Installs a prepared payload (also used by [`SignalPipe`](super::SignalPipe)).
pub(crate) fn install_payload(signal: Signal, payload: Payload) -> Result<ActionId> {
    let index = index_of(signal)?;
    let mut registry = lock();
    let state = &registry.signals[index]; // `index_of` keeps it in 1..NSIG
    let Some(slot) = state.slots.iter().position(|s| !s.occupied) else {
        return Err(Error::LimitExceeded("too many actions on one signal"));
    };
    let current = disposition::read(signal)?;
    if state.count > 0 || state.saved.is_some() {
        // Our handler is installed or, with no action left (`count == 0`, see
        // `SignalState::saved`), orphaned: still reachable through the handler that replaced
        // it, and still chaining on to `saved`.
        if is_ours(&current) {
            TABLE.publish(index, slot, payload);
            return occupy(&mut registry, signal, index, slot);
        }
        // Chaining to the replacing handler could loop forever (theirs -> ours -> theirs ...)
        // when it chains back to ours, as handlers that replaced ours do. Only an orphan
        // replaced by SIG_DFL/SIG_IGN, which chain nowhere, may start afresh.
        let nothing_chains_back = state.count == 0
            && matches!(handler_of(&current), SigHandler::SigDfl | SigHandler::SigIgn);
        if !nothing_chains_back {
            return Err(Error::HandlerReplaced(signal));
        }
    }
    install_first(&mut registry, signal, index, slot, payload, current)
}

/// The first action on a signal whose chain holds no handler of ours: chains to `current`
/// (the disposition just read), installs ours and saves what it replaced.
fn install_first(
    registry: &mut Registry,
    signal: Signal,
    index: usize,
    slot: usize,
    payload: Payload,
    current: libc::sigaction,
) -> Result<ActionId> {
    let previous = registry.intern(handler_of(&current));
    TABLE.set_previous(index, previous);
    TABLE.publish(index, slot, payload);
    // SAFETY:
    // - `ours()` installs `on_signal`, which only does async-signal-safe work (see
    //   handler.rs) and is a `'static` function.
    let replaced = match unsafe { disposition::swap(signal, &disposition::ours()) } {
        Ok(replaced) => replaced,
        Err(e) => {
            TABLE.retire(index, slot);
            return Err(e);
        }
    };
    if replaced.sa_sigaction != current.sa_sigaction || replaced.sa_flags != current.sa_flags {
        // Someone changed the disposition between our read and our swap: chain to what
        // was really there (a handler that ran in between chained to `current`).
        let previous = registry.intern(handler_of(&replaced));
        TABLE.set_previous(index, previous);
    }
    registry.signals[index].saved = Some(replaced);
    occupy(registry, signal, index, slot)
}

/// Marks `slot` occupied and returns its id.
fn occupy(registry: &mut Registry, signal: Signal, index: usize, slot: usize) -> Result<ActionId> {
    // `index` comes from `index_of` and `slot` from a search of this signal's slots.
    let state = &mut registry.signals[index];
    state.count += 1;
    let slot_state = &mut state.slots[slot];
    slot_state.occupied = true;
    Ok(ActionId { signal, slot: slot as u16, generation: slot_state.generation })
}

/// Removes an installed action. When this returns, no handler is running it or will run it
/// again, so its fd may be closed.
///
/// Removing the last action on a signal restores exactly the disposition gobridge's handler
/// replaced (handler, flags and mask — Go's handler, in a Go process).
///
/// # Errors
/// - [`Error::StaleHandle`] if `id` is not installed (already uninstalled, or forged).
/// - [`Error::HandlerReplaced`] if this was the last action and someone else replaced
///   gobridge's handler meanwhile: their disposition is left in place (not overwritten with
///   the one we saved); the action is removed all the same. If their handler chains to
///   gobridge's, gobridge's still runs (with no action) and chains on to the disposition it
///   replaced, so nothing that was there before is lost.
/// - [`Error::Sys`] if `sigaction` fails.
pub fn uninstall(id: ActionId) -> Result<()> {
    let index = index_of(id.signal)?;
    let slot = usize::from(id.slot);
    let mut registry = lock();
    let Some(state) = registry.signals.get_mut(index) else { return Err(Error::StaleHandle) };
    match state.slots.get(slot) {
        Some(s) if s.occupied && s.generation == id.generation => {}
        _ => return Err(Error::StaleHandle),
    }
    TABLE.retire(index, slot);
    if let Some(s) = state.slots.get_mut(slot) {
        s.occupied = false;
        s.generation = s.generation.wrapping_add(1);
    }
    state.count = state.count.saturating_sub(1);
    if state.count > 0 {
        return Ok(());
    }
    let Some(saved) = state.saved else { return Ok(()) };
    // On every early return below, `saved` stays recorded: our handler is still installed or
    // still reachable through the handler that replaced it (orphaned).
    if !is_ours(&disposition::read(id.signal)?) {
        return Err(Error::HandlerReplaced(id.signal));
    }
    // SAFETY:
    // - `saved` was read back from the kernel when our handler replaced it; its handler (if
    //   any) was installed by its owner as a signal handler and is code that stays loaded.
    let replaced = unsafe { disposition::swap(id.signal, &saved) }?;
    if !is_ours(&replaced) {
        // Replaced between our check and our swap: put theirs back.
        // SAFETY:
        // - `replaced` was just read back from the kernel as the installed disposition.
        unsafe { disposition::swap(id.signal, &replaced) }?;
        return Err(Error::HandlerReplaced(id.signal));
    }
    state.saved = None;
    Ok(())
}
