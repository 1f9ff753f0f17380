package gobridge

import (
	"os"
	"syscall"
	"time"
)

// pollFile wraps a Rust-owned file descriptor for Go's netpoller without taking ownership of
// it: it duplicates fd (the duplicate shares the open file description), marks it
// non-blocking and hands the duplicate to os.NewFile, so that waiting on it parks the goroutine
// in the netpoller instead of holding an OS thread. Closing the returned file closes only the
// duplicate.
func pollFile(fd int, name string) (*os.File, syscall.RawConn, error) {
	dup, err := syscall.Dup(fd)
	if err != nil {
		return nil, nil, &Error{Code: codeSys, Errno: err.(syscall.Errno), Message: "dup: " + err.Error()}
	}
	syscall.CloseOnExec(dup)
	if err := syscall.SetNonblock(dup, true); err != nil {
		syscall.Close(dup)
		return nil, nil, &Error{Code: codeSys, Errno: err.(syscall.Errno), Message: "set non-blocking: " + err.Error()}
	}
	f := os.NewFile(uintptr(dup), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// aLongTimeAgo is a deadline in the past: setting it wakes a goroutine parked in the poller.
var aLongTimeAgo = time.Unix(1, 0)
