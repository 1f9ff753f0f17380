// Package linux_amd64 holds gobridge's prebuilt static archive for linux/amd64
// (libgobridge.a) and archive.go, which records the archive's SHA-256.
//
// Both are build output: `make build` writes them for the host, `make dist` for every target
// it can build, and a release tag commits them. This file keeps the directory a Go package, so
// that `go mod vendor` copies it (vendoring copies package directories only).
package linux_amd64
