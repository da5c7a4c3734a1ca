package parse

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// fakeRegistry is a map-based search.Registry holding the R4 definitions
// in testdata/params.json: the parameters of a few dozen resource types
// and the common ones, which it answers for every resource type.
type fakeRegistry struct {
	byType map[fhir.ResourceType]map[string]*search.Param
	common map[string]*search.Param
}

var _ search.Registry = (*fakeRegistry)(nil)

func (r *fakeRegistry) Lookup(t fhir.ResourceType, code string) (*search.Param, bool) {
	if p, ok := r.byType[t][code]; ok {
		return p, true
	}
	if !model.IsResourceType(string(t)) {
		return nil, false
	}
	p, ok := r.common[code]
	return p, ok
}

func (r *fakeRegistry) Params(t fhir.ResourceType) []*search.Param {
	if !model.IsResourceType(string(t)) {
		return nil
	}
	var out []*search.Param
	for _, p := range r.byType[t] {
		out = append(out, p)
	}
	for code, p := range r.common {
		if _, ok := r.byType[t][code]; !ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *search.Param) int {
		switch {
		case a.Code < b.Code:
			return -1
		case a.Code > b.Code:
			return 1
		}
		return 0
	})
	return out
}

var loadRegistry = sync.OnceValues(func() (*fakeRegistry, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "params.json"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Params []struct {
			Code       string   `json:"code"`
			URL        string   `json:"url"`
			Type       string   `json:"type"`
			Base       []string `json:"base"`
			Expression string   `json:"expression"`
			Target     []string `json:"target"`
			Modifier   []string `json:"modifier"`
			Comparator []string `json:"comparator"`
			Component  []struct {
				Definition string `json:"definition"`
				Expression string `json:"expression"`
				Type       string `json:"type"`
			} `json:"component"`
		} `json:"params"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	r := &fakeRegistry{byType: map[fhir.ResourceType]map[string]*search.Param{}, common: map[string]*search.Param{}}
	for _, raw := range doc.Params {
		p := &search.Param{Code: raw.Code, URL: raw.URL, Type: search.ParamType(raw.Type), Expression: raw.Expression}
		for _, b := range raw.Base {
			p.Base = append(p.Base, fhir.ResourceType(b))
		}
		for _, t := range raw.Target {
			p.Targets = append(p.Targets, fhir.ResourceType(t))
		}
		for _, m := range raw.Modifier {
			p.Modifiers = append(p.Modifiers, search.Modifier(m))
		}
		for _, c := range raw.Comparator {
			p.Comparators = append(p.Comparators, search.Prefix(c))
		}
		for _, c := range raw.Component {
			p.Components = append(p.Components, search.Component{Definition: c.Definition, Expression: c.Expression, Type: search.ParamType(c.Type)})
		}
		for _, b := range p.Base {
			if b == "Resource" || b == "DomainResource" {
				r.common[p.Code] = p
				continue
			}
			if r.byType[b] == nil {
				r.byType[b] = map[string]*search.Param{}
			}
			r.byType[b][p.Code] = p
		}
	}
	return r, nil
})

func testRegistry(t testing.TB) *fakeRegistry {
	t.Helper()
	r, err := loadRegistry()
	if err != nil {
		t.Fatalf("loading the test registry: %v", err)
	}
	return r
}
