package search

import (
	"slices"

	"github.com/cpms-fhir/cpms/fhir"
)

// Union parameters. Some R4 parameters are defined as the union of others
// of the same resource type: Observation's combo-code is
// "Observation.code | Observation.component.code", the expressions of code
// and component-code together. A resource's values for such a parameter
// are exactly its values for the others, so a store may keep only theirs
// and answer a search on the union from them: a value matches when it
// matches one of the parts (for :not and :missing=true, when it matches
// all of them), and a resource sorts by its lowest (highest) value over
// all the parts. For Synthea's Observations the combo parameters are a
// fifth of all the search values.
//
// Others hold the values of their parameters and more: Patient's name is
// "Patient.name", every part of each HumanName, and family is
// "Patient.name.family", some of those parts. Such a union is one of its
// own parts: a store keeps, under the union, only the values that no
// other part has (a Patient's prefixes, suffixes and texts) and the
// union's lowest and highest value, by which a resource sorts; the rows
// of all the parts together are again the union's values. So most values
// are kept once, not two or three times: of the 24 string values of the
// R4 example Patient (name 5, phonetic 5, family 2, given 3, address 6,
// and 3 of address-city, -state and -postalcode) a store keeps 15, and of
// its 12 tokens 11 (telecom repeats phone). Each value kept is an insert
// at a random place of an index (docs/performance.md).
//
// The relation is a property of the R4 definitions and of how values are
// extracted (package extract: a HumanName gives the same string for name
// as its family gives for family), which a server cannot change (a custom
// parameter can neither redefine them nor take their codes);
// TestUnionsMatchDefinitions checks it against them. phonetic is searched
// as name is (no phonetic algorithm): it is name's union again.

// unions maps the union parameters of each type to their parts.
var unions = func() map[fhir.ResourceType]map[string][]string {
	m := map[fhir.ResourceType]map[string][]string{
		"Observation": {
			"combo-code":                {"code", "component-code"},
			"combo-data-absent-reason":  {"data-absent-reason", "component-data-absent-reason"},
			"combo-value-concept":       {"value-concept", "component-value-concept"},
			"combo-value-quantity":      {"value-quantity", "component-value-quantity"},
			"combo-code-value-concept":  {"code-value-concept", "component-code-value-concept"},
			"combo-code-value-quantity": {"code-value-quantity", "component-code-value-quantity"},
		},
	}
	add := func(code string, parts []string, types ...fhir.ResourceType) {
		for _, t := range types {
			if m[t] == nil {
				m[t] = map[string][]string{}
			}
			m[t][code] = parts
		}
	}
	names := []string{"name", "family", "given"}
	add("name", names, "Patient", "Practitioner")
	add("phonetic", names, "Patient", "Practitioner")
	add("phonetic", []string{"name"}, "Person", "RelatedPerson")
	add("address", []string{"address", "address-city", "address-country", "address-postalcode", "address-state"},
		"Patient", "Practitioner", "Person", "RelatedPerson", "Organization", "Location", "InsurancePlan")
	add("telecom", []string{"telecom", "email", "phone"},
		"Patient", "Practitioner", "Person", "RelatedPerson", "PractitionerRole", "OrganizationAffiliation")
	return m
}()

// UnionOf returns the parameters of resource type t whose values together
// are those of parameter code, or nil when code is not such a union. The
// parts may include code itself (see above).
func UnionOf(t fhir.ResourceType, code string) []string {
	return unions[t][code]
}

// Unions returns the union parameters of resource type t with their parts
// (nil when it has none). The map is shared: callers must not modify it.
func Unions(t fhir.ResourceType) map[string][]string {
	return unions[t]
}

// SortedBy returns the parameter of resource type t by whose own values
// (those Stored keeps) a store sorts by parameter code: code itself, and
// for a union whose own values are not kept, a part whose values are all
// the union's (Patient's phonetic sorts as name, a union among its own
// parts with the same parts; Person's phonetic as name, its only part).
// It returns "" when a sort must read the values of all the parts.
func SortedBy(t fhir.ResourceType, code string) string {
	parts := unions[t][code]
	if parts == nil || slices.Contains(parts, code) {
		return code
	}
	for _, p := range parts {
		own := unions[t][p]
		if own == nil {
			own = []string{p}
		}
		if slices.Contains(own, p) && sameSet(own, parts) {
			return p
		}
	}
	return ""
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// Stored returns the values of idx, an index of a resource of type t,
// that a store keeping the parts of unions keeps: without the values of a
// union, but those of a union among its own parts that no other part
// has, and its lowest and highest value (by a string's folded value, a
// token's code). So a store sorts by such a union from its own values,
// as by any parameter. Stored returns idx itself when that drops nothing,
// and never changes it.
func Stored(t fhir.ResourceType, idx *Index) *Index {
	us := unions[t]
	if idx == nil || us == nil {
		return idx
	}
	out := *idx
	out.Tokens = residue(idx.Tokens, us, func(v *Token) string { return v.Param },
		func(v Token) Token { v.Param = ""; return v }, func(v *Token) string { return v.Code })
	out.Strings = residue(idx.Strings, us, func(v *String) string { return v.Param },
		func(v String) String { v.Param = ""; return v }, func(v *String) string { return v.Value })
	out.Dates = residue[Date, struct{}](idx.Dates, us, func(v *Date) string { return v.Param }, nil, nil)
	out.Numbers = residue[Number, struct{}](idx.Numbers, us, func(v *Number) string { return v.Param }, nil, nil)
	out.Quantities = residue[Quantity, struct{}](idx.Quantities, us, func(v *Quantity) string { return v.Param }, nil, nil)
	out.References = residue[Reference, struct{}](idx.References, us, func(v *Reference) string { return v.Param }, nil, nil)
	out.URIs = residue[URI, struct{}](idx.URIs, us, func(v *URI) string { return v.Param }, nil, nil)
	out.Composites = residue[Composite, struct{}](idx.Composites, us, func(v *Composite) string { return v.Param }, nil, nil)
	return &out
}

// residue returns the values of vals a store keeps (see Stored). key and
// sortKey, which are nil for the kinds no union is among its own parts
// of, give what makes values of different parameters one value and what
// a value sorts by.
func residue[V any, K comparable](vals []V, us map[string][]string, param func(*V) string, key func(V) K, sortKey func(*V) string) []V {
	i := slices.IndexFunc(vals, func(v V) bool { return us[param(&v)] != nil })
	if i < 0 {
		return vals
	}
	// own is, per union among its parts, the keys its other parts have
	// and the positions of its lowest and highest value.
	type own struct {
		held   map[K]bool
		lo, hi int
	}
	var owns map[string]*own
	out := slices.Clone(vals[:i])
	for j := i; j < len(vals); j++ {
		v := vals[j]
		u := param(&v)
		parts := us[u]
		if parts == nil {
			out = append(out, v)
			continue
		}
		if key == nil || !slices.Contains(parts, u) {
			continue
		}
		o := owns[u]
		if o == nil {
			o = &own{held: map[K]bool{}, lo: -1, hi: -1}
			for n := range vals {
				w := &vals[n]
				switch p := param(w); {
				case p == u:
					if o.lo < 0 || sortKey(w) < sortKey(&vals[o.lo]) {
						o.lo = n
					}
					if o.hi < 0 || sortKey(w) > sortKey(&vals[o.hi]) {
						o.hi = n
					}
				case slices.Contains(parts, p):
					o.held[key(*w)] = true
				}
			}
			if owns == nil {
				owns = map[string]*own{}
			}
			owns[u] = o
		}
		if j == o.lo || j == o.hi || !o.held[key(v)] {
			out = append(out, v)
		}
	}
	return out
}
