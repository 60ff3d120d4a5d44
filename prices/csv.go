package prices

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"allot"
)

// ParseCSV reads a price list from CSV: one product per row with the
// columns SKU (part number or skuId), currency, monthly unit price and an
// optional term. A header row is recognised by its names (sku,
// skuPartNumber, skuId, product; currency; monthlyUnitPrice, monthly unit
// price, price, unitPrice; term) in any order; without a header the columns
// are taken in that order. A UTF-8 BOM, blank lines and a decimal comma
// ("36,50" quoted) are accepted. Every row must name the same currency.
//
// Errors are EINVALID and name the line. The list still has to be checked
// against the tenant's catalog (List.Check), whose errors name entries;
// lines[i] is the line of prices[i], for Lines.Rewrite.
func ParseCSV(r io.Reader) (l List, lines Lines, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var (
		cols = [4]int{0, 1, 2, 3} // sku, currency, price, term
		rows int
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return List{}, nil, allot.Errorf(allot.EINVALID, "line %d: %v", pe.Line, pe.Err)
			}
			return List{}, nil, allot.Errorf(allot.EINVALID, "reading the CSV: %v", err)
		}
		line, _ := cr.FieldPos(0)
		if rows == 0 && len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		}
		if blank(rec) {
			continue
		}
		rows++
		if rows == 1 {
			if h, ok := header(rec); ok {
				cols = h
				continue
			}
		}
		field := func(i int) string {
			if c := cols[i]; c >= 0 && c < len(rec) {
				return strings.TrimSpace(rec[c])
			}
			return ""
		}
		sku, cur, amount, term := field(0), field(1), field(2), field(3)
		if sku == "" {
			return List{}, nil, allot.Errorf(allot.EINVALID, "line %d: the SKU (part number or skuId) is empty", line)
		}
		if cur == "" {
			return List{}, nil, allot.Errorf(allot.EINVALID, "line %d: the currency is empty", line)
		}
		if l.Currency == "" {
			l.Currency = strings.ToUpper(cur)
		} else if !strings.EqualFold(cur, l.Currency) {
			return List{}, nil, allot.Errorf(allot.EINVALID, "line %d: currency %s differs from %s on the first row; a price list has one currency", line, cur, l.Currency)
		}
		v, err := strconv.ParseFloat(strings.Replace(amount, ",", ".", 1), 64)
		if err != nil {
			return List{}, nil, allot.Errorf(allot.EINVALID, "line %d: %q is not a monthly unit price", line, amount)
		}
		p := Price{MonthlyUnitPrice: v, Term: term}
		if isGUIDish(sku) {
			p.SKUID = sku
		} else {
			p.SKUPartNumber = sku
		}
		l.Prices = append(l.Prices, p)
		lines = append(lines, line)
	}
	if len(l.Prices) == 0 {
		return List{}, nil, allot.Errorf(allot.EINVALID, "the CSV has no price rows")
	}
	return l, lines, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// header recognises a header row and returns the column of each field (-1:
// absent). It needs at least the SKU and price columns.
func header(rec []string) ([4]int, bool) {
	cols := [4]int{-1, -1, -1, -1}
	for i, f := range rec {
		k := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.TrimSpace(f)))
		switch k {
		case "sku", "skuid", "skupartnumber", "partnumber", "product", "productid":
			cols[0] = i
		case "currency", "currencycode":
			cols[1] = i
		case "monthlyunitprice", "monthlyprice", "unitprice", "price", "priceperunit", "monthlyunitpriceusd":
			cols[2] = i
		case "term", "termduration", "commitment":
			cols[3] = i
		}
	}
	return cols, cols[0] >= 0 && cols[2] >= 0
}

// isGUIDish tells a skuId from a part number.
func isGUIDish(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

// Lines are the CSV line of each entry of a parsed list.
type Lines []int

// Rewrite turns the entries a Check error names ("prices[2]") into the CSV
// lines they came from ("line 4"); other errors are returned unchanged.
func (ls Lines) Rewrite(err error) error {
	if allot.ErrorCode(err) != allot.EINVALID {
		return err
	}
	msg := allot.ErrorMessage(err)
	var b strings.Builder
	for {
		i := strings.Index(msg, "prices[")
		if i < 0 {
			b.WriteString(msg)
			break
		}
		j := strings.IndexByte(msg[i:], ']')
		if j < 0 {
			b.WriteString(msg)
			break
		}
		n, convErr := strconv.Atoi(msg[i+len("prices[") : i+j])
		if convErr != nil || n < 0 || n >= len(ls) {
			b.WriteString(msg[:i+j+1])
			msg = msg[i+j+1:]
			continue
		}
		b.WriteString(msg[:i])
		fmt.Fprintf(&b, "line %d", ls[n])
		msg = msg[i+j+1:]
		if rest, ok := strings.CutPrefix(msg, "."); ok {
			msg = ", column " + rest // "line 4, column skuPartNumber: …"
		}
	}
	return allot.NewError(allot.EINVALID, b.String())
}
