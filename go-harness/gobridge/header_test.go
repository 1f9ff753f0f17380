package gobridge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"unsafe"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

// The header inside the module is a tracked copy of the crate's include/gobridge.h (generated
// by cbindgen): `make header` refreshes both. In a clone of the repository they must be equal.
func TestHeaderCopyIsCurrent(t *testing.T) {
	crate, err := os.ReadFile(filepath.Join("..", "..", "include", "gobridge.h"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("not in a clone of the repository (no ../../include/gobridge.h)")
	}
	if err != nil {
		t.Fatal(err)
	}
	copy, err := os.ReadFile("gobridge.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(crate, copy) {
		t.Fatal("go-harness/gobridge/gobridge.h differs from include/gobridge.h: run `make header`")
	}
}

// Every GOBRIDGE_E_* code of the header has a Go sentinel and a Code whose String is the
// header's name, and the Go constants have the header's values (they are compiled from it, so
// this catches a code added in Rust without its Go sentinel).
func TestEveryHeaderCodeHasASentinel(t *testing.T) {
	h, err := os.ReadFile("gobridge.h")
	if err != nil {
		t.Fatal(err)
	}
	defs := regexp.MustCompile(`(?m)^#define (GOBRIDGE_(?:OK|E_[A-Z_]+)) (\d+)$`).FindAllSubmatch(h, -1)
	if len(defs) < 13 {
		t.Fatalf("found %d status codes in gobridge.h, want at least 13", len(defs))
	}
	seen := map[Code]bool{}
	for _, d := range defs {
		name := string(d[1])
		v, err := strconv.Atoi(string(d[2]))
		if err != nil {
			t.Fatal(err)
		}
		c := Code(v)
		if seen[c] {
			t.Errorf("code %d defined twice", v)
		}
		seen[c] = true
		if c.String() != name {
			t.Errorf("Code(%d).String() = %q, header says %s", v, c.String(), name)
		}
		if c == CodeOK {
			continue
		}
		s, ok := sentinels[c]
		if !ok {
			t.Errorf("%s (%d) has no Go sentinel", name, v)
			continue
		}
		if !errors.Is(&Error{Code: c}, s) {
			t.Errorf("an *Error with %s does not match its sentinel", name)
		}
	}
	if len(sentinels) != len(seen)-1 {
		t.Errorf("%d sentinels for %d header error codes", len(sentinels), len(seen)-1)
	}
}

// CallStatus hands a real gobridge function (following the conventions an author's function
// follows) a usable status, and returns the same error shape as the package's own calls: the
// code's sentinel for errors.Is, Rust's message kept; the success path allocates nothing.
func TestCallStatusReturnsThePackagesErrors(t *testing.T) {
	e, err := NewExecutor("callstatus")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var tid int32
	if err := CallStatus(func(st unsafe.Pointer) int32 { return probe.ExecutorTid(e.Handle(), &tid, st) }); err != nil {
		t.Fatalf("success: %v", err)
	}
	if int(tid) != e.ThreadID() {
		t.Fatalf("tid %d, executor %d", tid, e.ThreadID())
	}
	err = CallStatus(func(st unsafe.Pointer) int32 { return probe.ExecutorTid(e.Handle()+1, &tid, st) })
	var ge *Error
	if !errors.Is(err, ErrStaleHandle) || !errors.As(err, &ge) || ge.Code != CodeStaleHandle || ge.Message == "" {
		t.Fatalf("forged handle: %#v", err)
	}
	err = CallStatus(func(st unsafe.Pointer) int32 { return probe.ExecutorTid(e.Handle(), nil, st) })
	if !errors.Is(err, ErrInvalidArgument) || !errors.As(err, &ge) || ge.Message == "" {
		t.Fatalf("NULL out-pointer: %#v", err)
	}
	if err := ErrorFromCode(probe.ExecutorTid(e.Handle(), nil, nil)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NULL status: %#v", err)
	}
	if allocs := testing.AllocsPerRun(1000, func() {
		_ = CallStatus(func(st unsafe.Pointer) int32 { return probe.ExecutorTid(e.Handle(), &tid, st) })
	}); allocs != 0 {
		t.Errorf("CallStatus's success path allocates %.1f times per call", allocs)
	}
}
