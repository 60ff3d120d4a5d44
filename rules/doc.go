// Package rules implements the dynamic membership rule language of Microsoft
// Entra ID for users: a lexer and parser that report errors by line and
// column, a compiler to an evaluation tree, and an Index for incremental
// (which rules does a changed property affect?) and bulk (which rules does
// this user match?) evaluation.
//
// # Language
//
// A rule is one or more conditions of the form Property Operator Value,
// combined with -and, -or and -not and grouped with parentheses:
//
//	user.department -eq "Sales" -and (user.country -in ["US","CA"] -or -not (user.jobTitle -startsWith "Intern"))
//
// Operators may be written with or without their leading hyphen and in any
// case (-eq, eq, -EQ); an en dash pasted from Microsoft's pages (–eq) is
// accepted too. Precedence, from highest to lowest, is Microsoft's:
// comparisons, -not, -and, -or, then -any/-all.
//
//   - -eq -ne: equality, ignoring case. "null" (unquoted) is the unset value,
//     and an empty string is null: user.department -eq null holds when the
//     department is unset or empty. Null may only be compared with -eq/-ne.
//   - -startsWith -notStartsWith -endsWith -notEndsWith -contains
//     -notContains: substring tests, ignoring case.
//   - -match -notMatch: a regular expression (Go's RE2 syntax; no
//     backreferences or lookaround), case-insensitive and unanchored, so
//     "^Da.*" matches "David" but not "aDa".
//   - -in -notIn: membership of a list, ["a","b"] (single quotes work too).
//   - -le -ge: dates, for user.employeeHireDate (and custom extension
//     properties, which also compare as numbers). A date is an RFC 3339 value,
//     quoted or not (2020-06-10T18:13:20Z), or system.now optionally moved by
//     an ISO 8601 duration: system.now -plus P1D, system.now -minus PT12H.
//     -eq and -ne compare dates as instants.
//   - -any -all: a condition over the items of a multi-valued property. For
//     user.proxyAddresses and user.otherMails the item is _; for
//     user.assignedPlans it is assignedPlan with servicePlanId,
//     capabilityStatus and service:
//     user.assignedPlans -any (assignedPlan.servicePlanId -eq "…" -and assignedPlan.capabilityStatus -eq "Enabled").
//     -all holds for an empty collection. A condition in parentheses ends at
//     its closing parenthesis; one without extends to the end of the
//     enclosing group, as the lowest precedence implies.
//
// A multi-valued property compared directly (user.otherMails -endsWith
// "@contoso.com") holds when some item satisfies a positive operator, or no
// item satisfies the positive form of a negated one; -eq null means empty.
//
// Strings are in double quotes, in which a backtick escapes a double quote or
// another backtick, or in single quotes, in which two single quotes stand for
// one. Microsoft's documentation form `"Sales`" (a value that is the
// word Sales in double quotes) is accepted. Booleans are true and false.
// Property names are case-insensitive; an unknown property is an error, as is
// a rule longer than MaxRuleLength characters. user.memberOf, Direct Reports
// rules and device properties are refused with a message saying so.
//
// # Evaluation
//
// Rules read users through the Subject interface. Parse prepares everything
// evaluation needs (folded literals, compiled regular expressions, parsed
// dates), so Rule.Match and Index.MatchAll allocate nothing in the common
// case. Values are compared with Unicode simple case folding, like
// strings.EqualFold.
package rules
