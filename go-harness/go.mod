module go-harness

go 1.22
