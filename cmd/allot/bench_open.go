package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"allot/catalog"
	"allot/internal/memtune"
	"allot/internal/tenantopts"
	"allot/tenant"
)

// benchOpenCmd times a restart: opening the database and loading every
// tenant into memory, as allot serve does before it serves them.
func benchOpenCmd() *cobra.Command {
	var (
		db, cpuProfile, memProfile string
		repeat                     int
	)
	c := &cobra.Command{
		Use:   "open",
		Short: "Time loading every tenant of a database (a restart): wall, CPU, peak RSS",
		Long: `Open the database read-only and load every tenant into a tenant runtime,
as allot serve does at start-up, and report the wall time until every tenant
is served and until every load has ended (a large tenant's load ends with a
collection that returns its garbage to the OS while it is served), the CPU time and peak resident memory of this process, and the
live heap afterwards. --repeat loads it that many times (each from a closed
runtime).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			memtune.Enable(serverMemoryPolicy) // what allot serve does (internal/memtune)
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			stop, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintln(out, heapReserveLine())
			for i := range max(1, repeat) {
				runtime.GC()
				resetPeakRSS()
				user0, sys0 := cpuTimes()
				cpu0 := user0 + sys0
				start := time.Now()
				st, err := openStoreReadOnly(ctx, db)
				if err != nil {
					return err
				}
				rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger(), Background: true}))
				if err != nil {
					st.Close()
					return err
				}
				// Served: no tenant is loading any more (each is served, or
				// failed). A large tenant's load then returns its garbage to
				// the OS (memtune.AfterLoad) while it is served; the figures
				// below are taken once that is done too.
				for len(rt.Loading()) > 0 {
					time.Sleep(5 * time.Millisecond)
				}
				served := time.Since(start)
				userServed, sysServed := cpuTimes()
				cpuServed, sysServed := userServed+sysServed-cpu0, sysServed-sys0
				if err := rt.WaitLoaded(ctx); err != nil {
					rt.Close(ctx)
					st.Close()
					return err
				}
				wall := time.Since(start)
				cpu := cpuTime() - cpu0
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak, before := peakRSS(), rss()
				runtime.GC() // what stays: the tenants' state, not the load's garbage
				var live runtime.MemStats
				runtime.ReadMemStats(&live)
				fmt.Fprintf(out, "open %d: %d tenants served after %s (CPU %s, system %s), loaded in wall %s, CPU %s, peak RSS %.0f MiB, RSS %.0f MiB, heap in use %.0f MiB, live heap after a collection %.0f MiB; load average %s\n",
					i+1, len(rt.List()), served.Round(time.Millisecond), cpuServed.Round(time.Millisecond), sysServed.Round(time.Millisecond), wall.Round(time.Millisecond), cpu.Round(time.Millisecond),
					peak/(1<<20), before/(1<<20), float64(ms.HeapInuse)/(1<<20), float64(live.HeapAlloc)/(1<<20), loadAverage())
				if i == 0 {
					if err := writeHeapProfile(memProfile); err != nil {
						return err
					}
				}
				rt.Close(ctx)
				st.Close()
			}
			if huge, small, _ := memtune.Prefaulted(); huge+small > 0 {
				fmt.Fprintln(out, heapReserveLine())
			}
			return nil
		},
	}
	c.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL of the database to open")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the loads to this file")
	c.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (live after the first load, and every allocation of it) to this file")
	c.Flags().IntVar(&repeat, "repeat", 1, "load the database this many times")
	return c
}
