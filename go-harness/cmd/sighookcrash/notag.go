//go:build !gobridge_sighook

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "sighookcrash: build with -tags gobridge_external,gobridge_sighook (and the signal-hook-compare staticlib in target/sighook)")
	os.Exit(2)
}
