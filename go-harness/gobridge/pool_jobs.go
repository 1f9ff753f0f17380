package gobridge

// #include <stdint.h>
import "C"

import (
	"runtime/cgo"
	"sync/atomic"
)

// poolJobs is a pool's table of the Do jobs it has queued and not yet seen reported, so that
// the callback finds its job with one cgo.Handle lookup (of the table, made once per pool) and
// two atomic loads, instead of a cgo.Handle created and deleted per Do (a global counter, a
// sync.Map store and a delete: ~180 ns a call). Entries live in fixed chunks that never move,
// allocated on first use. Indexes are taken and given back under the pool's mutex
// (poolCore.mu), which submit and complete hold anyway: an index is taken before the job is
// submitted and given back once its completion was taken (the job has finished, or can never
// start). The table does not refer to its pool, so its handle does not keep a forgotten Pool
// from its finalizer.
type poolJobs struct {
	handle cgo.Handle
	chunks [poolJobChunks]atomic.Pointer[[poolJobChunkLen]atomic.Pointer[goJob]]
	free   []uint32 // indexes given back; under poolCore.mu
	next   uint32   // the first index never taken; under poolCore.mu
}

// A pool reference is tagged 11 in its top two bits (see slotRefBit), with the table's handle
// above the low poolJobIndexBits and the index in them. A table whose handle does not fit
// (poolHandleLimit: 2^46 on 64-bit platforms) is not made, and a Do past poolJobChunks *
// poolJobChunkLen running jobs gets a handle of its own, as every Do did before the table.
const (
	poolJobChunkLen  = 1024
	poolJobChunks    = 64
	poolJobIndexBits = 16 // poolJobChunks * poolJobChunkLen == 1 << poolJobIndexBits
	poolHandleLimit  = poolRefBit >> poolJobIndexBits
)

func newPoolJobs() *poolJobs {
	t := &poolJobs{}
	var ok bool
	if t.handle, ok = handleBelow(t, poolHandleLimit); !ok {
		return nil
	}
	return t
}

// delete drops the table's handle, once no callback can look a job up in it.
func (t *poolJobs) delete() {
	if t != nil {
		t.handle.Delete()
	}
}

// ref returns the value Rust passes back for j: an entry of the table, or a handle of j's own
// when the table is full (or was not made). Call with poolCore.mu held; release undoes it.
func (t *poolJobs) ref(j *goJob) C.uintptr_t {
	if t == nil {
		return C.uintptr_t(cgo.NewHandle(j))
	}
	var i uint32
	switch {
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
	case t.next < poolJobChunks*poolJobChunkLen:
		i = t.next
		t.next++
		if i%poolJobChunkLen == 0 {
			t.chunks[i/poolJobChunkLen].Store(new([poolJobChunkLen]atomic.Pointer[goJob]))
		}
	default:
		return C.uintptr_t(cgo.NewHandle(j))
	}
	t.chunks[i/poolJobChunkLen].Load()[i%poolJobChunkLen].Store(j)
	return C.uintptr_t(slotRefBit | poolRefBit | uintptr(t.handle)<<poolJobIndexBits | uintptr(i))
}

// release gives ref back, once its job has finished or can never start. Call with
// poolCore.mu held.
func (t *poolJobs) release(ref C.uintptr_t) {
	v := uintptr(ref)
	if v&slotRefBit == 0 {
		cgo.Handle(v).Delete()
		return
	}
	i := uint32(v & (1<<poolJobIndexBits - 1))
	t.chunks[i/poolJobChunkLen].Load()[i%poolJobChunkLen].Store(nil)
	t.free = append(t.free, i)
}

// lookupPoolJob resolves a pool reference for the callback; nil if its entry is empty. (A
// deleted table handle panics in Value; the callback recovers, as for any stale handle.)
func lookupPoolJob(v uintptr) *goJob {
	t, _ := cgo.Handle((v &^ (slotRefBit | poolRefBit)) >> poolJobIndexBits).Value().(*poolJobs)
	if t == nil {
		return nil
	}
	i := v & (1<<poolJobIndexBits - 1)
	chunk := t.chunks[i/poolJobChunkLen].Load()
	if chunk == nil {
		return nil
	}
	return chunk[i%poolJobChunkLen].Load()
}
