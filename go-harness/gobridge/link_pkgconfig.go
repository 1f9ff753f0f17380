//go:build gobridge_pkgconfig && !gobridge_external

package gobridge

// Link mode gobridge_pkgconfig: the archive installed by `make install PREFIX=...`, found
// through gobridge.pc (set PKG_CONFIG_PATH to $PREFIX/lib/pkgconfig if PREFIX is not a
// system prefix).

/*
#cgo pkg-config: gobridge
*/
import "C"

// LinkMode names how the Rust side was linked: "archive", "external" or "pkg-config".
const LinkMode = "pkg-config"

// archiveSHA256 is unknown in this mode: pkg-config names the archive.
var archiveSHA256 = ""
