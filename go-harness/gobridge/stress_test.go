package gobridge

// The stress suite (issue 10, "Also"): every TestStress* runs at a bounded size in `make test`
// and at full size with GOBRIDGE_STRESS=full (`make stress`). Process-global signal work runs in
// child processes (stress_signals_test.go); the rest runs here. No assertion depends on timing:
// timeouts are hang guards only.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

// stressFull: GOBRIDGE_STRESS=full selects the full sizes (`make stress`). Child processes
// inherit the environment, so they see the same choice.
var stressFull = os.Getenv("GOBRIDGE_STRESS") == "full"

// stressSize returns full under GOBRIDGE_STRESS=full, else bounded.
func stressSize(bounded, full int) int {
	if stressFull {
		return full
	}
	return bounded
}

// stressGoroutines caps a goroutine count under the race detector (8,128 live goroutines at
// most, and the test's own goroutines count too).
func stressGoroutines(n int) int {
	if raceEnabled && n > 2000 {
		return 2000
	}
	return n
}

func stressMode() string {
	if stressFull {
		return "full"
	}
	return "bounded"
}

// stressHangGuard is how long a stress case may take before it counts as hung: generous, a
// hang guard and never a timed assertion.
func stressHangGuard() time.Duration {
	if stressFull {
		return 25 * time.Minute
	}
	return 3 * time.Minute
}

// stressWithin runs f and fails the test if it has not returned after d.
func stressWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s hung (still running after %v); goroutines:\n%s", what, d, buf)
	}
}

// stressErrs collects the failures of many goroutines, keeping the first few messages.
type stressErrs struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (e *stressErrs) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 10 {
		e.first = append(e.first, fmt.Sprintf(format, args...))
	}
}

func (e *stressErrs) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		return nil
	}
	return fmt.Errorf("%d failures, first %d:\n  %s", e.n, len(e.first), joinLines(e.first))
}

func (e *stressErrs) report(t *testing.T) {
	t.Helper()
	if err := e.err(); err != nil {
		t.Error(err)
	}
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

// waitGoroutinesBelow waits (a hang guard, not a timed assertion) until runtime.NumGoroutine
// is at most limit, and returns the last count seen.
func waitGoroutinesBelow(limit int, guard time.Duration) int {
	deadline := time.Now().Add(guard)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------
// 2. Pool: contexts cancelled at random moments.

// stressPoolJob is one Do's fn and what became of it.
type stressPoolJob struct {
	runs     atomic.Int32
	started  atomic.Bool
	finished atomic.Bool // set at fn's end (in a defer, so a panicking fn sets it too)
	panics   bool
}

func (j *stressPoolJob) fn(work func()) func() {
	return func() {
		j.runs.Add(1)
		j.started.Store(true)
		defer j.finished.Store(true)
		work()
		if j.panics {
			panic("stress: planned panic")
		}
	}
}

// stressHoldThreads makes n blockers hold the n threads of a fresh pool until release is
// closed, and returns once every one runs. They are submitted one at a time, each once the one
// before runs: the pool places a job on a thread when it is submitted (the least loaded one,
// read without a reservation), so blockers submitted at once can land on one thread and the
// later ones wait behind the first while another thread idles.
func stressHoldThreads(p *Pool, n int, release <-chan struct{}, errs *stressErrs) *sync.WaitGroup {
	var wg sync.WaitGroup
	in := make(chan int, n)
	seen := map[int]bool{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Do(context.Background(), func() { in <- ThreadID(); <-release }); err != nil {
				errs.add("blocker Do: %v", err)
			}
		}()
		tid := <-in
		if seen[tid] {
			errs.add("two blockers on pool thread %d", tid)
		}
		seen[tid] = true
	}
	return &wg
}

// stressGoroutinesAfterPoolCancel counts the goroutines parked in a Pool.Do that has passed
// ctx's cancellation to Rust and now waits for the job's completion: the plain channel receive
// after gb_pool_cancel in poolCore.wait ("chan receive"; the wait before it is a select).
func stressGoroutinesAfterPoolCancel() int {
	buf := make([]byte, 4<<20)
	for {
		k := runtime.Stack(buf, true)
		if k < len(buf) {
			buf = buf[:k]
			break
		}
		buf = make([]byte, 2*len(buf)) // every goroutine must be in the dump
	}
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if strings.Contains(head, "[chan receive") && strings.Contains(g, "gobridge.(*poolCore).wait(") {
			n++
		}
	}
	return n
}

// stressSpin burns a little CPU without touching shared memory.
func stressSpin(n int) {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 42 {
		runtime.Gosched()
	}
}

// poolOutcome checks one Do's return against its fn's flags. closing says the pool may be
// closed (ErrShutdown is then a valid answer, for a fn that never started). It returns a
// description of a broken promise, "" if none, and whether fn is known never to run (it must
// not start later either).
func poolOutcome(err error, ctx context.Context, j *stressPoolJob, closing bool) (broken string, neverRuns bool) {
	runs, started, finished := j.runs.Load(), j.started.Load(), j.finished.Load()
	if runs > 1 {
		return fmt.Sprintf("fn ran %d times", runs), false
	}
	switch {
	case err == nil:
		if j.panics {
			return "a panicking fn's Do returned nil", false
		}
		if !finished {
			return fmt.Sprintf("Do returned nil but fn has not finished (started %v)", started), false
		}
	case errors.Is(err, ErrPanicked):
		if !j.panics || !finished {
			return fmt.Sprintf("ErrPanicked, but fn panics=%v finished=%v", j.panics, finished), false
		}
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		if started && !finished {
			return "Do returned ctx.Err() while fn still runs", false
		}
		if j.panics && finished {
			// A started job that panicked is reported as its panic ("or the job's panic").
			return "a panicking fn ran to its end but Do returned ctx.Err(), not the panic", false
		}
		return "", !started
	case closing && errors.Is(err, ErrShutdown):
		if started {
			return fmt.Sprintf("ErrShutdown (never ran) but fn started (finished %v)", finished), false
		}
		return "", true
	default:
		return fmt.Sprintf("unexpected error %v (ctx.Err %v, closing %v)", err, ctx.Err(), closing), false
	}
	return "", false
}

// stressPoolOps runs ops random Do/Sleep calls on p with contexts cancelled at random moments:
// before the call, concurrently after a random number of yields, from a timer after a random
// few microseconds, from inside fn while it runs, or never (cancellable and Background ctx).
// Jobs that are known never to run are appended to never. closing (set just before Close is
// called) makes ErrShutdown a valid answer; closed (set once Close has returned) means nothing
// may run any more.
func stressPoolOps(p *Pool, rng *rand.Rand, ops int, closing *atomic.Bool, closed *atomic.Bool, errs *stressErrs,
	never *[]*stressPoolJob, counts *stressPoolCounts) {
	for i := 0; i < ops; i++ {
		closedBefore := closed != nil && closed.Load()
		ctx, cancel := context.WithCancel(context.Background())
		mode := rng.IntN(6)
		var extra sync.WaitGroup
		switch mode {
		case 1: // before the call
			cancel()
		case 2: // concurrently, after a random number of yields
			n := rng.IntN(64)
			extra.Add(1)
			go func() {
				defer extra.Done()
				for k := 0; k < n; k++ {
					runtime.Gosched()
				}
				cancel()
			}()
		case 3: // from a timer, a few microseconds on
			tm := time.AfterFunc(time.Duration(rng.IntN(300))*time.Microsecond, cancel)
			defer tm.Stop() // ops is small (the loop's defers are few)
		}
		runCtx := ctx
		if mode == 5 {
			runCtx = context.Background()
		}
		isClosing := closing != nil && closing.Load()
		if rng.IntN(4) == 0 { // Sleep
			d := time.Duration(rng.IntN(200)) * time.Microsecond
			start := time.Now()
			err := p.Sleep(runCtx, d)
			elapsed := time.Since(start)
			isClosing = isClosing || (closing != nil && closing.Load())
			switch {
			case err == nil:
				counts.sleepOK.Add(1)
				if elapsed < d {
					errs.add("Sleep(%v) returned nil after only %v", d, elapsed)
				}
				if closedBefore {
					errs.add("Sleep after Close returned nil")
				}
			case runCtx.Err() != nil && errors.Is(err, runCtx.Err()):
				counts.sleepCancelled.Add(1)
			case isClosing && errors.Is(err, ErrShutdown):
				counts.shutdown.Add(1)
			default:
				errs.add("Sleep: unexpected error %v (ctx.Err %v, closing %v)", err, runCtx.Err(), isClosing)
			}
		} else {
			j := &stressPoolJob{panics: rng.IntN(40) == 0}
			spin := rng.IntN(20000)
			sleep := time.Duration(rng.IntN(100)) * time.Microsecond
			kind := rng.IntN(4)
			work := func() {
				switch kind {
				case 0:
				case 1:
					stressSpin(spin)
				case 2:
					time.Sleep(sleep)
				case 3:
					runtime.Gosched()
					stressSpin(spin / 4)
				}
				if mode == 4 { // cancelled while running: Do must wait for the rest of fn
					cancel()
					stressSpin(spin)
					time.Sleep(sleep)
				}
			}
			err := p.Do(runCtx, j.fn(work))
			isClosing = isClosing || (closing != nil && closing.Load())
			broken, neverRuns := poolOutcome(err, runCtx, j, isClosing)
			if broken != "" {
				errs.add("Do (cancel mode %d): %s", mode, broken)
			}
			if closedBefore && (err == nil || errors.Is(err, ErrPanicked)) {
				errs.add("Do after Close returned %v: fn ran", err)
			}
			switch {
			case err == nil:
				counts.doOK.Add(1)
			case errors.Is(err, ErrPanicked):
				counts.doPanicked.Add(1)
			case errors.Is(err, ErrShutdown):
				counts.shutdown.Add(1)
			default:
				counts.doCancelled.Add(1)
				if j.started.Load() {
					counts.doCancelledRan.Add(1)
				}
			}
			if neverRuns {
				*never = append(*never, j)
			}
		}
		cancel()
		extra.Wait()
	}
}

type stressPoolCounts struct {
	doOK, doPanicked, doCancelled, doCancelledRan, sleepOK, sleepCancelled, shutdown, queuedCancelled atomic.Int64
}

func TestStressPoolContextRaces(t *testing.T) {
	baseline := runtime.NumGoroutine()
	goroutines := stressGoroutines(stressSize(64, 1000))
	opsEach := stressSize(50, 200)
	queued := stressSize(200, 2000)
	rounds := stressSize(3, 4)
	var counts stressPoolCounts
	var errs stressErrs
	var neverMu sync.Mutex
	var never []*stressPoolJob
	start := time.Now()

	stressWithin(t, stressHangGuard(), "pool ctx races", func() {
		for round := 0; round < rounds; round++ {
			// (a) random cancellations on a 3-thread pool, then Close with nothing in flight.
			p, err := NewPool(3)
			if err != nil {
				t.Error(err)
				return
			}
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(seed uint64) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(round)))
					var mine []*stressPoolJob
					stressPoolOps(p, rng, opsEach, nil, nil, &errs, &mine, &counts)
					neverMu.Lock()
					never = append(never, mine...)
					neverMu.Unlock()
				}(uint64(g))
			}
			wg.Wait()

			// (b) cancelled while queued, on a fresh pool: every thread held by a blocker, jobs queued behind
			// them (the pool has accepted all of them), then every ctx cancelled: each returns
			// context.Canceled and its fn never runs, even once the threads are free.
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			p, err = NewPool(3)
			if err != nil {
				t.Error(err)
				return
			}
			release := make(chan struct{})
			blockers := stressHoldThreads(p, 3, release, &errs)
			ctx, cancel := context.WithCancel(context.Background())
			jobs := make([]*stressPoolJob, queued)
			queuedDo := queued - queued/4
			var qReturned atomic.Int64
			var qwg sync.WaitGroup
			for q := range jobs {
				jobs[q] = &stressPoolJob{}
				qwg.Add(1)
				go func(j *stressPoolJob, sleep bool) {
					defer qwg.Done()
					var err error
					if sleep {
						err = p.Sleep(ctx, time.Millisecond)
					} else {
						err = p.Do(ctx, j.fn(func() {}))
					}
					if !errors.Is(err, context.Canceled) {
						errs.add("queued job (sleep %v): %v, want context.Canceled", sleep, err)
					}
					if j.started.Load() {
						errs.add("queued job cancelled while every pool thread was held ran")
					}
					counts.queuedCancelled.Add(1)
					if !sleep {
						qReturned.Add(1)
					}
				}(jobs[q], q%4 == 3)
			}
			for p.pendingJobs() < 3+queued {
				runtime.Gosched() // wait until every job is queued (no timing: a count)
			}
			cancel()
			// Release the threads only once every queued Do has passed its cancel to Rust
			// (a ctx's cancellation reaches the pool asynchronously): each has returned, or
			// waits for its job's completion, which a pool thread posts when it reaches the
			// job (TestStressPoolCancelledQueuedDoReturns is about that wait).
			for queuedDo-int(qReturned.Load()) > stressGoroutinesAfterPoolCancel() {
				time.Sleep(time.Millisecond)
			}
			close(release)
			qwg.Wait()
			blockers.Wait()
			neverMu.Lock()
			never = append(never, jobs...)
			neverMu.Unlock()
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}

			// (c) Close racing in-flight Do and Sleep: each op returns nil/ctx.Err()/panic with
			// consistent flags, or ErrShutdown for a fn that never starts; after Close returned,
			// nothing runs.
			p2, err := NewPool(2)
			if err != nil {
				t.Error(err)
				return
			}
			var closing, closed atomic.Bool
			var done atomic.Int64
			var cwg sync.WaitGroup
			racers := max(8, goroutines/4)
			for g := 0; g < racers; g++ {
				cwg.Add(1)
				go func(seed uint64) {
					defer cwg.Done()
					rng := rand.New(rand.NewPCG(seed, 1000+uint64(round)))
					var mine []*stressPoolJob
					for !closed.Load() {
						stressPoolOps(p2, rng, 1, &closing, &closed, &errs, &mine, &counts)
						done.Add(1)
					}
					stressPoolOps(p2, rng, 4, &closing, &closed, &errs, &mine, &counts) // after Close
					neverMu.Lock()
					never = append(never, mine...)
					neverMu.Unlock()
				}(uint64(g))
			}
			for done.Load() < int64(racers*4) {
				runtime.Gosched()
			}
			closing.Store(true)
			if err := p2.Close(); err != nil {
				t.Errorf("Close with ops in flight: %v", err)
			}
			closed.Store(true)
			cwg.Wait()
			if err := p2.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}
	})
	// A fn that was withdrawn, or shut down before it started, must never run afterwards.
	neverMu.Lock()
	late := 0
	for _, j := range never {
		if j.started.Load() {
			late++
		}
	}
	neverMu.Unlock()
	if late > 0 {
		t.Errorf("%d fns ran after their Do reported they never would", late)
	}
	errs.report(t)
	n := waitGoroutinesBelow(baseline+3, 30*time.Second)
	if n > baseline+3 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines: %d after Close, baseline %d: leak\n%s", n, baseline, buf)
	}
	t.Logf("%s: %d rounds; Do nil %d, panicked %d, ctx.Err %d (of which fn had run %d); Sleep nil %d, ctx.Err %d; cancelled while queued %d; ErrShutdown %d; %d fns known never to run; goroutines %d (baseline %d); %v",
		stressMode(), rounds, counts.doOK.Load(), counts.doPanicked.Load(), counts.doCancelled.Load(), counts.doCancelledRan.Load(),
		counts.sleepOK.Load(), counts.sleepCancelled.Load(), counts.queuedCancelled.Load(), counts.shutdown.Load(), len(never), n, baseline, time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------------------------
// 3. Buffer.Free of the same buffers from many goroutines.

func TestStressBufferConcurrentFree(t *testing.T) {
	rounds := stressSize(20, 400)
	perRound := stressSize(200, 2000)
	freers := 8
	sizes := []int{0, 1, 63, 64, 4096}
	var freed, stale, fresh atomic.Int64
	var errs stressErrs
	start := time.Now()
	stressWithin(t, stressHangGuard(), "concurrent Buffer.Free", func() {
		for round := 0; round < rounds; round++ {
			bufs := make([]*Buffer, perRound)
			for i := range bufs {
				b, err := NewBuffer(sizes[i%len(sizes)])
				if err != nil {
					t.Error(err)
					return
				}
				if bb := b.Bytes(); len(bb) > 0 {
					bb[0] = 0xAB
				}
				bufs[i] = b
			}
			wins := make([]atomic.Int32, perRound)
			var wg sync.WaitGroup
			stopFresh := make(chan struct{})
			var fwg sync.WaitGroup
			// Beside the freers, fresh buffers are allocated (reusing the freed slots) and must
			// survive: a stale Free of an old handle must never free a new buffer.
			fwg.Add(1)
			go func(seed uint64) {
				defer fwg.Done()
				rng := rand.New(rand.NewPCG(seed, 7))
				for {
					select {
					case <-stopFresh:
						return
					default:
					}
					n := 1 + rng.IntN(256)
					b, err := NewBuffer(n)
					if err != nil {
						errs.add("NewBuffer: %v", err)
						return
					}
					pat := byte(b.Handle()) | 1
					bb := b.Bytes()
					for k := range bb {
						bb[k] = pat
					}
					runtime.Gosched()
					for k, v := range b.Bytes() {
						if v != pat {
							errs.add("fresh buffer %#x byte %d is %#x, want %#x: freed by a stale Free?", b.Handle(), k, v, pat)
							break
						}
					}
					if err := b.Free(); err != nil {
						errs.add("Free of a fresh buffer: %v (a stale Free freed it?)", err)
					}
					fresh.Add(1)
				}
			}(uint64(round))
			// Odd freers free through a Buffer of their own with the same handle (as a program
			// holding two *Buffer for one allocation would), so the frees of one handle also
			// race inside Rust, not only behind Buffer's mutex.
			views := make([][]*Buffer, freers)
			for f := range views {
				views[f] = bufs
				if f%2 == 1 {
					views[f] = make([]*Buffer, perRound)
					for i, b := range bufs {
						views[f][i] = &Buffer{handle: b.handle, ptr: b.ptr, n: b.n}
					}
				}
			}
			for f := 0; f < freers; f++ {
				mine := views[f]
				wg.Add(1)
				go func(seed uint64, mine []*Buffer) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(round)))
					order := rng.Perm(perRound)
					for _, i := range order {
						b := mine[i]
						if rng.IntN(3) == 0 && seed%2 == 0 {
							if bb := b.Bytes(); bb != nil && len(bb) != b.Len() {
								errs.add("Bytes has length %d, want %d", len(bb), b.Len())
							}
						}
						err := b.Free()
						switch {
						case err == nil:
							wins[i].Add(1)
							freed.Add(1)
						case errors.Is(err, ErrStaleHandle):
							stale.Add(1)
						default:
							errs.add("Free: %v, want nil or ErrStaleHandle", err)
						}
					}
				}(uint64(f), mine)
			}
			wg.Wait()
			close(stopFresh)
			fwg.Wait()
			for i, b := range bufs {
				if w := wins[i].Load(); w != 1 {
					errs.add("buffer %d (%#x, %d B): %d successful Frees, want exactly 1", i, b.Handle(), b.Len(), w)
				}
				if b.Bytes() != nil {
					errs.add("Bytes after Free is not nil")
				}
			}
		}
	})
	errs.report(t)
	t.Logf("%s: %d buffers x %d concurrent Frees (half through a second Buffer of the same handle): %d succeeded, %d ErrStaleHandle; %d fresh buffers allocated, checked and freed beside them; %v",
		stressMode(), rounds*perRound, freers, freed.Load(), stale.Load(), fresh.Load(), time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------------------------
// 4. ThreadBound.Close racing Check.

func TestStressThreadBoundCloseVersusCheck(t *testing.T) {
	rounds := stressSize(300, 5000)
	checkers, closers := 6, 4
	var nilChecks, wrong, staleChecks, closeWins, closeStale atomic.Int64
	var errs stressErrs
	start := time.Now()
	stressWithin(t, stressHangGuard(), "ThreadBound Close vs Check", func() {
		// The owner goroutine is locked to its thread for the whole test: it creates each
		// round's ThreadBound, checks it from the owner thread, and after the close creates the
		// next one (reusing the slot) and checks that the old handle stays stale.
		type roundState struct {
			tb     *ThreadBound
			closed atomic.Bool // a Close has returned nil
		}
		next := make(chan *roundState)
		ownerDone := make(chan struct{})
		roundOver := make(chan struct{})
		go func() {
			defer close(ownerDone)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var prev *ThreadBound
			for round := 0; round < rounds; round++ {
				tb, err := NewThreadBound()
				if err != nil {
					errs.add("NewThreadBound: %v", err)
					close(next)
					return
				}
				if tb.OwnerThreadID() != ThreadID() {
					errs.add("owner %d, running on %d", tb.OwnerThreadID(), ThreadID())
				}
				if prev != nil {
					// The previous round's object is gone; its handle must stay stale even
					// with a new object on the same thread (possibly in the same slot).
					if err := prev.Check(); !errors.Is(err, ErrStaleHandle) {
						errs.add("Check of a closed ThreadBound on its owner thread after a new one was made: %v, want ErrStaleHandle", err)
					}
					if err := prev.Close(); !errors.Is(err, ErrStaleHandle) {
						errs.add("Close of a closed ThreadBound after a new one was made: %v, want ErrStaleHandle", err)
					}
				}
				rs := &roundState{tb: tb}
				next <- rs
				// Check from the owner until the object is gone.
				for {
					closedBefore := rs.closed.Load()
					cur, err := tb.check()
					switch {
					case err == nil:
						nilChecks.Add(1)
						if closedBefore {
							errs.add("owner Check after Close returned nil")
						}
						if cur != tb.OwnerThreadID() {
							errs.add("owner Check nil on thread %d, owner %d", cur, tb.OwnerThreadID())
						}
						continue
					case errors.Is(err, ErrStaleHandle):
						staleChecks.Add(1)
					default:
						errs.add("owner Check: %v, want nil or ErrStaleHandle", err)
					}
					break
				}
				<-roundOver
				prev = tb
			}
			close(next)
		}()
		for rs := range next {
			tb := rs.tb
			var wg sync.WaitGroup
			var checksDone atomic.Int64
			for c := 0; c < checkers; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						closedBefore := rs.closed.Load()
						cur, err := tb.check()
						checksDone.Add(1)
						var wt *WrongThreadError
						switch {
						case err == nil:
							nilChecks.Add(1)
							errs.add("Check from an unlocked goroutine returned nil (thread %d, owner %d locked elsewhere)", cur, tb.OwnerThreadID())
						case errors.As(err, &wt) && errors.Is(err, ErrWrongThread):
							wrong.Add(1)
							if wt.Current == wt.Owner || wt.Owner != tb.OwnerThreadID() {
								errs.add("ErrWrongThread with owner %d current %d", wt.Owner, wt.Current)
							}
							if closedBefore {
								errs.add("Check after Close returned ErrWrongThread, want ErrStaleHandle")
							}
							runtime.Gosched()
							continue
						case errors.Is(err, ErrStaleHandle):
							staleChecks.Add(1)
							return
						default:
							errs.add("Check: %v, want nil, ErrWrongThread or ErrStaleHandle", err)
							return
						}
					}
				}()
			}
			for c := 0; c < closers; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for checksDone.Load() < int64(checkers) { // the checkers are under way
						runtime.Gosched()
					}
					err := tb.Close()
					switch {
					case err == nil:
						closeWins.Add(1)
						rs.closed.Store(true)
					case errors.Is(err, ErrStaleHandle):
						closeStale.Add(1)
					default:
						errs.add("Close: %v, want nil or ErrStaleHandle", err)
					}
				}()
			}
			wg.Wait()
			if !rs.closed.Load() {
				errs.add("no Close returned nil")
			}
			roundOver <- struct{}{}
		}
		<-ownerDone
	})
	errs.report(t)
	if w, want := closeWins.Load(), int64(rounds); w != want {
		t.Errorf("%d Closes succeeded over %d objects, want exactly one each", w, want)
	}
	t.Logf("%s: %d ThreadBounds, %d checkers + the owner racing %d closers: Check nil %d, ErrWrongThread %d, ErrStaleHandle %d; Close nil %d, ErrStaleHandle %d; %v",
		stressMode(), rounds, checkers, closers, nilChecks.Load(), wrong.Load(), staleChecks.Load(), closeWins.Load(), closeStale.Load(), time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------------------------
// 6. Every API after Close, from many goroutines at once.

func TestStressEveryAPIAfterClose(t *testing.T) {
	goroutines := stressGoroutines(stressSize(16, 200))
	calls := stressSize(50, 1000)
	var errs stressErrs
	var checked atomic.Int64
	start := time.Now()

	e, err := NewExecutor("gb-stress-closed")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Do(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	handle, tid, name := e.Handle(), e.ThreadID(), e.Name()
	firstClose := e.Close()
	if firstClose != nil {
		t.Fatalf("Executor.Close: %v", firstClose)
	}

	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Do(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Pool.Close: %v", err)
	}

	sp, err := NotifySignals(syscall.SIGWINCH)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("SignalPipe.Close: %v", err)
	}
	spDropped := sp.Dropped()

	b, err := NewBuffer(64)
	if err != nil {
		t.Fatal(err)
	}
	bHandle, bLen := b.Handle(), b.Len()
	if err := b.Free(); err != nil {
		t.Fatalf("Buffer.Free: %v", err)
	}

	tbCh := make(chan *ThreadBound)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tb, err := NewThreadBound()
		if err != nil {
			t.Error(err)
			tbCh <- nil
			return
		}
		if err := tb.Close(); err != nil {
			t.Errorf("ThreadBound.Close: %v", err)
		}
		// On the owner thread too, a closed ThreadBound is stale.
		if err := tb.Check(); !errors.Is(err, ErrStaleHandle) {
			t.Errorf("ThreadBound.Check on its owner thread after Close: %v, want ErrStaleHandle", err)
		}
		tbCh <- tb
	}()
	tb := <-tbCh
	if tb == nil {
		t.FailNow()
	}
	tbOwner := tb.OwnerThreadID()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cancellable, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	want := func(what string, err, target error) {
		checked.Add(1)
		if !errors.Is(err, target) {
			errs.add("%s: %v, want %v", what, err, target)
		}
	}
	stressWithin(t, 60*time.Second, "APIs after Close", func() {
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < calls; i++ {
					ran := false
					// Executor: Do and Ping are ErrShutdown whatever the ctx; Close returns the
					// first call's result; Handle, ThreadID and Name are unchanged; the handle
					// is stale on the Rust side.
					for _, ctx := range []context.Context{context.Background(), cancellable, cancelled} {
						want("Executor.Do after Close", e.Do(ctx, func() { ran = true }), ErrShutdown)
						want("Executor.Ping after Close", e.Ping(ctx), ErrShutdown)
					}
					if err := e.Close(); err != firstClose {
						errs.add("Executor.Close again: %v, want the first call's %v", err, firstClose)
					}
					if e.Handle() != handle || e.Handle() == 0 || e.ThreadID() != tid || tid == 0 || e.Name() != name {
						errs.add("Executor after Close: handle %#x tid %d name %q, before %#x %d %q", e.Handle(), e.ThreadID(), e.Name(), handle, tid, name)
					}
					var out int32
					want("the Rust side of a closed executor's handle", CallStatus(func(st unsafe.Pointer) int32 {
						return probe.ExecutorTid(e.Handle(), &out, st)
					}), ErrStaleHandle)
					// Pool: Do and Sleep are ErrShutdown (a ctx done before the call may win:
					// ctx.Err() is checked first); Close is idempotent (nil).
					want("Pool.Do after Close", p.Do(cancellable, func() { ran = true }), ErrShutdown)
					want("Pool.Do(Background) after Close", p.Do(context.Background(), func() { ran = true }), ErrShutdown)
					want("Pool.Sleep after Close", p.Sleep(cancellable, time.Millisecond), ErrShutdown)
					if err := p.Do(cancelled, func() { ran = true }); !errors.Is(err, ErrShutdown) && !errors.Is(err, context.Canceled) {
						errs.add("Pool.Do with a done ctx after Close: %v", err)
					}
					if err := p.Close(); err != nil {
						errs.add("Pool.Close again: %v, want nil (idempotent)", err)
					}
					if p.Threads() != 2 {
						errs.add("Pool.Threads after Close: %d", p.Threads())
					}
					// SignalPipe: Close again returns the first call's result (nil); C() is
					// closed; Dropped is unchanged.
					if err := sp.Close(); err != nil {
						errs.add("SignalPipe.Close again: %v, want nil", err)
					}
					select {
					case s, ok := <-sp.C():
						if ok {
							errs.add("SignalPipe.C() after Close delivered %v", s)
						}
					default:
						errs.add("SignalPipe.C() is not closed after Close")
					}
					if sp.Dropped() != spDropped {
						errs.add("SignalPipe.Dropped changed after Close")
					}
					// Buffer: Free again is ErrStaleHandle; Bytes is nil; Handle and Len kept.
					want("Buffer.Free again", b.Free(), ErrStaleHandle)
					if b.Bytes() != nil {
						errs.add("Buffer.Bytes after Free is not nil")
					}
					if b.Handle() != bHandle || b.Len() != bLen {
						errs.add("Buffer after Free: handle %#x len %d, before %#x %d", b.Handle(), b.Len(), bHandle, bLen)
					}
					// ThreadBound: Check and Close are ErrStaleHandle, from any thread.
					want("ThreadBound.Check after Close", tb.Check(), ErrStaleHandle)
					want("ThreadBound.Close again", tb.Close(), ErrStaleHandle)
					if tb.OwnerThreadID() != tbOwner {
						errs.add("ThreadBound.OwnerThreadID changed after Close")
					}
					if ran {
						errs.add("a fn ran after its executor or pool was closed")
					}
				}
			}()
		}
		wg.Wait()
	})
	errs.report(t)
	t.Logf("%s: %d goroutines x %d rounds of every API after Close: %d errors.Is checks; %v",
		stressMode(), goroutines, calls, checked.Load(), time.Since(start).Round(time.Millisecond))
}
