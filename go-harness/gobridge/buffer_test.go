package gobridge

import (
	"errors"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

func goSum(p []byte) uint64 {
	var s uint64
	for _, b := range p {
		s += uint64(b)
	}
	return s
}

var bufferLengths = []int{0, 1, 63, 64 << 10, 1 << 20}

// Sum and Fill match pure Go on lengths 0, 1, 63, 64 KiB and 1 MiB, nil and empty
// slices included (run again under GOEXPERIMENT=cgocheck2 by the Makefile).
func TestSumFillMatchGo(t *testing.T) {
	if got := probe.Sum(nil); got != 0 {
		t.Fatalf("probe.Sum(nil) = %d", got)
	}
	if got := probe.Sum([]byte{}); got != 0 {
		t.Fatalf("probe.Sum(empty) = %d", got)
	}
	probe.Fill(nil, 7)
	probe.Fill([]byte{}, 7)
	rng := rand.New(rand.NewSource(1))
	for _, n := range bufferLengths {
		p := make([]byte, n)
		rng.Read(p)
		if got, want := probe.Sum(p), goSum(p); got != want {
			t.Fatalf("Sum of %d bytes = %d, want %d", n, got, want)
		}
		// A sub-slice at an odd offset: views are byte views, any alignment is fine.
		if n > 1 {
			q := p[1:]
			if got, want := probe.Sum(q), goSum(q); got != want {
				t.Fatalf("Sum of %d bytes at offset 1 = %d, want %d", len(q), got, want)
			}
		}
		probe.Fill(p, 0xA5)
		for i, b := range p {
			if b != 0xA5 {
				t.Fatalf("Fill of %d bytes: byte %d = %#x", n, i, b)
			}
		}
		if got, want := probe.Sum(p), uint64(n)*0xA5; got != want {
			t.Fatalf("Sum after Fill of %d bytes = %d, want %d", n, got, want)
		}
	}
}

// Rust-owned buffers: aligned, usable from Go, the second Free is ErrStaleHandle.
func TestBufferLifecycle(t *testing.T) {
	for _, n := range bufferLengths {
		b, err := NewBuffer(n)
		if err != nil {
			t.Fatalf("NewBuffer(%d): %v", n, err)
		}
		p := b.Bytes()
		if len(p) != n {
			t.Fatalf("NewBuffer(%d): %d bytes", n, len(p))
		}
		if n == 0 && p != nil {
			t.Fatalf("zero-length buffer has a non-nil slice")
		}
		if n > 0 {
			if uintptr(unsafe.Pointer(&p[0]))%64 != 0 {
				t.Fatalf("buffer of %d bytes is not 64-byte aligned", n)
			}
			if goSum(p) != 0 {
				t.Fatalf("buffer of %d bytes is not zeroed", n)
			}
			probe.Fill(p, 3)
			if probe.Sum(p) != uint64(n)*3 {
				t.Fatalf("Sum over a Rust buffer of %d bytes", n)
			}
		}
		if err := b.Free(); err != nil {
			t.Fatalf("Free: %v", err)
		}
		if b.Bytes() != nil {
			t.Fatal("Bytes after Free is not nil")
		}
		if err := b.Free(); !errors.Is(err, ErrStaleHandle) {
			t.Fatalf("second Free: %v, want ErrStaleHandle", err)
		}
	}
	if _, err := NewBuffer(-1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NewBuffer(-1): %v", err)
	}
}

func init() {
	childCases["buffer-go-pointer"] = func() error { return storeGoPointerInBuffer(false) }
	childCases["buffer-pinned-go-pointer"] = func() error { return storeGoPointerInBuffer(true) }
}

// storeGoPointerInBuffer stores a pointer to Go memory into a Rust-owned Buffer, pinned first
// or not. cgo's rules forbid keeping an unpinned Go pointer in non-Go memory (the GC can neither
// see nor update it); GOEXPERIMENT=cgocheck2 checks every such store.
func storeGoPointerInBuffer(pin bool) error {
	b, err := NewBuffer(64)
	if err != nil {
		return err
	}
	defer b.Free()
	target := new([16]byte)
	var pinner runtime.Pinner
	defer pinner.Unpin()
	if pin {
		pinner.Pin(target)
	}
	slot := (*unsafe.Pointer)(unsafe.Pointer(&b.Bytes()[0]))
	storePointer(slot, unsafe.Pointer(target)) // unpinned, under cgocheck2: a fatal error
	storePointer(slot, nil)                    // clear it before the pin ends
	return nil
}

// storePointer is a pointer store the compiler cannot drop as dead (the next store overwrites
// it) or see through.
//
//go:noinline
func storePointer(slot *unsafe.Pointer, p unsafe.Pointer) { *slot = p }

// Under GOEXPERIMENT=cgocheck2 (the Makefile's cgocheck2 pass sets GOBRIDGE_CGOCHECK2=1), a
// Buffer is checked as the non-Go memory it is: storing an unpinned Go pointer in it kills
// the process with cgocheck's error, and a pinned one is allowed. This also proves that the
// pass really runs with the full checks on.
func TestBufferGoPointerRulesUnderCgocheck2(t *testing.T) {
	if os.Getenv("GOBRIDGE_CGOCHECK2") != "1" {
		t.Skip("runs in the GOEXPERIMENT=cgocheck2 pass (make -C go-harness cgocheck2)")
	}
	out, err := runChildRaw("buffer-go-pointer")
	if err == nil || !strings.Contains(out, "write of unpinned Go pointer") || !strings.Contains(out, "to non-Go memory") {
		t.Fatalf("an unpinned Go pointer stored in a Rust buffer was not caught by cgocheck2 (%v):\n%s", err, out)
	}
	runChild(t, "buffer-pinned-go-pointer")
}

// random lengths and contents (run with -fuzz for a bounded time by the Makefile).
func FuzzSumFill(f *testing.F) {
	f.Add([]byte(nil), byte(0))
	f.Add([]byte{1}, byte(255))
	f.Add(make([]byte, 63), byte(9))
	f.Fuzz(func(t *testing.T, p []byte, v byte) {
		if got, want := probe.Sum(p), goSum(p); got != want {
			t.Fatalf("probe.Sum(%d bytes) = %d, want %d", len(p), got, want)
		}
		probe.Fill(p, v)
		for i, b := range p {
			if b != v {
				t.Fatalf("Fill: byte %d = %d, want %d", i, b, v)
			}
		}
	})
}
