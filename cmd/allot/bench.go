package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot/bundle"
	"allot/catalog"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/synth"
)

func init() {
	benchCmd := &cobra.Command{Use: "bench", Short: "Measure allot on synthetic tenants (see docs/BENCHMARKS.md)"}
	var users, groups, skus, gls int
	var seed int64
	var perUser float64
	var cpuProfile, memProfile string
	cfg := func() synth.Config {
		g, l := groups, gls
		if g <= 0 {
			g = max(10, users/100)
		}
		if l <= 0 {
			l = max(5, g/2)
		}
		return synth.Config{Users: users, Groups: g, SKUs: skus, GroupLicenses: l, MembershipsPerUser: perUser, Seed: seed}
	}
	flags := func(c *cobra.Command) {
		c.Flags().IntVar(&users, "users", 100_000, "users")
		c.Flags().IntVar(&groups, "groups", 0, "groups (default users/100)")
		c.Flags().IntVar(&skus, "skus", 50, "products with units")
		c.Flags().IntVar(&gls, "group-licenses", 0, "group licenses (default groups/2)")
		c.Flags().Int64Var(&seed, "seed", 1, "random seed (the same seed gives the same tenant)")
		c.Flags().Float64Var(&perUser, "memberships-per-user", 0, "average group memberships per user (default 2.5)")
	}
	recompute := &cobra.Command{
		Use:   "recompute",
		Short: "Time a full recompute of a synthetic tenant and report its memory",
		Long: `Generate a synthetic tenant (Zipf-sized groups, users in several groups,
overlapping products, add-ons, some products short of seats), load it into the
licensing engine, free the generator's data, then time a full recompute and
report the engine's heap and the process's peak resident memory during it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			memtune.Enable(serverMemoryPolicy) // the process owns GC tuning (internal/memtune)
			out := cmd.OutOrStdout()
			start := time.Now()
			t := synth.Generate(catalog.Default(), cfg())
			e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
			if err := t.LoadInto(e); err != nil {
				return err
			}
			members := len(t.Members)
			t = nil
			fmt.Fprintf(out, "generated and loaded %d users, %d memberships in %s\n", e.UserCount(), members, time.Since(start).Round(time.Millisecond))
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS()
			before := rss()
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			start = time.Now()
			cpu0 := cpuTime()
			e.Recompute(licensing.Op{Now: time.Now()})
			d := time.Since(start)
			cpu := cpuTime() - cpu0
			pprof.StopCPUProfile()
			e.TakeDelta()
			peak := peakRSS()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if err := writeHeapProfile(memProfile); err != nil {
				return err
			}
			held, waiting := 0, 0
			for _, p := range e.Pools() {
				held += p.Consumed
				waiting += p.Waiting
			}
			fmt.Fprintf(out, "full recompute: %s wall, %s CPU (%d threads), %d seats held, %d waiting\n",
				d.Round(time.Millisecond), cpu.Round(time.Millisecond), runtime.GOMAXPROCS(0), held, waiting)
			fmt.Fprintf(out, "heap after: %.0f MiB; RSS before %.0f MiB, peak during recompute %.0f MiB (GOMEMLIMIT=%s GOGC=%s)\n",
				float64(ms.HeapAlloc)/(1<<20), before/(1<<20), peak/(1<<20), os.Getenv("GOMEMLIMIT"), os.Getenv("GOGC"))
			runtime.KeepAlive(e)
			return nil
		},
	}
	flags(recompute)
	recompute.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the recompute to this file")
	recompute.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (live objects after the recompute, and all allocations since start) to this file")
	generate := &cobra.Command{
		Use:   "generate DIR|FILE.zip",
		Short: "Write a synthetic tenant as a bundle (for allot import tenant)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			memtune.Enable(serverMemoryPolicy) // the process owns GC tuning (internal/memtune)
			t := synth.Generate(catalog.Default(), cfg())
			e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
			if err := t.LoadInto(e); err != nil {
				return err
			}
			e.Recompute(licensing.Op{Now: time.Now()})
			if err := bundle.Write(args[0], e); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d users, %d groups to %s\n", e.UserCount(), len(e.GroupIDs()), args[0])
			return nil
		},
	}
	flags(generate)
	benchCmd.AddCommand(recompute, generate, benchImportCmd(), benchOpenCmd(), benchFollowCmd(), benchFailoverCmd())
	rootCmd.AddCommand(benchCmd)
}

// Process memory from /proc/self/status (Linux); 0 elsewhere.
func procStatus(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

func rss() float64 { return procStatus("VmRSS") }

func peakRSS() float64 { return procStatus("VmHWM") }

// resetPeakRSS resets VmHWM to the current RSS (Linux: clear_refs 5).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// startCPUProfile starts a CPU profile written to path ("" profiles
// nothing) and returns the function that stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes the heap profile to path ("" writes nothing).
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heapReserveLine says how large the heap's reserve is and how it is used
// (internal/memtune; ALLOT_HUGE_PAGES).
func heapReserveLine() string {
	n, why := memtune.HeapReserve()
	line := fmt.Sprintf("heap reserve: %d MiB (%s)", n>>20, why)
	if huge, small, dear := memtune.Prefaulted(); huge+small > 0 {
		line += fmt.Sprintf("; populated ahead of the heap: %d MiB in huge pages, %d MiB in 4 KiB pages (%d probes found huge pages dear)", huge>>20, small>>20, dear)
	}
	return line
}
