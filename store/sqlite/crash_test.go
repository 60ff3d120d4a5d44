package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
	"allot/store/sqlite"
)

// crashEnv tells the test binary, run as a child, to be the crashing writer.
const crashEnv = "ALLOT_SQLITE_CRASH_CHILD"

const (
	crashBulkEvery = 25   // every 25th commit also writes crashBulkSize objects
	crashBulkSize  = 2000 // so that some kills land inside a large transaction
)

// crashCommit is commit number seq of the crashing writer: the user u<seq>,
// on bulk commits crashBulkSize more objects, and audit entry seq.
func crashCommit(seq int64) store.Change {
	ch := store.Change{TenantID: "t1",
		Mutations: []store.Mutation{{Kind: store.KindUser, ID: fmt.Sprintf("u%06d", seq), Body: []byte(`{}`)}},
		Audit:     []audit.Entry{{Seq: seq, At: time.Now(), Actor: "crash test", Action: "commit"}},
	}
	if seq%crashBulkEvery == 0 {
		for i := range crashBulkSize {
			ch.Mutations = append(ch.Mutations, store.Mutation{Kind: store.KindLicense, ID: fmt.Sprintf("b%06d-%04d", seq, i), Body: []byte(`{"state":"active"}`)})
		}
	}
	return ch
}

// TestCrashLosesNothingCommitted runs a writer in a child process that
// reports each commit once Commit has returned, kills it with SIGKILL in the
// middle of its work, reopens the database and checks that every reported
// commit is there, whole, and that no commit is there in part. (A process
// crash, not a power cut: that synchronous=FULL survives the latter is
// SQLite's own, tested, promise.)
func TestCrashLosesNothingCommitted(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashWriter(t, path)
		return
	}
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "allot.db")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNothingCommitted$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Read the acknowledgements as they come; kill at a different point
		// each round, a little after an acknowledgement, so that the kill
		// lands inside a later commit.
		killAfter := int64(40 + 23*round)
		reached := make(chan struct{})
		done := make(chan int64)
		go func() {
			var acked int64
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				seq, ok := strings.CutPrefix(sc.Text(), "acked ")
				if !ok {
					continue
				}
				acked, _ = strconv.ParseInt(seq, 10, 64)
				if acked == killAfter {
					close(reached)
				}
			}
			done <- acked
		}()
		select {
		case <-reached:
		case acked := <-done:
			t.Fatalf("the writer stopped after %d commits", acked)
		case <-time.After(time.Minute):
			t.Fatal("the writer does not reach the kill point")
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		acked := <-done
		cmd.Wait()

		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("reopen after the crash: %v", err)
		}
		ctx := context.Background()
		last, err := s.MaxAuditSeq(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if last < acked {
			t.Fatalf("round %d: commit %d was acknowledged, the store has only up to %d", round, acked, last)
		}
		// Each entry exactly once through the audit index file too (a
		// time range is looked up there), whatever the kill interrupted.
		es, err := s.QueryAudit(ctx, audit.Query{TenantID: "t1", From: time.Unix(0, 0), Limit: int(last) + 10})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if e.Seq != int64(i+1) {
				t.Fatalf("round %d: audit entry %d has seq %d (want 1..%d, each once)", round, i, e.Seq, last)
			}
		}
		if int64(len(es)) != last {
			t.Fatalf("round %d: %d audit entries by time, want %d", round, len(es), last)
		}
		users, bulk := int64(0), int64(0)
		if err := s.LoadObjects(ctx, "t1", func(o store.Object) error {
			switch o.Kind {
			case store.KindUser:
				users++
			case store.KindLicense:
				bulk++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if users != last || bulk != last/crashBulkEvery*crashBulkSize {
			t.Fatalf("round %d: audit up to %d, but %d users and %d bulk objects (want %d and %d): a commit is there in part",
				round, last, users, bulk, last, last/crashBulkEvery*crashBulkSize)
		}
		t.Logf("round %d: killed after %d acknowledged commits; %d in the store", round, acked, last)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashWriter commits until it is killed, printing "acked <seq>" after each
// Commit returns.
func crashWriter(t *testing.T, path string) {
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); ; seq++ {
		if err := s.Commit(context.Background(), []store.Change{crashCommit(seq)}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "acked %d\n", seq)
	}
}
