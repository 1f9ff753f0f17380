//! The kernel's word view of a `sigset_t`, so that the mask bookkeeping in
//! [`mask_guard`](super::mask_guard) can compare masks with one integer operation instead of
//! dozens of `sigismember` calls.

use nix::sys::signal::SigSet;

/// The signals 1..=64 of `set` as a word: bit `n - 1` set when signal `n` is a member.
///
/// On 64-bit Linux this is the first `unsigned long` of the C library's `sigset_t` (glibc and
/// musl both store signal `n` at bit `(n - 1) % 64` of word `(n - 1) / 64`), which is exactly
/// the 64-bit mask the kernel keeps per thread, real-time signals included.
#[cfg(all(any(target_os = "linux", target_os = "android"), target_pointer_width = "64"))]
pub(crate) fn kernel_bits(set: &SigSet) -> u64 {
    const _: () = assert!(size_of::<libc::sigset_t>() >= size_of::<u64>());
    const _: () = assert!(align_of::<libc::sigset_t>() >= align_of::<u64>());
    let raw: &libc::sigset_t = set.as_ref();
    // SAFETY:
    // - `raw` is a valid, initialised `sigset_t` borrowed for this call (nix only builds them
    //   through sigemptyset/sigfillset/pthread_sigmask), so its first 8 bytes are initialised.
    // - The const assertions above guarantee the type is at least 8 bytes long and at least
    //   8-aligned, so reading one `u64` at its start is in bounds and aligned.
    // - On this target `sigset_t` is an array of `c_ulong` (64-bit), so the read is of a
    //   plain integer with no padding or invalid bit patterns.
    unsafe { (raw as *const libc::sigset_t).cast::<u64>().read() }
}

/// Portable fallback: the standard signals only (real-time members are not represented).
#[cfg(not(all(any(target_os = "linux", target_os = "android"), target_pointer_width = "64")))]
pub(crate) fn kernel_bits(set: &SigSet) -> u64 {
    nix::sys::signal::Signal::iterator()
        .filter(|s| set.contains(*s))
        .fold(0, |bits, s| bits | 1u64 << (s as i32 - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;

    #[test]
    fn standard_signals_map_to_bit_n_minus_1() {
        for s in Signal::iterator() {
            let set = SigSet::from(s);
            assert_eq!(kernel_bits(&set), 1u64 << (s as i32 - 1), "{s:?}");
        }
        assert_eq!(kernel_bits(&SigSet::empty()), 0);
    }

    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    #[test]
    fn realtime_signals_are_seen() {
        let mut raw = *SigSet::empty().as_ref();
        let rt = libc::SIGRTMIN() + 1;
        // SAFETY:
        // - `raw` is an initialised `sigset_t` (copied from an empty set) owned by this frame.
        // - `rt` is a valid signal number (SIGRTMIN + 1 <= SIGRTMAX on Linux).
        let rc = unsafe { libc::sigaddset(&mut raw, rt) };
        assert_eq!(rc, 0);
        // SAFETY:
        // - `raw` was initialised by sigemptyset (through nix) and sigaddset above.
        let set = unsafe { SigSet::from_sigset_t_unchecked(raw) };
        assert_eq!(kernel_bits(&set), 1u64 << (rt - 1));
    }
}
