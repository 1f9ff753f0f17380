// Package gobridge wraps the C ABI of the gobridge Rust crate (gobridge.h) in idiomatic Go:
// the package a Go team imports instead of writing C shims by hand.
//
//	import "github.com/gobridge-rs/gobridge/go-harness/gobridge"
//
// What it gives a Go program that calls native code:
//
//   - Executor: an OS thread owned by Rust that runs Go functions (Do) or native jobs one at a
//     time, so thread-affine native state always sees the same thread, whichever goroutine
//     asks. ThreadID reports the kernel thread id of the caller, ThreadBound shows what
//     happens to thread-affine state when a goroutine is not locked to its thread. Go code in
//     Do runs with the thread's mask (SIGURG and SIGPROF blocked: no asynchronous preemption,
//     no CPU-profile samples) unless the executor is made WithPreemptibleCallbacks.
//   - Pool: blocking native work on a fixed number of threads while any number of goroutines
//     wait in the netpoller, instead of one OS thread per blocked cgo call (one uncancellable
//     caller at a time waits inside a cgo call instead: the fast path).
//   - NotifySignals, AuditSignals, CheckSignalHandlers: signal handlers that coexist with the
//     Go runtime (SA_ONSTACK, chaining to Go's handler), and a check for handlers that would
//     crash it.
//   - WithBlocked: a scoped signal mask inside one cgo call, the only way non-Go code may
//     touch a Go thread's mask.
//   - Buffer: Rust-owned memory with checked handles.
//   - CallStatus, Executor.Handle, Code: what a Rust author needs to put their own C functions
//     beside gobridge's under this package (see Linking, gobridge_external).
//
// Errors are matched with errors.Is against ErrWrongThread, ErrShutdown, ErrPanicked,
// ErrStaleHandle, ErrInvalidArgument, ErrUnblockable, ErrCancelled and the other sentinels; the
// *Error behind them carries the stable Code (one per GOBRIDGE_E_* of the header). init()
// checks that the linked library's ABI version and the size, alignment and field offsets of
// every #[repr(C)] type match cgo's view of the header, and panics with both layouts if not.
//
// # Linking
//
// A Go binary can hold only one Rust staticlib (two collide on the Rust runtime's symbols), and
// the package can get gobridge's C ABI from one of three places, chosen by build tag:
//
//   - Default (no tag): the prebuilt archive inside this module,
//     lib/<goos>_<goarch>/libgobridge.a (linux/amd64 and linux/arm64). A released module
//     version ships them, so `go get` and `go mod vendor` need nothing else: no Rust
//     toolchain, no environment. In a clone of the repository, `make build` writes the host's
//     archive there. Without it the build stops with a message naming that command. The
//     archive's SHA-256 (lib/<goos>_<goarch>/archive.go) is compiled into this package, so a
//     rebuilt archive is relinked by a plain `go build` (Go's build cache does not hash files
//     named on the link line).
//   - gobridge_external: the package adds no Rust archive to the link line. The program links
//     exactly one Rust staticlib of its own, which depends on the gobridge crate with the
//     `capi` feature and so exports gobridge's C ABI beside the author's own functions:
//     typically the author's Go package says `#cgo LDFLAGS: ${SRCDIR}/lib/libmyapp.a`, or the
//     build sets CGO_LDFLAGS. Build with `go build -tags gobridge_external`.
//   - gobridge_pkgconfig: `#cgo pkg-config: gobridge`, after `make install PREFIX=...` in the
//     repository installed lib/libgobridge.a, include/gobridge.h and lib/pkgconfig/gobridge.pc
//     (set PKG_CONFIG_PATH for a non-system prefix). Go's build cache hashes neither the
//     archive nor pkg-config's output, so after a reinstall (or with another prefix) a build can
//     reuse the old link; build with the install's cache key, which Go does hash:
//     CGO_CFLAGS="-DGOBRIDGE_CACHE_KEY=$(pkg-config --variable=cache_key gobridge)".
//
// gobridge_external wins if both tags are given. LinkMode reports the mode a binary was built
// with, and `go run github.com/gobridge-rs/gobridge/go-harness/cmd/gobridge-check` (with the
// same tags) checks an installation end to end.
//
// # Rules for cgo programs
//
//   - A goroutine is not a thread: thread-affine native state is reached through an Executor,
//     or under runtime.LockOSThread within one goroutine.
//   - Go memory lent to Rust is valid for that call only; an empty slice crosses as NULL with
//     length 0. Rust memory (Buffer) is non-Go memory: never store an unpinned Go pointer in it.
//   - A Go panic inside Do is recovered on the Go side and returned as ErrPanicked; it never
//     unwinds through Rust frames.
package gobridge
