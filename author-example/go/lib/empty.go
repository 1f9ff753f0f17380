// Package lib holds the author's staticlib, libtally.a (the tally functions and gobridge's C
// ABI in one Rust archive), and archive.go with its SHA-256, which package tally compiles so a
// rebuilt archive is relinked by a plain `go build`. Both are build output of `make
// author-example` (scripts/stage-archive.sh); a release of the author's module commits them.
package lib
