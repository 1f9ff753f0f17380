//go:build go1.24

package gobridge

import (
	"context"
	"testing"
)

// A preemptible callback allocates nothing more than a plain one: the signal mask it saves
// and restores around fn stays on its stack (cgo_noescape.go).
func TestPreemptibleCallbackAllocatesNoMoreThanAPlainOne(t *testing.T) {
	ctx := context.Background()
	allocs := func(e *Executor) float64 {
		return testing.AllocsPerRun(200, func() {
			if err := e.Do(ctx, func() {}); err != nil {
				t.Fatal(err)
			}
		})
	}
	plain := allocs(newExec(t, "gb-allocs"))
	preemptible := allocs(newExec(t, "gb-allocs-pre", WithPreemptibleCallbacks()))
	if preemptible > plain {
		t.Fatalf("Do allocates %.1f times per call with preemptible callbacks, %.1f without", preemptible, plain)
	}
}
