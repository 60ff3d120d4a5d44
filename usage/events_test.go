package usage

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// items renders a batch: user feature time [interactive] per event.
func items(b *Batch) []string {
	var out []string
	for _, it := range b.items {
		s := b.users[it.user]
		if it.f != 0 {
			s += " " + it.f.info().name
		}
		s += " " + it.t.Time().Format(time.RFC3339)
		if it.interactive {
			s += " interactive"
		}
		out = append(out, s)
	}
	return out
}

func TestEventFormatsAllReadTheSame(t *testing.T) {
	want := []string{"ann@x copilot 2024-06-01T10:00:00Z", "bob@x attackSimulation 2024-06-01T09:00:00Z"}
	a := `{"id":"1","user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00Z"}`
	b := `{"id":"2","user":"bob@x","feature":"attackSimulation","at":"2024-06-01T11:00:00+02:00"}`
	for name, body := range map[string]string{
		"json lines":       a + "\n" + b + "\n",
		"json lines, CRLF": a + "\r\n" + b,
		"array":            "[" + a + ",\n " + b + "]",
		"value":            `{"@odata.context":"x","value":[` + a + "," + b + `],"@odata.nextLink":null}`,
		"bom":              "\ufeff" + a + "\n" + b,
		"pretty":           "{\n  \"user\": \"ann@x\",\n  \"feature\": \"copilot\",\n  \"at\": \"2024-06-01T10:00:00Z\"\n}\n" + b,
	} {
		bt := ParseEvents([]byte(body))
		if got := items(bt); !reflect.DeepEqual(got, want) || len(bt.Rejected) != 0 {
			t.Errorf("%s: %q rejected %+v", name, got, bt.Rejected)
		}
	}
}

func TestEventRejectionsCarryTheirLine(t *testing.T) {
	body := strings.Join([]string{
		`{"id":"1","user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00Z"}`,
		`{"id":"2","user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00Z"`,
		`not json`,
		``,
		`{"id":"3","feature":"copilot","at":"2024-06-01T10:00:00Z"}`,
		`{"id":"4","user":"ann@x","at":"2024-06-01T10:00:00Z"}`,
		`{"id":"5","user":"ann@x","feature":"x-ray vision","at":"2024-06-01T10:00:00Z"}`,
		`{"id":"6","user":"ann@x","feature":"copilot","at":"2024-06-01"}`,
		`{"id":"7","user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00"}`,
		`{"id":"8","user":"ann@x","feature":"copilot","at":"1999-12-31T23:59:59Z"}`,
		`{"id":9,"user":"ann\u0040x","feature":"Copilot","at":"2024-06-02T10:00:00.123456Z","extra":{"nested":[1,{"a":null}]}}`,
		`[1,2]`,
	}, "\n")
	bt := ParseEvents([]byte(body))
	want := []string{"ann@x copilot 2024-06-01T10:00:00Z", "ann@x copilot 2024-06-01T00:00:00Z", "ann@x copilot 2024-06-02T10:00:00Z"}
	if got := items(bt); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %q", got)
	}
	var got []string
	for _, r := range bt.Rejected {
		got = append(got, strings.SplitN(r.Reason, ":", 2)[0]+"@"+strconv.Itoa(r.Line))
	}
	wantRej := []string{"invalid JSON@2", "expected a JSON object@3", "missing user@5", "missing feature@6",
		`unknown feature "x-ray vision"@7`, `invalid at "2024-06-01T10@9`, `at "1999-12-31T23@10`, "expected a JSON object@12"}
	if !reflect.DeepEqual(got, wantRej) {
		t.Fatalf("rejections\n got %q\nwant %q", got, wantRej)
	}
	if bt.Read != 12-1 {
		t.Fatalf("read %d", bt.Read)
	}
}

func TestAJSONArraySyntaxErrorStopsTheReading(t *testing.T) {
	body := "[\n" + `{"user":"ann@x","feature":"copilot","at":"2024-06-01T10:00:00Z"},` + "\n" +
		`{"user":"bob@x","feature":"copilot","at":"2024-06-01T10:00:00Z"` + "\n" +
		`{"user":"cid@x","feature":"copilot","at":"2024-06-01T10:00:00Z"}]`
	bt := ParseEvents([]byte(body))
	if bt.Len() != 1 || len(bt.Rejected) != 1 || bt.Rejected[0].Line != 4 || !strings.Contains(bt.Rejected[0].Reason, "not read") {
		t.Fatalf("events %q rejected %+v", items(bt), bt.Rejected)
	}
}

func TestEventsNameServicePlansDirectly(t *testing.T) {
	bt := ParseEvents([]byte(`{"user":"a@x","feature":"THREAT_INTELLIGENCE","at":"2024-06-01T10:00:00Z"}
{"user":"a@x","feature":"8e0c0a52-6a6c-4d40-8370-dd62790dcd70","at":"2024-06-01T10:00:00Z"}
{"user":"a@x","feature":"threat_intelligence","at":"2024-06-01T10:00:00Z"}`))
	if bt.Len() != 3 || bt.items[0].f != bt.items[1].f || bt.items[1].f != bt.items[2].f || !bt.items[0].f.isPlanFeature() {
		t.Fatalf("%q %+v", items(bt), bt.Rejected)
	}
	if info := bt.items[0].f.info(); info.name != "THREAT_INTELLIGENCE" || !reflect.DeepEqual(info.plans, []string{"8e0c0a52-6a6c-4d40-8370-dd62790dcd70"}) {
		t.Fatalf("info %+v", info)
	}
}

func TestGraphSignInObjectsAreRead(t *testing.T) {
	bt := ParseSignIns([]byte(`{"value":[
		{"id":"66ea54eb","createdDateTime":"2024-06-01T10:00:00Z","userDisplayName":"Ann","userPrincipalName":"ann@x","userId":"u1","appDisplayName":"Office 365 Exchange Online","isInteractive":true,"status":{"errorCode":0}},
		{"id":"66ea54ec","createdDateTime":"2024-06-01T11:00:00Z","userId":"u2","isInteractive":false},
		{"id":"s3","user":"cid@x","userPrincipalName":"other@x","at":"2024-06-01T12:00:00Z","interactive":true,"application":"Teams"}]}`))
	want := []string{"ann@x 2024-06-01T10:00:00Z interactive", "u2 2024-06-01T11:00:00Z", "cid@x 2024-06-01T12:00:00Z interactive"}
	if got := items(bt); !reflect.DeepEqual(got, want) || len(bt.Rejected) != 0 {
		t.Fatalf("%q %+v", got, bt.Rejected)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2024-06-01T10:00:00Z":           "2024-06-01T10:00:00Z",
		"2024-06-01t10:00:00z":           "2024-06-01T10:00:00Z",
		"2024-06-01 10:00:00Z":           "2024-06-01T10:00:00Z",
		"2024-06-01T10:00:00.5+01:30":    "2024-06-01T08:30:00Z",
		"2024-06-01T23:59:60Z":           "2024-06-01T23:59:59Z",
		"2024-03-01T00:30:00-01:00":      "2024-03-01T01:30:00Z",
		"2000-01-01":                     "2000-01-01T00:00:00Z",
		"2024-02-29T12:00:00.000000000Z": "2024-02-29T12:00:00Z",
	} {
		u, ok := parseTime([]byte(in))
		if got := time.Unix(u, 0).UTC().Format(time.RFC3339); !ok || got != want {
			t.Errorf("%s: %s %v, want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "2024-06-01T10:00Z", "2024-13-01", "2024-02-30", "2024-06-01T24:00:00Z", "2024-06-01T10:00:00+2:00",
		"2024-06-01T10:00:00.Z", "2024-06-01T10:00:00Zjunk", "yesterday"} {
		if _, ok := parseTime([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}
