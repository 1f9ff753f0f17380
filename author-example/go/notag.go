//go:build !gobridge_external

package tally

// This package links its own Rust staticlib (libtally.a, which carries gobridge's C ABI too),
// so the gobridge package must not link a second one: build with -tags gobridge_external.

/*
#error "package tally: build with -tags gobridge_external (libtally.a is the program's one Rust staticlib; see the package doc)"
*/
import "C"
