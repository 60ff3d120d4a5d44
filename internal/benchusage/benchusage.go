// Package benchusage gives a benchmark's synthetic tenant usage and a
// price list through the product's own ingestion (usage, prices), so that
// the position, the what-if and the admin center are measured on a tenant
// with sign-ins, feature events and costs. Used by benchmarks only.
package benchusage

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"time"

	"allot/licensing"
	"allot/prices"
	"allot/tenant"
	"allot/usage"
)

// Ingest gives users sign-ins and feature events drawn with rnd, dated
// before now: 70 % signed in within 29 days, 12 % 35–90 days ago, the rest
// never; half of those who signed in used one of features. each, if set,
// sees every user first. It then stores the price list read from
// pricesCSV. The commands run in tx; the caller takes its delta.
func Ingest(tx *tenant.Tx, rnd *rand.Rand, now time.Time, features []string, pricesCSV string, each func(*licensing.User)) error {
	var signIns, events bytes.Buffer
	ev := 0
	tx.Engine.ForEachUser(func(u *licensing.User) bool {
		if each != nil {
			each(u)
		}
		var at time.Time
		switch x := rnd.Intn(100); {
		case x < 70:
			at = now.Add(-time.Duration(rnd.Intn(29*24)) * time.Hour)
		case x < 82:
			at = now.AddDate(0, 0, -35-rnd.Intn(55))
		default:
			return true
		}
		ev++
		fmt.Fprintf(&signIns, `{"id":"s%d","user":%q,"at":%q,"application":"Outlook","interactive":true}`+"\n", ev, u.UserPrincipalName, at.Format(time.RFC3339))
		if rnd.Intn(2) == 0 {
			ev++
			fmt.Fprintf(&events, `{"id":"e%d","user":%q,"feature":%q,"at":%q}`+"\n", ev, u.UserPrincipalName, features[rnd.Intn(len(features))], at.Format(time.RFC3339))
		}
		return true
	})
	if _, err := usage.ParseSignIns(signIns.Bytes()).Apply(tx); err != nil {
		return err
	}
	if _, err := usage.ParseEvents(events.Bytes()).Apply(tx); err != nil {
		return err
	}
	f, err := os.Open(pricesCSV)
	if err != nil {
		return err
	}
	pl, _, err := prices.ParseCSV(f)
	f.Close()
	if err != nil {
		return err
	}
	return prices.Put(tx, pl)
}
