#!/usr/bin/env bash
# install.sh ARCHIVE HEADER PREFIX "NATIVE_LIBS": installs the product archive, the header and
# gobridge.pc for the gobridge_pkgconfig link mode of the Go package.
#   PREFIX/lib/libgobridge.a  PREFIX/include/gobridge.h  PREFIX/lib/pkgconfig/gobridge.pc
# NATIVE_LIBS are the system libraries the archive needs (rustc's --print native-static-libs).
set -euo pipefail
archive=$1 header=$2 prefix=$3 native_libs=$4
[ -f "$archive" ] || { echo "install: no archive at $archive" >&2; exit 1; }
[ -n "$native_libs" ] || { echo "install: no native-static-libs from rustc" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0644 "$archive" "$prefix/lib/libgobridge.a"
install -m 0644 "$header" "$prefix/include/gobridge.h"
sum=$(sha256sum "$prefix/lib/libgobridge.a" | cut -d' ' -f1)
# Go's build cache hashes neither the archive nor pkg-config's output: a build after a
# reinstall (or against another prefix) can reuse the old link. cache_key names this install
# (libdir and archive hash) for CGO_CFLAGS, which Go does hash:
#   CGO_CFLAGS="-DGOBRIDGE_CACHE_KEY=$(pkg-config --variable=cache_key gobridge)" go build -tags gobridge_pkgconfig
cat > "$prefix/lib/pkgconfig/gobridge.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include
cache_key=$prefix/lib:$sum

Name: gobridge
Description: Safe FFI primitives for Rust code inside Go processes (C ABI, static)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lgobridge $native_libs
PC
echo "installed gobridge $version into $prefix (archive sha256 ${sum:0:12})"
