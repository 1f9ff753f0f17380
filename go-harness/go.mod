module github.com/gobridge-rs/gobridge/go-harness

go 1.22
