# gobridge — every entry point a user or CI needs. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO ?= cargo
GO ?= go
# loom gets its own target dir: `--cfg loom` rebuilds every crate, and sharing target/ would
# throw the normal build cache away on every switch.
LOOM_TARGET := target/loom
EXAMPLES := $(basename $(notdir $(wildcard examples/*.rs)))
# The Go module's archive directory for the host, e.g. go-harness/lib/linux_amd64.
HOST_LIB := go-harness/lib/$(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)
# Features of the development archive: the harness's probes (tests, demo, benchmarks) on top
# of the product ABI. `make dist` and `make install` build the product archive without them.
DEV_FEATURES ?= harness
# Release targets `make dist` builds when their Rust std is installed (rustup target add ...),
# as rust-triple=goos_goarch.
DIST_TARGETS ?= x86_64-unknown-linux-gnu=linux_amd64 aarch64-unknown-linux-gnu=linux_arm64
DIST_DIR := target/dist/go-harness
PREFIX ?= /usr/local

.PHONY: all build demo test fmt-check clippy rust-test loom miri examples go-test go-module-test \
	author-example bench stress header dist install clean

all: build

## build: the development staticlib (C ABI + harness probes), staged where the Go module's
## default link mode finds it: go-harness/lib/<goos>_<goarch>/libgobridge.a (+ archive.go).
build:
	$(CARGO) build --release -p gobridge-capi --features "$(DEV_FEATURES)"
	scripts/stage-archive.sh target/release/libgobridge_capi.a $(HOST_LIB)

## dist: what a release tag commits under go-harness/: the module's tracked files and the
## product archive (no probes) of every DIST_TARGETS entry whose std is installed, in
## target/dist/go-harness. Prints what it built and what it skipped.
dist:
	rm -rf $(DIST_DIR) && mkdir -p $(DIST_DIR)
	git ls-files -z go-harness | tar --null -T - -cf - | tar -xf - -C target/dist
	@installed=$$(rustup target list --installed 2>/dev/null || rustc -vV | sed -n 's/^host: //p'); \
	for entry in $(DIST_TARGETS); do \
		triple=$${entry%%=*}; plat=$${entry##*=}; \
		if ! grep -qx "$$triple" <<<"$$installed"; then \
			echo "dist: skipped $$plat ($$triple std not installed: rustup target add $$triple)"; continue; \
		fi; \
		$(CARGO) build --release -p gobridge-capi --target $$triple --target-dir target/product; \
		scripts/stage-archive.sh target/product/$$triple/release/libgobridge_capi.a $(DIST_DIR)/lib/$$plat; \
		echo "dist: built $$plat"; \
	done

## install: the product archive, header and pkg-config file under PREFIX (default /usr/local):
## $(PREFIX)/lib/libgobridge.a, $(PREFIX)/include/gobridge.h, $(PREFIX)/lib/pkgconfig/gobridge.pc.
## Go programs then build with -tags gobridge_pkgconfig.
install:
	libs=$$($(CARGO) rustc --release -p gobridge-capi --target-dir target/product -- \
		--print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -1); \
	scripts/install.sh target/product/release/libgobridge_capi.a include/gobridge.h "$(PREFIX)" "$$libs"

## demo: build and run the harness demo, which prints what each primitive did.
demo: build
	cd go-harness && $(GO) run ./cmd/demo

## test: everything CI checks.
test: fmt-check clippy rust-test loom miri examples go-test
	@echo "make test: all suites passed"

fmt-check:
	$(CARGO) fmt --all -- --check
	@unformatted=$$(gofmt -l go-harness author-example/go); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	# The crate as most Rust users take it (no features): nothing dead or unused there either.
	$(CARGO) clippy -p gobridge --lib --tests -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --all-features --no-deps

rust-test:
	RUSTFLAGS="-D warnings" $(CARGO) test --workspace --all-features
	# Again optimized: inlining changes frames and timing (a job's 4 MiB of locals once overflowed
	# its submitter's stack in release builds only). No RUSTFLAGS: it shares `make build`'s deps.
	$(CARGO) test --workspace --all-features --release

loom:
	RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=$(LOOM_TARGET) \
		$(CARGO) test --release --lib -- loom_

## miri: the executor queue's tests under Miri (Stacked and Tree Borrows, several thread
## schedules each): the stack job of `run` and the queue's links, checked for use after free
## and data races. Needs a nightly toolchain with the miri component (.ci/run installs it);
## without one it says so and skips.
MIRI_SEEDS ?= 0..8
miri:
	@if ! $(CARGO) +nightly miri --version >/dev/null 2>&1; then \
		echo "miri: skipped, no nightly toolchain with miri (rustup component add --toolchain nightly miri rust-src)"; \
	else \
		for model in "" "-Zmiri-tree-borrows"; do \
			echo "== miri $${model:-stacked borrows}, seeds $(MIRI_SEEDS)"; \
			MIRIFLAGS="-Zmiri-disable-isolation $$model -Zmiri-many-seeds=$(MIRI_SEEDS)" \
				$(CARGO) +nightly miri test --quiet --lib executor::queue; \
		done; \
	fi

examples:
	@for ex in $(EXAMPLES); do echo "== example $$ex"; $(CARGO) run --quiet --all-features --example $$ex; done

go-test: build
	$(MAKE) -C go-harness test
	$(MAKE) go-module-test
	$(MAKE) author-example

## author-example: the Rust-author kit's worked example (author-example/README.md), every step
## of its walk-through: the author's staticlib (tally + gobridge's C ABI), its Go package under
## gobridge_external with -race, the view functions again under cgocheck2, and one Rust
## archive in the binary (one copy of gobridge_abi_version).
AUTHOR_GO := author-example/go
author-example:
	$(CARGO) build --release -p tally
	scripts/stage-archive.sh target/release/libtally.a $(AUTHOR_GO)/lib libtally.a
	cd $(AUTHOR_GO) && $(GO) vet -tags gobridge_external ./...
	cd $(AUTHOR_GO) && $(GO) test -race -count=1 -tags gobridge_external ./...
	cd $(AUTHOR_GO) && GOEXPERIMENT=cgocheck2 $(GO) test -count=1 -tags gobridge_external \
		-run 'View|Add|Example' .
	cd $(AUTHOR_GO) && $(GO) test -c -tags gobridge_external -o ../../target/tally.test .
	nm target/tally.test > target/tally.test.syms
	@copies=$$(grep -c ' T gobridge_abi_version$$' target/tally.test.syms || true); \
	if [ "$$copies" != 1 ]; then echo "author-example: $$copies copies of gobridge_abi_version"; exit 1; fi; \
	echo "author-example: one Rust archive in the binary (1 copy of gobridge_abi_version)"

## go-module-test: the Go module as users get it: the gobridge_external and gobridge_pkgconfig
## link modes, a rebuilt archive relinked by a plain `go build`, the product archive free of
## probes, and a fresh consumer module fetching `make dist`'s tree through a file-based module
## proxy, built with no Rust toolchain on PATH, then again from vendor/.
go-module-test: dist
	scripts/go-module-test.sh

## header: regenerate include/gobridge.h and the example's include/tally.h, and copy them
## into the Go packages that compile against them.
header:
	UPDATE_HEADER=1 $(CARGO) test --all-features --test header
	UPDATE_HEADER=1 $(CARGO) test -p tally --test header
	cp include/gobridge.h go-harness/gobridge/gobridge.h
	cp include/gobridge.h author-example/go/gobridge.h
	cp author-example/include/tally.h author-example/go/tally.h

## bench: criterion benches and Go benchmarks, each beside its baseline, as one table of ratios.
bench: build
	$(CARGO) build --release -p tally
	scripts/stage-archive.sh target/release/libtally.a $(AUTHOR_GO)/lib libtally.a
	{ $(CARGO) bench --workspace --all-features 2>&1; $(MAKE) -s -C go-harness bench-raw; \
	  (cd $(AUTHOR_GO) && $(GO) test -tags gobridge_external -run '^$$' -bench CallStatus \
	    -benchtime 1s -count 5 .); } \
		| (cd go-harness && $(GO) run ./tools/benchtable)

## stress: the stress suite at full size (make test runs it bounded): 10,000 goroutines x 100
## Do under pprof + GC, 60,000 NotifySignals cycles under a signal storm, Pool ctx races,
## concurrent Free/Close/Check, os/exec children with handlers installed, every API after Close.
stress: build
	cd go-harness && GOBRIDGE_STRESS=full GOBRIDGE_SCALE_CALLS=100 $(GO) test -count=1 -v \
		-run 'TestStress|TestThousands' -timeout 30m ./gobridge | grep -E '^(---|ok|FAIL|PASS)|_test.go'
	RUSTFLAGS="-D warnings" $(CARGO) test --release --all-features --test executor_stress

clean:
	$(CARGO) clean
