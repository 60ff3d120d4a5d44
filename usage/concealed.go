package usage

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"allot"
	"allot/tenant"
)

// When a tenant turns on displayConcealedNames, Microsoft's usage reports
// replace user names with 32-hexadecimal-digit hashes. A tenant may give
// allot the mapping (hash → userPrincipalName); rows whose hash it does not
// map are reported as unmatched, never dropped silently.

// ConcealedName maps one concealed report name to the user it hides.
type ConcealedName struct {
	Hash              string `json:"hash" required:"true" pattern:"^[0-9A-Fa-f]{32}$" doc:"The concealed name as the report shows it (32 hexadecimal digits)"`
	UserPrincipalName string `json:"userPrincipalName" required:"true" doc:"The user it hides"`
}

// MaxConcealedNames bounds one mapping.
const MaxConcealedNames = 2_000_000

// CheckConcealedNames validates a mapping (pure). EINVALID names the first
// bad entry.
func CheckConcealedNames(in []ConcealedName) (map[[16]byte]string, error) {
	if len(in) > MaxConcealedNames {
		return nil, allot.Errorf(allot.EINVALID, "At most %d concealed names can be mapped.", MaxConcealedNames)
	}
	out := make(map[[16]byte]string, len(in))
	for i, n := range in {
		h, ok := parseConcealed(strings.TrimSpace(n.Hash))
		if !ok {
			return nil, allot.Errorf(allot.EINVALID, "value[%d].hash %q is not a concealed name (32 hexadecimal digits).", i, n.Hash)
		}
		upn := strings.TrimSpace(n.UserPrincipalName)
		if upn == "" || !strings.Contains(upn, "@") {
			return nil, allot.Errorf(allot.EINVALID, "value[%d].userPrincipalName %q is not a user principal name.", i, n.UserPrincipalName)
		}
		if prev, dup := out[h]; dup && !strings.EqualFold(prev, upn) {
			return nil, allot.Errorf(allot.EINVALID, "value[%d].hash %s is mapped twice, to %s and %s.", i, n.Hash, prev, upn)
		}
		out[h] = upn
	}
	return out, nil
}

// SetConcealedNames replaces the tenant's concealed-name mapping. Run it
// inside Tenant.Do.
func SetConcealedNames(tx *tenant.Tx, names map[[16]byte]string) error {
	a := Of(tx.State)
	old := a.names
	a.names = conceal{}
	for h, upn := range names {
		a.names.set(h, upn)
	}
	var buckets [256][][2]string
	for h, upn := range names {
		buckets[h[0]] = append(buckets[h[0]], [2]string{hex.EncodeToString(h[:]), upn})
	}
	var had [256]bool
	for i := range old {
		had[i] = len(old[i]) > 0
	}
	for i, b := range buckets {
		id := fmt.Sprintf("%02x", i)
		if len(b) == 0 {
			if had[i] {
				tx.Unpersist(kindNames, id)
			}
			continue
		}
		sort.Slice(b, func(x, y int) bool { return b[x][0] < b[y][0] })
		if err := tx.Persist(kindNames, id, namesBody{Names: b}); err != nil {
			return err
		}
	}
	return nil
}

// ConcealedNames returns how many concealed names the tenant maps.
func (a *Aggregates) ConcealedNames() int {
	n := 0
	for i := range a.names {
		n += len(a.names[i])
	}
	return n
}

// conceal is the concealed-name mapping, in the 256 buckets it is stored
// in (by the hash's first byte), so that a stored bucket replaces its
// names alone.
type conceal [256]map[[16]byte]string

func (c *conceal) get(h [16]byte) (string, bool) {
	upn, ok := c[h[0]][h]
	return upn, ok
}

func (c *conceal) set(h [16]byte, upn string) {
	if c[h[0]] == nil {
		c[h[0]] = make(map[[16]byte]string)
	}
	c[h[0]][h] = upn
}

// clone copies the mapping (its buckets are replaced, never changed in
// place, once a command is done: SetConcealedNames, load).
func (c *conceal) clone() conceal { return *c }
