package extract

import (
	"github.com/cpms-fhir/cpms/fhir/search"
)

// counts records the lengths of the slices of an Index before a parameter
// adds to them.
type counts struct {
	tokens, strings, dates, numbers, quantities, references, uris, composites int
}

func marks(idx *search.Index) counts {
	return counts{len(idx.Tokens), len(idx.Strings), len(idx.Dates), len(idx.Numbers),
		len(idx.Quantities), len(idx.References), len(idx.URIs), len(idx.Composites)}
}

// dedupe removes the repeated values among those added since m.
func dedupe(idx *search.Index, m counts) {
	idx.Tokens = dedupeTail(idx.Tokens, m.tokens)
	idx.Strings = dedupeTail(idx.Strings, m.strings)
	idx.Dates = dedupeTail(idx.Dates, m.dates)
	idx.Numbers = dedupeTail(idx.Numbers, m.numbers)
	idx.Quantities = dedupeTail(idx.Quantities, m.quantities)
	idx.References = dedupeTail(idx.References, m.references)
	idx.URIs = dedupeTail(idx.URIs, m.uris)
	idx.Composites = dedupeComposites(idx.Composites, m.composites)
}

// dedupeScan is the number of values of one parameter up to which
// dedupeTail compares each with those kept rather than use a map. Most
// parameters have a few values, where the scan is cheaper; a CodeSystem's
// code parameter or a large ValueSet's has thousands.
const dedupeScan = 32

// dedupeTail removes repeated values from s[start:], keeping the first of
// each in order.
func dedupeTail[T comparable](s []T, start int) []T {
	n := len(s) - start
	if n < 2 {
		return s
	}
	out := start
	if n > dedupeScan {
		seen := make(map[T]struct{}, n)
		for i := start; i < len(s); i++ {
			if _, dup := seen[s[i]]; !dup {
				seen[s[i]] = struct{}{}
				s[out] = s[i]
				out++
			}
		}
	} else {
		for i := start; i < len(s); i++ {
			dup := false
			for j := start; j < out; j++ {
				if s[j] == s[i] {
					dup = true
					break
				}
			}
			if !dup {
				s[out] = s[i]
				out++
			}
		}
	}
	clear(s[out:])
	return s[:out]
}

func dedupeComposites(s []search.Composite, start int) []search.Composite {
	if len(s)-start < 2 {
		return s
	}
	out := start
	for i := start; i < len(s); i++ {
		dup := false
		for j := start; j < out; j++ {
			if sameComposite(&s[j], &s[i]) {
				dup = true
				break
			}
		}
		if !dup {
			s[out] = s[i]
			out++
		}
	}
	clear(s[out:])
	return s[:out]
}

func sameComposite(a, b *search.Composite) bool {
	if a.Param != b.Param || len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		if !samePart(&a.Parts[i], &b.Parts[i]) {
			return false
		}
	}
	return true
}

func samePart(a, b *search.Part) bool {
	return eq(a.Token, b.Token) && eq(a.String, b.String) && eq(a.Date, b.Date) && eq(a.Number, b.Number) &&
		eq(a.Quantity, b.Quantity) && eq(a.Reference, b.Reference) && eq(a.URI, b.URI)
}

// eq reports whether two optional values are both absent or equal.
func eq[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
