package licensing

import (
	"strings"
	"testing"

	"allot/audit"
)

func actions(es []audit.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Actor+": "+e.Action)
	}
	return strings.Join(out, "\n")
}

func TestGroupReprocessIsAuditedAsMicrosoftsRecalculation(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, f.user(1), f.user(2))
	f.e.TakeDelta()
	f.must(f.e.ReprocessGroup(f.op(), g))
	d := f.e.TakeDelta()
	want := "admin@test: " + audit.ActivityRecalculateGroup + "\n" +
		audit.ActorGroupLicensing + ": " + audit.ActivityStartApplying + "\n" +
		audit.ActorGroupLicensing + ": " + audit.ActivityFinishApplying
	if got := actions(d.Audit); got != want {
		t.Fatalf("audit:\n%s\nwant:\n%s", got, want)
	}
	if got := d.Audit[2].Detail; got != "Users successfully assigned licenses: 1, Users for whom license assignment failed: 1." {
		t.Fatalf("finish detail %q", got)
	}
}

func TestRemovingAGroupLicenseIsAuditedAsSetGroupLicense(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.e.TakeDelta()
	f.must(f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}))
	d := f.e.TakeDelta()
	if len(d.Audit) == 0 || d.Audit[0].Action != audit.ActivitySetGroupLicense || d.Audit[0].Detail != "removed E3" {
		t.Fatalf("audit: %+v", d.Audit)
	}
}
