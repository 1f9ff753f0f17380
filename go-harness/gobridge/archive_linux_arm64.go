//go:build !gobridge_external && !gobridge_pkgconfig

package gobridge

import archive "github.com/gobridge-rs/gobridge/go-harness/lib/linux_arm64"

// archiveSHA256 is the SHA-256 of the archive this package links. It is compiled in so that a
// rebuilt archive changes this package's object and so Go's link cache key: Go does not hash
// files named on the link line, and without this a plain `go build` relinks the old archive.
var archiveSHA256 = archive.ArchiveSHA256
