//go:build gobridge_external

package gobridge

// Link mode gobridge_external: this package adds no Rust archive to the link line. The program
// links exactly one Rust staticlib of its own that re-exports gobridge's C ABI (see the package
// doc, section Linking), e.g. with `#cgo LDFLAGS: ${SRCDIR}/libmyapp.a` in the author's package.

/*
#cgo LDFLAGS: -ldl -lpthread -lm
*/
import "C"

// LinkMode names how the Rust side was linked: "archive", "external" or "pkg-config".
const LinkMode = "external"

// archiveSHA256 is unknown in this mode: the program's build owns the archive.
var archiveSHA256 = ""
