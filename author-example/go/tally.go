//go:build gobridge_external

// Package tally is the Go side of the gobridge Rust-author kit's worked example: a word tally
// implemented in Rust as a thread-affine library (its state lives on one OS thread), in one
// staticlib with gobridge's C ABI. Build and test with the gobridge_external tag, which makes
// the gobridge package link no archive of its own, so this package's libtally.a is the
// program's only Rust staticlib:
//
//	go test -tags gobridge_external ./...
//
// Every function turns the Rust status into gobridge's errors with gobridge.CallStatus, so
// callers match them with errors.Is(err, gobridge.ErrStaleHandle) and the other sentinels.
package tally

/*
#cgo LDFLAGS: ${SRCDIR}/lib/libtally.a -ldl -lpthread -lm
#include "tally.h"
*/
import "C"

import (
	"context"
	"unsafe"

	"example.com/tally/lib"
	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
)

// archiveSHA256 ties this package's object to the archive it links (see lib/empty.go).
var archiveSHA256 = lib.ArchiveSHA256

// Tally counts words. Its state lives on a Rust thread of its own; a Tally is safe for
// concurrent use. Close it when done.
type Tally struct {
	h uint64
}

// view lends p to Rust for one call (nil and empty slices cross as NULL, 0).
func view(p []byte) C.GobridgeForeignSlice_u8 {
	var v C.GobridgeForeignSlice_u8
	if len(p) > 0 {
		v.ptr = (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(p)))
		v.len = C.size_t(len(p))
	}
	return v
}

func status(st unsafe.Pointer) *C.GobridgeStatus { return (*C.GobridgeStatus)(st) }

// New creates an empty tally.
func New() (*Tally, error) {
	var h C.uint64_t
	err := gobridge.CallStatus(func(st unsafe.Pointer) int32 { return int32(C.tally_new(&h, status(st))) })
	if err != nil {
		return nil, err
	}
	return &Tally{h: uint64(h)}, nil
}

// Add adds every whitespace-separated word of text and returns how many it added. Text that
// is not UTF-8 is an error matching gobridge.ErrInvalidArgument, and adds nothing.
func (t *Tally) Add(text []byte) (int, error) {
	var n C.uint64_t
	err := gobridge.CallStatus(func(st unsafe.Pointer) int32 {
		return int32(C.tally_add(C.uint64_t(t.h), view(text), &n, status(st)))
	})
	return int(n), err
}

// Count returns how many times word was added.
func (t *Tally) Count(word string) (uint64, error) {
	b := []byte(word)
	var n C.uint64_t
	err := gobridge.CallStatus(func(st unsafe.Pointer) int32 {
		return int32(C.tally_count(C.uint64_t(t.h), view(b), &n, status(st)))
	})
	return uint64(n), err
}

// ThreadID returns the kernel thread id of the tally's own thread.
func (t *Tally) ThreadID() (int, error) {
	var tid C.int32_t
	err := gobridge.CallStatus(func(st unsafe.Pointer) int32 { return int32(C.tally_thread(C.uint64_t(t.h), &tid, status(st))) })
	return int(tid), err
}

// Close frees the tally. A second Close is an error matching gobridge.ErrStaleHandle.
func (t *Tally) Close() error {
	return gobridge.CallStatus(func(st unsafe.Pointer) int32 { return int32(C.tally_free(C.uint64_t(t.h), status(st))) })
}

// HashOn computes the FNV-1a hash of data on e's OS thread (the executor Go created, reached
// from Rust through e.Handle()) and returns the hash and the thread it ran on.
func HashOn(e *gobridge.Executor, data []byte) (hash uint64, tid int, err error) {
	var h C.uint64_t
	var t C.int32_t
	err = gobridge.CallStatus(func(st unsafe.Pointer) int32 {
		return int32(C.tally_hash_on(C.uint64_t(e.Handle()), view(data), &h, &t, status(st)))
	})
	return uint64(h), int(t), err
}

// Crunch runs a long native job of rounds rounds (~100 µs each) on e's thread and waits for it
// in the netpoller. If ctx is done first, the job stops at its next round (it polls its
// cancellation token in Rust) and Crunch returns ctx.Err().
func Crunch(ctx context.Context, e *gobridge.Executor, rounds int) error {
	var ticket C.uint64_t
	err := gobridge.CallStatus(func(st unsafe.Pointer) int32 {
		return int32(C.tally_crunch_submit(C.uint64_t(e.Handle()), C.uint64_t(rounds), &ticket, status(st)))
	})
	if err != nil {
		return err
	}
	return gobridge.WaitTicket(ctx, uint64(ticket))
}

// CrunchRounds reports how many rounds every Crunch job has done so far.
func CrunchRounds() uint64 { return uint64(C.tally_crunch_rounds()) }
