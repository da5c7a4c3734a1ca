package extract

import (
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// maxCombinations bounds the composites one root may produce.
const maxCombinations = 256

// composites indexes a composite parameter: its expression selects the
// roots (Observation.component), each component's expression is evaluated
// on each root, and every combination of one value per component becomes
// a Composite (a component code with two codings gives two). A root that
// lacks a value for some component gives none. Parts carry the composite
// parameter's code; text-only and derived tokens are not parts, and token
// parts carry no text.
func (x *Extractor) composites(idx *search.Index, pl *plan, root fhirpath.Item) error {
	p := pl.param
	var resource fhirpath.Option
	for i, b := range pl.branches {
		roots, err := b.expr.Evaluate(root)
		if err != nil {
			return err
		}
		if len(roots) > 0 && resource == nil {
			resource = fhirpath.WithResource(root)
		}
		for _, r := range roots {
			parts := make([][]search.Part, len(p.Components))
			complete := true
			for j, comp := range p.Components {
				var scratch search.Index
				for _, cb := range pl.components[i][j] {
					items, err := cb.expr.Evaluate(r, resource)
					if err != nil {
						return err
					}
					c := converter{x: x, idx: &scratch, param: p.Code, typ: comp.Type, codeSystem: cb.codeSystem, noText: true}
					for _, it := range items {
						c.item(it)
					}
				}
				dedupe(&scratch, counts{})
				parts[j] = partsOf(&scratch, p.Code)
				if len(parts[j]) == 0 {
					complete = false
					break
				}
			}
			if complete {
				combine(idx, p.Code, parts)
			}
		}
	}
	return nil
}

// partsOf returns the values of a scratch index as composite parts.
func partsOf(s *search.Index, param string) []search.Part {
	var out []search.Part
	for i := range s.Tokens {
		if t := &s.Tokens[i]; t.Param == param && t.Code != "" {
			out = append(out, search.Part{Token: t})
		}
	}
	for i := range s.Strings {
		out = append(out, search.Part{String: &s.Strings[i]})
	}
	for i := range s.Dates {
		out = append(out, search.Part{Date: &s.Dates[i]})
	}
	for i := range s.Numbers {
		out = append(out, search.Part{Number: &s.Numbers[i]})
	}
	for i := range s.Quantities {
		out = append(out, search.Part{Quantity: &s.Quantities[i]})
	}
	for i := range s.References {
		out = append(out, search.Part{Reference: &s.References[i]})
	}
	for i := range s.URIs {
		out = append(out, search.Part{URI: &s.URIs[i]})
	}
	return out
}

// combine appends one Composite per combination of one part per
// component, at most maxCombinations.
func combine(idx *search.Index, param string, parts [][]search.Part) {
	n := 1
	for _, ps := range parts {
		n *= len(ps)
		if n > maxCombinations {
			n = maxCombinations
		}
	}
	for k := range n {
		c := search.Composite{Param: param, Parts: make([]search.Part, len(parts))}
		rest := k
		for j := len(parts) - 1; j >= 0; j-- {
			c.Parts[j] = parts[j][rest%len(parts[j])]
			rest /= len(parts[j])
		}
		idx.Composites = append(idx.Composites, c)
	}
}
