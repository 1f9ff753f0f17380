//go:build !gobridge_external && !gobridge_pkgconfig

package gobridge

// Default link mode: the static archive inside this module, lib/<goos>_<goarch>/libgobridge.a.
// link_check.h stops the build with the command to run when the archive is missing.

/*
#cgo linux,amd64 CFLAGS: -I${SRCDIR}/../lib/linux_amd64
#cgo linux,amd64 LDFLAGS: ${SRCDIR}/../lib/linux_amd64/libgobridge.a
#cgo linux,arm64 CFLAGS: -I${SRCDIR}/../lib/linux_arm64
#cgo linux,arm64 LDFLAGS: ${SRCDIR}/../lib/linux_arm64/libgobridge.a
#cgo LDFLAGS: -ldl -lpthread -lm
#include "link_check.h"
*/
import "C"

// LinkMode names how the Rust side was linked: "archive", "external" or "pkg-config".
const LinkMode = "archive"
