//go:build !gobridge_sighook

package gobridge

// The default build links the staticlib that `make build` produces at
// target/release/libgobridge_capi.a in the repository root.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -lgobridge_capi -ldl -lpthread -lm
*/
import "C"
