package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"allot/licensing"
	"allot/tenant"
	"allot/usage"
)

// ingestUsage gives the demo a month of usage through the usage package's
// own ingestion: sign-ins and feature events for most people (some are
// idle, some never signed in), and Microsoft's mailbox usage report, in
// which the Legal Archive shared mailbox holds 62 GB with an archive — the
// case the position report flags as needing Exchange Online Plan 2.
func ingestUsage(ctx context.Context, t *tenant.Tenant, d *data, now time.Time) error {
	r := rand.New(rand.NewSource(7))
	var signIns, events bytes.Buffer
	enc := func(b *bytes.Buffer, v any) {
		j, _ := json.Marshal(v)
		b.Write(j)
		b.WriteByte('\n')
	}
	features := []string{"exchangeMailbox", "teamsChat", "teamsMeeting", "oneDriveFiles", "sharePointSites", "officeDesktopApps", "officeWebApps"}
	n := 0
	for _, u := range d.users {
		if u.Kind != licensing.KindPerson || !u.AccountEnabled {
			continue
		}
		switch x := r.Intn(100); {
		case x < 6: // never signed in
			continue
		case x < 14: // idle for more than 30 days
			at := now.AddDate(0, 0, -35-r.Intn(60)).Add(time.Duration(r.Intn(8*3600)) * time.Second)
			n++
			enc(&signIns, map[string]any{"id": fmt.Sprintf("s%d", n), "user": u.UserPrincipalName, "at": at.Format(time.RFC3339), "application": "Outlook", "interactive": true})
			continue
		}
		for day := 0; day < 30; day++ {
			if r.Intn(7) < 2 {
				continue // weekends and days off
			}
			at := now.AddDate(0, 0, -day).Add(-time.Duration(r.Intn(10*3600)) * time.Second)
			n++
			enc(&signIns, map[string]any{"id": fmt.Sprintf("s%d", n), "user": u.UserPrincipalName, "at": at.Format(time.RFC3339), "application": "Microsoft Teams", "interactive": true})
			f := features[r.Intn(len(features))]
			n++
			enc(&events, map[string]any{"id": fmt.Sprintf("e%d", n), "user": u.UserPrincipalName, "feature": f, "at": at.Format(time.RFC3339)})
		}
	}
	// Mailbox usage report (getMailboxUsageDetail), as Graph delivers it.
	var rep strings.Builder
	rep.WriteString("Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte),Issue Warning Quota (Byte),Prohibit Send Quota (Byte),Prohibit Send/Receive Quota (Byte),Deleted Item Count,Deleted Item Size (Byte),Deleted Item Quota (Byte),Has Archive,Recipient Type,Report Period\n")
	day := now.AddDate(0, 0, -1).Format(time.DateOnly)
	for _, u := range d.users {
		if u.Kind == licensing.KindServiceAccount || u.UserType == "Guest" {
			continue
		}
		size := int64(r.Intn(20_000)) << 20 // up to ~20 GB
		archive, recipient := "False", "UserMailbox"
		switch u.Kind {
		case licensing.KindSharedMailbox:
			recipient = "SharedMailbox"
		case licensing.KindRoom:
			recipient, size = "RoomMailbox", 200<<20
		}
		if u.UserPrincipalName == d.sharedMailbox {
			size, archive = 62<<30, "True"
		}
		fmt.Fprintf(&rep, "%s,%s,%s,False,,%s,%s,%d,%d,105226698752,106300440576,107374182400,120,3145728,32212254720,%s,%s,30\n",
			day, u.UserPrincipalName, csvField(u.DisplayName), u.CreatedAt.Format(time.DateOnly), day, 1000+r.Intn(90000), size, archive, recipient)
	}
	report, err := usage.ParseReport(strings.NewReader(rep.String()), usage.ReportMailboxUsage)
	if err != nil {
		return err
	}
	si, ev := usage.ParseSignIns(signIns.Bytes()), usage.ParseEvents(events.Bytes())
	return t.Do(ctx, licensing.Op{Actor: "allot demo", Now: now, Why: "demo usage data"}, func(tx *tenant.Tx) error {
		if _, err := si.Apply(tx); err != nil {
			return err
		}
		if _, err := ev.Apply(tx); err != nil {
			return err
		}
		_, err := report.Apply(tx, false)
		return err
	})
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
