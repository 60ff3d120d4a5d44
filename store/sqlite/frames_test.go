package sqlite_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
	"allot/store/sqlite"
)

// BenchmarkMembershipCommitFrames commits membership-shaped changes (a
// member and a license record, two audit entries; one change a commit)
// after 10,000 changes of history, with the checkpointer paused, and
// reports the WAL frames a commit writes (walframes/op), by b-tree
// (frames-<name>/op: each frame's page named with dbstat; "page1" is the
// database header, "other" pages dbstat does not name, such as free
// pages). The count does not depend on the machine's load.
//
//	go test ./store/sqlite -run '^$' -bench MembershipCommitFrames -benchtime 2000x
func BenchmarkMembershipCommitFrames(b *testing.B) {
	s := openStore(b)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		b.Fatal(err)
	}
	seq := int64(0)
	commit := func(k int) {
		seq++
		user := fmt.Sprintf("%08d-0000-0000-0000-000000000000", k%10_000)
		c := store.Change{TenantID: "t1",
			Mutations: []store.Mutation{
				{Kind: store.KindMember, ID: "g1/" + user, Body: []byte{'u'}},
				{Kind: store.KindLicense, ID: user + "/sku-e3", Body: []byte("\x01\x0f license record of about sixty bytes, as the binary codec writes")},
			},
			Audit: []audit.Entry{
				{Seq: seq, At: time.Now(), Actor: "bench", Action: "Add member", UserID: user, GroupID: "g1"},
				{Seq: seq + 1, At: time.Now(), Actor: audit.ActorGroupLicensing, Action: "Change user license", UserID: user, GroupID: "g1", SKUID: "sku-e3", Why: "member of g1", Detail: `{"old":null,"new":"Active"}`},
			},
		}
		seq++
		if err := s.Commit(ctx, []store.Change{c}); err != nil {
			b.Fatal(err)
		}
	}
	for k := range 10_000 {
		commit(k)
	}
	if err := sqlite.PauseCheckpoints(s); err != nil {
		b.Fatal(err)
	}
	wal := dbPath(b) + "-wal"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		commit(10_000 + i)
	}
	b.StopTimer()
	pages, err := walPages(wal)
	if err != nil {
		b.Fatal(err)
	}
	names, err := pageNames(s)
	if err != nil {
		b.Fatal(err)
	}
	by := map[string]int{}
	for _, p := range pages {
		n, ok := names[p]
		switch {
		case p == 1:
			n = "page1"
		case !ok:
			n = "other"
		}
		by[n]++
	}
	b.ReportMetric(float64(len(pages))/float64(b.N), "walframes/op")
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.ReportMetric(float64(by[k])/float64(b.N), "frames-"+k+"/op")
	}
}

// walPages returns the page number of every frame of a WAL file (header
// 32 bytes; each frame a 24-byte header, the page number first, and a
// page).
func walPages(path string) ([]uint32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 32 {
		return nil, nil
	}
	size := int(binary.BigEndian.Uint32(data[8:12]))
	var pages []uint32
	for off := 32; off+24+size <= len(data); off += 24 + size {
		pages = append(pages, binary.BigEndian.Uint32(data[off:off+4]))
	}
	return pages, nil
}

// pageNames maps each page of the database to its b-tree's name (dbstat).
func pageNames(s *sqlite.Store) (map[uint32]string, error) {
	rows, err := sqlite.WriterQueryString(s, `SELECT group_concat(pageno || ':' || name, ',') FROM dbstat`)
	if err != nil {
		return nil, err
	}
	m := map[uint32]string{}
	for _, kv := range strings.Split(rows, ",") {
		var p uint32
		var name string
		if n, _ := fmt.Sscanf(strings.Replace(kv, ":", " ", 1), "%d %s", &p, &name); n == 2 {
			m[p] = name
		}
	}
	return m, nil
}
