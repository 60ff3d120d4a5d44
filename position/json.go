package position

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"time"
)

// head is a position without its findings, in JSON order.
type head struct {
	AsOf        string                `json:"asOf"`
	GeneratedAt time.Time             `json:"generatedDateTime"`
	WindowDays  int                   `json:"windowDays"`
	Currency    *string               `json:"currency"`
	Scoped      bool                  `json:"scopedToAllotments,omitempty"`
	SKUs        []SKU                 `json:"skus"`
	Totals      Totals                `json:"totals"`
	Unpriced    []UnpricedRequirement `json:"unpricedRequirements"`
	Notes       []string              `json:"notes"`
}

// WriteJSON writes the position as JSON, streaming the findings (last, so
// that a reader sees the summary first).
func (p *Position) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	h, err := json.Marshal(head{AsOf: p.AsOf, GeneratedAt: p.GeneratedAt, WindowDays: p.WindowDays, Currency: p.Currency,
		Scoped: p.Scoped, SKUs: p.SKUs, Totals: p.Totals, Unpriced: p.Unpriced, Notes: p.Notes})
	if err != nil {
		return err
	}
	bw.Write(h[:len(h)-1])
	bw.WriteString(`,"findings":[`)
	first := true
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	p.EachFinding(func(f *Finding) bool {
		buf.Reset()
		if err = enc.Encode(f); err != nil {
			return false
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return true
	})
	if err != nil {
		return err
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// MarshalJSON encodes the position with its findings.
func (p *Position) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := p.WriteJSON(&b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
