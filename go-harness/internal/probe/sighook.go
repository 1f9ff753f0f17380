//go:build gobridge_sighook

package probe

// Under the gobridge_sighook build tag the program links a staticlib built with the test-only
// `signal-hook-compare` feature (the harness builds it into target/sighook and links it with
// -tags gobridge_external), so the harness can show the crash that signal-hook-registry's
// handlers (no SA_ONSTACK) cause.

/*
#cgo CFLAGS: -I${SRCDIR}/../../gobridge -DGOBRIDGE_SIGNAL_HOOK_COMPARE
#include <stdint.h>
#include "gobridge.h"

static int32_t probe_install_signal_hook(int32_t sig) {
	return gobridge_test_install_signal_hook_registry(sig, NULL);
}
*/
import "C"

import "syscall"

// InstallSignalHookRegistryForTest registers a handler for sig through signal-hook-registry,
// which installs it with SA_RESTART|SA_SIGINFO but without SA_ONSTACK. It exists only to
// demonstrate the crash gobridge's own handlers avoid: never use it in a real program.
func InstallSignalHookRegistryForTest(sig syscall.Signal) error {
	if code := C.probe_install_signal_hook(C.int32_t(sig)); code != 0 {
		return &Error{Code: int(code), Message: "signal-hook-registry install failed"}
	}
	return nil
}
