package reclamation

import (
	"html"
	"strings"
	"time"

	"allot/position"
)

// noticeBodies returns a user's notice, or with reminder the reminder
// before the grace period ends: subject, text and HTML. It names each
// product, why (the finding), what happens when (removal or the cheaper
// product, the date), and the keep link.
func noticeBodies(c *Campaign, ms []Member, link string, reminder bool) (subject, text, htmlBody string) {
	when := c.GraceEndsAt.UTC().Format("Monday 2 January 2006, 15:04 UTC")
	var products []string
	for _, m := range ms {
		products = append(products, m.SKUPartNumber)
	}
	verb := "removed"
	if c.Action == Downgrade {
		verb = "replaced by a cheaper license"
	}
	subject = "Your license of " + strings.Join(products, ", ") + " will be " + verb + " on " + c.GraceEndsAt.UTC().Format("2 January 2006")
	if reminder {
		subject = "Reminder: " + subject
	}
	var lines []string
	name := ms[0].DisplayName
	if name == "" {
		name = ms[0].UserPrincipalName
	}
	lines = append(lines, "Hello "+name+",", "")
	if reminder {
		lines = append(lines, "This is a reminder: you have not confirmed that you need these licenses yet.", "")
	}
	lines = append(lines, "A review of your organisation's licenses found that you hold licenses you do not seem to use:")
	for _, m := range ms {
		lines = append(lines, "  - "+m.SKUPartNumber+": "+strings.ToLower(position.KindTitle(m.Kind)[:1])+position.KindTitle(m.Kind)[1:])
	}
	lines = append(lines, "")
	if c.Action == Downgrade {
		lines = append(lines, "Unless you keep them, they will be replaced by "+downgradeName(c)+" on "+when+".")
	} else {
		lines = append(lines, "Unless you keep them, they will be removed on "+when+".")
	}
	if c.Message != "" {
		lines = append(lines, "", c.Message)
	}
	lines = append(lines, "", "If you need them, open this link and confirm before then:", link, "",
		"(Reclamation campaign "+c.DisplayName+", "+c.ID+".)")
	text = strings.Join(lines, "\n") + "\n"
	var b strings.Builder
	b.WriteString(`<!doctype html><html><body style="font-family:sans-serif">`)
	for _, l := range lines {
		switch {
		case l == link:
			b.WriteString(`<p><a href="` + html.EscapeString(link) + `">Keep my license</a></p>`)
		case l == "":
		default:
			b.WriteString("<p>" + html.EscapeString(l) + "</p>")
		}
	}
	b.WriteString("</body></html>")
	return subject, text, b.String()
}

func downgradeName(c *Campaign) string {
	if c.DowngradeTo != "" {
		return c.DowngradeTo
	}
	return c.DowngradeSKUID
}

// Deadline is when a running campaign's grace period ends, for pages.
func Deadline(c *Campaign) string {
	if c.GraceEndsAt.IsZero() {
		return ""
	}
	return c.GraceEndsAt.UTC().Format(time.RFC3339)
}
