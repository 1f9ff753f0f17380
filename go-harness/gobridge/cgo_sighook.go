//go:build gobridge_sighook

package gobridge

// Under the gobridge_sighook build tag the package links a staticlib built with the test-only
// `signal-hook-compare` feature into its own target directory (target/sighook/release), so the
// harness can show the crash that signal-hook-registry's handlers (no SA_ONSTACK) cause.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/sighook/release -lgobridge_capi -ldl -lpthread -lm
#include <stdint.h>
#include "bridge.h"

// Declared here in case the checked-in header was generated without the test-only feature.
int32_t gobridge_test_install_signal_hook_registry(int32_t sig, GobridgeStatus *status);

static gb_result gb_install_signal_hook(int32_t sig) {
	gb_result r = {0};
	GobridgeStatus st = {0};
	r.code = gobridge_test_install_signal_hook_registry(sig, &st);
	return r;
}
*/
import "C"

import "syscall"

// InstallSignalHookRegistryForTest registers a handler for sig through signal-hook-registry,
// which installs it with SA_RESTART|SA_SIGINFO but without SA_ONSTACK. It exists only under the
// gobridge_sighook build tag, to demonstrate the crash gobridge's own handlers avoid: never use
// it in a real program.
func InstallSignalHookRegistryForTest(sig syscall.Signal) error {
	return resultErr(C.gb_install_signal_hook(C.int32_t(sig)))
}
