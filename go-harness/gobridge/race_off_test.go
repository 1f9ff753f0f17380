//go:build !race

package gobridge

const raceEnabled = false
