package connections_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSyncReports: a reports sync reads reportSettings and the usage
// reports, and imports them into the local tenant's usage. While the
// Microsoft tenant conceals user names (its default), the state says so
// and no row is matched; once it shows them, the local tenant's reports
// equal the remote's; a second reports sync changes nothing (each report
// is a duplicate).
func TestSyncReports(t *testing.T) {
	w := newWorld(t, 0)
	w.ruser("adele@fabrikam.example")
	w.ruser("bob@fabrikam.example")
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	prev := time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
	active := "\ufeffReport Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Has OneDrive License,Has SharePoint License,Has Skype For Business License,Has Yammer License,Has Teams License,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,Skype For Business License Assign Date,Yammer License Assign Date,Teams License Assign Date,Assigned Products\n" +
		day + ",adele@fabrikam.example,adele,False,,True,True,True,False,False,True," + day + "," + prev + ",,,," + day + ",2024-03-01,2024-03-01,2024-03-01,,,2024-03-01,MICROSOFT 365 E3\n" +
		day + ",bob@fabrikam.example,bob,False,,True,False,False,False,False,True," + prev + ",,,,,,2024-03-01,,,,,2024-03-01,MICROSOFT 365 E3\n"
	mailbox := "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte),Issue Warning Quota (Byte),Prohibit Send Quota (Byte),Prohibit Send/Receive Quota (Byte),Deleted Item Count,Deleted Item Size (Byte),Deleted Item Quota (Byte),Has Archive,Recipient Type,Report Period\n" +
		day + ",adele@fabrikam.example,adele,False,,2021-03-04," + day + ",8420,2146435072,105226698752,106300440576,107374182400,12,40960,32212254720,False,UserMailbox,7\n"
	apps := "Report Refresh Date,User Principal Name,Last Activation Date,Last Activity Date,Report Period,Windows,Mac,Mobile,Web," +
		"Outlook,Word,Excel,PowerPoint,OneNote,Teams," +
		"Outlook (Windows),Word (Windows),Excel (Windows),PowerPoint (Windows),OneNote (Windows),Teams (Windows)," +
		"Outlook (Mac),Word (Mac),Excel (Mac),PowerPoint (Mac),OneNote (Mac),Teams (Mac)," +
		"Outlook (Mobile),Word (Mobile),Excel (Mobile),PowerPoint (Mobile),OneNote (Mobile),Teams (Mobile)," +
		"Outlook (Web),Word (Web),Excel (Web),PowerPoint (Web),OneNote (Web),Teams (Web)\n" +
		day + ",adele@fabrikam.example,2024-01-10," + day + ",7,Yes,No,Yes,Yes,Yes,Yes,Yes,No,No,Yes" + strings.Repeat(",No", 24) + "\n" +
		day + ",bob@fabrikam.example,," + prev + ",7,No,No,No,Yes" + strings.Repeat(",No", 30) + "\n"
	for _, csv := range []string{active, mailbox, apps} {
		w.remote.Must(200, "POST", "/allot/v1/usage/reports", w.radmin, csv, "Content-Type: text/csv")
	}
	conn := w.connect(false)
	w.sync(conn)

	res := w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/reports?wait=true", w.ladmin, nil).JSON()["result"].(map[string]any)
	reps := res["reports"].([]any)
	if len(reps) != 9 || reps[8].(map[string]any)["report"] != "signInActivity" {
		t.Fatalf("reports read: %v", res)
	}
	first := reps[0].(map[string]any)
	if first["report"] != "getOffice365ActiveUserDetail" || first["accepted"] != float64(0) || first["concealed"] != float64(2) {
		t.Fatalf("a concealed report was matched: %v", first)
	}
	st := w.local.Must(200, "GET", "/allot/v1/connections/"+conn, w.ladmin, nil).JSON()["sync"].(map[string]any)["reports"].(map[string]any)
	if st["concealedNames"] != true || st["lastSuccessDateTime"] == nil {
		t.Fatalf("reports state: %v", st)
	}

	w.remote.Must(204, "PATCH", "/v1.0/admin/reportSettings", w.radmin, map[string]any{"displayConcealedNames": false})
	w.local.Must(204, "PATCH", "/v1.0/admin/reportSettings", w.ladmin, map[string]any{"displayConcealedNames": false})
	res = w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/reports?wait=true", w.ladmin, nil).JSON()["result"].(map[string]any)
	first = res["reports"].([]any)[0].(map[string]any)
	if first["accepted"] != float64(2) || first["unmatched"] != float64(0) {
		t.Fatalf("the shown report was not imported: %v", first)
	}
	for _, name := range []string{"getOffice365ActiveUserDetail", "getMailboxUsageDetail", "getEmailActivityUserDetail", "getTeamsUserActivityUserDetail", "getM365AppUserDetail"} {
		path := "/v1.0/reports/" + name + "(period='D7')"
		want := string(w.remote.Must(200, "GET", path, w.radmin, nil).Body)
		got := string(w.local.Must(200, "GET", path, w.ladmin, nil).Body)
		if (name == "getOffice365ActiveUserDetail" || name == "getM365AppUserDetail") && !strings.Contains(want, "adele@fabrikam.example") {
			t.Fatalf("the remote's report has no rows (the comparison would prove nothing):\n%s", want)
		}
		if got != want {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
	res = w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/reports?wait=true", w.ladmin, nil).JSON()["result"].(map[string]any)
	for _, r := range res["reports"].([]any) {
		r := r.(map[string]any)
		if r["report"] != "signInActivity" && r["skipped"] == nil && r["rows"] != float64(0) && r["duplicate"] != true {
			t.Errorf("a report read again was imported again: %v", r)
		}
	}
}

// TestScheduleReports: the schedule starts a connection's directory sync
// when it is due and its reports sync (daily by default) when no
// directory sync is; a reports sync that just ran is not due again.
func TestScheduleReports(t *testing.T) {
	w := newWorld(t, 0)
	w.ruser("adele@fabrikam.example")
	conn := w.connect(false)
	view := func() map[string]any {
		return w.local.Must(200, "GET", "/allot/v1/connections/"+conn, w.ladmin, nil).JSON()
	}
	if v := view(); v["reportsEvery"] != "24h0m0s" {
		t.Fatalf("default reportsEvery: %v", v["reportsEvery"])
	}
	ctx := context.Background()
	w.mgr.ScheduleOnce(ctx) // the directory sync is due first
	if _, err := w.mgr.Wait(ctx, w.lid, conn); err != nil {
		t.Fatal(err)
	}
	st := view()["sync"].(map[string]any)
	if st["lastSuccessDateTime"] == nil || st["reports"] != nil {
		t.Fatalf("after the first tick: %v", st)
	}
	w.mgr.ScheduleOnce(ctx) // now the reports
	res, err := w.mgr.Wait(ctx, w.lid, conn)
	if err != nil || res.Kind != "reports" {
		t.Fatalf("second tick: %v %v", res, err)
	}
	rs := view()["sync"].(map[string]any)["reports"].(map[string]any)
	if rs["lastSuccessDateTime"] == nil {
		t.Fatalf("reports state: %v", rs)
	}
	runs := w.mgr.Runs(w.lid, conn)
	w.mgr.ScheduleOnce(ctx) // nothing is due
	if n := w.mgr.Runs(w.lid, conn); n != runs {
		t.Fatalf("%d jobs ran when nothing was due", n-runs)
	}
	// reportsEvery is validated.
	for _, bad := range []string{"30m", "-1h", "daily"} {
		r := w.local.Call("POST", "/allot/v1/connections", w.ladmin, map[string]any{"entraTenantId": "x", "clientId": "y", "clientSecret": "z", "reportsEvery": bad})
		if r.Status != 400 {
			t.Errorf("reportsEvery %q: %d %s", bad, r.Status, r.Body)
		}
	}
}
