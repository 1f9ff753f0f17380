//go:build gobridge_external

package tally

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
)

func newTally(t *testing.T) *Tally {
	t.Helper()
	tl, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tl.Close() })
	return tl
}

// Words added from many goroutines all land in the one thread-affine state.
func TestAddAndCountFromManyGoroutines(t *testing.T) {
	tl := newTally(t)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := tl.Add([]byte("go rust go")); err != nil || n != 3 {
				t.Errorf("Add: %d, %v", n, err)
			}
		}()
	}
	wg.Wait()
	if n, err := tl.Count("go"); err != nil || n != 100 {
		t.Fatalf("Count(go) = %d, %v; want 100", n, err)
	}
	if n, err := tl.Count("absent"); err != nil || n != 0 {
		t.Fatalf("Count(absent) = %d, %v", n, err)
	}
	if n, err := tl.Add(nil); err != nil || n != 0 {
		t.Fatalf("Add(nil) = %d, %v", n, err)
	}
	tid, err := tl.ThreadID()
	if err != nil || tid == 0 || tid == os.Getpid() {
		t.Fatalf("ThreadID = %d, %v", tid, err)
	}
}

// Each documented failure comes back as gobridge's error, never a crash.
func TestDocumentedErrors(t *testing.T) {
	tl := newTally(t)
	_, err := tl.Add([]byte{0xff, 0xfe})
	var ge *gobridge.Error
	if !errors.Is(err, gobridge.ErrInvalidArgument) || !errors.As(err, &ge) || ge.Message == "" {
		t.Fatalf("Add(not UTF-8) = %v, want ErrInvalidArgument with a message", err)
	}
	if n, _ := tl.Count("\xff\xfe"); n != 0 {
		t.Fatal("the rejected text was added")
	}
	if err := addNullOut(tl, []byte("x")); !errors.Is(err, gobridge.ErrInvalidArgument) {
		t.Fatalf("NULL out-pointer: %v", err)
	}
	if n, _ := tl.Count("x"); n != 0 {
		t.Fatal("a call refused for its NULL out-pointer still added the word")
	}
	if _, code := countNullStatus(tl, "x"); code != 0 {
		t.Fatalf("NULL status on success: code %d", code)
	}
	if err := panicForTest(); !errors.Is(err, gobridge.ErrPanicked) || !errors.As(err, &ge) || ge.Message == "" {
		t.Fatalf("panic: %v, want ErrPanicked with the panic message", err)
	}
	stale := &Tally{h: tl.h}
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := stale.Add([]byte("x")); !errors.Is(err, gobridge.ErrStaleHandle) {
		t.Fatalf("Add after Close: %v", err)
	}
	if err := stale.Close(); !errors.Is(err, gobridge.ErrStaleHandle) {
		t.Fatalf("second Close: %v", err)
	}
	if _, code := countNullStatus(stale, "x"); gobridge.ErrorFromCode(code) == nil || !errors.Is(gobridge.ErrorFromCode(code), gobridge.ErrStaleHandle) {
		t.Fatalf("NULL status on a stale handle: code %d", code)
	}
}

// The author's function runs on the executor Go created, by its handle; a closed executor's
// handle is stale.
func TestHashOnGoCreatedExecutor(t *testing.T) {
	e, err := gobridge.NewExecutor("tally-hash")
	if err != nil {
		t.Fatal(err)
	}
	h, tid, err := HashOn(e, []byte("gobridge"))
	if err != nil {
		t.Fatal(err)
	}
	if tid != e.ThreadID() {
		t.Fatalf("ran on thread %d, the executor is %d", tid, e.ThreadID())
	}
	if want := fnv1a([]byte("gobridge")); h != want {
		t.Fatalf("hash %#x, want %#x", h, want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := HashOn(e, []byte("x")); !errors.Is(err, gobridge.ErrStaleHandle) {
		t.Fatalf("HashOn a closed executor: %v", err)
	}
}

func fnv1a(p []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, b := range p {
		h = (h ^ uint64(b)) * 0x100000001b3
	}
	return h
}

// A long native job stops early when its ctx is cancelled, and the caller gets ctx.Err().
func TestCrunchHonoursCancellation(t *testing.T) {
	e, err := gobridge.NewExecutor("tally-crunch")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	before := CrunchRounds()
	if err := Crunch(context.Background(), e, 3); err != nil {
		t.Fatal(err)
	}
	if got := CrunchRounds() - before; got != 3 {
		t.Fatalf("3-round crunch did %d rounds", got)
	}
	const rounds = 600_000 // a minute of work
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	before = CrunchRounds()
	if err := Crunch(ctx, e, rounds); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled crunch: %v", err)
	}
	done := CrunchRounds() - before
	if done >= rounds {
		t.Fatalf("the cancelled crunch ran all %d rounds", done)
	}
	t.Logf("cancelled after %d of %d rounds", done, rounds)
}

// The view function under GOEXPERIMENT=cgocheck2 (make author-example runs it so): Go memory
// lent for one call, a nil slice, and a slice of a larger array.
func TestViewsUnderCgocheck(t *testing.T) {
	tl := newTally(t)
	big := make([]byte, 1<<16)
	for i := range big {
		big[i] = 'a' + byte(i%26)
		if i%7 == 6 {
			big[i] = ' '
		}
	}
	if _, err := tl.Add(big[100:5000]); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Add(big[:0]); err != nil {
		t.Fatal(err)
	}
}

// gobridge links no archive of its own here (the Makefile also counts one copy of
// gobridge_abi_version in the test binary), and the headers beside this package are the
// generated ones.
func TestLinkModeAndHeaders(t *testing.T) {
	if gobridge.LinkMode != "external" {
		t.Fatalf("gobridge.LinkMode = %q, want external", gobridge.LinkMode)
	}
	for copy, source := range map[string]string{
		"tally.h":    filepath.Join("..", "include", "tally.h"),
		"gobridge.h": filepath.Join("..", "..", "go-harness", "gobridge", "gobridge.h"),
	} {
		a, err := os.ReadFile(copy)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs from %s: run `make header`", copy, source)
		}
	}
}

// CallStatus's cost over a bare cgo call of the same author function (tally_fnv of 8 bytes on
// the caller's thread), side by side: make bench reports the ratio (target <= 1.15x).
func BenchmarkCallStatus(b *testing.B) {
	w := []byte("gobridge")
	var n uint64
	b.Run("bare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if bareFnv(w, &n) != 0 {
				b.Fatal("failed")
			}
		}
	})
	b.Run("CallStatus", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := fnvWithStatus(w, &n); err != nil {
				b.Fatal(err)
			}
		}
	})
	if n != fnv1a(w) {
		b.Fatalf("hash %#x", n)
	}
}
