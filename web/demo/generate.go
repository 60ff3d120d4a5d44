package demo

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	"allot/licensing"
	"allot/subscription"
	"allot/userprop"
)

// data is the generated demo organisation, ready to import.
type data struct {
	now      time.Time
	users    []licensing.User
	groups   []licensing.Group
	members  [][2]string
	glic     []licensing.OwnedSource
	dlic     []licensing.OwnedSource
	allots   []licensing.Allotment
	products []*product
	// special accounts, by role in the story
	sharedMailbox string // the large shared mailbox (UPN)
}

// product is a subscription of the demo: spare seats beyond demand, or a
// shortfall (users who will wait).
type product struct {
	part     string
	spare    int
	short    int
	allotted int // units reserved for allotments (counted on top)
	subID    string
	bought   time.Time
	skuID    string
	sub      subscription.Subscription
}

// Allotment ids of the demo.
const (
	allotFinanceID   = "c0de0000-de30-4000-8a00-000000000001"
	allotMarketingID = "c0de0000-de30-4000-8a00-000000000002"
)

func id(kind byte, n int) string {
	return fmt.Sprintf("c0de%04x-de30-4000-8%03x-%012x", n>>16, kind, n)
}

var (
	firstNames = []string{"Ada", "Adele", "Alex", "Amira", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "Diego",
		"Elena", "Emma", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Isabel", "Ivan", "Jamal", "Jana", "Jonas", "Julia",
		"Kai", "Kenji", "Laura", "Leo", "Lena", "Lucas", "Maria", "Mateo", "Maya", "Mia", "Nadia", "Noah", "Nora", "Olivia",
		"Omar", "Pablo", "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Uma", "Victor", "Wei", "Yara",
		"Yusuf", "Zoe", "Aiko", "Arjun", "Freya", "Lars"}
	lastNames = []string{"Adams", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Chen", "Costa", "Dubois", "Evans",
		"Fischer", "Garcia", "Gupta", "Hansen", "Hoffmann", "Ito", "Jansen", "Johnson", "Kim", "Kowalski", "Kumar", "Larsen",
		"Lopez", "Martin", "Meyer", "Miller", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel",
		"Peters", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thomas", "Novak",
		"Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Wright", "Yamamoto", "Young", "Zhang", "Ibrahim", "Haddad",
		"Berg", "Lindqvist"}
)

type weighted struct {
	v string
	w int
}

var (
	departments = []weighted{{"Sales", 18}, {"Marketing", 8}, {"Engineering", 22}, {"Support", 12}, {"Finance", 6}, {"HR", 4},
		{"Legal", 3}, {"Operations", 9}, {"IT", 5}, {"Research", 6}, {"Procurement", 3}, {"Facilities", 4}}
	countries = []weighted{{"US", 45}, {"GB", 12}, {"DE", 10}, {"CA", 7}, {"IN", 8}, {"FR", 6}, {"JP", 4}, {"AU", 3}, {"NL", 3}, {"BR", 2}}
	cities    = map[string]string{"US": "Seattle", "GB": "London", "DE": "Munich", "CA": "Toronto", "IN": "Bengaluru", "FR": "Paris",
		"JP": "Tokyo", "AU": "Sydney", "NL": "Amsterdam", "BR": "São Paulo"}
	titles = map[string][]string{
		"Sales":       {"Account Executive", "Sales Manager", "Sales Development Representative", "Regional Sales Director", "Intern"},
		"Marketing":   {"Marketing Specialist", "Content Strategist", "Marketing Manager", "Brand Designer", "Intern"},
		"Engineering": {"Software Engineer", "Senior Software Engineer", "Engineering Manager", "Site Reliability Engineer", "Project Manager", "Intern"},
		"Support":     {"Support Engineer", "Customer Success Manager", "Support Team Lead"},
		"Finance":     {"Financial Analyst", "Accountant", "Controller", "Finance Manager"},
		"HR":          {"HR Business Partner", "Recruiter", "HR Manager"},
		"Legal":       {"Counsel", "Paralegal", "General Counsel"},
		"Operations":  {"Operations Analyst", "Project Manager", "Operations Manager"},
		"IT":          {"IT Administrator", "Service Desk Analyst", "Security Engineer"},
		"Research":    {"Research Scientist", "Data Scientist", "Research Lead"},
		"Procurement": {"Buyer", "Procurement Manager"},
		"Facilities":  {"Facilities Coordinator", "Workplace Manager"},
	}
)

func pick(r *rand.Rand, ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := r.Intn(total)
	for _, w := range ws {
		if n < w.w {
			return w.v
		}
		n -= w.w
	}
	return ws[0].v
}

// generate makes the demo organisation of people employees at now.
func generate(people int, now time.Time) *data {
	r := rand.New(rand.NewSource(20260101))
	d := &data{now: now}
	seen := map[string]int{}
	byDept := map[string][]int{}
	var guests []int
	for i := 0; i < people; i++ {
		first, last := firstNames[r.Intn(len(firstNames))], lastNames[r.Intn(len(lastNames))]
		base := strings.ToLower(first + "." + last)
		seen[base]++
		local := base
		if n := seen[base]; n > 1 {
			local = fmt.Sprintf("%s%d", base, n)
		}
		dept := pick(r, departments)
		country := pick(r, countries)
		company := "Contoso"
		domain := "contoso.example"
		if r.Intn(100) < 8 {
			company, domain = "Fabrikam", "fabrikam.example"
		}
		ts := titles[dept]
		title := ts[r.Intn(len(ts))]
		if title == "Intern" && r.Intn(3) != 0 {
			title = ts[0]
		}
		u := licensing.User{ID: id('u', i+1), UserPrincipalName: local + "@" + domain, DisplayName: first + " " + last,
			AccountEnabled: r.Intn(60) != 0, UserType: "Member", Kind: licensing.KindPerson}
		u.SetTexts(&userprop.Texts{userprop.GivenName: first, userprop.Surname: last, userprop.Mail: local + "@" + domain,
			userprop.Department: dept, userprop.JobTitle: title, userprop.Country: country, userprop.City: cities[country],
			userprop.CompanyName: company, userprop.EmployeeID: fmt.Sprintf("E%05d", 10000+i),
			userprop.EmployeeHireDate: now.AddDate(0, 0, -r.Intn(8*365)-20).Format(time.RFC3339)})
		u.CreatedAt = now.AddDate(0, 0, -r.Intn(380)-15)
		if r.Intn(100) < 93 {
			u.UsageLocation = country
		}
		d.users = append(d.users, u)
		if company != "Fabrikam" {
			byDept[dept] = append(byDept[dept], i)
		}
	}
	partners := []string{"northwind.example", "adventure-works.example", "tailspin.example"}
	for i := 0; i < 30; i++ {
		first, last := firstNames[r.Intn(len(firstNames))], lastNames[r.Intn(len(lastNames))]
		p := partners[i%len(partners)]
		local := fmt.Sprintf("%s.%s%d_%s", strings.ToLower(first), strings.ToLower(last), i, strings.ReplaceAll(p, ".", "_"))
		n := len(d.users)
		d.users = append(d.users, licensing.User{ID: id('u', n+1), UserPrincipalName: local + "#EXT#@contoso.example",
			DisplayName: first + " " + last + " (" + strings.TrimSuffix(p, ".example") + ")", AccountEnabled: true, UserType: "Guest",
			Kind: licensing.KindPerson, CreatedAt: now.AddDate(0, 0, -r.Intn(200)-5)}.With(userprop.Mail, local+"@"+p).With(userprop.CompanyName, strings.TrimSuffix(p, ".example")))
		guests = append(guests, n)
	}
	special := func(local, name string, kind string, dept string) int {
		n := len(d.users)
		d.users = append(d.users, licensing.User{ID: id('u', n+1), UserPrincipalName: local + "@contoso.example", DisplayName: name,
			AccountEnabled: kind == licensing.KindServiceAccount, UserType: "Member", Kind: kind,
			UsageLocation: "US", CreatedAt: now.AddDate(0, 0, -390)}.With(userprop.Country, "US").With(userprop.Department, dept).With(userprop.Mail, local+"@contoso.example"))
		return n
	}
	legalArchive := special("legal-archive", "Legal Archive", licensing.KindSharedMailbox, "Legal")
	d.sharedMailbox = d.users[legalArchive].UserPrincipalName
	special("support", "Support inbox", licensing.KindSharedMailbox, "Support")
	special("sales-team", "Sales team", licensing.KindSharedMailbox, "Sales")
	special("svc-backup", "Backup service", licensing.KindServiceAccount, "IT")
	special("svc-scanner", "Scan to e-mail", licensing.KindServiceAccount, "IT")
	special("room-atlantic", "Room Atlantic", licensing.KindRoom, "Facilities")
	special("room-pacific", "Room Pacific", licensing.KindRoom, "Facilities")

	// Groups. Assignment times are spread over the past year: they order
	// the waiting rooms.
	day := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	gid := 0
	group := func(name, desc, rule string) string {
		gid++
		g := licensing.Group{ID: id('g', gid), DisplayName: name, Description: desc, SecurityEnabled: true, MailNickname: strings.ReplaceAll(strings.ToLower(name), " ", "-"),
			CreatedAt: day(370 - gid)}
		if rule != "" {
			g.GroupTypes = []string{"DynamicMembership"}
			g.MembershipRule = rule
			g.MembershipRuleProcessingState = "On"
		}
		d.groups = append(d.groups, g)
		return g.ID
	}
	static := func(g string, idx []int) {
		for _, i := range idx {
			d.members = append(d.members, [2]string{g, d.users[i].ID})
		}
	}
	glic := func(g, part string, at time.Time, allotment string) {
		d.glic = append(d.glic, licensing.OwnedSource{Owner: g, LicenseSource: licensing.LicenseSource{SKUID: part, AllotmentID: allotment, AssignedAt: at}})
	}
	sample := func(idx []int, n int) []int {
		p := r.Perm(len(idx))
		out := make([]int, 0, n)
		for _, k := range p[:min(n, len(p))] {
			out = append(out, idx[k])
		}
		return out
	}

	e3 := group("M365 E3 – Staff", "Microsoft 365 E3 for Contoso employees outside Sales and Marketing.",
		`user.userType -eq "Member" -and user.companyName -eq "Contoso" -and user.department -notIn ["Sales","Marketing"]`)
	glic(e3, "SPE_E3", day(360), "")
	e5 := group("M365 E5 – Sales & Marketing", "Microsoft 365 E5 for the customer-facing teams.",
		`user.companyName -eq "Contoso" -and user.department -in ["Sales","Marketing"]`)
	glic(e5, "SPE_E5", day(350), "")
	spb := group("Fabrikam – Business Premium", "The Fabrikam subsidiary runs on Microsoft 365 Business Premium.", `user.companyName -eq "Fabrikam"`)
	glic(spb, "SPB", day(340), "")
	group("Engineering", "Everyone in Engineering (no licenses; used by other tools).", `user.department -eq "Engineering"`)
	group("Interns", "Interns, whatever their team.", `user.jobTitle -startsWith "Intern"`)
	pm := group("Project managers", "Project Plan 3 for project managers.", `user.jobTitle -eq "Project Manager"`)
	glic(pm, "PROJECTPROFESSIONAL", day(200), "")

	ems := group("Contractors – EMS", "Enterprise Mobility + Security for guests and contractors who use company devices.", "")
	static(ems, guests)
	static(ems, sample(byDept["Operations"], 40))
	glic(ems, "EMS", day(300), "")

	var analysts []int
	for _, dep := range []string{"Research", "Sales", "Operations"} {
		analysts = append(analysts, sample(byDept[dep], 60)...)
	}
	bi := group("Power BI Pro", "Power BI Pro for report authors.", "")
	static(bi, analysts)
	glic(bi, "POWER_BI_PRO", day(250), "")

	pilot := group("Copilot pilot", "The Microsoft 365 Copilot pilot: first come, first served.", "")
	static(pilot, sample(append(append([]int{}, byDept["Engineering"]...), byDept["Sales"]...), 70))
	glic(pilot, "Microsoft_365_Copilot", day(60), "")

	visio := group("Visio users", "Visio Plan 2 for engineers who draw.", "")
	static(visio, sample(byDept["Engineering"], 80))
	glic(visio, "VISIOCLIENT", day(280), "")

	phones := group("Call center – Teams Phone", "Teams Phone with a domestic calling plan for the support call center.", "")
	static(phones, sample(byDept["Support"], 45))
	glic(phones, "SPE_E3", day(150), "")
	glic(phones, "MCOEV", day(150), "")
	glic(phones, "MCOPSTN5", day(150), "")

	// The allotment of Finance: Power BI Pro seats the Finance manager hands
	// out; more analysts than units, so some wait in the allotment's room.
	fin := group("Finance analysts", "Finance staff who build reports; licensed through the Finance allotment.", "")
	finance := byDept["Finance"]
	static(fin, finance[:min(len(finance), 46)])
	owner := d.users[finance[0]].ID
	d.allots = append(d.allots, licensing.Allotment{ID: allotFinanceID, DisplayName: "Finance – Power BI", SKUID: "POWER_BI_PRO",
		AllottedUnits: 40, AssignableTo: "user,group", Owners: []string{owner}, CreatedAt: day(240)})
	glic(fin, "POWER_BI_PRO", day(230), allotFinanceID)

	leads := group("Marketing leads", "Marketing leads on E5 through the Marketing allotment.", "")
	static(leads, sample(byDept["Marketing"], 30))
	d.allots = append(d.allots, licensing.Allotment{ID: allotMarketingID, DisplayName: "Marketing – Visio", SKUID: "VISIOCLIENT",
		AllottedUnits: 25, AssignableTo: "user,group", CreatedAt: day(120)})
	glic(leads, "VISIOCLIENT", day(110), allotMarketingID)

	// Direct assignments: archiving for Legal (on top of E3), and the
	// Legal Archive shared mailbox, which has no Exchange plan of its own —
	// the add-on's dependency is in error until it gets one.
	for k, i := range sample(byDept["Legal"], 25) {
		if d.users[i].UsageLocation != "" {
			d.dlic = append(d.dlic, licensing.OwnedSource{Owner: d.users[i].ID, LicenseSource: licensing.LicenseSource{SKUID: "EXCHANGEARCHIVE_ADDON", AssignedAt: day(180 - k)}})
		}
	}
	d.dlic = append(d.dlic, licensing.OwnedSource{Owner: d.users[legalArchive].ID, LicenseSource: licensing.LicenseSource{SKUID: "EXCHANGEARCHIVE_ADDON", AssignedAt: day(90)}})

	d.products = []*product{
		{part: "SPE_E3", spare: 60},
		{part: "SPE_E5", short: 35},
		{part: "SPB", spare: 15},
		{part: "EMS", spare: 10},
		{part: "POWER_BI_PRO", short: 24, allotted: 40},
		{part: "Microsoft_365_Copilot", short: 12},
		{part: "VISIOCLIENT", spare: 10, allotted: 25},
		{part: "PROJECTPROFESSIONAL", spare: 5},
		{part: "MCOEV", spare: 5},
		{part: "MCOPSTN5", spare: 0},
		{part: "EXCHANGEARCHIVE_ADDON", spare: 5},
	}
	for i, p := range d.products {
		p.subID = id('s', i+1)
		p.bought = day(380 - 10*i)
	}
	return d
}

// importData is the organisation as the engine's bulk import takes it,
// with product part numbers resolved to skuIds.
func (d *data) importData() licensing.ImportData {
	ids := map[string]string{}
	for _, p := range d.products {
		ids[p.part] = p.skuID
	}
	resolve := func(ss []licensing.OwnedSource) []licensing.OwnedSource {
		out := make([]licensing.OwnedSource, len(ss))
		for i, s := range ss {
			s.SKUID = ids[s.SKUID]
			s.DisabledPlans = []string{}
			out[i] = s
		}
		return out
	}
	allots := make([]licensing.Allotment, len(d.allots))
	for i, a := range d.allots {
		a.SKUID = ids[a.SKUID]
		allots[i] = a
	}
	return licensing.ImportData{Users: d.users, Groups: d.groups, Members: d.members, Allotments: allots,
		GroupLicenses: resolve(d.glic), DirectLicenses: resolve(d.dlic)}
}
