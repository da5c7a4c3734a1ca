package parse

import (
	"net/url"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// sampleValue is a valid search value for a parameter of type t.
func sampleValue(p *search.Param, t search.ParamType) string {
	switch t {
	case search.TypeNumber:
		return "ge1.5"
	case search.TypeDate:
		return "ge2024-01-01"
	case search.TypeString:
		return "abc"
	case search.TypeToken:
		return "http://example.org/cs|y"
	case search.TypeReference:
		if p != nil && len(p.Targets) > 0 {
			return string(p.Targets[0]) + "/1"
		}
		return "1"
	case search.TypeQuantity:
		return "5.4|http://unitsofmeasure.org|mg"
	case search.TypeURI:
		return "http://example.org/x"
	}
	return "x"
}

// TestEveryR4Parameter parses a value, :missing, a modifier, a sort, a
// chain and an include for every search parameter of every resource type
// of the server's registry (search.NewTable) and of the test registry.
func TestEveryR4Parameter(t *testing.T) {
	for name, reg := range map[string]search.Registry{"NewTable": search.NewTable(), "test registry": testRegistry(t)} {
		t.Run(name, func(t *testing.T) {
			var n, unknown int
			for _, rt := range model.ResourceTypes() {
				typ := fhir.ResourceType(rt)
				for _, p := range reg.Params(typ) {
					if p.Code == "_has" || p.Code == "_type" {
						continue // not parameters of their own
					}
					got := checkParam(t, reg, typ, p)
					n += got.n
					unknown += got.unknown
				}
			}
			if n < 1000 {
				t.Errorf("only %d searches parsed", n)
			}
			t.Logf("%d searches parsed, %d parameters unsupported", n, unknown)
		})
	}
}

type counts struct{ n, unknown int }

func checkParam(t *testing.T, reg search.Registry, typ fhir.ResourceType, p *search.Param) counts {
	t.Helper()
	var c counts
	parse := func(params url.Values) *search.Query {
		t.Helper()
		q, err := Parse(reg, []fhir.ResourceType{typ}, params, Options{Base: "https://cpms.example.org/fhir"})
		if err != nil {
			t.Errorf("%s?%s: %v", typ, params.Encode(), err)
			return nil
		}
		c.n++
		return q
	}
	if unsupported(p) != "" {
		q := parse(url.Values{p.Code: {"x"}})
		if q != nil && !slices.Equal(q.Unknown, []string{p.Code}) {
			t.Errorf("%s?%s=x: Unknown = %v", typ, p.Code, q.Unknown)
		}
		c.unknown++
		return c
	}
	value := sampleValue(p, p.Type)
	if p.Code == "_id" {
		value = "abc-1"
	}
	if p.Type == search.TypeComposite {
		value = ""
		for i, comp := range p.Components {
			if i > 0 {
				value += "$"
			}
			value += sampleValue(nil, comp.Type)
		}
	}
	if q := parse(url.Values{p.Code: {value, value}}); q != nil && (len(q.Clauses) != 2 || q.Clauses[0].Type != p.Type) {
		t.Errorf("%s?%s=%s: clauses %+v", typ, p.Code, value, q.Clauses)
	}
	parse(url.Values{p.Code + ":missing": {"true"}})
	for _, m := range modifiers[p.Type] {
		v := value
		switch m {
		case search.ModOfType:
			v = "http://terminology.hl7.org/CodeSystem/v2-0203|MR|1"
		case search.ModIdentifier:
			v = "http://example.org/mrn|1"
		case search.ModText:
			v = "diab"
		}
		if p.Code == "_id" && m != search.ModNot {
			continue
		}
		parse(url.Values{p.Code + ":" + string(m): {v}})
	}
	if slices.Contains(sortable, p.Type) {
		if q := parse(url.Values{"_sort": {"-" + p.Code}}); q != nil && (len(q.Sort) != 1 || !q.Sort[0].Desc) {
			t.Errorf("%s?_sort=-%s: %+v", typ, p.Code, q.Sort)
		}
	}
	if p.Type == search.TypeReference {
		for _, target := range p.Targets {
			parse(url.Values{p.Code + ":" + string(target): {"1"}})
			parse(url.Values{p.Code + ":" + string(target) + "._id": {"1"}})
			parse(url.Values{"_include": {string(typ) + ":" + p.Code + ":" + string(target)}})
		}
		parse(url.Values{"_revinclude": {string(typ) + ":" + p.Code}})
		for _, target := range p.Targets {
			q, err := Parse(reg, []fhir.ResourceType{target}, url.Values{"_has:" + string(typ) + ":" + p.Code + ":_id": {"1"}}, Options{})
			if err != nil || len(q.Clauses) != 1 || q.Clauses[0].Has == nil {
				t.Errorf("%s?_has:%s:%s:_id=1: %v", target, typ, p.Code, err)
			}
		}
	}
	return c
}
