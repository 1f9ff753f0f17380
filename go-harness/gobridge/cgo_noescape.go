//go:build go1.24

package gobridge

// Go 1.24 and later: the C functions below neither keep the pointers they get nor call into
// Go, so cgo may leave what those point to on the Go stack. (Without it, the mask that
// gobridgeGoCallbackPreemptible saves escaped: a 128-byte heap allocation per callback.) The
// directives apply to the whole package; older Go releases, which reject them, skip this file.

/*
#cgo noescape gb_runtime_signals_open
#cgo nocallback gb_runtime_signals_open
#cgo noescape gb_runtime_signals_restore
#cgo nocallback gb_runtime_signals_restore
*/
import "C"
