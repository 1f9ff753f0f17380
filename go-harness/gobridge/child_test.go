package gobridge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Process-global cases (signal handlers, thread counts) run in a child process: the test
// binary re-executes itself with -test.run=^TestChild$ and GOBRIDGE_CHILD naming the case.

const childEnv = "GOBRIDGE_CHILD"

var childCases = map[string]func() error{}

// TestChild is the entry point of child processes; it is skipped in a normal run.
func TestChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("only runs as a child process of another test")
	}
	f, ok := childCases[name]
	if !ok {
		t.Fatalf("unknown child case %q", name)
	}
	if err := f(); err != nil {
		fmt.Printf("CHILD-FAIL: %v\n", err)
		os.Exit(3)
	}
	fmt.Println("CHILD-OK")
}

// runChild runs one child case and returns its combined output; it fails the test unless the
// child reported success.
func runChild(t *testing.T, name string, env ...string) string {
	t.Helper()
	out, err := runChildRaw(name, env...)
	if err != nil || !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("child %s failed (%v):\n%s", name, err, out)
	}
	return out
}

func runChildRaw(name string, env ...string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

// runChildTimeout runs one child case and kills it after d: a hang is a failure, not a stuck
// CI job.
func runChildTimeout(t *testing.T, name string, d time.Duration, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("child %s hung (killed after %v):\n%s", name, d, buf.String())
	}
	return buf.String(), err
}

// childValue extracts "key=value" lines a child printed.
func childValue(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return v
		}
	}
	return ""
}

func runtimeGosched() { runtime.Gosched() }

func isShutdown(err error) bool { return errors.Is(err, ErrShutdown) }
