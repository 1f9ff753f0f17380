package gobridge

import (
	"strings"
	"testing"
)

// init() has already run CheckABI; this shows what a mismatch reports.
func TestABIAndLayoutsMatch(t *testing.T) {
	if err := CheckABI(); err != nil {
		t.Fatal(err)
	}
	rust := rustLayouts()
	if len(rust) < len(goLayouts()) {
		t.Fatalf("Rust reports %d types, Go knows %d", len(rust), len(goLayouts()))
	}
	for _, l := range rust {
		t.Logf("%v", l)
	}
}

func TestLayoutMismatchIsReportedWithBothLayouts(t *testing.T) {
	goView := goLayouts()
	rust := goLayouts()
	rust[0].Fields[1].Offset += 4
	rust = append(rust, TypeLayout{Name: "GobridgeNew", Size: 8, Align: 8})
	d := compareLayouts(rust, goView)
	for _, want := range []string{"layout mismatch for GobridgeStatus", "rust: GobridgeStatus{", "go:   GobridgeStatus{", "GobridgeNew is unknown"} {
		if !strings.Contains(d, want) {
			t.Fatalf("report lacks %q:\n%s", want, d)
		}
	}
	if d := compareLayouts(goLayouts()[1:], goView); !strings.Contains(d, "Go expects type GobridgeStatus") {
		t.Fatalf("a type missing on the Rust side is not reported:\n%s", d)
	}
	if compareLayouts(goLayouts(), goLayouts()) != "" {
		t.Fatal("identical layouts reported as different")
	}
}
