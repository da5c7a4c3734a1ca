package questionnaire

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// Coding is a FHIR Coding, as an answer or an answer option holds it.
type Coding struct {
	System  string `json:"system,omitempty"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// value is one value[x] (or answer[x]) of an answer, an answer option or
// an enableWhen.
type value struct {
	kind string          // the type suffix: "Coding", "String", "Date", ...
	raw  json.RawMessage // nil when only the primitive's extension is given
	cod  *Coding         // the decoded Coding, once decode has run
}

// decode decodes a Coding once, so that comparisons do not.
func (v *value) decode() {
	if c, ok := v.coding(); ok && v.kind == "Coding" {
		v.cod = &c
	}
}

// pickValue finds the prefix[x] members of an object (valueString,
// _valueString, answerCoding...) and returns the first and how many
// different types there are.
func pickValue(m map[string]json.RawMessage, prefix string) (value, int) {
	var v value
	n := 0
	for k, raw := range m {
		name := strings.TrimPrefix(k, "_")
		kind, ok := strings.CutPrefix(name, prefix)
		if !ok || kind == "" || kind[0] < 'A' || kind[0] > 'Z' {
			continue
		}
		if k[0] == '_' {
			if _, both := m[name]; both {
				continue
			}
			raw = nil
		}
		if n == 0 || kind < v.kind {
			v = value{kind: kind, raw: raw}
		}
		n++
	}
	return v, n
}

func (v value) str() (string, bool) {
	var s string
	if v.raw == nil || json.Unmarshal(v.raw, &s) != nil {
		return "", false
	}
	return s, true
}

func (v value) coding() (Coding, bool) {
	if v.cod != nil {
		return *v.cod, true
	}
	var c Coding
	if v.raw == nil || json.Unmarshal(v.raw, &c) != nil {
		return c, false
	}
	return c, true
}

func (v value) number() (*big.Rat, bool) {
	if v.raw == nil {
		return nil, false
	}
	return parseNumber(string(v.raw))
}

// parseNumber reads a JSON number exactly, except that numbers with an
// exponent go through float64, so that a hostile exponent cannot make a
// huge rational.
func parseNumber(s string) (*big.Rat, bool) {
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(f), true
	}
	return new(big.Rat).SetString(s)
}

type quantity struct {
	Value  json.Number `json:"value"`
	Unit   string      `json:"unit"`
	System string      `json:"system"`
	Code   string      `json:"code"`
}

// sameCoding reports whether two codings name the same concept: the same
// code, and the same system when both give one.
func sameCoding(a, b Coding) bool {
	return a.Code == b.Code && (a.System == b.System || a.System == "" || b.System == "")
}

// equalValues reports whether a and b are equal values.
func equalValues(a, b value) bool {
	switch {
	case a.raw == nil || b.raw == nil:
		return false
	case a.kind == "Coding" && b.kind == "Coding":
		ca, ok1 := a.coding()
		cb, ok2 := b.coding()
		return ok1 && ok2 && sameCoding(ca, cb)
	case a.kind == "Boolean" && b.kind == "Boolean":
		return string(a.raw) == string(b.raw)
	case a.kind == "Reference" && b.kind == "Reference":
		var ra, rb struct {
			Reference string `json:"reference"`
		}
		return json.Unmarshal(a.raw, &ra) == nil && json.Unmarshal(b.raw, &rb) == nil &&
			ra.Reference != "" && ra.Reference == rb.Reference
	}
	c, ok := compareValues(a, b)
	return ok && c == 0
}

// compareValues orders two values of ordered types (numbers, dates,
// times, strings, quantities of the same unit). ok is false when they
// cannot be compared: different types, or dates of different precision
// whose spans overlap.
func compareValues(a, b value) (int, bool) {
	if a.raw == nil || b.raw == nil {
		return 0, false
	}
	num := func(k string) bool { return k == "Integer" || k == "Decimal" }
	date := func(k string) bool { return k == "Date" || k == "DateTime" }
	text := func(k string) bool { return k == "String" || k == "Uri" || k == "Time" }
	switch {
	case num(a.kind) && num(b.kind):
		x, ok1 := a.number()
		y, ok2 := b.number()
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case date(a.kind) && date(b.kind):
		sa, ok1 := a.str()
		sb, ok2 := b.str()
		if !ok1 || !ok2 {
			return 0, false
		}
		ra, err1 := fhir.ParseDateRange(sa)
		rb, err2 := fhir.ParseDateRange(sb)
		switch {
		case err1 != nil || err2 != nil:
			return 0, false
		case ra.Start.Equal(rb.Start) && ra.End.Equal(rb.End):
			return 0, true
		case !ra.End.After(rb.Start):
			return -1, true
		case !ra.Start.Before(rb.End):
			return 1, true
		}
		return 0, false
	case text(a.kind) && a.kind == b.kind:
		sa, ok1 := a.str()
		sb, ok2 := b.str()
		return strings.Compare(sa, sb), ok1 && ok2
	case a.kind == "Quantity" && b.kind == "Quantity":
		var qa, qb quantity
		if json.Unmarshal(a.raw, &qa) != nil || json.Unmarshal(b.raw, &qb) != nil {
			return 0, false
		}
		if qa.Code != "" || qb.Code != "" {
			if qa.Code != qb.Code || qa.System != qb.System {
				return 0, false
			}
		} else if qa.Unit != qb.Unit {
			return 0, false
		}
		x, ok1 := parseNumber(string(qa.Value))
		y, ok2 := parseNumber(string(qb.Value))
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	}
	return 0, false
}
