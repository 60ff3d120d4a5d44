package web

import (
	"slices"
	"testing"
)

func TestFieldOfNamesTheFieldAMessageIsAbout(t *testing.T) {
	fields := []string{"displayName", "userPrincipalName", "mailNickname", "usageLocation", "allottedUnits"}
	for msg, want := range map[string]string{
		"Invalid value specified for property 'displayName' of resource 'User'. It has 300 characters; the most allowed is 256.": "displayName",
		"Property userPrincipalName is invalid. \"x\" is not of the form alias@domain.":                                          "userPrincipalName",
		"Property mailNickname value is required but is empty or missing.":                                                       "mailNickname",
		"allottedUnits cannot be negative.":                                                                                      "allottedUnits",
		"Another object with the same value for property userPrincipalName already exists.":                                      "userPrincipalName",
		"The product of an allotment cannot be changed; create a new allotment.":                                                 "",
		"displayNameX is not a field":                                                                                            "",
	} {
		if got := fieldOf(msg, fields); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestOwnersOfReadsOnePerLine(t *testing.T) {
	for in, want := range map[string][]string{
		"":                        nil,
		"Ada\r\nGrace\n\n  Ada  ": {"Ada", "Grace"},
		"Ada, Grace; Linus":       {"Ada", "Grace", "Linus"},
		" \n , ; ":                nil,
	} {
		if got := ownersOf(in); !slices.Equal(got, want) {
			t.Errorf("ownersOf(%q) = %q, want %q", in, got, want)
		}
	}
}
