package extract

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestUnionsOfExtractedValues checks search.UnionOf and search.Stored
// against extraction, on the Patient fixture and every R4 example: a
// union's values are exactly those of its parts, and what Stored keeps of
// the union and its parts is again all of them, with every value of the
// other parts kept.
func TestUnionsOfExtractedValues(t *testing.T) {
	x := New(search.NewTable(), Options{Base: "http://hl7.org/fhir"})
	var unions, all, kept int
	check := func(name string, typ fhir.ResourceType, body []byte) {
		idx, err := x.Extract(typ, body)
		if err != nil {
			return // TestExamples reports it
		}
		stored := search.Stored(typ, idx)
		for u, parts := range search.Unions(typ) {
			want := values(idx, u)
			if len(want) == 0 {
				continue
			}
			unions++
			got, rebuilt := map[string]bool{}, map[string]bool{}
			for _, p := range parts {
				maps.Copy(got, values(idx, p))
				maps.Copy(rebuilt, values(stored, p))
				if search.UnionOf(typ, p) == nil && !maps.Equal(values(stored, p), values(idx, p)) {
					t.Errorf("%s: Stored drops values of %s, a part of %s and no union", name, p, u)
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: %s is %v; its parts %v give %v", name, u, slices.Sorted(maps.Keys(want)), parts, slices.Sorted(maps.Keys(got)))
			}
			if !maps.Equal(rebuilt, want) {
				t.Errorf("%s: %s is %v; what Stored keeps of its parts %v gives %v", name, u, slices.Sorted(maps.Keys(want)), parts, slices.Sorted(maps.Keys(rebuilt)))
			}
			if !slices.Contains(parts, u) && len(values(stored, u)) > 0 {
				t.Errorf("%s: Stored keeps values of %s, which is not among its parts", name, u)
			}
			if slices.Contains(parts, u) {
				lo, hi := bounds(idx, u)
				if slo, shi := bounds(stored, u); slo != lo || shi != hi {
					t.Errorf("%s: %s sorts between %q and %q; Stored keeps of it %q to %q", name, u, lo, hi, slo, shi)
				}
			}
		}
		all += count(idx)
		kept += count(stored)
	}
	check("the Patient fixture", "Patient", testfixture.Patient)
	if unions < 4 {
		t.Fatalf("the Patient fixture has values of %d unions; want name, phonetic, address and telecom", unions)
	}
	testfixture.Examples(t, func(name string, body []byte) {
		var head struct {
			ResourceType fhir.ResourceType `json:"resourceType"`
		}
		if json.Unmarshal(body, &head) == nil {
			check(name, head.ResourceType, body)
		}
	})
	t.Logf("%d unions' values checked; Stored keeps %d of %d values", unions, kept, all)
}

// values returns the values of param in idx, each printed without the
// parameter codes it and its composite parts carry.
func values(idx *search.Index, param string) map[string]bool {
	out := map[string]bool{}
	add := func(v any) { out[paramCode.ReplaceAllString(fmt.Sprintf("%+v", v), "")] = true }
	o := only(idx, param)
	for _, v := range o.Tokens {
		add(v)
	}
	for _, v := range o.Strings {
		add(v)
	}
	for _, v := range o.Dates {
		add(v)
	}
	for _, v := range o.Numbers {
		add(v)
	}
	for _, v := range o.Quantities {
		add(v)
	}
	for _, v := range o.References {
		add(v)
	}
	for _, v := range o.URIs {
		add(v)
	}
	for _, v := range o.Composites {
		var parts []any
		for _, p := range v.Parts {
			parts = append(parts, deref(p.Token), deref(p.String), deref(p.Date), deref(p.Number),
				deref(p.Quantity), deref(p.Reference), deref(p.URI))
		}
		add(parts)
	}
	return out
}

// paramCode matches a parameter's code in a value printed with %+v.
var paramCode = regexp.MustCompile(`Param:[^ }]*`)

// bounds returns the lowest and highest sort key (a string's folded
// value, a token's code) of the values of param in idx.
func bounds(idx *search.Index, param string) (lo, hi string) {
	var keys []string
	o := only(idx, param)
	for _, v := range o.Strings {
		keys = append(keys, v.Value)
	}
	for _, v := range o.Tokens {
		keys = append(keys, v.Code)
	}
	if len(keys) == 0 {
		return "", ""
	}
	return slices.Min(keys), slices.Max(keys)
}

func deref[V any](p *V) any {
	if p == nil {
		return nil
	}
	return *p
}

func count(idx *search.Index) int {
	return len(idx.Tokens) + len(idx.Strings) + len(idx.Dates) + len(idx.Numbers) + len(idx.Quantities) +
		len(idx.References) + len(idx.URIs) + len(idx.Composites)
}
