package gobridge

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

func init() {
	childCases["signals-under-pprof"] = childSignalsUnderPprof
	childCases["eintr-storm"] = childEINTRStorm
}

// handlers for SIGURG, SIGPROF and SIGUSR1 coexist with Go's under CPU profiling and
// async preemption.
func TestSignalsUnderPprof(t *testing.T) {
	out := runChild(t, "signals-under-pprof")
	for _, k := range []string{"sigurg", "sigprof", "sigusr1_pipe", "sigusr1_notify", "profile_samples"} {
		t.Logf("%s=%s", k, childValue(out, k))
	}
}

// busy runs n goroutines that compute until stop is set (so async preemption sends SIGURG).
func busy(n int, stop *atomic.Bool) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(1)
			for !stop.Load() {
				for j := 0; j < 1<<16; j++ {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			if x == 42 {
				fmt.Print("")
			}
		}()
	}
	return &wg
}

func childSignalsUnderPprof() error {
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	var prof bytes.Buffer
	runtime.SetCPUProfileRate(1000) // before StartCPUProfile, which then keeps 1000 Hz (and logs that it cannot set 100)
	if err := pprof.StartCPUProfile(&prof); err != nil {
		return err
	}
	urg, err := NotifySignals(syscall.SIGURG)
	if err != nil {
		return err
	}
	profp, err := NotifySignals(syscall.SIGPROF)
	if err != nil {
		return err
	}
	usr1, err := NotifySignals(syscall.SIGUSR1)
	if err != nil {
		return err
	}
	notify := make(chan os.Signal, 16)
	signal.Notify(notify, syscall.SIGUSR1)
	if err := CheckSignalHandlers(); err != nil {
		return fmt.Errorf("with gobridge handlers installed: %v", err)
	}
	reports, err := AuditSignals()
	if err != nil {
		return err
	}
	ours := 0
	for _, r := range reports {
		if r.Ours {
			ours++
			if !r.OnStack || !r.SigInfo || !r.Restart || !r.GoCompatible {
				return fmt.Errorf("our handler for %v lacks flags: %+v", r.Signal, r)
			}
		}
	}
	if ours < 3 {
		return fmt.Errorf("audit shows %d gobridge handlers, want 3: %+v", ours, reports)
	}

	var stop atomic.Bool
	wg := busy(4, &stop)
	var nURG, nPROF, nUSR1, nNotify int
	deadline := time.After(60 * time.Second)
	kick := time.NewTicker(20 * time.Millisecond)
	for nURG == 0 || nPROF == 0 || nUSR1 == 0 || nNotify == 0 || nURG+nPROF < 20 {
		select {
		case <-urg.C():
			nURG++
		case <-profp.C():
			nPROF++
		case <-usr1.C():
			nUSR1++
		case <-notify:
			nNotify++
		case <-kick.C:
			if nUSR1 == 0 || nNotify == 0 {
				syscall.Kill(os.Getpid(), syscall.SIGUSR1)
			}
		case <-deadline:
			stop.Store(true)
			return fmt.Errorf("not every signal arrived: SIGURG %d, SIGPROF %d, SIGUSR1 pipe %d, signal.Notify %d", nURG, nPROF, nUSR1, nNotify)
		}
	}
	kick.Stop()
	stop.Store(true)
	wg.Wait()
	pprof.StopCPUProfile()
	samples, err := profileSamples(prof.Bytes())
	if err != nil {
		return err
	}
	if samples == 0 {
		return errors.New("the CPU profile has no samples")
	}
	for _, p := range []*SignalPipe{urg, profp, usr1} {
		if err := p.Close(); err != nil {
			return err
		}
	}
	if err := CheckSignalHandlers(); err != nil {
		return fmt.Errorf("after Close: %v", err)
	}
	signal.Stop(notify)
	fmt.Printf("sigurg=%d\nsigprof=%d\nsigusr1_pipe=%d\nsigusr1_notify=%d\nprofile_samples=%d\n", nURG, nPROF, nUSR1, nNotify, samples)
	return nil
}

// profileSamples counts the samples (field 2 of the Profile message) in a gzipped pprof
// protobuf, with a minimal wire-format reader (no third-party modules).
func profileSamples(gz []byte) (int, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	varint := func() (uint64, error) {
		var v uint64
		for shift := 0; shift < 64; shift += 7 {
			if len(b) == 0 {
				return 0, io.ErrUnexpectedEOF
			}
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				return v, nil
			}
		}
		return 0, errors.New("bad varint")
	}
	n := 0
	for len(b) > 0 {
		key, err := varint()
		if err != nil {
			return 0, err
		}
		switch key & 7 {
		case 0:
			if _, err := varint(); err != nil {
				return 0, err
			}
		case 1:
			b = b[8:]
		case 2:
			l, err := varint()
			if err != nil || uint64(len(b)) < l {
				return 0, errors.New("bad length")
			}
			b = b[l:]
			if key>>3 == 2 {
				n++
			}
		case 5:
			b = b[4:]
		default:
			return 0, fmt.Errorf("unexpected wire type %d", key&7)
		}
	}
	return n, nil
}

// a storm of thread-directed SIGURG/SIGPROF (tgkill every 0.5 ms) interrupts a plain
// nanosleep, and the scoped mask keeps the runtime's signals out for exactly the call.
func TestEINTRStorm(t *testing.T) {
	out := runChild(t, "eintr-storm")
	t.Logf("EINTR while sleeping 300ms under a SIGURG/SIGPROF storm: without mask %s, with mask %s",
		childValue(out, "eintr_unmasked"), childValue(out, "eintr_masked"))
}

func childEINTRStorm() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := ThreadID()
	pid := os.Getpid()
	var stop atomic.Bool
	stormDone := make(chan struct{})
	var sent atomic.Int64
	go func() {
		defer close(stormDone)
		for !stop.Load() {
			syscall.Tgkill(pid, tid, syscall.SIGURG)
			syscall.Tgkill(pid, tid, syscall.SIGPROF)
			sent.Add(2)
			time.Sleep(500 * time.Microsecond)
		}
	}()
	unmasked, err := probe.SleepInterruptible(300*time.Millisecond, false)
	if err != nil {
		return err
	}
	masked, err := probe.SleepInterruptible(300*time.Millisecond, true)
	if err != nil {
		return err
	}
	stop.Store(true)
	<-stormDone
	// The process is fine afterwards: the thread still works, Go's handlers got the signals.
	if ThreadID() != tid {
		return errors.New("locked goroutine moved")
	}
	fmt.Printf("eintr_unmasked=%d\neintr_masked=%d\nsignals_sent=%d\n", unmasked, masked, sent.Load())
	if unmasked == 0 {
		return errors.New("no EINTR without the mask")
	}
	if masked != 0 {
		return fmt.Errorf("%d EINTR with SIGURG and SIGPROF blocked", masked)
	}
	return nil
}

// The scoped mask is visible inside the callback (SigBlk of this thread) and restored after.
func TestWithBlockedMasksOnlyInside(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := sigBlk(t)
	var inside uint64
	if err := WithBlocked(func() { inside = sigBlk(t) }, syscall.SIGUSR1, syscall.SIGURG); err != nil {
		t.Fatal(err)
	}
	want := sigBit(syscall.SIGUSR1) | sigBit(syscall.SIGURG)
	if inside&want != want {
		t.Fatalf("inside: SigBlk %#x lacks %#x", inside, want)
	}
	if after := sigBlk(t); after != before {
		t.Fatalf("mask not restored: before %#x, after %#x", before, after)
	}
	if err := WithBlocked(func() {}, syscall.SIGSEGV); !errors.Is(err, ErrUnblockable) {
		t.Fatalf("blocking SIGSEGV: %v", err)
	}
	if err := WithBlocked(func() { panic("x") }, syscall.SIGUSR1); !errors.Is(err, ErrPanicked) {
		t.Fatalf("panic inside WithBlocked: %v", err)
	}
	if after := sigBlk(t); after != before {
		t.Fatalf("mask not restored after a panic: before %#x, after %#x", before, after)
	}
}

func sigBlk(t testing.TB) uint64 { return sigBlkOf(t, ThreadID()) }

// sigBlkOf reads the blocked-signal mask of thread tid of this process.
func sigBlkOf(t testing.TB, tid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			var x uint64
			fmt.Sscanf(strings.TrimSpace(v), "%x", &x)
			return x
		}
	}
	t.Fatal("no SigBlk")
	return 0
}

// The comparison run: the same workload with signal-hook-registry's handler for SIGURG (no
// SA_ONSTACK) crashes the Go runtime; the test asserts that it does.
func TestSignalHookRegistryCrashesGo(t *testing.T) {
	bin := os.Getenv("GOBRIDGE_SIGHOOK_BIN")
	if bin == "" {
		lib := filepath.Join("..", "..", "target", "sighook", "release", "libgobridge_capi.a")
		if _, err := os.Stat(lib); err != nil {
			if os.Getenv("GOBRIDGE_REQUIRE_SIGHOOK") != "" {
				t.Fatalf("%s missing (built by `make -C go-harness test`)", lib)
			}
			t.Skipf("%s not built; `make -C go-harness test` builds it", lib)
		}
		bin = filepath.Join(t.TempDir(), "sighookcrash")
		// The comparison staticlib is the program's one Rust archive: link mode
		// gobridge_external, the archive named through CGO_LDFLAGS.
		abs, err := filepath.Abs(lib)
		if err != nil {
			t.Fatal(err)
		}
		build := exec.Command("go", "build", "-tags", "gobridge_external,gobridge_sighook", "-o", bin, "../cmd/sighookcrash")
		build.Env = append(os.Environ(), "CGO_LDFLAGS="+abs)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building the comparison binary: %v\n%s", err, out)
		}
	}
	out, err := exec.Command(bin).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("the signal-hook child did not crash (err %v):\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("without SA_ONSTACK")) {
		t.Fatalf("the signal-hook child failed without Go's SA_ONSTACK error:\n%s", out)
	}
	// Before the crash, CheckSignalHandlers named the offending handler.
	if !bytes.Contains(out, []byte("CheckSignalHandlers: ")) || !bytes.Contains(out, []byte("(signal 23,")) {
		t.Fatalf("CheckSignalHandlers did not report signal-hook's SIGURG handler:\n%s", out)
	}
	first := "without SA_ONSTACK"
	if i := bytes.Index(out, []byte("fatal error")); i >= 0 {
		first, _, _ = strings.Cut(string(out[i:]), "\n")
	}
	t.Logf("signal-hook-registry handler for SIGURG: child exit code %d, %q", ee.ExitCode(), first)
}
