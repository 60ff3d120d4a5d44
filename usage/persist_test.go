package usage

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"testing"
)

// The bodies stored with Tx.PersistRaw are rendered by hand: they must be
// exactly what encoding/json would write, whatever the lengths (the blob
// is base64-encoded in two parts).
func TestRawBodiesAreWhatEncodingJSONWrites(t *testing.T) {
	rnd := rand.New(rand.NewSource(9))
	a := newAggregates()
	a.begin()
	held := []heldLic{{sku: mustIntern(a.skus, "05e9a617-0261-4cee-bb44-138d3ef5d965"), held: 700000000}}
	for i := 0; i < 40; i++ {
		id := uid(i)
		if i%3 == 0 {
			id = "user-" + id[:i%7] // not a GUID, varying lengths
		}
		u := a.users.at(a.user(id))
		for k := 0; k < i%5; k++ {
			ts := stamp(800000000 + rnd.Intn(1e7))
			u.observe(featureIdx(1+rnd.Intn(len(ft.tab)-1)), ts, ts.day(), Evidence(1+rnd.Intn(int(evidenceKnown))))
		}
		if i%2 == 0 {
			u.recordSignIn(800000000, i%4 == 0)
			u.activity(held, 800000001, false)
		}
	}
	reused := newEncoder(a.skus)
	for n := 0; n <= a.users.len(); n++ { // every length of users, so every header alignment
		fresh := newEncoder(a.skus)
		reused.reset()
		for i := 0; i < n; i++ {
			fresh.add(a.users.at(int32(i)))
			reused.add(a.users.at(int32(i)))
		}
		want, err := json.Marshal(blobBody{Seq: uint64(n) * 977, Users: n, Data: fresh.blob()})
		if err != nil {
			t.Fatal(err)
		}
		if got := blobJSON(uint64(n)*977, fresh); !bytes.Equal(got, want) {
			t.Fatalf("%d users: blobJSON\n %s\nwant\n %s", n, got, want)
		}
		if got := blobJSON(uint64(n)*977, reused); !bytes.Equal(got, want) {
			t.Fatalf("%d users: a reused encoder wrote\n %s\nwant\n %s", n, got, want)
		}
		var back blobBody
		if err := json.Unmarshal(want, &back); err != nil {
			t.Fatal(err)
		}
		m := 0
		if err := decodeBlob(back.Data, newSKUTable(), func(u *userAgg) {
			if u.id != a.users.at(int32(m)).id {
				t.Fatalf("user %d decoded as %s", m, u.id)
			}
			m++
		}); err != nil || m != n {
			t.Fatalf("decoded %d of %d users: %v", m, n, err)
		}
	}
	ids := make([]uint64, idChunk)
	for i := range ids {
		if i%5 != 0 {
			ids[i] = rnd.Uint64()
		}
	}
	want, _ := json.Marshal(idsBody{IDs: func() []byte {
		var b []byte
		for _, h := range ids {
			for k := 0; k < 8; k++ {
				b = append(b, byte(h>>(8*k)))
			}
		}
		return b
	}()})
	if got := idsJSON(ids); !bytes.Equal(got, want) {
		t.Fatal("idsJSON differs from encoding/json")
	}
}
