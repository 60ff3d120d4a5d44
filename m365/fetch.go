package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// userSelect is what a sync reads of a user (Graph property names; see
// bundle.FromGraph for how they become allot's): its id, every property
// Entra owns on a synced user (EntraOwnedUserFields: the user-property
// registry's Entra properties), its creation time, and its licenses with
// their states and plans.
var userSelect = "id," + strings.Join(EntraOwnedUserFields, ",") + ",createdDateTime,assignedLicenses,licenseAssignmentStates,assignedPlans"

// What a sync reads of each object besides userSelect.
const (
	signInSelect = ",signInActivity"
	groupSelect  = "id,displayName,description,mailNickname,mailEnabled,securityEnabled,groupTypes,membershipRule," +
		"membershipRuleProcessingState,assignedLicenses"
	pageSize = 999 // Graph's largest page of users and groups
)

// fetcher reads a Microsoft tenant's directory for one sync.
type fetcher struct {
	c        *Client
	progress *Progress
	// signIns: whether users' signInActivity is read (it needs
	// AuditLog.Read.All and Entra ID P1; a tenant without them refuses the
	// property, and the sync goes on without it).
	signIns bool
}

// userFields is the $select of users.
func (f *fetcher) userFields() string {
	if f.signIns {
		return userSelect + signInSelect
	}
	return userSelect
}

// refusesProperty reports an answer that refuses a selected property
// (400 for an unknown one, 403 without the permission or licence).
func refusesProperty(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && (ge.Status == http.StatusBadRequest || ge.Status == http.StatusForbidden)
}

// skus reads subscribedSkus as the page FromGraph takes.
func (f *fetcher) skus(ctx context.Context) ([]byte, error) {
	var all []json.RawMessage
	err := f.c.Pages(ctx, "/subscribedSkus", func(items []json.RawMessage, _, _ string) error {
		all = append(all, items...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"value": all})
}

// byID reads objects by id ("/users/{id}?…") in JSON batches of 20;
// objects that no longer exist (404) are left out and returned as gone.
func (f *fetcher) byID(ctx context.Context, collection, sel string, ids []string) (found []json.RawMessage, gone []string, err error) {
	var mu sync.Mutex
	chunks := chunk(ids, MaxBatch)
	err = parallel(ctx, cap(f.c.sem), chunks, func(ctx context.Context, ids []string) error {
		reqs := make([]BatchRequest, len(ids))
		for i, id := range ids {
			reqs[i] = BatchRequest{ID: fmt.Sprint(i), Method: http.MethodGet, URL: "/" + collection + "/" + url.PathEscape(id) + "?$select=" + sel}
		}
		ans, err := f.c.Batch(ctx, reqs)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i, id := range ids {
			r := ans[fmt.Sprint(i)]
			switch {
			case r.Status == http.StatusNotFound:
				gone = append(gone, id)
			case r.Status/100 != 2:
				return graphError(r.Status, r.Body, f.c.base+reqs[i].URL)
			default:
				found = append(found, r.Body)
			}
		}
		return nil
	})
	return found, gone, err
}

// members reads the direct members of groups: the first page of each in
// JSON batches of 20, further pages by their nextLink.
func (f *fetcher) members(ctx context.Context, groupIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(groupIDs))
	var mu sync.Mutex
	type link struct{ group, next string }
	var more []link
	err := parallel(ctx, cap(f.c.sem), chunk(groupIDs, MaxBatch), func(ctx context.Context, ids []string) error {
		reqs := make([]BatchRequest, len(ids))
		for i, id := range ids {
			reqs[i] = BatchRequest{ID: fmt.Sprint(i), Method: http.MethodGet, URL: "/groups/" + url.PathEscape(id) + fmt.Sprintf("/members?$select=id&$top=%d", pageSize)}
		}
		ans, err := f.c.Batch(ctx, reqs)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i, id := range ids {
			r := ans[fmt.Sprint(i)]
			if r.Status == http.StatusNotFound {
				continue // deleted meanwhile: the next sync removes it
			}
			if r.Status/100 != 2 {
				return graphError(r.Status, r.Body, f.c.base+reqs[i].URL)
			}
			var p struct {
				Value []struct {
					ID string `json:"id"`
				} `json:"value"`
				Next string `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil {
				return fmt.Errorf("members of group %s: %w", id, err)
			}
			ms := make([]string, 0, len(p.Value))
			for _, m := range p.Value {
				ms = append(ms, m.ID)
			}
			out[id] = ms
			if p.Next != "" {
				more = append(more, link{id, p.Next})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range more {
		err := f.c.Pages(ctx, l.next, func(items []json.RawMessage, _, _ string) error {
			for _, it := range items {
				var m struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(it, &m); err != nil {
					return err
				}
				out[l.group] = append(out[l.group], m.ID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// deltaLatest returns a deltaLink for the current state of a collection
// ("users" or "groups") without reading it: $deltatoken=latest, else the
// whole initial round of the delta query read and dropped. "" when the
// service has no delta query for it (400, 404, 405 or 501): the next sync
// is full again.
func (f *fetcher) deltaLatest(ctx context.Context, collection string) (string, error) {
	sel := groupSelect
	if collection == "users" {
		sel = userSelect // signInActivity is not a directory change: delta queries refuse it
	}
	var link string
	err := f.c.Pages(ctx, "/"+collection+"/delta?$select="+sel+"&$deltatoken=latest", func(_ []json.RawMessage, _, delta string) error {
		link = delta
		return nil
	})
	if err == nil && link != "" {
		return link, nil
	}
	if err != nil && !noDelta(err) && !refusesProperty(err) {
		return "", err
	}
	err = f.c.Pages(ctx, "/"+collection+"/delta?$select="+sel, func(_ []json.RawMessage, _, delta string) error {
		link = delta
		return nil
	})
	if noDelta(err) {
		return "", nil
	}
	return link, err
}

// noDelta reports an answer that says the service has no such delta query.
func noDelta(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	}
	return false
}

// deltaItem is what a sync reads of one object of a delta page.
type deltaItem struct {
	ID      string          `json:"id"`
	Removed json.RawMessage `json:"@removed"`
}

// changes reads a delta query from its deltaLink: the ids changed and
// removed since, and the next deltaLink. A deltaLink the service no longer
// accepts (410 Gone, or a 400 for a token it cannot read) is expired.
func (f *fetcher) changes(ctx context.Context, link string) (changed, removed []string, next string, err error) {
	seenC, seenR := map[string]bool{}, map[string]bool{}
	err = f.c.Pages(ctx, link, func(items []json.RawMessage, _, delta string) error {
		for _, it := range items {
			var d deltaItem
			if err := json.Unmarshal(it, &d); err != nil {
				return err
			}
			if d.ID == "" {
				continue
			}
			if len(d.Removed) > 0 && string(d.Removed) != "null" {
				seenR[d.ID] = true
				delete(seenC, d.ID)
			} else {
				seenC[d.ID] = true
				delete(seenR, d.ID)
			}
		}
		if delta != "" {
			next = delta
		}
		return nil
	})
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && (ge.Status == http.StatusGone || ge.Status == http.StatusBadRequest) {
			return nil, nil, "", errExpired
		}
		return nil, nil, "", err
	}
	return sortedSet(seenC), sortedSet(seenR), next, nil
}

// errExpired: a stored deltaLink is no longer accepted; a full sync
// follows.
var errExpired = errors.New("the delta link expired")

func chunk[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// domains reads the verified domains.
func (f *fetcher) domains(ctx context.Context) ([]string, error) {
	var out []string
	err := f.c.Pages(ctx, "/domains", func(items []json.RawMessage, _, _ string) error {
		for _, it := range items {
			var d struct {
				ID         string `json:"id"`
				IsVerified bool   `json:"isVerified"`
			}
			if err := json.Unmarshal(it, &d); err != nil {
				return err
			}
			if d.IsVerified && d.ID != "" {
				out = append(out, d.ID)
			}
		}
		return nil
	})
	return out, err
}
