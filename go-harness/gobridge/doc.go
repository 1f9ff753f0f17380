// Package gobridge wraps the C ABI of the gobridge Rust crate (include/gobridge.h, linked as
// the staticlib target/release/libgobridge_capi.a) in idiomatic Go: the package a Go team
// imports instead of writing C shims by hand.
//
// What it gives a Go program that calls native code:
//
//   - Executor: an OS thread owned by Rust that runs Go functions (Do) or native jobs one at a
//     time, so thread-affine native state always sees the same thread, whichever goroutine
//     asks. ThreadID reports the kernel thread id of the caller, ThreadBound shows what
//     happens to thread-affine state when a goroutine is not locked to its thread.
//   - Pool: blocking native work on a fixed number of threads while any number of goroutines
//     wait in the netpoller, instead of one OS thread per blocked cgo call.
//   - NotifySignals, AuditSignals, CheckSignalHandlers: signal handlers that coexist with the
//     Go runtime (SA_ONSTACK, chaining to Go's handler), and a check for handlers that would
//     crash it.
//   - SleepInterruptible and WithBlocked: a scoped signal mask inside one cgo call, the only
//     way non-Go code may touch a Go thread's mask.
//   - Buffer, Sum, Fill: Rust-owned memory with checked handles, and Go slices lent to Rust
//     for one call (nil and empty slices cross as NULL, 0).
//
// Errors are matched with errors.Is against ErrWrongThread, ErrShutdown, ErrPanicked,
// ErrStaleHandle, ErrInvalidArgument, ErrUnblockable and the other sentinels. init() checks
// that the linked library's ABI version and the size, alignment and field offsets of every
// #[repr(C)] type match cgo's view of the header, and panics with both layouts if not.
//
// Build: `make build` in the repository root puts the staticlib where the #cgo directives look
// for it; then `go test ./...` and `go run ./cmd/demo` need no extra environment.
package gobridge
