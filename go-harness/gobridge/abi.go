package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// ABIVersion is the version of gobridge's C ABI this package was written against. init()
// panics if the linked staticlib reports another.
const ABIVersion = 1

// LibraryBuildID returns the build id of the gobridge library this binary linked:
// "gobridge <crate version>", plus the tag the archive was built with (GOBRIDGE_BUILD_ID)
// if any. Useful in bug reports, and to see which archive a build picked up.
func LibraryBuildID() string { return C.GoString(C.gobridge_build_id()) }

// FieldLayout is one field of a #[repr(C)] type: its name, offset and size in bytes.
type FieldLayout struct {
	Name   string
	Offset uintptr
	Size   uintptr
}

// TypeLayout is the size, alignment and fields of one #[repr(C)] type of the C ABI.
type TypeLayout struct {
	Name   string
	Size   uintptr
	Align  uintptr
	Fields []FieldLayout
}

// String formats the layout as name{size, align, field@offset:size...}, for mismatch reports.
func (t TypeLayout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s{size %d, align %d", t.Name, t.Size, t.Align)
	for _, f := range t.Fields {
		fmt.Fprintf(&b, "; %s@%d:%d", f.Name, f.Offset, f.Size)
	}
	b.WriteString("}")
	return b.String()
}

// rustLayouts returns the layouts the linked Rust staticlib reports
// (gobridge_type_layouts).
func rustLayouts() []TypeLayout {
	var n C.size_t
	p := C.gobridge_type_layouts(&n)
	if p == nil || n == 0 {
		return nil
	}
	types := unsafe.Slice(p, int(n))
	out := make([]TypeLayout, 0, len(types))
	for _, t := range types {
		tl := TypeLayout{Name: C.GoString(t.name), Size: uintptr(t.size), Align: uintptr(t.align)}
		if t.fields != nil && t.field_count > 0 {
			for _, f := range unsafe.Slice(t.fields, int(t.field_count)) {
				tl.Fields = append(tl.Fields, FieldLayout{Name: C.GoString(f.name), Offset: uintptr(f.offset), Size: uintptr(f.size)})
			}
		}
		out = append(out, tl)
	}
	return out
}

// goLayouts returns the same layouts as cgo sees them (unsafe.Sizeof/Alignof/Offsetof of the C
// types from include/gobridge.h).
func goLayouts() []TypeLayout {
	var st C.GobridgeStatus
	var ob C.GobridgeOwnedBuf
	var fs C.GobridgeForeignSlice_u8
	var fm C.GobridgeForeignSliceMut_u8
	var tl C.GobridgeTypeLayout
	var fl C.GobridgeFieldLayout
	var co C.GobridgeCompletion
	var hr C.GobridgeHandlerReport
	return []TypeLayout{
		{"GobridgeStatus", unsafe.Sizeof(st), unsafe.Alignof(st), []FieldLayout{
			{"code", unsafe.Offsetof(st.code), unsafe.Sizeof(st.code)},
			{"sys_errno", unsafe.Offsetof(st.sys_errno), unsafe.Sizeof(st.sys_errno)},
			{"msg", unsafe.Offsetof(st.msg), unsafe.Sizeof(st.msg)},
			{"msg_cap", unsafe.Offsetof(st.msg_cap), unsafe.Sizeof(st.msg_cap)},
			{"msg_len", unsafe.Offsetof(st.msg_len), unsafe.Sizeof(st.msg_len)},
		}},
		{"GobridgeOwnedBuf", unsafe.Sizeof(ob), unsafe.Alignof(ob), []FieldLayout{
			{"handle", unsafe.Offsetof(ob.handle), unsafe.Sizeof(ob.handle)},
			{"ptr", unsafe.Offsetof(ob.ptr), unsafe.Sizeof(ob.ptr)},
			{"len", unsafe.Offsetof(ob.len), unsafe.Sizeof(ob.len)},
		}},
		{"GobridgeForeignSlice_u8", unsafe.Sizeof(fs), unsafe.Alignof(fs), []FieldLayout{
			{"ptr", unsafe.Offsetof(fs.ptr), unsafe.Sizeof(fs.ptr)},
			{"len", unsafe.Offsetof(fs.len), unsafe.Sizeof(fs.len)},
		}},
		{"GobridgeForeignSliceMut_u8", unsafe.Sizeof(fm), unsafe.Alignof(fm), []FieldLayout{
			{"ptr", unsafe.Offsetof(fm.ptr), unsafe.Sizeof(fm.ptr)},
			{"len", unsafe.Offsetof(fm.len), unsafe.Sizeof(fm.len)},
		}},
		{"GobridgeTypeLayout", unsafe.Sizeof(tl), unsafe.Alignof(tl), []FieldLayout{
			{"name", unsafe.Offsetof(tl.name), unsafe.Sizeof(tl.name)},
			{"size", unsafe.Offsetof(tl.size), unsafe.Sizeof(tl.size)},
			{"align", unsafe.Offsetof(tl.align), unsafe.Sizeof(tl.align)},
			{"fields", unsafe.Offsetof(tl.fields), unsafe.Sizeof(tl.fields)},
			{"field_count", unsafe.Offsetof(tl.field_count), unsafe.Sizeof(tl.field_count)},
		}},
		{"GobridgeFieldLayout", unsafe.Sizeof(fl), unsafe.Alignof(fl), []FieldLayout{
			{"name", unsafe.Offsetof(fl.name), unsafe.Sizeof(fl.name)},
			{"offset", unsafe.Offsetof(fl.offset), unsafe.Sizeof(fl.offset)},
			{"size", unsafe.Offsetof(fl.size), unsafe.Sizeof(fl.size)},
		}},
		{"GobridgeCompletion", unsafe.Sizeof(co), unsafe.Alignof(co), []FieldLayout{
			{"job", unsafe.Offsetof(co.job), unsafe.Sizeof(co.job)},
			{"code", unsafe.Offsetof(co.code), unsafe.Sizeof(co.code)},
			{"sys_errno", unsafe.Offsetof(co.sys_errno), unsafe.Sizeof(co.sys_errno)},
		}},
		{"GobridgeHandlerReport", unsafe.Sizeof(hr), unsafe.Alignof(hr), []FieldLayout{
			{"signal", unsafe.Offsetof(hr.signal), unsafe.Sizeof(hr.signal)},
			{"flags", unsafe.Offsetof(hr.flags), unsafe.Sizeof(hr.flags)},
			{"mask", unsafe.Offsetof(hr.mask), unsafe.Sizeof(hr.mask)},
			{"handler", unsafe.Offsetof(hr.handler), unsafe.Sizeof(hr.handler)},
			{"on_stack", unsafe.Offsetof(hr.on_stack), unsafe.Sizeof(hr.on_stack)},
			{"siginfo", unsafe.Offsetof(hr.siginfo), unsafe.Sizeof(hr.siginfo)},
			{"restart", unsafe.Offsetof(hr.restart), unsafe.Sizeof(hr.restart)},
			{"ours", unsafe.Offsetof(hr.ours), unsafe.Sizeof(hr.ours)},
			{"go_compatible", unsafe.Offsetof(hr.go_compatible), unsafe.Sizeof(hr.go_compatible)},
		}},
	}
}

// compareLayouts returns a description of every difference between the Rust and Go views
// (types missing on either side, sizes, alignments, field offsets and sizes), or "".
func compareLayouts(rust, goView []TypeLayout) string {
	byName := func(ts []TypeLayout) map[string]TypeLayout {
		m := make(map[string]TypeLayout, len(ts))
		for _, t := range ts {
			m[t.Name] = t
		}
		return m
	}
	rm, gm := byName(rust), byName(goView)
	var diffs []string
	for _, r := range rust {
		g, ok := gm[r.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("Rust type %s is unknown to the Go package:\n  rust: %v", r.Name, r))
			continue
		}
		if r.String() != g.String() {
			diffs = append(diffs, fmt.Sprintf("layout mismatch for %s:\n  rust: %v\n  go:   %v", r.Name, r, g))
		}
	}
	for _, g := range goView {
		if _, ok := rm[g.Name]; !ok {
			diffs = append(diffs, fmt.Sprintf("Go expects type %s, which the Rust library does not report:\n  go:   %v", g.Name, g))
		}
	}
	return strings.Join(diffs, "\n")
}

// CheckABI compares the linked library's ABI version and type layouts with this package's
// view; init() panics with its error.
func CheckABI() error {
	if v := uint32(C.gobridge_abi_version()); v != ABIVersion {
		return fmt.Errorf("gobridge: ABI version mismatch: the linked Rust library reports %d, the Go package expects %d", v, ABIVersion)
	}
	if d := compareLayouts(rustLayouts(), goLayouts()); d != "" {
		return fmt.Errorf("gobridge: C ABI layout mismatch between the Rust library and cgo's view of include/gobridge.h:\n%s", d)
	}
	return nil
}

func init() {
	if err := CheckABI(); err != nil {
		panic(err)
	}
}
