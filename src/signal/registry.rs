//! The writer side: installing and uninstalling actions, and the handler's disposition.

use super::action::{Action, ActionId};
use super::disposition::{self, handler_of, is_ours};
use super::handler::RESET;
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

    /// The record for the disposition `raw` (as read from the kernel), shared by equal ones.
    fn intern(&mut self, raw: &libc::sigaction) -> &'static Previous {
        // Chaining to ourselves would recurse forever; it can only happen if someone put our
        // handler back after replacing it, and then there is nothing else to chain to.
        let (handler, flags, mask) = if is_ours(raw) {
            (SigHandler::SigIgn, 0, 0)
        } else {
            (handler_of(raw), raw.sa_flags, disposition::mask_bits(raw))
        };
        let wanted = Previous { handler, flags, mask };
        let key = key_of(&wanted);
        if let Some(found) = self.interned.iter().find(|p| key_of(p) == key) {
            return found;
        }
        let record: &'static Previous = Box::leak(Box::new(wanted));
        self.interned.push(record);
        record
    }
}

/// Identity of a chained-to disposition (fn pointers are compared by address).
fn key_of(previous: &Previous) -> (u8, libc::sighandler_t, i32, u64) {
    let (kind, address) = handler_key(previous.handler);
    (kind, address, previous.flags, previous.mask)
}

/// (kind, address) identity of a handler.
fn handler_key(handler: SigHandler) -> (u8, libc::sighandler_t) {
    match handler {
        SigHandler::SigDfl => (0, 0),
        SigHandler::SigIgn => (1, 0),
        SigHandler::Handler(f) => (2, f as libc::sighandler_t),
        SigHandler::SigAction(f) => (3, f as libc::sighandler_t),
    }
}

/// SIGHUP and SIGINT are the signals whose inherited SIG_IGN the Go runtime special-cases (a
/// child of `nohup`, a background job of a non-interactive shell): it installs nothing for
/// them, and `signal.Stop`/`Reset` put SIG_IGN back only if the disposition `Notify` found was
/// SIG_IGN. A handler of ours over that SIG_IGN is what `Notify` would find, and the program
/// would later die of the signal it ignored. So installing over it is refused.
fn refuse_over_ignored(signal: Signal, current: &libc::sigaction) -> Result<()> {
    if matches!(signal, Signal::SIGHUP | Signal::SIGINT)
        && matches!(handler_of(current), SigHandler::SigIgn)
    {
        return Err(Error::InvalidArgument(
            "SIGHUP/SIGINT is ignored (SIG_IGN, as under nohup or in a background job): a \
             gobridge handler over it would make os/signal's Stop/Reset install Go's handler \
             and the ignored signal kill the process; refused",
        ));
    }
    Ok(())
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
/// The first action on a signal installs gobridge's handler (SA_ONSTACK | SA_SIGINFO, every
/// signal blocked while it runs, SA_RESTART as the replaced handler had it — always over
/// SIG_DFL/SIG_IGN — and SIGCHLD's SA_NOCLDSTOP/SA_NOCLDWAIT carried over) and saves the
/// disposition it replaces; later actions share that handler. When the signal arrives, the
/// actions run in installation slot order, then the saved disposition is chained to, with
/// the outcome it would have had alone (see the [module docs](super)).
///
/// Fds are made non-blocking (`O_NONBLOCK`, unless a regular file) and must stay open until
/// [`uninstall`] returns.
///
/// # Errors
/// - [`Error::InvalidArgument`] for SIGKILL or SIGSTOP, and for SIGHUP or SIGINT while they
///   are ignored (SIG_IGN: inherited from `nohup` or a non-interactive shell, or set by
///   `signal.Ignore`): the Go runtime decides what `signal.Stop`/`Reset` restore from the
///   disposition it finds, and would find ours (see the module's Limitations).
/// - [`Error::LimitExceeded`] when the signal already holds 16 actions.
/// - [`Error::HandlerReplaced`] when gobridge's handler is supposed to be installed on the
///   signal but someone replaced it (the action would never run). This includes a signal
///   whose last [`uninstall`] reported `HandlerReplaced` and whose handler is still that
///   replacement: it may chain back to gobridge's, so chaining to it would recurse. Install
///   works again once gobridge's handler is back in place (the replacement restored what it
///   replaced), the disposition is SIG_DFL/SIG_IGN, or it is the very handler gobridge's
///   chains to (Go's, after `signal.Ignore` then `signal.Notify`/`Reset`).
/// - [`Error::Sys`] for a bad fd (`EBADF`) or a failing `sigaction`.
///
/// ```
/// use gobridge::signal::{self, Action};
/// use gobridge::Signal;
/// use nix::sys::signal::raise; // only to send the example its signal
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
    // Never mistake the handler's own momentary SIG_DFL (default-stop emulation) for a
    // replacement.
    let current = TABLE.outside_emulation(index, || disposition::read(signal))?;
    if state.count > 0 || state.saved.is_some() {
        // Our handler is installed or, with no action left (`count == 0`, see
        // `SignalState::saved`), orphaned: still reachable through the handler that replaced
        // it, and still chaining on to `saved`.
        if is_ours(&current) {
            TABLE.publish(index, slot, payload);
            return occupy(&mut registry, signal, index, slot);
        }
        // Chaining to the replacing handler could loop forever (theirs -> ours -> theirs ...)
        // when it chains back to ours, as handlers that replaced ours do. An orphan may start
        // afresh when the replacement chains nowhere (SIG_DFL/SIG_IGN), or when it is the
        // very handler the orphan chains to (say Go's, back after `signal.Ignore` and
        // `signal.Notify`): a fresh install chains exactly as the orphan does, so it adds no
        // path that was not there already.
        let handler = handler_of(&current);
        let nothing_chains_back = state.count == 0
            && (matches!(handler, SigHandler::SigDfl | SigHandler::SigIgn)
                || TABLE
                    .previous(index)
                    .is_some_and(|p| handler_key(p.handler) == handler_key(handler)));
        if !nothing_chains_back {
            return Err(Error::HandlerReplaced(signal));
        }
    }
    refuse_over_ignored(signal, &current)?;
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
    let previous = registry.intern(&current);
    TABLE.set_previous(index, previous);
    TABLE.publish(index, slot, payload);
    let ours = disposition::ours_over(signal, &current);
    // SAFETY:
    // - `ours_over` installs `on_signal`, which only does async-signal-safe work (see
    //   handler.rs) and is a `'static` function.
    let replaced = match unsafe { disposition::swap(signal, &ours) } {
        Ok(replaced) => replaced,
        Err(e) => {
            TABLE.retire(index, slot);
            return Err(e);
        }
    };
    if replaced.sa_sigaction != current.sa_sigaction || replaced.sa_flags != current.sa_flags {
        // Someone changed the disposition between our read and our swap: chain to what
        // was really there (a handler that ran in between chained to `current`), with the
        // flags that follow from it.
        let previous = registry.intern(&replaced);
        TABLE.set_previous(index, previous);
        // SAFETY:
        // - As above: `on_signal`, with the flags for `replaced`. If this fails, ours stays
        //   installed with the flags for `current`.
        let _ = unsafe { disposition::swap(signal, &disposition::ours_over(signal, &replaced)) };
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
    let current = TABLE.outside_emulation(index, || disposition::read(id.signal))?;
    if !is_ours(&current) {
        return Err(Error::HandlerReplaced(id.signal));
    }
    let restore = restored(index, saved);
    // SAFETY:
    // - `restore` is `saved`, read back from the kernel when our handler replaced it (its
    //   handler, if any, was installed by its owner as a signal handler and is code that stays
    //   loaded), or the same with SIG_DFL as the handler.
    let replaced = unsafe { disposition::swap(id.signal, &restore) }?;
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

/// What uninstall puts back: the disposition ours replaced, unless it was a one-shot
/// (SA_RESETHAND) handler that already ran through ours — then, as the kernel would have, the
/// same disposition with SIG_DFL as its handler.
fn restored(index: usize, saved: libc::sigaction) -> libc::sigaction {
    let fired = TABLE.previous(index).is_some_and(|p| std::ptr::eq(p, &RESET));
    if fired && saved.sa_flags & libc::SA_RESETHAND != 0 {
        let mut reset = saved;
        reset.sa_sigaction = libc::SIG_DFL;
        reset
    } else {
        saved
    }
}
