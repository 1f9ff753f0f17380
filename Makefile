# gobridge — every entry point a user or CI needs. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO ?= cargo
GO ?= go
# loom gets its own target dir: `--cfg loom` rebuilds every crate, and sharing target/ would
# throw the normal build cache away on every switch.
LOOM_TARGET := target/loom
STATICLIB := target/release/libgobridge_capi.a
EXAMPLES := $(basename $(notdir $(wildcard examples/*.rs)))
HAVE_GO_HARNESS := $(wildcard go-harness/go.mod)

.PHONY: all build demo test fmt-check clippy rust-test loom examples go-test bench header clean

all: build

## build: the C ABI staticlib the Go harness links (target/release/libgobridge_capi.a).
build:
	$(CARGO) build --release -p gobridge-capi

## demo: build and run the demo (the Go harness demo once it exists, else the Rust examples).
demo:
ifneq ($(HAVE_GO_HARNESS),)
	$(MAKE) build
	cd go-harness && $(GO) run ./cmd/demo
else
	$(MAKE) examples
endif

## test: everything CI checks.
test: fmt-check clippy rust-test loom examples go-test
	@echo "make test: all suites passed"

fmt-check:
	$(CARGO) fmt --all -- --check
ifneq ($(HAVE_GO_HARNESS),)
	@unformatted=$$(gofmt -l go-harness); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
endif

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --all-features --no-deps

rust-test:
	RUSTFLAGS="-D warnings" $(CARGO) test --workspace --all-features

loom:
	RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=$(LOOM_TARGET) \
		$(CARGO) test --release --lib -- loom_

examples:
	@for ex in $(EXAMPLES); do echo "== example $$ex"; $(CARGO) run --quiet --all-features --example $$ex; done

go-test:
ifneq ($(HAVE_GO_HARNESS),)
	$(MAKE) build
	$(MAKE) -C go-harness test
else
	@echo "go-harness: no Go module yet, skipped"
endif

## bench: criterion benches and Go benchmarks, each beside its baseline, as one table of ratios.
bench:
ifneq ($(HAVE_GO_HARNESS),)
	$(MAKE) build
	{ $(CARGO) bench --workspace --all-features 2>&1; $(MAKE) -s -C go-harness bench-raw; } \
		| (cd go-harness && $(GO) run ./tools/benchtable)
else
	$(CARGO) bench --workspace --all-features
endif

clean:
	$(CARGO) clean
