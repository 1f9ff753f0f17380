package gobridge

import (
	"context"
	"runtime/cgo"
	"sync/atomic"
	"testing"
)

// The pool's job table: each reference resolves to its own job until released, a released
// index is reused, and the references never look like an executor's slot references or a
// plain handle.
func TestPoolJobsResolveUntilReleased(t *testing.T) {
	tab := newPoolJobs()
	if tab == nil {
		t.Fatal("newPoolJobs: nil (the table's handle does not fit)")
	}
	defer tab.delete()
	jobs := []*goJob{{call: "a"}, {call: "b"}, {call: "c"}}
	var refs []uintptr
	for _, j := range jobs {
		ref := tab.ref(j)
		if v := uintptr(ref); v&slotRefBit == 0 || v&poolRefBit == 0 {
			t.Fatalf("ref %#x: not tagged as a pool reference", v)
		}
		refs = append(refs, uintptr(ref))
	}
	for i, ref := range refs {
		if got := lookupCallbackJob(ref); got != jobs[i] {
			t.Fatalf("lookup of ref %d: %v, want job %q", i, got, jobs[i].call)
		}
	}
	tab.release(_Ctype_uintptr_t(refs[1]))
	if got := lookupCallbackJob(refs[1]); got != nil {
		t.Fatalf("released ref still resolves to %q", got.call)
	}
	d := &goJob{call: "d"}
	if again := uintptr(tab.ref(d)); again != refs[1] {
		t.Fatalf("the freed index was not reused: %#x, want %#x", again, refs[1])
	}
	if got := lookupCallbackJob(refs[1]); got != d {
		t.Fatal("the reused index does not resolve to its new job")
	}
	if got := lookupCallbackJob(refs[0]); got != jobs[0] {
		t.Fatal("another entry changed")
	}
}

// Past poolJobChunks*poolJobChunkLen running jobs, a Do gets a cgo.Handle of its own (and
// gives it back); a table whose own handle did not fit (nil) hands out handles only.
func TestPoolJobsFallBackToHandlesWhenFull(t *testing.T) {
	tab := newPoolJobs()
	defer tab.delete()
	const capacity = poolJobChunks * poolJobChunkLen
	refs := make([]_Ctype_uintptr_t, 0, capacity)
	for i := 0; i < capacity; i++ {
		refs = append(refs, tab.ref(&goJob{}))
	}
	j := &goJob{call: "overflow"}
	over := tab.ref(j)
	if uintptr(over)&slotRefBit != 0 {
		t.Fatalf("a full table handed out %#x, want a plain handle", uintptr(over))
	}
	if got := lookupCallbackJob(uintptr(over)); got != j {
		t.Fatal("the overflow handle does not resolve to its job")
	}
	tab.release(over)
	if _, ok := cgoHandleValue(uintptr(over)); ok {
		t.Fatal("release left the overflow handle alive")
	}
	for _, r := range refs {
		tab.release(r)
	}
	if len(tab.free) != capacity {
		t.Fatalf("%d indexes free after releasing all, want %d", len(tab.free), capacity)
	}

	var none *poolJobs
	h := none.ref(j)
	if got := lookupCallbackJob(uintptr(h)); got != j || uintptr(h)&slotRefBit != 0 {
		t.Fatal("a nil table must hand out plain handles")
	}
	none.release(h)
}

// cgoHandleValue is cgo.Handle.Value without its panic on a deleted handle.
func cgoHandleValue(v uintptr) (value any, ok bool) {
	defer func() { _ = recover() }()
	return cgo.Handle(v).Value(), true
}

// End to end: Pool.Do runs through the table, and still runs (on a handle of its own) while
// the table is full; every reference is given back once its completion was taken.
func TestPoolDoWithAFullJobTable(t *testing.T) {
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var ran atomic.Int32
	do := func() {
		if err := p.Do(context.Background(), func() { ran.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	do()
	tab := p.c.jobs
	p.c.mu.Lock()
	var fill []_Ctype_uintptr_t
	for tab.next < poolJobChunks*poolJobChunkLen || len(tab.free) > 0 {
		fill = append(fill, tab.ref(&goJob{}))
	}
	p.c.mu.Unlock()
	do()
	p.c.mu.Lock()
	for _, r := range fill {
		tab.release(r)
	}
	p.c.mu.Unlock()
	do()
	if ran.Load() != 3 {
		t.Fatalf("fn ran %d times, want 3", ran.Load())
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if int(tab.next) != len(tab.free) {
		t.Fatalf("%d indexes taken, %d given back: a Do kept its reference", tab.next, len(tab.free))
	}
}
