module example.com/tally

go 1.22

require github.com/gobridge-rs/gobridge/go-harness v0.0.0

// In the repository the gobridge Go module is the one beside this example; a real author's
// module requires a released version instead (go get github.com/gobridge-rs/gobridge/go-harness/gobridge@vX.Y.Z).
replace github.com/gobridge-rs/gobridge/go-harness => ../../go-harness
