package gobridge

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// Issue 10, items 6, 13 and 14: gobridge's handler in front of the Go runtime's must not
// change what os/signal does. Each case runs in a child process (process-global signal
// state); the chaining cases run the same program with and without gobridge and compare the
// outcome — the "outcome:" lines the child prints and how it ended.

const withGobridgeEnv = "GOBRIDGE_WITH_GOBRIDGE"

func init() {
	childCases["inherited-ignore"] = childInheritedIgnore
	childCases["replaced-handler"] = childReplacedHandler
	childCases["crashpad-style"] = childCrashpadStyle
	childCases["daemon-sigtstp"] = childDaemonSIGTSTP
}

// runOutcome runs a child case (through argv0 ... when a wrapper is given) and returns its
// outcome: the lines it printed starting with "outcome:", and how it ended.
func runOutcome(t *testing.T, name string, wrapper []string, env ...string) (string, string) {
	t.Helper()
	args := append(append([]string{}, wrapper...), os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	out, err := cmd.CombinedOutput()
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "outcome:") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	end := "exit 0"
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			end = "killed by " + ws.Signal().String()
		} else {
			end = fmt.Sprintf("exit %d", ee.ExitCode())
		}
	} else if err != nil {
		t.Fatalf("child %s: %v", name, err)
	}
	return strings.Join(append(lines, end), "; "), string(out)
}

// runStopAware runs a child case in a session of its own (setsid: an orphaned process group,
// as a daemon runs) and returns its outcome with every wait4 event, stops included (a stopped
// child is continued, and killed after a few stops, so that the test never hangs).
func runStopAware(t *testing.T, name string, env ...string) (string, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	cmd.Stdout, cmd.Stderr = w, w // *os.File: no copying goroutine, so no cmd.Wait needed
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var events []string
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WUNTRACED, nil); err != nil {
			if err == syscall.EINTR {
				continue
			}
			t.Fatal(err)
		}
		if ws.Stopped() {
			events = append(events, "stopped by "+ws.StopSignal().String())
			next := syscall.SIGCONT
			if len(events) > 4 {
				next = syscall.SIGKILL
			}
			syscall.Kill(cmd.Process.Pid, next)
			continue
		}
		if ws.Signaled() {
			events = append(events, "killed by "+ws.Signal().String())
		} else {
			events = append(events, fmt.Sprintf("exit %d", ws.ExitStatus()))
		}
		break
	}
	out, _ := io.ReadAll(r)
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "outcome:") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return strings.Join(append(lines, events...), "; "), string(out)
}

// Item 8, in a Go daemon: the runtime leaves SIGTSTP at SIG_DFL, so NotifySignals(SIGTSTP)
// puts gobridge's handler over SIG_DFL. In an orphaned process group the kernel discards the
// default stop; with gobridge the process must run on the same way (before the fix it
// stopped with SIGSTOP — for good, had the test not continued it).
func TestDaemonSIGTSTPLikeWithoutGobridge(t *testing.T) {
	without, _ := runStopAware(t, "daemon-sigtstp", withGobridgeEnv+"=0")
	with, outWith := runStopAware(t, "daemon-sigtstp", withGobridgeEnv+"=1")
	t.Logf("SIGTSTP at SIG_DFL in an orphaned process group:\n  without gobridge: %s\n  with gobridge:    %s", without, with)
	if without != "outcome: survived; exit 0" {
		t.Fatalf("without gobridge: %s", without)
	}
	if with != without || !strings.Contains(outWith, "gobridge: observed SIGTSTP") {
		t.Fatalf("with gobridge %q, without %q:\n%s", with, without, outWith)
	}
}

func childDaemonSIGTSTP() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var p *SignalPipe
	if os.Getenv(withGobridgeEnv) == "1" {
		var err error
		if p, err = NotifySignals(syscall.SIGTSTP); err != nil {
			return err
		}
		defer p.Close()
	}
	// Thread-directed: the handler (and the kernel's default stop, or its discarding) runs
	// before Tgkill returns.
	if err := syscall.Tgkill(os.Getpid(), ThreadID(), syscall.SIGTSTP); err != nil {
		return err
	}
	if p != nil {
		if s := <-p.C(); s == syscall.SIGTSTP {
			fmt.Println("gobridge: observed SIGTSTP")
		}
	}
	fmt.Println("outcome: survived")
	return nil
}

func reportFor(sig syscall.Signal) (HandlerReport, error) {
	reports, err := AuditSignals()
	if err != nil {
		return HandlerReport{}, err
	}
	for _, r := range reports {
		if r.Signal == sig {
			return r, nil
		}
	}
	return HandlerReport{}, fmt.Errorf("no report for %v", sig)
}

// Item 13: a program started with SIGHUP (or SIGINT) ignored — a child of nohup, a background
// job of a non-interactive shell — calls signal.Notify and signal.Stop, then gets the signal:
// without gobridge it survives (Stop puts the inherited SIG_IGN back). With gobridge's
// NotifySignals called first, it must survive too: gobridge refuses to install over the
// ignored signal (before the fix, its handler went over the SIG_IGN and the signal killed the
// process).
func TestInheritedIgnoreSurvivesLikeWithoutGobridge(t *testing.T) {
	// `trap '' HUP INT` sets both to SIG_IGN, which exec keeps: as nohup and a background job
	// of a non-interactive shell start a program.
	wrapper := []string{"sh", "-c", `trap '' HUP INT; exec "$0" "$@"`}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		which := "GOBRIDGE_IGNORED_SIGNAL=" + strconv.Itoa(int(sig))
		without, outWithout := runOutcome(t, "inherited-ignore", wrapper, which, withGobridgeEnv+"=0")
		with, outWith := runOutcome(t, "inherited-ignore", wrapper, which, withGobridgeEnv+"=1")
		t.Logf("%v inherited as SIG_IGN:\n  without gobridge: %s\n  with gobridge:    %s", sig, without, with)
		if without != "outcome: survived; exit 0" {
			t.Fatalf("without gobridge the child did not survive (%s):\n%s", without, outWithout)
		}
		if with != without {
			t.Errorf("%v: with gobridge %q, without %q:\n%s", sig, with, without, outWith)
		}
		if !strings.Contains(outWith, "gobridge: refused: ") {
			t.Errorf("%v: NotifySignals was not refused:\n%s", sig, outWith)
		}
	}
}

func childInheritedIgnore() error {
	n, err := strconv.Atoi(os.Getenv("GOBRIDGE_IGNORED_SIGNAL"))
	if err != nil {
		return err
	}
	sig := syscall.Signal(n)
	r, err := reportFor(sig)
	if err != nil {
		return err
	}
	if r.Owner != "ignored" {
		return fmt.Errorf("%v was not inherited ignored: %+v", sig, r)
	}
	if os.Getenv(withGobridgeEnv) == "1" {
		p, err := NotifySignals(sig)
		switch {
		case err == nil:
			fmt.Println("gobridge: installed")
			defer p.Close()
		case errors.Is(err, ErrInvalidArgument):
			fmt.Println("gobridge: refused:", err)
		default:
			return err
		}
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, sig)
	signal.Stop(c)
	// Thread-directed at this thread: if a handler is installed it runs (and Go's kills the
	// process) before Tgkill returns; an ignored signal is discarded.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := syscall.Tgkill(os.Getpid(), ThreadID(), sig); err != nil {
		return err
	}
	fmt.Println("outcome: survived")
	return nil
}

// Item 14: signal.Ignore replaces gobridge's handler. The pipe's Close reports it
// (ErrHandlerReplaced; it returned nil before), AuditSignals shows whose disposition is
// installed, and once the Go runtime's handler is back (signal.Notify, signal.Reset) a new
// NotifySignals works again (ErrHandlerReplaced for good before) and receives, side by side
// with os/signal. What os/signal sees is the same as without gobridge.
func TestReplacedHandlerIsReportedAndRecoverable(t *testing.T) {
	without, _ := runOutcome(t, "replaced-handler", nil, withGobridgeEnv+"=0")
	with, outWith := runOutcome(t, "replaced-handler", nil, withGobridgeEnv+"=1")
	t.Logf("signal.Ignore, Notify, Reset, Notify around gobridge's pipes:\n  without gobridge: %s\n  with gobridge:    %s", without, with)
	if !strings.Contains(without, "outcome: os/signal received user defined signal 1") {
		t.Fatalf("without gobridge: %s", without)
	}
	if with != without || !strings.Contains(outWith, "CHILD-OK") {
		t.Fatalf("with gobridge %q, without %q:\n%s", with, without, outWith)
	}
	for _, line := range strings.Split(outWith, "\n") {
		if strings.HasPrefix(line, "gobridge:") {
			t.Log(line)
		}
	}
}

func childReplacedHandler() error {
	with := os.Getenv(withGobridgeEnv) == "1"
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, tid := os.Getpid(), ThreadID()
	sig := syscall.SIGUSR1
	var first *SignalPipe
	if with {
		var err error
		if first, err = NotifySignals(sig); err != nil {
			return err
		}
	}
	signal.Ignore(sig)
	if with {
		r, err := reportFor(sig)
		if err != nil {
			return err
		}
		fmt.Printf("gobridge: after signal.Ignore: owner %s, replaced %v\n", r.Owner, r.Replaced)
		if r.Ours || r.Owner != "ignored" || !r.Replaced {
			return fmt.Errorf("audit after signal.Ignore: %+v", r)
		}
	}
	if err := syscall.Tgkill(pid, tid, sig); err != nil { // ignored: nothing happens
		return err
	}
	if with {
		err := first.Close()
		fmt.Printf("gobridge: Close after signal.Ignore: %v\n", err)
		if !errors.Is(err, ErrHandlerReplaced) {
			return fmt.Errorf("Close after signal.Ignore returned %v, want ErrHandlerReplaced", err)
		}
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, sig) // the runtime's handler is back
	signal.Reset(sig)
	var second *SignalPipe
	if with {
		r, err := reportFor(sig)
		if err != nil {
			return err
		}
		if r.Owner != "go" || r.Replaced {
			return fmt.Errorf("audit after Notify+Reset: %+v", r)
		}
		if second, err = NotifySignals(sig); err != nil {
			return fmt.Errorf("NotifySignals after Ignore, Notify, Reset: %w", err)
		}
		if r, _ := reportFor(sig); !r.Ours || r.Owner != "gobridge" {
			return fmt.Errorf("audit with the second pipe: %+v", r)
		}
	}
	notified := make(chan os.Signal, 1)
	signal.Notify(notified, sig) // the runtime handles SIGUSR1 already: ours stays in front
	if err := syscall.Tgkill(pid, tid, sig); err != nil {
		return err
	}
	fmt.Printf("outcome: os/signal received %v\n", <-notified)
	if with {
		fmt.Printf("gobridge: second pipe received %v\n", <-second.C())
		if err := second.Close(); err != nil {
			return fmt.Errorf("closing the second pipe: %w", err)
		}
	}
	signal.Stop(notified)
	fmt.Println("outcome: survived")
	return nil
}

// Item 6: a Crashpad-style handler — SA_ONSTACK|SA_SIGINFO, no SA_RESTART, empty mask — is
// safe in a Go process: CheckSignalHandlers passes it (it reported "installed without
// SA_ONSTACK" before) and HandlerReport.Advice names the two departures from Go's flags. The
// handler is the Go runtime's own, reinstalled with those flags, so the child can take the
// signal and live on.
func TestCrashpadStyleHandlerIsNotReportedAsCrashing(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("the raw rt_sigaction layout used here is linux/amd64 and linux/arm64")
	}
	out := runChild(t, "crashpad-style")
	t.Log(strings.TrimSpace(childValue(out, "advice")))
}

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on linux/amd64 and arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

func rtSigaction(sig syscall.Signal, act, old *kernelSigaction) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func childCrashpadStyle() error {
	const saRestart = 0x10000000
	sig := syscall.SIGPWR // the runtime catches and ignores it
	var goHandler kernelSigaction
	if err := rtSigaction(sig, nil, &goHandler); err != nil {
		return err
	}
	crashpad := goHandler
	crashpad.flags &^= saRestart
	crashpad.mask = 0
	if err := rtSigaction(sig, &crashpad, nil); err != nil {
		return err
	}
	r, err := reportFor(sig)
	if err != nil {
		return err
	}
	if !r.Handler || !r.OnStack || !r.SigInfo || r.Restart || r.Mask != 0 {
		return fmt.Errorf("not installed Crashpad-style: %+v", r)
	}
	if !r.GoCompatible || r.Owner != "go" {
		return fmt.Errorf("report: %+v", r)
	}
	if err := CheckSignalHandlers(); err != nil {
		return fmt.Errorf("CheckSignalHandlers reports an SA_ONSTACK handler: %v", err)
	}
	advice := r.Advice()
	if len(advice) != 2 || !strings.Contains(advice[0], "SA_RESTART") || !strings.Contains(advice[1], "mask") {
		return fmt.Errorf("advice %q", advice)
	}
	fmt.Printf("advice=%s\n", strings.Join(advice, "; "))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := syscall.Tgkill(os.Getpid(), ThreadID(), sig); err != nil {
		return err
	}
	return rtSigaction(sig, &goHandler, nil)
}
