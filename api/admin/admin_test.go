package admin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/licensing"
	"allot/tenant"
)

func TestValidateRule(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	tn, _ := e.RT.Get(id)
	for i := 0; i < 30; i++ {
		d := "HR"
		if i%3 == 0 {
			d = "Sales"
		}
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: fmt.Sprintf("u%d@c", i), Department: d})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	groups := e.Token(id, "GroupsAdministrator")
	var ok admin.RuleCheck
	e.Must(200, "POST", "/allot/v1/rules/validate", groups, `{"rule":"user.department -eq \"Sales\""}`).Decode(t, &ok)
	if !ok.Valid || *ok.MatchCount != 10 || len(ok.Sample) != 10 {
		t.Fatalf("valid rule: %+v", ok)
	}
	var bad admin.RuleCheck
	e.Must(200, "POST", "/allot/v1/rules/validate", groups, `{"rule":"user.department -eq "}`).Decode(t, &bad)
	if bad.Valid || len(bad.Errors) == 0 || bad.Errors[0].Position.Line != 1 || bad.Errors[0].Position.Column < 20 {
		t.Fatalf("invalid rule: %+v", bad)
	}
	e.Must(403, "POST", "/allot/v1/rules/validate", e.Token(id, "ReportsReader"), `{"rule":"user.department -eq \"x\""}`)
	e.Must(400, "POST", "/allot/v1/rules/validate", groups, `{"rule":1}`)
}
