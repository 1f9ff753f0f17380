// Command benchtable reads benchmark output on stdin and prints one table of ratios, each
// benchmark beside its baseline, with the project's targets: the Rust benches' paired lines
// ("paired NAME: baseline X ns, subject Y ns, ratio R", printed by benches/common) and
// `go test -bench` results (any -count; medians of ns/op or of the "threads" metric). Every
// input line is echoed first.
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

// rustTargets are the issue targets of the Rust paired ratios (subject / baseline).
var rustTargets = map[string]float64{
	"round_trip executor_run / floor_atomic_spin": 2.0,
	"round_trip executor_run / crossbeam_channel": 0.05,
	"round_trip executor_run / std_mpsc":          0.05,
	"view_sum_64k foreign_slice_get / raw_slice":  1.02,
	"mask guard / raw pair":                       1.1,
	"mask nested no-op guard / raw pair":          0.05,
	"delivery SignalPipe / signal-hook pipe":      1.1,
}

type pairedLine struct {
	name                    string
	baseline, subject, rate float64
}

var pairs = []pair{
	{"guarded gobridge call vs bare cgo call", "CallGuarded", "CallBare", "ns/op", "<= 1.15x", 1.15, false},
	{"guarded call vs bare call with a result", "CallGuarded", "CallBareValue", "ns/op", "", 0, false},
	{"guarded vs bare, 8 goroutines (per call)", "FanInCallGuarded/8", "FanInCallBare/8", "ns/op", "<= 1.15x", 1.15, false},
	{"guarded vs bare, 64 goroutines (per call)", "FanInCallGuarded/64", "FanInCallBare/64", "ns/op", "<= 1.15x", 1.15, false},
	{"CallStatus vs bare cgo call (author's fn)", "CallStatus/CallStatus", "CallStatus/bare", "ns/op", "<= 1.15x", 1.15, false},
	{"Executor.Ping vs Go chan round trip", "ExecutorPing", "GoChanRoundTrip", "ns/op", "<= 400 ns", 400, true},
	{"Executor.Ping, 8 vs 1 goroutine (per call)", "FanInExecutorPing/8", "FanInExecutorPing/1", "ns/op", "", 0, false},
	{"Executor.Ping, 64 vs 1 goroutine (per call)", "FanInExecutorPing/64", "FanInExecutorPing/1", "ns/op", "<= 1.0x", 1.0, false},
	{"Executor.Do (no-op) vs callback floor", "ExecutorDo", "CallbackFloor", "ns/op", "<= 1.3x", 1.3, false},
	{"Executor.Do (no-op) vs Go chan round trip", "ExecutorDo", "GoChanRoundTrip", "ns/op", "<= 1000 ns", 1000, true},
	{"Executor.Do, cancellable ctx vs Go chan", "ExecutorDoCancellableCtx", "GoChanRoundTrip", "ns/op", "", 0, false},
	{"Executor.Do WithPreemptibleCallbacks vs Do", "ExecutorDoPreemptible", "ExecutorDo", "ns/op", "", 0, false},
	{"Go-created thread (prototype): Go job vs floor", "GoThreadDoNoop", "CallbackFloor", "ns/op", "", 0, false},
	{"Go-created thread (prototype): Go job vs Do", "GoThreadDoNoop", "ExecutorDo", "ns/op", "", 0, false},
	{"Go-created thread (prototype): C job vs Ping", "GoThreadNativeNoop", "ExecutorPing", "ns/op", "", 0, false},
	{"Go-created thread: C submitter, C / Go job", "GoThreadNativeSubmitter/native", "GoThreadNativeSubmitter/go", "ns/op", "", 0, false},
	{"Do after 1 ms idle: prototype vs Executor.Do", "AfterIdle/1ms/GoThreadDo", "AfterIdle/1ms/ExecutorDo", "p50-ns", "", 0, false},
	{"Do after 20 ms idle: prototype vs Executor.Do", "AfterIdle/20ms/GoThreadDo", "AfterIdle/20ms/ExecutorDo", "p50-ns", "", 0, false},
	{"Pool(4).Do (no-op), 1 goroutine vs Go chan", "PoolDoNoop", "GoChanRoundTrip", "ns/op", "<= 1500 ns", 1500, true},
	{"Pool(4).Sleep(0), 1 goroutine vs Go 4-server", "FanInPoolSleep0/1", "FanInGoChanRoundTrip/1", "ns/op", "<= 1500 ns", 1500, true},
	{"Pool(4).Do, cancellable ctx (netpoller path)", "PoolDoNoopCancellableCtx", "PoolDoNoop", "ns/op", "", 0, false},
	{"Pool(4).Sleep(0), cancellable ctx (netpoller path)", "PoolSleep0CancellableCtx", "PoolSleep0", "ns/op", "", 0, false},
	{"Pool(4).Sleep(0), 8 goroutines vs Go", "FanInPoolSleep0/8", "FanInGoChanRoundTrip/8", "ns/op", "", 0, false},
	{"Pool(4).Sleep(0), 64 goroutines vs Go", "FanInPoolSleep0/64", "FanInGoChanRoundTrip/64", "ns/op", "<= 1.2x", 1.2, false},
	{"idle Executor + Pool(4): process CPU / 5 s", "IdleCPU", "", "cpu-ms/5s", "<= 50 ms", 50, true},
	{"Sum 64 KiB through a view vs pure Go", "Sum64KiB", "SumGo64KiB", "ns/op", "", 0, false},
	{"OS threads: Pool.Sleep vs blocking cgo", "ThreadsPoolSleep", "ThreadsZBlockingCgo", "threads", "", 0, false},
}

func minMax(v []float64) (float64, float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
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
	var paired []pairedLine
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		if p, ok := parsePaired(line); ok {
			paired = append(paired, p)
			continue
		}
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
	failed := false
	if len(paired) > 0 {
		fmt.Println()
		fmt.Printf("%-46s %12s %12s %9s  %s\n", "Rust, paired rounds (subject / baseline)", "subject", "baseline", "ratio", "target")
		for _, p := range paired {
			target, status := "", ""
			if limit, ok := rustTargets[p.name]; ok {
				target = fmt.Sprintf("<= %gx", limit)
				status = "ok"
				if p.rate > limit {
					status = "MISSED"
					failed = true
				}
			}
			fmt.Printf("%-46s %9.1f ns %9.1f ns %8.3fx  %s %s\n", p.name, p.subject, p.baseline, p.rate, target, status)
		}
	}
	fmt.Println()
	fmt.Printf("%-44s %14s %19s %14s %9s  %s\n", "Go benchmark vs baseline (medians)", "bench", "bench range", "baseline", "ratio", "target")
	for _, p := range pairs {
		b, ok1 := vals[p.bench][p.unit]
		a, ok2 := vals[p.base][p.unit]
		if !ok1 || (!ok2 && p.base != "") {
			fmt.Printf("%-44s %14s\n", p.what, "(not run)")
			continue
		}
		mb := median(b)
		lo, hi := minMax(b)
		ratio, ma := 0.0, 0.0
		if p.base != "" {
			ma = median(a)
			ratio = mb / ma
		}
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
		rng := fmt.Sprintf("%.1f-%.1f", lo, hi)
		if p.base == "" {
			fmt.Printf("%-44s %11.1f %-2s %19s %14s %9s  %s %s\n", p.what, mb, short(p.unit), rng, "-", "-", p.target, status)
			continue
		}
		fmt.Printf("%-44s %11.1f %-2s %19s %11.1f %-2s %8.2fx  %s %s\n", p.what, mb, short(p.unit), rng, ma, short(p.unit), ratio, p.target, status)
	}
	if failed {
		fmt.Println("\n(some targets missed on this run; take final numbers on a quiet machine)")
	}
}

// parsePaired reads "paired NAME: baseline X ns, subject Y ns, ratio R".
func parsePaired(line string) (pairedLine, bool) {
	rest, ok := strings.CutPrefix(line, "paired ")
	if !ok {
		return pairedLine{}, false
	}
	name, nums, ok := strings.Cut(rest, ": ")
	if !ok {
		return pairedLine{}, false
	}
	var p pairedLine
	p.name = name
	if _, err := fmt.Sscanf(nums, "baseline %g ns, subject %g ns, ratio %g", &p.baseline, &p.subject, &p.rate); err != nil {
		return pairedLine{}, false
	}
	return p, true
}

func short(unit string) string {
	switch unit {
	case "ns/op", "p50-ns":
		return "ns"
	case "threads":
		return "th"
	}
	return "ms"
}
