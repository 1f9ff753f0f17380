#!/usr/bin/env bash
# The Go module as its users get it (run by `make go-module-test` after `make build` and
# `make dist`): each link mode, the archive-hash relink, the product archive's symbols, and a
# consumer module outside the repository fetching the module through a file-based proxy, then
# building from vendor/. Fails loudly at the first broken promise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
module=$(sed -n 's/^module //p' go-harness/go.mod)
host=$(go env GOOS)_$(go env GOARCH)
dev_archive=$root/go-harness/lib/$host/libgobridge.a
dist=$root/target/dist/go-harness
product_archive=$dist/lib/$host/libgobridge.a
work=$(mktemp -d /tmp/gobridge-module-test.XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
step() { echo "== go-module-test: $*"; }
fail() { echo "go-module-test: FAIL: $*" >&2; exit 1; }
[ -f "$dev_archive" ] || fail "no development archive at $dev_archive (make build)"
[ -f "$product_archive" ] || fail "no product archive at $product_archive (make dist)"

probes='gobridge_(sum|fill|bench_noop|bench_noop_guarded|sleep_interruptible|probe_[a-z_]+)'
step "the product archive holds the C ABI and none of the harness probes"
# Symbol lists go to files first: `nm | grep -q` dies of SIGPIPE under pipefail.
nm -g --defined-only "$product_archive" >"$work/product.syms" 2>/dev/null
nm -g --defined-only "$dev_archive" >"$work/dev.syms" 2>/dev/null
grep -qE " T gobridge_abi_version$" "$work/product.syms" || fail "product archive lacks gobridge_abi_version"
if grep -E " T ${probes}$" "$work/product.syms"; then
  fail "product archive exports harness probes (built with the harness feature?)"
fi
grep -qE " T gobridge_sum$" "$work/dev.syms" \
  || fail "development archive lacks the probes (make build enables the harness feature)"

cd go-harness
step "gobridge_external: the package adds no archive (a build without one fails to link)"
if out=$(go build -tags gobridge_external -o "$work/nolib" ./cmd/gobridge-check 2>&1); then
  fail "an external-mode build without CGO_LDFLAGS linked: the package brought its own archive"
fi
grep -q "undefined reference to \`gobridge_" <<<"$out" || fail "unexpected external-mode failure: $out"
step "gobridge_external: the program's one staticlib (CGO_LDFLAGS), package tests and gobridge-check"
CGO_LDFLAGS="$dev_archive" go test -count=1 -tags gobridge_external -run 'TestABI|TestHeader|Example' ./gobridge
CGO_LDFLAGS="$product_archive" go build -tags gobridge_external -o "$work/external" ./cmd/gobridge-check
"$work/external" >"$work/external.out" || fail "gobridge-check (external): $(cat "$work/external.out")"
tail -1 "$work/external.out"
nm "$work/external" >"$work/external.syms"
copies=$(grep -c ' T gobridge_abi_version$' "$work/external.syms" || true)
[ "$copies" = 1 ] || fail "external-mode binary has $copies copies of gobridge_abi_version"

step "gobridge_pkgconfig: make install into a temporary prefix, build through PKG_CONFIG_PATH"
make -s -C "$root" install PREFIX="$work/prefix" >/dev/null
# Go's cache does not hash pkg-config's output: without the documented CGO_CFLAGS key a build
# reuses a package compiled against an earlier prefix (seen: "cannot find -lgobridge").
export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
key=$(pkg-config --variable=cache_key gobridge)
[ -n "$key" ] || fail "gobridge.pc has no cache_key"
CGO_CFLAGS="-DGOBRIDGE_CACHE_KEY=$key" go build -tags gobridge_pkgconfig -o "$work/pkgconfig" ./cmd/gobridge-check
unset PKG_CONFIG_PATH
"$work/pkgconfig" >"$work/pkgconfig.out" || fail "gobridge-check (pkg-config): $(cat "$work/pkgconfig.out")"
grep -q 'link mode pkg-config' "$work/pkgconfig.out" || fail "pkg-config build did not report its link mode"
tail -1 "$work/pkgconfig.out"
cd "$root"

step "no stale links: a rebuilt archive is relinked by a plain go build"
# A copy of the release tree; the archive is rebuilt with another GOBRIDGE_BUILD_ID (what
# gobridge_build_id returns), staged, and the program rebuilt with a plain `go build`.
cp -r "$dist" "$work/relink"
native_libs=$(sed -n 's/^Libs: -L${libdir} -lgobridge //p' "$work/prefix/lib/pkgconfig/gobridge.pc")
for tag in relink-one relink-two; do
  GOBRIDGE_BUILD_ID=$tag cargo build --quiet --release -p gobridge-capi --target-dir "$root/target/relink"
  scripts/stage-archive.sh "$root/target/relink/release/libgobridge_capi.a" "$work/relink/lib/$host" >/dev/null
  (cd "$work/relink" && go build -o "$work/relink-app" ./cmd/gobridge-check)
  "$work/relink-app" >"$work/relink.out" || fail "gobridge-check after relink: $(cat "$work/relink.out")"
  grep -q "gobridge [0-9.]* $tag," "$work/relink.out" \
    || fail "plain go build linked a stale archive: wanted build id $tag, got: $(head -1 "$work/relink.out")"
  echo "relinked: $(head -1 "$work/relink.out" | cut -c6- | cut -d, -f1)"
  # The same archive reinstalled for pkg-config: a build keyed by the install's cache_key.
  scripts/install.sh "$root/target/relink/release/libgobridge_capi.a" include/gobridge.h \
    "$work/prefix" "$native_libs" >/dev/null
  key=$(PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig pkg-config --variable=cache_key gobridge)
  (cd go-harness && PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig CGO_CFLAGS="-DGOBRIDGE_CACHE_KEY=$key" \
    go build -tags gobridge_pkgconfig -o "$work/relink-pc" ./cmd/gobridge-check)
  "$work/relink-pc" >"$work/relink-pc.out" || fail "gobridge-check (pkg-config relink): $(cat "$work/relink-pc.out")"
  grep -q "gobridge [0-9.]* $tag, link mode pkg-config" "$work/relink-pc.out" \
    || fail "pkg-config build linked a stale archive: wanted $tag, got: $(head -1 "$work/relink-pc.out")"
done

step "consumer: a fresh module outside the repository, through GOPROXY=file://"
commit=$(git rev-parse --short=12 HEAD)
stamp=$(TZ=UTC git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd)
version=v0.0.0-$stamp-$commit
(cd go-harness && go run ./tools/modproxy -dir "$dist" -version "$version" -out "$work/proxy")
consumer=$work/consumer
mkdir -p "$consumer"
cat > "$consumer/main.go" <<GO
// A Go team's program: it imports gobridge from the module proxy and uses an Executor, a
// SignalPipe and a Buffer.
package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"$module/gobridge"
)

func main() {
	e, err := gobridge.NewExecutor("consumer")
	if err != nil {
		panic(err)
	}
	defer e.Close()
	var tid int
	if err := e.Do(context.Background(), func() { tid = gobridge.ThreadID() }); err != nil || tid != e.ThreadID() {
		panic(fmt.Sprintf("Do: err %v, ran on %d, executor %d", err, tid, e.ThreadID()))
	}
	p, err := gobridge.NotifySignals(syscall.SIGUSR1)
	if err != nil {
		panic(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case <-p.C():
	case <-time.After(10 * time.Second):
		panic("SIGUSR1 not delivered")
	}
	if err := p.Close(); err != nil {
		panic(err)
	}
	b, err := gobridge.NewBuffer(5)
	if err != nil {
		panic(err)
	}
	copy(b.Bytes(), "hello")
	fmt.Printf("consumer: Do on thread %d, SIGUSR1 received, buffer %q, link mode %s\n", tid, b.Bytes(), gobridge.LinkMode)
	if err := b.Free(); err != nil {
		panic(err)
	}
}
GO
# No Rust toolchain on PATH: only Go's and the system C toolchain's directories.
gobin=$(dirname "$(command -v go)")
export PATH=$gobin:/usr/bin:/bin
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
  fail "a Rust toolchain is still on PATH ($(command -v cargo rustc))"
fi
export GOPROXY=file://$work/proxy GOSUMDB=off GOFLAGS=-modcacherw GOMODCACHE=$work/modcache
export GOPATH=$work/gopath GOTOOLCHAIN=local
cd "$consumer"
go mod init example.com/consumer >/dev/null 2>&1
go get "$module/gobridge@$version"
go build -o app .
./app | tee "$work/out1"
grep -q 'link mode archive' "$work/out1" || fail "consumer output: $(cat "$work/out1")"

step "consumer: go mod vendor, then a build from vendor/ with no module cache and no proxy"
go mod vendor
[ -f "vendor/$module/lib/$host/libgobridge.a" ] || fail "vendor/ lacks the archive"
[ -f "vendor/$module/gobridge/gobridge.h" ] || fail "vendor/ lacks the header"
go clean -modcache
GOPROXY=off go build -mod=vendor -o app-vendored .
./app-vendored | tee "$work/out2"
grep -q 'link mode archive' "$work/out2" || fail "vendored consumer output: $(cat "$work/out2")"
echo "go-module-test: all module checks passed"
