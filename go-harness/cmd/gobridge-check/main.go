// Command gobridge-check verifies a gobridge installation in the link mode it was built with:
// the C ABI matches the header, an Executor runs Go code on its one OS thread, a signal reaches
// a SignalPipe through gobridge's handler, and a Rust-owned Buffer round-trips. It uses the
// product API only, so it builds against any archive (with or without the harness's probes):
//
//	go run github.com/gobridge-rs/gobridge/go-harness/cmd/gobridge-check                           # archive in the module
//	go run -tags gobridge_pkgconfig github.com/gobridge-rs/gobridge/go-harness/cmd/gobridge-check  # after make install
//	CGO_LDFLAGS=/path/libmyapp.a go run -tags gobridge_external .../cmd/gobridge-check            # your staticlib
//
// It prints one line per check and exits 1 if any fails.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
)

func main() {
	failed := false
	check := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark, failed = "FAIL", true
		}
		fmt.Printf("%s %s\n", mark, fmt.Sprintf(format, args...))
	}

	err := gobridge.CheckABI()
	check(err == nil, "%s, link mode %s, ABI version %d, layouts match (%v)", gobridge.LibraryBuildID(), gobridge.LinkMode, gobridge.ABIVersion, err)

	e, err := gobridge.NewExecutor("check")
	check(err == nil, "NewExecutor: %v", err)
	if err == nil {
		var tids [3]int
		for i := range tids {
			if err := e.Do(context.Background(), func() { tids[i] = gobridge.ThreadID() }); err != nil {
				check(false, "Do: %v", err)
			}
		}
		check(tids[0] == e.ThreadID() && tids[1] == e.ThreadID() && tids[2] == e.ThreadID(),
			"Executor.Do ran on the executor's thread %d each time (%v)", e.ThreadID(), tids)
		check(e.Close() == nil, "Executor.Close")
	}

	p, err := gobridge.NotifySignals(syscall.SIGUSR1)
	check(err == nil, "NotifySignals(SIGUSR1): %v", err)
	if err == nil {
		_ = syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		select {
		case s := <-p.C():
			check(s == syscall.SIGUSR1, "SIGUSR1 delivered through gobridge's handler: %v", s)
		case <-time.After(10 * time.Second):
			check(false, "SIGUSR1 not delivered within 10s")
		}
		check(p.Close() == nil, "SignalPipe.Close")
	}

	b, err := gobridge.NewBuffer(8)
	check(err == nil, "NewBuffer(8): %v", err)
	if err == nil {
		n := copy(b.Bytes(), "gobridge")
		check(n == 8 && string(b.Bytes()) == "gobridge", "Buffer holds what Go wrote: %q", b.Bytes())
		first, second := b.Free(), b.Free()
		check(first == nil && errors.Is(second, gobridge.ErrStaleHandle), "Free: %v; second Free: %v", first, second)
	}

	if failed {
		os.Exit(1)
	}
	fmt.Println("gobridge-check: all checks passed")
}
