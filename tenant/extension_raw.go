package tenant

import (
	"fmt"

	"allot/store"
)

// PersistRaw is Persist for a body that is already encoded JSON: the bytes
// are stored as they are, without going through encoding/json (no
// reflection, no validation pass, no copy).
//
// The caller guarantees that body is one valid JSON value and does not
// change it afterwards: the store keeps the slice until the batch is
// committed. Use it for large bodies an extension renders itself (binary
// blobs in base64); Persist is simpler and checks its output.
func (tx *Tx) PersistRaw(kind store.Kind, id string, body []byte) error {
	if len(body) == 0 {
		return fmt.Errorf("tenant: PersistRaw %s %s: empty body", kind, id)
	}
	tx.State.undo.noteExt()
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Body: body})
	return nil
}
