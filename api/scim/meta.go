package scim

import (
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
)

// Versions are weak entity tags (RFC 7644 §3.14) derived from content, so
// that any change — through SCIM or Graph — changes them and an unchanged
// resource keeps its tag.

// userVersion hashes a user's representation (without meta).
func userVersion(d doc) string {
	b, _ := json.Marshal(d) // maps marshal with sorted keys: deterministic
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}

func etag(version string) string { return `W/"` + version + `"` }

// etagMatches reports whether an If-Match or If-None-Match header value
// ("*" or a list of entity tags) matches a version, comparing weakly.
func etagMatches(header, version string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == version {
			return true
		}
	}
	return false
}
