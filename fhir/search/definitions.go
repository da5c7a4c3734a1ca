package search

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/internal/gendata"
)

//go:generate go run ./internal/cmd/genparams -out r4params.json.gz

// r4Data is the generated table of the R4 search parameters, derived from
// search-parameters.json of the R4 definitions by internal/gen. To
// regenerate it after changing the generator:
//
//	go generate ./fhir/search
//
// TestGeneratedParamsUpToDate fails when it differs from a fresh
// generation.
//
//go:embed r4params.json.gz
var r4Data []byte

// extraParams are parameters for all resources that the R4 search page
// defines but search-parameters.json does not. None is indexed: _list and
// _has select through other resources, _type through the resource type.
var extraParams = []*Param{
	{Code: "_list", URL: "http://hl7.org/fhir/SearchParameter/Resource-list", Type: TypeSpecial, Base: []fhir.ResourceType{"Resource"}},
	{Code: "_has", URL: "http://hl7.org/fhir/SearchParameter/Resource-has", Type: TypeSpecial, Base: []fhir.ResourceType{"Resource"}},
	{Code: "_type", URL: "http://hl7.org/fhir/SearchParameter/Resource-type", Type: TypeToken, Base: []fhir.ResourceType{"Resource"}},
}

// R4Params returns the search parameters of FHIR R4 in the order of the
// definitions, followed by _list, _has and _type. They are decoded once and
// shared: callers must not modify them.
func R4Params() []*Param { return r4Params() }

var r4Params = sync.OnceValue(func() []*Param {
	params, err := decodeParams(r4Data)
	if err != nil {
		// The table is generated and checked by tests: a decoding failure
		// is a build defect.
		panic("fhir/search: corrupt embedded search parameter table: " + err.Error())
	}
	return slices.Clip(append(params, extraParams...))
})

var r4State = sync.OnceValue(func() *tableState { return newState(r4Params()) })

// rawParams mirrors the JSON written by internal/gen.
type rawParams struct {
	Params []struct {
		Code        string   `json:"code"`
		URL         string   `json:"url"`
		Type        string   `json:"type"`
		Base        []string `json:"base"`
		Expression  string   `json:"expression"`
		Targets     []string `json:"targets"`
		Modifiers   []string `json:"modifiers"`
		Comparators []string `json:"comparators"`
		Components  []struct {
			Definition string `json:"definition"`
			Expression string `json:"expression"`
			Type       string `json:"type"`
		} `json:"components"`
	} `json:"params"`
}

func decodeParams(gz []byte) ([]*Param, error) {
	data, err := gendata.Gunzip(gz)
	if err != nil {
		return nil, err
	}
	var raw rawParams
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	out := make([]*Param, 0, len(raw.Params)+len(extraParams))
	for _, r := range raw.Params {
		p := &Param{Code: r.Code, URL: r.URL, Type: ParamType(r.Type), Expression: r.Expression}
		p.Base = resourceTypes(r.Base)
		p.Targets = resourceTypes(r.Targets)
		for _, m := range r.Modifiers {
			p.Modifiers = append(p.Modifiers, modifierOf(m))
		}
		for _, c := range r.Comparators {
			p.Comparators = append(p.Comparators, Prefix(c))
		}
		for _, c := range r.Components {
			p.Components = append(p.Components, Component{Definition: c.Definition, Expression: c.Expression, Type: ParamType(c.Type)})
		}
		if err := checkParam(p); err != nil {
			return nil, fmt.Errorf("%s: %w", p.URL, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func resourceTypes(names []string) []fhir.ResourceType {
	if len(names) == 0 {
		return nil
	}
	out := make([]fhir.ResourceType, len(names))
	for i, n := range names {
		out[i] = fhir.ResourceType(n)
	}
	return out
}

// modifierOf maps a SearchParameter.modifier code to a Modifier. The codes
// without a Modifier constant (missing, type) are kept as written.
func modifierOf(code string) Modifier {
	if code == "ofType" {
		return ModOfType
	}
	return Modifier(code)
}

var (
	codePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	paramTypes  = []ParamType{TypeNumber, TypeDate, TypeString, TypeToken, TypeReference, TypeComposite, TypeQuantity, TypeURI, TypeSpecial}
)

// checkParam verifies what every Param in a Table must have: a code usable
// in a URL, a URL, a known type, known base types (concrete resource types,
// Resource or DomainResource) and reference targets, and typed components
// for a composite.
func checkParam(p *Param) *fhir.Error {
	var issues []fhir.Issue
	add := func(where, format string, args ...any) {
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueInvalid,
			Diagnostics: fmt.Sprintf(format, args...), Expression: []string{where}})
	}
	if !codePattern.MatchString(p.Code) {
		add("SearchParameter.code", "the code %q must be letters, digits, '-' and '_', starting with a letter or '_'", p.Code)
	}
	if p.URL == "" {
		add("SearchParameter.url", "the search parameter has no url")
	}
	if !slices.Contains(paramTypes, p.Type) {
		add("SearchParameter.type", "unknown search parameter type %q", p.Type)
	}
	if len(p.Base) == 0 {
		add("SearchParameter.base", "the search parameter has no base")
	}
	for i, b := range p.Base {
		if !isBaseType(string(b)) {
			add(fmt.Sprintf("SearchParameter.base[%d]", i), "%q is not a resource type", b)
		}
	}
	for i, t := range p.Targets {
		if !isBaseType(string(t)) {
			add(fmt.Sprintf("SearchParameter.target[%d]", i), "%q is not a resource type", t)
		}
	}
	if p.Type == TypeComposite && len(p.Components) == 0 {
		add("SearchParameter.component", "a composite search parameter needs components")
	}
	for i, c := range p.Components {
		if !slices.Contains(paramTypes, c.Type) || c.Type == TypeComposite || c.Type == TypeSpecial {
			add(fmt.Sprintf("SearchParameter.component[%d].definition", i), "component %s has type %q, which a composite cannot use", c.Definition, c.Type)
		}
		if c.Expression == "" {
			add(fmt.Sprintf("SearchParameter.component[%d].expression", i), "the component has no expression")
		}
	}
	if len(issues) == 0 {
		return nil
	}
	return &fhir.Error{Kind: fhir.KindUnprocessable, Issues: issues}
}

// isBaseType reports whether name is a resource type a parameter may apply
// to: a concrete one, Resource or DomainResource.
func isBaseType(name string) bool {
	t := model.Lookup(name)
	return t != nil && t.Kind == model.Resource
}

// unprocessable returns an Error of kind KindUnprocessable with one issue
// of type code at the FHIRPath location where.
func unprocessable(code fhir.IssueType, where, format string, args ...any) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindUnprocessable, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: code, Diagnostics: fmt.Sprintf(format, args...), Expression: []string{where}}}}
}
