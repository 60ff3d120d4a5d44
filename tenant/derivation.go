package tenant

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// The derivation stamp lets a load adopt the stored license records
// (licensing.Engine.Adopt) instead of recomputing them: a full recompute
// of a million users is seconds of CPU that, on a store this runtime's
// build kept, derives what is stored already.
//
// Every change this runtime commits with records puts the stamp object
// (KindSetting, id derivationID): the engine's semantics
// (licensing.Semantics), a fingerprint of the base catalog, and the log
// number the change itself gets (the writer's last number plus one: under
// the tenant's lease, or as the only writer, nobody appends in between).
// A load adopts only when the stamp it reads names this build's semantics
// and catalog and the log's last number: then the last change — and so,
// by induction, every change since the last recompute — was committed by
// a runtime that derives as this one does. A change committed by anyone
// else (an earlier version, which keeps the stamp as an unknown setting
// but does not renew it; a repair) leaves the stamp behind the log, and
// the load recomputes, commits the repair if there is one, and the new
// stamp with it. A database without a numbered log (the memory store)
// always recomputes.
const derivationID = "derivation"

// stamp is the body of the derivation stamp.
type stamp struct {
	Semantics int    `json:"semantics"`
	Catalog   string `json:"catalog"`
	Log       int64  `json:"log"`
}

// catalogFingerprint is a hash of everything of the base catalog a
// recompute reads: its products with their plans, and its rules.
func catalogFingerprint(c *catalog.Catalog) string {
	b, err := json.Marshal(struct {
		SKUs  []*catalog.SKU
		Rules *catalog.Rules
	}{c.SKUs(), c.Rules()})
	if err != nil { // a catalog is plain data; never adopt if it cannot be hashed
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// derivation holds a runtime's catalog fingerprint and the stamp's body
// up to its log number, computed once (every commit puts a stamp).
type derivation struct {
	once   sync.Once
	fp     string
	prefix []byte // the JSON of stamp up to the log number
}

func (r *Runtime) catalogStamp() string {
	r.deriv.once.Do(func() {
		r.deriv.fp = catalogFingerprint(r.cat)
		b, _ := json.Marshal(stamp{Semantics: licensing.Semantics, Catalog: r.deriv.fp})
		r.deriv.prefix = bytes.TrimSuffix(b, []byte("0}")) // stamp's last field is Log
	})
	return r.deriv.fp
}

// stampMutation is the stamp a change that becomes log number log puts:
// the JSON of stamp, written without encoding/json on every commit.
func (r *Runtime) stampMutation(log int64) store.Mutation {
	r.catalogStamp()
	b := strconv.AppendInt(append(make([]byte, 0, len(r.deriv.prefix)+21), r.deriv.prefix...), log, 10)
	return store.Mutation{Kind: store.KindSetting, ID: derivationID, Body: append(b, '}')}
}

// adoptable reports whether a tenant's records, loaded with the stamp
// body (nil: none) up to log number logSeq, may be adopted.
func (r *Runtime) adoptable(body []byte, logSeq int64) bool {
	if body == nil || logSeq <= 0 || r.opts.Recompute {
		return false
	}
	var s stamp
	if json.Unmarshal(body, &s) != nil {
		return false
	}
	fp := r.catalogStamp()
	return s.Semantics == licensing.Semantics && fp != "" && s.Catalog == fp && s.Log == logSeq
}
