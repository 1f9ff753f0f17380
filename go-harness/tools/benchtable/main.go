// Command benchtable reads `go test -bench` output on stdin (any -count) and prints one table
// of each benchmark beside its baseline: medians of ns/op (or of the "threads" metric) and
// their ratio, with the harness's targets.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type pair struct {
	what, bench, base, unit, target string
	limit                           float64 // ratio or absolute limit (0: none)
	absolute                        bool    // limit applies to the bench median, not the ratio
}

var pairs = []pair{
	{"guarded gobridge call vs bare cgo call", "CallGuarded", "CallBare", "ns/op", "<= 1.15x", 1.15, false},
	{"guarded call vs bare call with a result", "CallGuarded", "CallBareValue", "ns/op", "", 0, false},
	{"Executor.Ping vs Go chan round trip", "ExecutorPing", "GoChanRoundTrip", "ns/op", "<= 1500 ns", 1500, true},
	{"Executor.Do (no-op) vs Go chan round trip", "ExecutorDo", "GoChanRoundTrip", "ns/op", "<= 3000 ns", 3000, true},
	{"Executor.Do, cancellable ctx vs Go chan", "ExecutorDoCancellableCtx", "GoChanRoundTrip", "ns/op", "", 0, false},
	{"Sum 64 KiB through a view vs pure Go", "Sum64KiB", "SumGo64KiB", "ns/op", "", 0, false},
	{"OS threads: Pool.Sleep vs blocking cgo", "ThreadsPoolSleep", "ThreadsZBlockingCgo", "threads", "", 0, false},
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	vals := map[string]map[string][]float64{} // bench -> unit -> values
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if vals[name] == nil {
				vals[name] = map[string][]float64{}
			}
			vals[name][f[i+1]] = append(vals[name][f[i+1]], v)
		}
	}
	fmt.Println()
	fmt.Printf("%-42s %14s %14s %9s  %s\n", "benchmark vs baseline (medians)", "bench", "baseline", "ratio", "target")
	failed := false
	for _, p := range pairs {
		b, ok1 := vals[p.bench][p.unit]
		a, ok2 := vals[p.base][p.unit]
		if !ok1 || !ok2 {
			fmt.Printf("%-42s %14s\n", p.what, "(not run)")
			continue
		}
		mb, ma := median(b), median(a)
		ratio := mb / ma
		status := ""
		if p.limit > 0 {
			v := ratio
			if p.absolute {
				v = mb
			}
			if v <= p.limit {
				status = "ok"
			} else {
				status = "MISSED"
				failed = true
			}
		}
		fmt.Printf("%-42s %11.1f %-2s %11.1f %-2s %8.2fx  %s %s\n", p.what, mb, short(p.unit), ma, short(p.unit), ratio, p.target, status)
	}
	if failed {
		fmt.Println("\n(some targets missed on this run; take final numbers on a quiet machine)")
	}
}

func short(unit string) string {
	if unit == "ns/op" {
		return "ns"
	}
	return "th"
}
