package msgraph

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

const (
	skuE3   = "05e9a617-0261-4cee-bb44-138d3ef5d965" // SPE_E3
	skuO365 = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
)

// staticToken is an AccessTokenProvider that hands out one token, for
// allot's API tokens (no Azure identity involved).
type staticToken struct {
	token string
	hosts authentication.AllowedHostsValidator
}

func (s *staticToken) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !s.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	return s.token, nil
}

func (s *staticToken) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	return &s.hosts
}

// client is the official SDK with only the base URL and token changed.
func client(t *testing.T, base, token string) *msgraphsdk.GraphServiceClient {
	t.Helper()
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(&staticToken{token: token, hosts: authentication.NewAllowedHostsValidator([]string{"127.0.0.1"})})
	adapter, err := msgraphsdk.NewGraphRequestAdapter(auth)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(base + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

func ptr[T any](v T) *T { return &v }

// check fails the test with the Graph error's code and message.
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		t.Fatalf("%s: %d %s: %s", what, oe.ResponseStatusCode, ptrStr(oe.GetErrorEscaped().GetCode()), ptrStr(oe.GetErrorEscaped().GetMessage()))
	}
	t.Fatalf("%s: %v", what, err)
}

func ptrStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestOfficialSDKAgainstAllot(t *testing.T) {
	srv := startServer(t)
	_, token := srv.tenant(map[string]int{"SPE_E3": 10, "ENTERPRISEPACK": 2})
	gc := client(t, srv.url, token)
	ctx := context.Background()

	checkSubscribedSkus(t, ctx, gc)

	// Users.
	var ids []string
	for i := 0; i < 5; i++ {
		u := models.NewUser()
		u.SetAccountEnabled(ptr(true))
		u.SetDisplayName(ptr(fmt.Sprintf("User %d", i)))
		u.SetMailNickname(ptr(fmt.Sprintf("user%d", i)))
		u.SetUserPrincipalName(ptr(fmt.Sprintf("user%d@contoso.example", i)))
		u.SetUsageLocation(ptr("US"))
		pp := models.NewPasswordProfile()
		pp.SetPassword(ptr("Secret-123!"))
		pp.SetForceChangePasswordNextSignIn(ptr(true))
		u.SetPasswordProfile(pp)
		created, err := gc.Users().Post(ctx, u, nil)
		check(t, "create user", err)
		ids = append(ids, *created.GetId())
	}
	// A group with SPE_E3.
	g := models.NewGroup()
	g.SetDisplayName(ptr("Licensed staff"))
	g.SetMailEnabled(ptr(false))
	g.SetMailNickname(ptr("licensedstaff"))
	g.SetSecurityEnabled(ptr(true))
	group, err := gc.Groups().Post(ctx, g, nil)
	check(t, "create group", err)
	gid := *group.GetId()

	e3, o365 := uuid.MustParse(skuE3), uuid.MustParse(skuO365)
	lic := models.NewAssignedLicense()
	lic.SetSkuId(&e3)
	lic.SetDisabledPlans([]uuid.UUID{})
	gbody := groups.NewItemAssignLicensePostRequestBody()
	gbody.SetAddLicenses([]models.AssignedLicenseable{lic})
	gbody.SetRemoveLicenses([]uuid.UUID{})
	_, err = gc.Groups().ByGroupId(gid).AssignLicense().Post(ctx, gbody, nil)
	check(t, "group assignLicense", err)

	// Members: add three, remove one.
	for _, id := range ids[:3] {
		ref := models.NewReferenceCreate()
		ref.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + id))
		check(t, "add member", gc.Groups().ByGroupId(gid).Members().Ref().Post(ctx, ref, nil))
	}
	check(t, "remove member", gc.Groups().ByGroupId(gid).Members().ByDirectoryObjectId(ids[2]).Ref().Delete(ctx, nil))
	members, err := gc.Groups().ByGroupId(gid).Members().Get(ctx, nil)
	check(t, "list members", err)
	if len(members.GetValue()) != 2 {
		t.Fatalf("members: %d", len(members.GetValue()))
	}
	if _, ok := members.GetValue()[0].(models.Userable); !ok {
		t.Fatalf("member is a %T, want a user", members.GetValue()[0])
	}

	// A direct license next to the inherited one.
	direct := models.NewAssignedLicense()
	direct.SetSkuId(&o365)
	direct.SetDisabledPlans([]uuid.UUID{})
	ubody := users.NewItemAssignLicensePostRequestBody()
	ubody.SetAddLicenses([]models.AssignedLicenseable{direct})
	ubody.SetRemoveLicenses([]uuid.UUID{})
	_, err = gc.Users().ByUserId(ids[0]).AssignLicense().Post(ctx, ubody, nil)
	check(t, "user assignLicense", err)

	// licenseAssignmentStates with $select.
	u0, err := gc.Users().ByUserId(ids[0]).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "licenseAssignmentStates", "assignedLicenses"}}})
	check(t, "get user with $select", err)
	states := map[string]string{}
	for _, s := range u0.GetLicenseAssignmentStates() {
		by := "direct"
		if s.GetAssignedByGroup() != nil {
			by = *s.GetAssignedByGroup()
		}
		states[s.GetSkuId().String()+" "+by] = ptrStr(s.GetState())
	}
	if states[skuE3+" "+gid] != "Active" || states[skuO365+" direct"] != "Active" || len(u0.GetAssignedLicenses()) != 2 {
		t.Fatalf("licenseAssignmentStates: %v, assignedLicenses %d", states, len(u0.GetAssignedLicenses()))
	}
	// licenseDetails.
	details, err := gc.Users().ByUserId(ids[0]).LicenseDetails().Get(ctx, nil)
	check(t, "licenseDetails", err)
	var parts []string
	for _, d := range details.GetValue() {
		parts = append(parts, ptrStr(d.GetSkuPartNumber()))
		if len(d.GetServicePlans()) == 0 || ptrStr(d.GetServicePlans()[0].GetProvisioningStatus()) != "Success" {
			t.Fatalf("licenseDetails plans of %s", ptrStr(d.GetSkuPartNumber()))
		}
	}
	sort.Strings(parts)
	if strings.Join(parts, ",") != "ENTERPRISEPACK,SPE_E3" {
		t.Fatalf("licenseDetails: %v", parts)
	}
	// A Graph error comes back as an ODataError with Graph's code.
	_, err = gc.Users().ByUserId(ids[0]).AssignLicense().Post(ctx, func() *users.ItemAssignLicensePostRequestBody {
		b := users.NewItemAssignLicensePostRequestBody()
		b.SetAddLicenses([]models.AssignedLicenseable{})
		b.SetRemoveLicenses([]uuid.UUID{e3})
		return b
	}(), nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != 400 || !strings.Contains(ptrStr(oe.GetErrorEscaped().GetMessage()), "inherited from a group membership") {
		t.Fatalf("removing an inherited license: %v", err)
	}

	pageThroughUsers(t, ctx, gc)

	checkAnyFilter(t, ctx, gc, ids)
}

// checkSubscribedSkus: the SDK lists the tenant's products with their
// plans, ids and enabled units.
func checkSubscribedSkus(t *testing.T, ctx context.Context, gc *msgraphsdk.GraphServiceClient) {
	skus, err := gc.SubscribedSkus().Get(ctx, nil)
	check(t, "list subscribedSkus", err)
	found := map[string]int32{}
	for _, s := range skus.GetValue() {
		found[ptrStr(s.GetSkuPartNumber())] = *s.GetPrepaidUnits().GetEnabled()
		if len(s.GetServicePlans()) == 0 || s.GetSkuId() == nil {
			t.Fatalf("sku %s without plans or id", ptrStr(s.GetSkuPartNumber()))
		}
	}
	if found["SPE_E3"] != 10 || found["ENTERPRISEPACK"] != 2 {
		t.Fatalf("subscribedSkus: %v", found)
	}
}

// pageThroughUsers: the SDK pages through the five users with $top,
// following @odata.nextLink, each user once.
func pageThroughUsers(t *testing.T, ctx context.Context, gc *msgraphsdk.GraphServiceClient) {
	seen := map[string]bool{}
	page, err := gc.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(2)), Select: []string{"id", "displayName"}}})
	check(t, "list users", err)
	pages := 0
	for {
		pages++
		for _, u := range page.GetValue() {
			if seen[*u.GetId()] {
				t.Fatalf("user %s on two pages", *u.GetId())
			}
			seen[*u.GetId()] = true
		}
		next := page.GetOdataNextLink()
		if next == nil {
			break
		}
		page, err = users.NewUsersRequestBuilder(*next, gc.GetAdapter()).Get(ctx, nil)
		check(t, "next page", err)
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("paging: %d users in %d pages", len(seen), pages)
	}
}

// checkAnyFilter: $filter with any() on assignedLicenses finds the two
// members of the licensed group (ids[:2]).
func checkAnyFilter(t *testing.T, ctx context.Context, gc *msgraphsdk.GraphServiceClient, ids []string) {
	holders, err := gc.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: ptr("assignedLicenses/any(x:x/skuId eq " + skuE3 + ")")}})
	check(t, "filter with any()", err)
	var got []string
	for _, u := range holders.GetValue() {
		got = append(got, *u.GetId())
	}
	sort.Strings(got)
	want := append([]string(nil), ids[:2]...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("any(): %v, want %v", got, want)
	}
}
