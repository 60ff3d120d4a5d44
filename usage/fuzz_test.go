package usage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// go test ./usage -run '^$' -fuzz FuzzParseReport -fuzztime 60s (likewise
// FuzzParseEvents, FuzzParseSignIns, FuzzDecodeBlob).

func FuzzParseReport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "")
	}
	f.Add([]byte("Report Refresh Date,User Principal Name,Send Count\n\"2024-06-30\",\"a\"\"b\",1\n"), "getEmailActivityUserDetail")
	f.Add([]byte("\ufeffReport Refresh Date,User Principal Name,Storage Used (Byte)\n2024-06-30,x,99999999999999999999\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, kind string) {
		r, err := ParseReport(bytes.NewReader(data), kind)
		if err != nil {
			return
		}
		if r.Len()+len(r.Rejected) > r.Rows+1 {
			t.Fatalf("%d rows and %d rejections from %d rows read", r.Len(), len(r.Rejected), r.Rows)
		}
		for i := 0; i < r.Len(); i++ {
			row := r.row(i)
			if row.nobs > maxObs || row.line < 1 || row.refresh == 0 || int(row.products) >= len(r.products) {
				t.Fatalf("bad row %+v", row)
			}
		}
		for _, x := range r.Rejected {
			if x.Line < 1 || x.Reason == "" {
				t.Fatalf("bad rejection %+v", x)
			}
		}
	})
}

func fuzzBatch(f *testing.F, kind BatchKind) {
	f.Add([]byte(`{"id":"1","user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00Z"}` + "\n" + `{"user":"b@x","feature":"EXCHANGE_S_ENTERPRISE","at":"2024-06-01"}`))
	f.Add([]byte(`[{"user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00+02:00","interactive":true},{}]`))
	f.Add([]byte(`{"value":[{"userPrincipalName":"a\u00e9\ud83d\ude00@x","createdDateTime":"2024-06-01T10:00:00.5Z","isInteractive":false,"x":[[[{"y":null}]]]}]}`))
	f.Add([]byte("\ufeff{\"user\":\"a\\\"b\",\"feature\":\"copilot\",\"at\":\"2024-06-01T10:00:00Z\"\n{\"user\":1e5}\n]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBatch(kind)
		b.Parse(data, 1)
		for _, it := range b.items {
			if it.t == 0 || int(it.user) >= len(b.users) || it.line < 1 || (kind == FeatureEvents && it.f == 0) {
				t.Fatalf("bad event %+v", it)
			}
		}
		if b.Len() > b.Read {
			t.Fatalf("%d events from %d objects read", b.Len(), b.Read)
		}
		for _, x := range b.Rejected {
			if x.Line < 1 || x.Line > bytes.Count(data, []byte{'\n'})+1 || x.Reason == "" {
				t.Fatalf("bad rejection %+v", x)
			}
		}
		// A single valid JSON object is never rejected as invalid JSON.
		var obj map[string]any
		if json.Unmarshal(data, &obj) == nil && !bytes.Contains(data, []byte(`"value"`)) {
			for _, x := range b.Rejected {
				if bytes.HasPrefix([]byte(x.Reason), []byte("invalid JSON")) {
					t.Fatalf("valid JSON rejected: %s", x.Reason)
				}
			}
		}
	})
}

func FuzzParseEvents(f *testing.F)  { fuzzBatch(f, FeatureEvents) }
func FuzzParseSignIns(f *testing.F) { fuzzBatch(f, SignIns) }

// FuzzDecodeBlob checks that a damaged stored blob is an error, never a
// panic.
func FuzzDecodeBlob(f *testing.F) {
	a := newAggregates()
	a.begin()
	u := a.users.at(a.user(uid(1)))
	u.observe(featureNamed("copilot"), 800000000, 9259, EvidenceEvent)
	u.recordSignIn(800000000, true)
	u.activity([]heldLic{{sku: mustIntern(a.skus, "05e9a617-0261-4cee-bb44-138d3ef5d965"), held: 700000000}}, 800000000, false)
	u.mbx = mailbox{storage: 12, storageDay: 9259, rtype: 2, flags: mbxArchive}
	a.user("not-a-guid")
	e := newEncoder(a.skus)
	for i := int32(0); i < int32(a.users.len()); i++ {
		e.add(a.users.at(i))
	}
	f.Add(e.blob())
	f.Fuzz(func(t *testing.T, blob []byte) {
		_ = decodeBlob(blob, newSKUTable(), func(u *userAgg) {
			for _, fu := range u.feats {
				_ = fu.f.info()
			}
		})
	})
}
