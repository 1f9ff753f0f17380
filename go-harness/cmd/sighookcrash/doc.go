// Command sighookcrash is the signal-hook comparison run of the harness; see main.go, which is
// built only with -tags gobridge_external,gobridge_sighook. Without the tag it only explains that.
package main
