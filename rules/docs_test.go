package rules

import (
	"strings"
	"testing"
)

// docExamples are the rules in Microsoft's documentation ("Manage rules for
// dynamic membership groups", "Create simpler, more efficient rules",
// "Create or update a dynamic membership group", the dynamic groups tutorial),
// verbatim — en dashes included — with the result for a fixture user. The
// property table's placeholders ("value") are kept: they are valid rules
// that simply don't match.
var docExamples = []matchCase{
	// Rule syntax, properties of type boolean, dateTime and string.
	{`user.department -eq "Sales"`, "alex", true},
	{`user.accountEnabled -eq true`, "alex", true},
	{`user.dirSyncEnabled -eq true`, "alex", false},
	{`user.city -eq "value"`, "alex", false},
	{`user.country -eq "value"`, "alex", false},
	{`user.companyName -eq "value"`, "alex", false},
	{`user.department -eq "value"`, "alex", false},
	{`user.displayName -eq "value"`, "alex", false},
	{`user.employeeId -eq "value"`, "alex", false},
	{`user.employeeId -ne null`, "alex", true},
	{`user.facsimileTelephoneNumber -eq "value"`, "alex", false},
	{`user.givenName -eq "value"`, "alex", false},
	{`user.jobTitle -eq "value"`, "alex", false},
	{`user.mail -eq "value"`, "alex", false},
	{`user.mail -notEndsWith "@Contoso.com"`, "alex", false},
	{`user.mailNickName -eq "value"`, "alex", false},
	{`user.mailNickname -endsWith "-vendor"`, "alex", true},
	{`user.mobile -eq "value" `, "alex", false},
	{`user.objectId -eq "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb" `, "alex", true},
	{`user.onPremisesDistinguishedName -eq "value" `, "alex", false},
	{`user.onPremisesSecurityIdentifier -eq "S-1-1-11-1111111111-1111111111-1111111111-1111111"`, "alex", true},
	{`user.passwordPolicies -eq "DisableStrongPassword"`, "alex", true},
	{`user.physicalDeliveryOfficeName -eq "value"`, "alex", false},
	{`user.postalCode -eq "value"`, "alex", false},
	{`user.preferredLanguage -eq "en-US"`, "alex", true},
	{`user.sipProxyAddress -eq "value"`, "alex", false},
	{`user.state -eq "value"`, "alex", false},
	{`user.streetAddress -eq "value"`, "alex", false},
	{`user.surname -eq "value"`, "alex", false},
	{`user.telephoneNumber -eq "value"`, "alex", false},
	{`user.usageLocation -eq "US"`, "alex", true},
	{`user.userPrincipalName -eq "alias@domain"`, "alex", true},
	{`user.userType -eq "Member"`, "alex", true},
	// Properties of type string collection (note the missing space in
	// -endsWith"@contoso.com", as published).
	{`user.otherMails -startsWith "alias@domain"`, "alex", true},
	{`user.otherMails -endsWith"@contoso.com"`, "alex", true},
	{`user.proxyAddresses -startsWith "SMTP: alias@domain"`, "alex", false},
	{`user.proxyAddresses -notEndsWith "@outlook.com"`, "alex", true},
	// -in, -le/-ge, -match.
	{`   user.department -in ["50001","50002","50003","50005","50006","50007","50008","50016","50020","50024","50038","50039","51100"]`, "alex", false},
	{"user.employeehiredate -ge system.now -plus p1d \n", "alex", false},
	{"user.employeehiredate -le 2020-06-10T18:13:20Z \n", "alex", false},
	{`user.displayName -match "^Da.*"   `, "da", true},
	{`user.displayName -match "^Da.*"   `, "dav", true},
	{`user.displayName -match "^Da.*"   `, "alex", true}, // David Alexander
	{`user.displayName -match "^Da.*"   `, "ada", false},
	{`user.displayName -match ".*vid"`, "alex", true},
	{`user.displayName -match ".*vid"`, "da", false},
	// Supported values: escaping and null.
	{"user.department -eq `\"Sales`\"", "quote", true},
	{"user.department -eq `\"Sales`\"", "alex", false},
	{`user.department -eq null`, "guest", true},
	{`   user.mail –ne null`, "alex", true},
	// Rules with multiple expressions and operator precedence.
	{`(user.department -eq "Sales") -or (user.department -eq "Marketing")`, "mktg", true},
	{`(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")`, "alex", true},
	{`   user.department –eq "Marketing" –and user.country –eq "US"`, "mktg", true},
	{`   user.country –eq "US" –and (user.department –eq "Marketing" –or user.department –eq "Sales")`, "alex", true},
	{`   user.country –eq "US" –and (user.department –eq "Marketing" –or user.department –eq "Sales")`, "bola", false},
	// Multi-value properties, -any/-all and the underscore.
	{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e" -and assignedPlan.capabilityStatus -eq "Enabled") `, "alex", false},
	{`(user.proxyAddresses -any (\_ -startsWith "contoso"))`, "alex", false},
	{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")`, "alex", true},
	{`user.assignedPlans -any (assignedPlan.service -eq "SCO" -and assignedPlan.capabilityStatus -eq "Enabled")`, "alex", true},
	{`user.assignedPlans -all (assignedPlan.servicePlanId -eq null)`, "noplans", true},
	{`user.assignedPlans -all (assignedPlan.servicePlanId -eq null)`, "alex", false},
	{`(user.proxyAddresses -any (_ -startsWith "contoso"))`, "alex", false},
	{`(user.proxyAddresses -any (_ -contains "contoso"))`, "alex", true},
	// "All users" rules.
	{`user.objectId -ne null`, "alex", true},
	{`user.objectId -ne null`, "empty", false},
	{`(user.objectId -ne null) -and (user.userType -eq "Member")`, "alex", true},
	{`(user.objectId -ne null) -and (user.userType -eq "Member")`, "guest", false},
	// Extension properties.
	{`(user.extensionAttribute15 -eq "Marketing")`, "alex", true},
	{`user.extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber -eq "123"`, "alex", true},
	// Create simpler, more efficient rules.
	{`user.city -match "ago"`, "alex", true},
	{`user.city -match ".*?ago.*"`, "alex", true},
	{`user.city -startswith "Lag"`, "alex", true},
	{`user.city -eq "Lagos"`, "alex", true},
	{"(user.department -eq \"Accounts\" -and user.city -eq \"Lagos\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Ibadan\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Kaduna\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Abuja\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Port Harcourt\")", "ngozi", true},
	{`user.department -eq "Accounts" -and user.city -in ["Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt"]`, "ngozi", true},
	{`(user.city -ne "Lagos") -and (user.city -ne "Ibadan") -and (user.city -ne "Kaduna") -and (user.city -ne "Abuja") -and (user.city -ne "Port Harcourt")`, "bola", false},
	{`user.city -notin ["Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt"]`, "bola", false},
	{`user.city -eq "Lagos" or user.city -startswith "Lag"`, "alex", true},
	// The tutorial's guest-users rule, as its rule builder writes it.
	{`(user.userType -eq "Guest") -and (user.companyName -eq "Contoso")`, "guest", true},
}

// docEquivalents are the "don't write this, write that" pairs of Microsoft's
// efficiency guidance: both rules must select the same users.
var docEquivalents = [][2]string{
	{`user.city -match "ago"`, `user.city -contains "ago"`},
	{"(user.department -eq \"Accounts\" -and user.city -eq \"Lagos\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Ibadan\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Kaduna\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Abuja\") -or \n(user.department -eq \"Accounts\" -and user.city -eq \"Port Harcourt\")",
		`user.department -eq "Accounts" -and user.city -in ["Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt"]`},
	{`(user.city -ne "Lagos") -and (user.city -ne "Ibadan") -and (user.city -ne "Kaduna") -and (user.city -ne "Abuja") -and (user.city -ne "Port Harcourt")`,
		`user.city -notin ["Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt"]`},
	{`user.city -eq "Lagos" or user.city -startswith "Lag"`, `user.city -startswith "Lag"`},
}

// docRefused are documented rules allot refuses on purpose, with the start
// of the message.
var docRefused = []struct{ rule, message string }{
	{`user.memberOf -any (group.objectId -in ['value'])`, "user.memberOf rules are not supported"},
	{`user.memberof -any (group.objectId -in ['<groupObjectId1>', '<groupObjectId2>'])`, "user.memberOf rules are not supported"},
	{`Direct Reports for "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"`, "Direct Reports rules are not supported"},
	{`device.objectId -ne null`, "device.objectId is a device property"},
	{`device.devicePhysicalIDs -any _ -startsWith "[ZTDId]"`, "device.devicePhysicalIDs is a device property"},
	{`user.employeeHireDate -eq "value"`, `expected a date like "2020-06-10T18:13:20Z" or system.now after -eq`},
}

func TestDocumentationExamplesParseAndMatch(t *testing.T) {
	for _, c := range docExamples {
		// The published "(\_ …)" is Markdown for "(_ …)".
		c.rule = strings.ReplaceAll(c.rule, `\_`, "_")
		runMatchCases(t, []matchCase{c})
	}
}

func TestDocumentationEfficiencyRewritesSelectTheSameUsers(t *testing.T) {
	cities := []string{"Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt", "Chicago", "Lagoon City", ""}
	depts := []string{"Accounts", "accounts", "Sales", ""}
	for _, pair := range docEquivalents {
		a, b := mustParse(t, pair[0]), mustParse(t, pair[1])
		for _, city := range cities {
			for _, dept := range depts {
				u := with(alex(), "city", city, "department", dept)
				if a.Match(u, testNow) != b.Match(u, testNow) {
					t.Errorf("city %q, department %q: %q and %q disagree", city, dept, pair[0], pair[1])
				}
			}
		}
	}
}

func TestDocumentedRulesOutsideAllotsScopeAreRefusedWithAReason(t *testing.T) {
	for _, c := range docRefused {
		_, err := Parse(c.rule)
		if err == nil || !strings.HasPrefix(err.Error(), c.message) {
			t.Errorf("Parse(%q) = %v, want an error starting %q", c.rule, err, c.message)
		}
	}
}
