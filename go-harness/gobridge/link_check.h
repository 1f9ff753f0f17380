// Included by link_archive.go only (the default link mode): stop the build with a message that
// names the command to run, instead of a bare linker error, when this module holds no archive
// for the target. -I points at lib/<goos>_<goarch>/ for the supported targets only.
#ifndef GOBRIDGE_GO_LINK_CHECK_H
#define GOBRIDGE_GO_LINK_CHECK_H

#if !defined(__linux__) || !(defined(__x86_64__) || defined(__aarch64__))
#error "gobridge: no prebuilt archive for this GOOS/GOARCH (the module ships linux/amd64 and linux/arm64). Build your own staticlib and use -tags gobridge_external, or install one and use -tags gobridge_pkgconfig (see the package doc, section Linking)."
#elif !__has_include("libgobridge.a") || !__has_include("archive.go")
#error "gobridge: the static archive lib/<goos>_<goarch>/libgobridge.a is missing from this module. In a clone of the repository run `make build` (host) or `make dist` (every target); a released module version ships it. Or link your own: -tags gobridge_external (your staticlib re-exports gobridge's C ABI) or -tags gobridge_pkgconfig (after `make install`). See the package doc, section Linking."
#endif

#endif
