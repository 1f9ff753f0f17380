//go:build race

package gobridge

// raceEnabled: the race detector allows at most 8,128 live goroutines, so scale tests shrink.
const raceEnabled = true
