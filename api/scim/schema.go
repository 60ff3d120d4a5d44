package scim

import "strings"

// Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3).
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// schemaAllot is allot's own User extension: the usage location that
	// licensing needs. Its name follows the form Microsoft Entra expects
	// of custom extensions (urn:ietf:params:scim:schemas:extension:<name>:2.0:User).
	schemaAllot        = "urn:ietf:params:scim:schemas:extension:allot:2.0:User"
	schemaSPC          = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	schemaListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaSearch       = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	schemaError        = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// Attribute types, mutabilities and returned values (RFC 7643 §2.2, §7).
const (
	tString    = "string"
	tBoolean   = "boolean"
	tDecimal   = "decimal"
	tInteger   = "integer"
	tDateTime  = "dateTime"
	tReference = "reference"
	tComplex   = "complex"

	readOnly  = "readOnly"
	readWrite = "readWrite"
	immutable = "immutable"
	writeOnly = "writeOnly"
)

// Attribute is an attribute definition as /Schemas publishes it. The
// definitions drive everything else: case-insensitive name resolution,
// type coercion of request values, caseExact comparisons in filters and
// mutability checks in PATCH.
type Attribute struct {
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description"`
	Required        bool         `json:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
}

// sub returns the sub-attribute called name, case-insensitively.
func (a *Attribute) sub(name string) *Attribute {
	return find(a.SubAttributes, name)
}

func find(as []*Attribute, name string) *Attribute {
	for _, a := range as {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// Schema is a schema resource (RFC 7643 §7).
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
}

// ResourceType describes an endpoint (RFC 7643 §6).
type ResourceType struct {
	Name        string
	Endpoint    string
	Description string
	Schema      *Schema
	Extensions  []*Schema
}

// schemaOf returns the resource type's core or extension schema by URN,
// case-insensitively.
func (rt *ResourceType) schemaOf(urn string) *Schema {
	if strings.EqualFold(urn, rt.Schema.ID) {
		return rt.Schema
	}
	for _, s := range rt.Extensions {
		if strings.EqualFold(urn, s.ID) {
			return s
		}
	}
	return nil
}

// common attributes every resource has (RFC 7643 §3.1); they are not
// listed in the resource's schema.
var (
	attrID = &Attribute{Name: "id", Type: tString, CaseExact: true, Mutability: readOnly, Returned: "always", Uniqueness: "server",
		Description: "Unique identifier of the resource, assigned by allot."}
	attrExternalID = &Attribute{Name: "externalId", Type: tString, CaseExact: true, Mutability: readWrite, Returned: "default", Uniqueness: "none",
		Description: "Identifier of the resource in the provisioning client."}
	attrMeta = &Attribute{Name: "meta", Type: tComplex, Mutability: readOnly, Returned: "default", Uniqueness: "none", Description: "Resource metadata.",
		SubAttributes: []*Attribute{
			str("resourceType", "The name of the resource type.", readOnly, true),
			{Name: "created", Type: tDateTime, Mutability: readOnly, Returned: "default", Uniqueness: "none", Description: "When the resource was added."},
			{Name: "lastModified", Type: tDateTime, Mutability: readOnly, Returned: "default", Uniqueness: "none", Description: "When the resource was last changed through SCIM."},
			{Name: "location", Type: tReference, ReferenceTypes: []string{"uri"}, CaseExact: true, Mutability: readOnly, Returned: "default", Uniqueness: "none", Description: "The URI of the resource."},
			str("version", "The weak entity tag of the resource.", readOnly, true),
		}}
	commonAttrs = []*Attribute{attrID, attrExternalID, attrMeta}
)

func str(name, desc, mut string, caseExact bool) *Attribute {
	return &Attribute{Name: name, Type: tString, Description: desc, Mutability: mut, Returned: "default", Uniqueness: "none", CaseExact: caseExact}
}

func boolean(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: tBoolean, Description: desc, Mutability: readWrite, Returned: "default", Uniqueness: "none"}
}

func complexAttr(name, desc string, multi bool, subs ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: tComplex, MultiValued: multi, Description: desc, Mutability: readWrite, Returned: "default", Uniqueness: "none", SubAttributes: subs}
}

func typeAttr(canonical ...string) *Attribute {
	a := str("type", "A label indicating the function of the value.", readWrite, false)
	a.CanonicalValues = canonical
	return a
}

func refAttr(name, desc, mut string, types ...string) *Attribute {
	return &Attribute{Name: name, Type: tReference, ReferenceTypes: types, Description: desc, Mutability: mut, Returned: "default", Uniqueness: "none", CaseExact: true}
}

var userSchema = &Schema{ID: schemaUser, Name: "User", Description: "User Account (stored as an allot directory user)",
	Attributes: []*Attribute{
		{Name: "userName", Type: tString, Required: true, Mutability: readWrite, Returned: "default", Uniqueness: "server",
			Description: "Unique identifier for the user, stored as its userPrincipalName (unique per tenant, case-insensitive)."},
		complexAttr("name", "The components of the user's name.", false,
			str("formatted", "The full name.", readWrite, false),
			str("familyName", "The family name (surname).", readWrite, false),
			str("givenName", "The given name.", readWrite, false),
			str("middleName", "The middle name.", readWrite, false),
			str("honorificPrefix", "The honorific prefix.", readWrite, false),
			str("honorificSuffix", "The honorific suffix.", readWrite, false)),
		str("displayName", "The name of the user, suitable for display.", readWrite, false),
		str("nickName", "The casual name of the user.", readWrite, false),
		refAttr("profileUrl", "A URI of the user's online profile.", readWrite, "external"),
		str("title", "The user's title (jobTitle).", readWrite, false),
		str("userType", "Member or Guest drive guest licensing; other values are kept as given.", readWrite, false),
		str("preferredLanguage", "The user's preferred written or spoken language.", readWrite, false),
		str("locale", "The user's default location for localisation.", readWrite, false),
		str("timezone", "The user's time zone (IANA).", readWrite, false),
		boolean("active", "The user's administrative status (accountEnabled). Disabled users keep their seats."),
		{Name: "password", Type: tString, Mutability: writeOnly, Returned: "never", Uniqueness: "none",
			Description: "Accepted and discarded: allot does not authenticate users."},
		complexAttr("emails", "Email addresses. The work (else primary, else first) address is the user's mail; others are otherMails.", true,
			str("value", "The email address.", readWrite, false),
			str("display", "A label for display.", readWrite, false),
			typeAttr("work", "home", "other"),
			boolean("primary", "The primary address.")),
		complexAttr("phoneNumbers", "Phone numbers, one per type (work is the business phone, mobile the mobile phone, fax the fax number).", true,
			str("value", "The phone number.", readWrite, false),
			str("display", "A label for display.", readWrite, false),
			typeAttr("work", "home", "mobile", "fax", "pager", "other"),
			boolean("primary", "The primary number.")),
		complexAttr("addresses", "Physical addresses, one per type. The work address holds streetAddress, city (locality), state (region), postalCode and country.", true,
			str("formatted", "The full mailing address.", readWrite, false),
			str("streetAddress", "The street address.", readWrite, false),
			str("locality", "The city.", readWrite, false),
			str("region", "The state or region.", readWrite, false),
			str("postalCode", "The postal code.", readWrite, false),
			str("country", "The country. A two-letter code also gives a user without a usage location that usage location.", readWrite, false),
			typeAttr("work", "home", "other"),
			boolean("primary", "The primary address.")),
		{Name: "groups", Type: tComplex, MultiValued: true, Mutability: readOnly, Returned: "default", Uniqueness: "none",
			Description: "The groups the user is a direct member of; change them through the Group resource.",
			SubAttributes: []*Attribute{
				str("value", "The id of the group.", readOnly, true),
				refAttr("$ref", "The URI of the group.", readOnly, "Group"),
				str("display", "The group's displayName.", readOnly, false),
				str("type", "direct.", readOnly, false),
			}},
	}}

var enterpriseSchema = &Schema{ID: schemaEnterprise, Name: "EnterpriseUser", Description: "Enterprise User",
	Attributes: []*Attribute{
		str("employeeNumber", "The employee number (employeeId).", readWrite, false),
		str("costCenter", "The cost center.", readWrite, false),
		str("organization", "The organization (companyName).", readWrite, false),
		str("division", "The division.", readWrite, false),
		str("department", "The department.", readWrite, false),
		complexAttr("manager", "The user's manager.", false,
			str("value", "The id of the manager's User resource.", readWrite, true),
			refAttr("$ref", "The URI of the manager's User resource.", readWrite, "User"),
			str("displayName", "The manager's displayName.", readOnly, false)),
	}}

var allotSchema = &Schema{ID: schemaAllot, Name: "AllotUser", Description: "allot licensing attributes of a user",
	Attributes: []*Attribute{
		str("usageLocation", "ISO 3166 alpha-2 country where the user's licenses are used. Only changed when given.", readWrite, false),
	}}

var groupSchema = &Schema{ID: schemaGroup, Name: "Group", Description: "Group (stored as an allot security group; its licenses go to its members)",
	Attributes: []*Attribute{
		{Name: "displayName", Type: tString, Required: true, Mutability: readWrite, Returned: "default", Uniqueness: "none",
			Description: "A name for the group."},
		{Name: "members", Type: tComplex, MultiValued: true, Mutability: readWrite, Returned: "default", Uniqueness: "none",
			Description: "Direct members: users or groups (by id).",
			SubAttributes: []*Attribute{
				{Name: "value", Type: tString, CaseExact: true, Mutability: immutable, Returned: "default", Uniqueness: "none", Description: "The id of the member."},
				refAttr("$ref", "The URI of the member.", immutable, "User", "Group"),
				str("display", "The member's displayName.", readOnly, false),
				{Name: "type", Type: tString, CanonicalValues: []string{"User", "Group"}, Mutability: immutable, Returned: "default", Uniqueness: "none", Description: "User or Group."},
			}},
	}}

var (
	userType  = &ResourceType{Name: "User", Endpoint: "/Users", Description: "User Account", Schema: userSchema, Extensions: []*Schema{enterpriseSchema, allotSchema}}
	groupType = &ResourceType{Name: "Group", Endpoint: "/Groups", Description: "Group", Schema: groupSchema}

	resourceTypes = []*ResourceType{userType, groupType}
	schemas       = []*Schema{userSchema, enterpriseSchema, allotSchema, groupSchema}
)
