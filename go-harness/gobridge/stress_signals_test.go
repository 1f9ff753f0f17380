package gobridge

// The process-global stress cases: signal handlers installed and closed under a signal storm,
// and os/exec children with handlers installed. Each runs in a child process (child_test.go).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func init() {
	childCases["stress-signal-cycles"] = childStressSignalCycles
	childCases["stress-exec"] = childStressExec
}

// runStressChild runs a child case under the stress hang guard and fails the test unless it
// reported success.
func runStressChild(t *testing.T, name string) string {
	t.Helper()
	start := time.Now()
	out, err := runChildTimeout(t, name, stressHangGuard())
	if err != nil || !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("child %s failed (%v) after %v:\n%s", name, err, time.Since(start).Round(time.Millisecond), out)
	}
	return out
}

// stressTids lists the process's threads (/proc/self/task).
func stressTids() []int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, n)
		}
	}
	return tids
}

// stressSameDisposition checks that sig's disposition is the one recorded before gobridge
// touched it (no gobridge handler, same owner, handler, flags and mask).
func stressSameDisposition(sig syscall.Signal, before HandlerReport) error {
	now, err := reportFor(sig)
	if err != nil {
		return err
	}
	if now.Ours || now.Replaced || now.Owner != before.Owner || now.Handler != before.Handler ||
		now.Flags != before.Flags || now.Mask != before.Mask {
		return fmt.Errorf("%v not restored: now %+v, before %+v", sig, now, before)
	}
	return nil
}

// stressAwaitSignal sends sig to the process once and waits (a hang guard of 30 s, not a timed
// assertion) until p has taken one more signal than before (delivered on C() or counted as
// dropped). sent counts the attempt.
func stressAwaitSignal(p *SignalPipe, got *atomic.Int64, sig syscall.Signal, sent *atomic.Int64) error {
	before := got.Load() + int64(p.Dropped())
	sent.Add(1)
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		return fmt.Errorf("kill %v: %v", sig, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load()+int64(p.Dropped()) <= before {
		if time.Now().After(deadline) {
			return fmt.Errorf("the pipe did not receive the %v sent after the storm (30 s)", sig)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// 1. NotifySignals install/close cycles under a Kill/Tgkill storm.

func TestStressSignalInstallCloseUnderStorm(t *testing.T) {
	out := runStressChild(t, "stress-signal-cycles")
	t.Logf("%s: %s", stressMode(), childValue(out, "signal_cycles"))
}

func childStressSignalCycles() error {
	cycles := stressSize(3000, 60000)
	minSignals := int64(stressSize(30000, 2_000_000))
	const stormers, cyclers = 2, 2
	pid := os.Getpid()
	sigs := [2]syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2}
	var before [2]HandlerReport
	for i, s := range sigs {
		r, err := reportFor(s)
		if err != nil {
			return err
		}
		if r.Ours {
			return fmt.Errorf("%v already has a gobridge handler: %+v", s, r)
		}
		before[i] = r
	}
	// os/signal wants both signals too (a signal.Notify beside the pipes, as a program would
	// have): without it, the Go runtime's handler that gobridge chains to turns a SIGUSR1 that
	// lands on a non-Go thread (the executor's and pool's Rust threads below) into the default
	// action and the process dies (see TestStressIgnoredSignalOnGobridgeThread).
	notified := make(chan os.Signal, 64)
	signal.Notify(notified, sigs[0], sigs[1])
	var notifiedGot atomic.Int64
	go func() {
		for range notified {
			notifiedGot.Add(1)
		}
	}()
	// Rust threads in the storm's path, running Go callbacks meanwhile.
	e, err := NewExecutor("gb-storm")
	if err != nil {
		return err
	}
	pool, err := NewPool(2)
	if err != nil {
		return err
	}

	var errs stressErrs
	var sent [2]atomic.Int64 // attempts per signal, counted before the syscall
	var kills, tgkills, esrch, callbacks atomic.Int64
	var cycled, cycleRecv, cycleDropped atomic.Int64
	var cycledSets [3]atomic.Int64
	sentTotal := func() int64 { return sent[0].Load() + sent[1].Load() }
	var witnessRecv [2]int64
	var witnessDropped [2]uint64

	for phase := 0; phase < 2; phase++ {
		// The witness pipe is open for the whole phase on one signal; the cyclers install and
		// close pipes on SIGUSR1, SIGUSR2 or both, so the other signal goes from no gobridge
		// handler to one and back (install over Go's handler, restore) under the storm.
		wsig := sigs[phase]
		witness, err := NotifySignals(wsig)
		if err != nil {
			return fmt.Errorf("witness NotifySignals(%v): %v", wsig, err)
		}
		var wGot atomic.Int64
		wDone := make(chan struct{})
		go func() {
			defer close(wDone)
			for range witness.C() {
				wGot.Add(1)
			}
		}()
		var stop atomic.Bool
		var storm sync.WaitGroup
		for s := 0; s < stormers; s++ {
			storm.Add(1)
			go func(seed uint64) {
				defer storm.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(phase)))
				var tids []int
				for i := 0; !stop.Load(); i++ {
					if i%256 == 0 {
						tids = stressTids()
					}
					k := rng.IntN(2)
					sig := sigs[k]
					sent[k].Add(1)
					var err error
					if len(tids) == 0 || rng.IntN(2) == 0 {
						kills.Add(1)
						err = syscall.Kill(pid, sig)
					} else {
						tgkills.Add(1)
						err = syscall.Tgkill(pid, tids[rng.IntN(len(tids))], sig)
					}
					if errors.Is(err, syscall.ESRCH) {
						esrch.Add(1) // a thread that has exited
					} else if err != nil {
						errs.add("sending %v: %v", sig, err)
					}
				}
			}(uint64(s))
		}
		storm.Add(1)
		go func() { // Go callbacks on the executor's and the pool's Rust threads
			defer storm.Done()
			for !stop.Load() {
				if err := e.Do(context.Background(), func() { callbacks.Add(1) }); err != nil {
					errs.add("Executor.Do under the storm: %v", err)
					return
				}
				if err := pool.Do(context.Background(), func() { callbacks.Add(1) }); err != nil {
					errs.add("Pool.Do under the storm: %v", err)
					return
				}
			}
		}()

		phaseCycles := int64(cycles / 2)
		phaseSignals := minSignals * int64(phase+1) / 2
		var phaseDone atomic.Int64
		var cyc sync.WaitGroup
		for c := 0; c < cyclers; c++ {
			cyc.Add(1)
			go func(seed uint64) {
				defer cyc.Done()
				rng := rand.New(rand.NewPCG(seed, 100+uint64(phase)))
				for phaseDone.Load() < phaseCycles || sentTotal() < phaseSignals {
					which := rng.IntN(3)
					set := [][]os.Signal{{sigs[0]}, {sigs[1]}, {sigs[0], sigs[1]}}[which]
					p, err := NotifySignals(set...)
					if err != nil {
						errs.add("NotifySignals(%v) in cycle %d: %v", set, phaseDone.Load(), err)
						return
					}
					got := 0
					switch rng.IntN(3) {
					case 1:
						runtime.Gosched()
					case 2:
						for drained := false; !drained; {
							select {
							case <-p.C():
								got++
							default:
								drained = true
							}
						}
					}
					// Close's doc: nil, or ErrHandlerReplaced when another disposition replaced
					// gobridge's handler; nobody replaces it here, so only nil is right.
					if err := p.Close(); err != nil {
						errs.add("Close of %v in cycle %d: %v", set, phaseDone.Load(), err)
					}
					// C() is closed once Close returns: what is left drains without blocking.
					for open := true; open; {
						select {
						case _, ok := <-p.C():
							if ok {
								got++
							} else {
								open = false
							}
						default:
							errs.add("C() not closed after Close")
							open = false
						}
					}
					// Every signal the pipe took was sent by the storm, to one of its signals.
					var attempts int64
					for _, s := range set {
						attempts += sent[indexOfSig(sigs, s.(syscall.Signal))].Load()
					}
					if d := int64(p.Dropped()); int64(got)+d > attempts {
						errs.add("pipe on %v took %d signals (+%d dropped), more than the %d sent", set, got, d, attempts)
					}
					cycleRecv.Add(int64(got))
					cycleDropped.Add(int64(p.Dropped()))
					cycledSets[which].Add(1)
					cycled.Add(1)
					phaseDone.Add(1)
				}
			}(uint64(c))
		}
		cyc.Wait()
		stop.Store(true)
		storm.Wait()
		if err := errs.err(); err != nil {
			return err
		}
		// The witness was open through the storm: our handler is on its signal, and the pipe
		// still works after tens of thousands of installs and closes around it.
		r, err := reportFor(wsig)
		if err != nil {
			return err
		}
		if !r.Ours || r.Replaced {
			return fmt.Errorf("after the storm, %v with the witness pipe open: %+v, want gobridge's handler", wsig, r)
		}
		if err := stressAwaitSignal(witness, &wGot, wsig, &sent[phase]); err != nil {
			return err
		}
		if err := witness.Close(); err != nil {
			return fmt.Errorf("witness Close: %v", err)
		}
		<-wDone
		witnessRecv[phase], witnessDropped[phase] = wGot.Load(), witness.Dropped()
		if got := witnessRecv[phase] + int64(witnessDropped[phase]); got > sent[phase].Load() {
			return fmt.Errorf("the witness took %d %v (incl. %d dropped), more than the %d sent", got, wsig, witnessDropped[phase], sent[phase].Load())
		}
	}
	if err := e.Close(); err != nil {
		return err
	}
	if err := pool.Close(); err != nil {
		return err
	}
	// Every pipe is closed: both dispositions are what they were before (Go's handler).
	for i, s := range sigs {
		if err := stressSameDisposition(s, before[i]); err != nil {
			return err
		}
	}
	if err := CheckSignalHandlers(); err != nil {
		return err
	}
	fmt.Printf("signal_cycles=%d install/close cycles (SIGUSR1 %d, SIGUSR2 %d, both %d) under a storm of %d signals (%d SIGUSR1, %d SIGUSR2; %d kill, %d tgkill, %d ESRCH); witness pipes took %d SIGUSR1 (+%d dropped) and %d SIGUSR2 (+%d dropped); cycling pipes took %d (+%d dropped); signal.Notify took %d; %d Go callbacks on Rust threads meanwhile; dispositions restored\n",
		cycled.Load(), cycledSets[0].Load(), cycledSets[1].Load(), cycledSets[2].Load(), sentTotal(), sent[0].Load(), sent[1].Load(),
		kills.Load(), tgkills.Load(), esrch.Load(), witnessRecv[0], witnessDropped[0], witnessRecv[1], witnessDropped[1],
		cycleRecv.Load(), cycleDropped.Load(), notifiedGot.Load(), callbacks.Load())
	return nil
}

func indexOfSig(sigs [2]syscall.Signal, s syscall.Signal) int {
	if s == sigs[0] {
		return 0
	}
	return 1
}

// ---------------------------------------------------------------------------------------------
// 5. os/exec children with handlers installed on SIGUSR1 and SIGCHLD.

func TestStressExecChildrenWithHandlers(t *testing.T) {
	out := runStressChild(t, "stress-exec")
	t.Logf("%s: %s", stressMode(), childValue(out, "exec"))
}

func childStressExec() error {
	children := stressSize(200, 2000)
	workers := stressSize(16, 32)
	pid := os.Getpid()
	watched := []syscall.Signal{syscall.SIGUSR1, syscall.SIGCHLD}
	before := make([]HandlerReport, len(watched))
	for i, s := range watched {
		r, err := reportFor(s)
		if err != nil {
			return err
		}
		before[i] = r
	}
	usr1, err := NotifySignals(syscall.SIGUSR1)
	if err != nil {
		return err
	}
	chld, err := NotifySignals(syscall.SIGCHLD)
	if err != nil {
		return err
	}
	var usr1Got, chldGot atomic.Int64
	var readers sync.WaitGroup
	for _, rp := range []struct {
		p *SignalPipe
		n *atomic.Int64
	}{{usr1, &usr1Got}, {chld, &chldGot}} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range rp.p.C() {
				rp.n.Add(1)
			}
		}()
	}
	// os/signal wants SIGUSR1 too: a process-directed SIGUSR1 may land on the pool's Rust
	// threads, where the Go runtime's handler behind gobridge's would re-raise an unwanted one
	// with its default action (see TestStressIgnoredSignalOnGobridgeThread).
	notified := make(chan os.Signal, 64)
	signal.Notify(notified, syscall.SIGUSR1)
	go func() {
		for range notified {
		}
	}()
	pool, err := NewPool(4)
	if err != nil {
		return err
	}
	// SIGUSR1 keeps arriving while children are forked, exec'd and waited for (EINTR paths).
	var stop atomic.Bool
	var sent atomic.Int64
	stormDone := make(chan struct{})
	go func() {
		defer close(stormDone)
		for !stop.Load() {
			sent.Add(1)
			syscall.Kill(pid, syscall.SIGUSR1)
			runtime.Gosched()
		}
	}()

	var errs stressErrs
	var next, ok, fromPool atomic.Int64
	var wg sync.WaitGroup
	run := func(i int) {
		cmd := exec.Command("/bin/true")
		err := cmd.Run()
		switch {
		case err != nil:
			errs.add("child %d: %v", i, err)
		case cmd.ProcessState == nil || !cmd.ProcessState.Success() || cmd.ProcessState.ExitCode() != 0:
			errs.add("child %d: state %v", i, cmd.ProcessState)
		default:
			ok.Add(1)
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= children {
					return
				}
				if i%4 == 3 { // a quarter spawned from a Go callback on a pool's Rust thread
					if err := pool.Do(context.Background(), func() { run(i) }); err != nil {
						errs.add("Pool.Do spawning child %d: %v", i, err)
					}
					fromPool.Add(1)
					continue
				}
				run(i)
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-stormDone
	if err := errs.err(); err != nil {
		return err
	}
	if ok.Load() != int64(children) {
		return fmt.Errorf("%d of %d children exited 0", ok.Load(), children)
	}
	// Every child was reaped by its own Wait: none is left, none was lost to another waiter.
	var ws syscall.WaitStatus
	if wpid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); !errors.Is(err, syscall.ECHILD) {
		return fmt.Errorf("wait4(-1, WNOHANG) after every Wait: pid %d, %v; want ECHILD (no child left)", wpid, err)
	}
	if err := pool.Close(); err != nil {
		return err
	}
	// The SIGCHLD pipe saw the children exit (the kernel merges pending SIGCHLDs: at least
	// one, at most one per child), and the SIGUSR1 pipe still works.
	deadline := time.Now().Add(30 * time.Second)
	for chldGot.Load()+int64(chld.Dropped()) == 0 {
		if time.Now().After(deadline) {
			return errors.New("the SIGCHLD pipe received nothing from the children's exits (30 s)")
		}
		time.Sleep(time.Millisecond)
	}
	if err := stressAwaitSignal(usr1, &usr1Got, syscall.SIGUSR1, &sent); err != nil {
		return err
	}
	for _, p := range []*SignalPipe{usr1, chld} {
		if err := p.Close(); err != nil {
			return fmt.Errorf("Close: %v", err)
		}
	}
	readers.Wait()
	if n := chldGot.Load() + int64(chld.Dropped()); n > int64(children) {
		return fmt.Errorf("the SIGCHLD pipe took %d signals from %d children", n, children)
	}
	if n := usr1Got.Load() + int64(usr1.Dropped()); n > sent.Load() {
		return fmt.Errorf("the SIGUSR1 pipe took %d signals, %d sent", n, sent.Load())
	}
	for i, s := range watched {
		if err := stressSameDisposition(s, before[i]); err != nil {
			return err
		}
	}
	fmt.Printf("exec=%d /bin/true children (%d from pool threads) by %d goroutines, every Wait exit 0, none left (ECHILD); SIGCHLD pipe took %d (+%d dropped); SIGUSR1 pipe took %d (+%d dropped) of %d sent meanwhile; dispositions restored\n",
		children, fromPool.Load(), workers, chldGot.Load(), chld.Dropped(), usr1Got.Load(), usr1.Dropped(), sent.Load())
	return nil
}
