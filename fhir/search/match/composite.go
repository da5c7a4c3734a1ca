package match

import (
	"strings"

	"github.com/cpms-fhir/cpms/fhir/search"
)

// compositeTest matches resources with a composite value of param (one
// search.Composite) whose parts match every component of one of values.
type compositeTest struct {
	param  string
	values [][]component
}

// component is the test of one component of a composite search value on
// the part of a stored composite at its position. The query does not say
// the component's type, so a component holds one test per kind of part
// its value can stand for (as componentPred in the SQLite store): a part
// of a kind it has no test for does not match.
type component struct {
	// Token part: a code of any system (tokCode), any code of a system
	// (tokSystem), or both.
	tok                bool
	tokSystem, tokCode bool
	system, code       string
	// String part: starts with folded; URI part: equals text.
	text        bool
	folded, uri string
	date        []cond[int64]
	number      []cond[float64]
	quantity    []qcond
	ref         bool
	refValue    refValue
}

func (c *compiler) composite(cl *search.Clause) (test, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	x := &compositeTest{param: cl.Param}
	for _, v := range cl.Values {
		if len(v.Components) == 0 {
			return nil, invalidSearch(cl.Param, "the composite parameter %s has a value without components", cl.Param)
		}
		comps := make([]component, len(v.Components))
		for j := range v.Components {
			if err := c.component(&comps[j], &v.Components[j]); err != nil {
				return nil, err
			}
		}
		x.values = append(x.values, comps)
	}
	return x, nil
}

// component compiles into k the tests of component value v.
func (c *compiler) component(k *component, v *search.Value) error {
	if v.System != nil || v.Code != "" {
		k.tok = true
		switch {
		case v.System == nil:
			k.tokCode, k.code = true, v.Code
		case v.Code == "":
			k.tokSystem, k.system = true, *v.System
		default:
			k.tokSystem, k.system, k.tokCode, k.code = true, *v.System, true, v.Code
		}
	}
	if v.Text != "" {
		k.text, k.folded, k.uri = true, search.Fold(v.Text), v.Text
	}
	if v.DateLo != 0 || v.DateHi != 0 {
		cs, err := rangeConds(v.Prefix, dateBounds(v, c.now))
		if err != nil {
			return err
		}
		k.date = cs
	}
	if v.Prefix != "" || v.NumLo != 0 || v.NumHi != 0 || v.Num != 0 {
		cs, err := rangeConds(v.Prefix, numberBounds(v.NumLo, v.NumHi, v.Num))
		if err != nil {
			return err
		}
		qs, err := quantityConds(v)
		if err != nil {
			return err
		}
		k.number, k.quantity = cs, qs
	}
	if v.Type != "" || v.ID != "" || v.URL != "" {
		k.ref, k.refValue = true, refValue{url: v.URL, version: v.Version, t: v.Type, id: v.ID}
	}
	return nil
}

func (x *compositeTest) cost() int { return costComposite }

func (x *compositeTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.Composites {
		co := &idx.Composites[i]
		if co.Param != x.param {
			continue
		}
		for _, comps := range x.values {
			if matchesAll(comps, co.Parts) {
				return true
			}
		}
	}
	return false
}

// matchesAll reports whether each component matches the part at its
// position.
func matchesAll(comps []component, parts []search.Part) bool {
	if len(parts) < len(comps) {
		return false
	}
	for j := range comps {
		if !comps[j].matches(&parts[j]) {
			return false
		}
	}
	return true
}

// The kinds of a part, in the order the SQLite store reads its fields
// (compColumns): the first field set gives the kind.
const (
	partNone = iota
	partToken
	partString
	partDate
	partNumber
	partQuantity
	partRef
	partURI
)

// partKind returns the kind of p; partNone when no field is set (the
// SQLite store keeps no row for it).
func partKind(p *search.Part) int {
	switch {
	case p.Token != nil:
		return partToken
	case p.String != nil:
		return partString
	case p.Date != nil:
		return partDate
	case p.Number != nil:
		return partNumber
	case p.Quantity != nil:
		return partQuantity
	case p.Reference != nil:
		return partRef
	case p.URI != nil:
		return partURI
	}
	return partNone
}

// matches reports whether part p matches k.
func (k *component) matches(p *search.Part) bool {
	switch partKind(p) {
	case partToken:
		return k.tok && (!k.tokSystem || p.Token.System == k.system) && (!k.tokCode || p.Token.Code == k.code)
	case partString:
		return k.text && strings.HasPrefix(p.String.Value, k.folded)
	case partDate:
		return anyHolds(k.date, p.Date.Lo, p.Date.Hi)
	case partNumber:
		return anyHolds(k.number, p.Number.Lo, p.Number.Hi)
	case partQuantity:
		return anyQuantity(k.quantity, p.Quantity)
	case partRef:
		return k.ref && k.refValue.matches(p.Reference)
	case partURI:
		return k.text && p.URI.Value == k.uri
	}
	return false
}
