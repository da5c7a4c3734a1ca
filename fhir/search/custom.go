package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
)

// searchParameterJSON is what ParamFromResource reads of a SearchParameter.
type searchParameterJSON struct {
	ResourceType string   `json:"resourceType"`
	URL          string   `json:"url"`
	Code         string   `json:"code"`
	Base         []string `json:"base"`
	Type         string   `json:"type"`
	Expression   string   `json:"expression"`
	Target       []string `json:"target"`
	Modifier     []string `json:"modifier"`
	Comparator   []string `json:"comparator"`
	Component    []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

// The codes of SearchParameter.modifier and SearchParameter.comparator in R4.
var (
	modifierCodes   = []string{"missing", "exact", "contains", "not", "text", "in", "not-in", "below", "above", "type", "identifier", "ofType"}
	comparatorCodes = []Prefix{PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp}
)

// ParamFromResource turns a SearchParameter resource (JSON) into a Param,
// resolving the definitions of composite components among the R4
// parameters. See (*Table).ParamFromResource.
func ParamFromResource(body []byte) (*Param, error) {
	s := r4State()
	return paramFromResource(body, func(url string) (*Param, bool) {
		p, ok := s.byURL[url]
		return p, ok
	})
}

// ParamFromResource turns a SearchParameter resource (JSON) into a Param,
// resolving the definitions of composite components among the parameters
// of the table (R4 and custom). It checks what indexing and searching rely
// on: url, code, base and type present and valid; an expression for every
// type but special, which must compile and fit each base type (see
// fhirpath.Expression.Check); known reference targets, modifiers and
// comparators; for a composite, components whose definition is a known
// parameter of a type a component may have and whose expression compiles.
// Every problem found becomes an issue, with the FHIRPath location of the
// element at fault, of one Error of kind KindUnprocessable. The Param is
// not added to the table: see Add.
func (tb *Table) ParamFromResource(body []byte) (*Param, error) {
	return paramFromResource(body, tb.ByURL)
}

func paramFromResource(body []byte, resolve func(url string) (*Param, bool)) (*Param, error) {
	var sp searchParameterJSON
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&sp); err != nil {
		return nil, unprocessable(fhir.IssueStructure, "SearchParameter", "the SearchParameter cannot be read: %v", err)
	}
	if sp.ResourceType != "SearchParameter" {
		return nil, unprocessable(fhir.IssueStructure, "resourceType", "a %q is not a SearchParameter", sp.ResourceType)
	}
	p := &Param{Code: sp.Code, URL: sp.URL, Type: ParamType(sp.Type), Expression: sp.Expression,
		Base: resourceTypes(sp.Base), Targets: resourceTypes(sp.Target)}
	var issues []fhir.Issue
	add := func(where, format string, args ...any) {
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueInvalid,
			Diagnostics: fmt.Sprintf(format, args...), Expression: []string{where}})
	}
	for i, m := range sp.Modifier {
		if !slices.Contains(modifierCodes, m) {
			add(fmt.Sprintf("SearchParameter.modifier[%d]", i), "unknown modifier %q", m)
		}
		p.Modifiers = append(p.Modifiers, modifierOf(m))
	}
	for i, c := range sp.Comparator {
		if !slices.Contains(comparatorCodes, Prefix(c)) {
			add(fmt.Sprintf("SearchParameter.comparator[%d]", i), "unknown comparator %q", c)
		}
		p.Comparators = append(p.Comparators, Prefix(c))
	}
	switch {
	case p.Expression != "":
		e, err := fhirpath.Compile(p.Expression)
		if err != nil {
			add("SearchParameter.expression", "the expression does not compile: %v", err)
			break
		}
		for _, b := range p.Base {
			if !isBaseType(string(b)) {
				continue // reported by checkParam
			}
			if err := e.Check(string(b), fhirpath.CheckOptions{}); err != nil {
				add("SearchParameter.expression", "the expression does not fit %s: %v", b, err)
			}
		}
	case p.Type != TypeSpecial:
		add("SearchParameter.expression", "a %s search parameter needs an expression to be indexed", p.Type)
	}
	for i, c := range sp.Component {
		comp := Component{Definition: c.Definition, Expression: c.Expression}
		if def, ok := resolve(c.Definition); ok {
			comp.Type = def.Type
		} else {
			add(fmt.Sprintf("SearchParameter.component[%d].definition", i), "unknown search parameter %q", c.Definition)
			comp.Type = TypeToken // keep checkParam from reporting the type again
		}
		if c.Expression != "" {
			if _, err := fhirpath.Compile(c.Expression); err != nil {
				add(fmt.Sprintf("SearchParameter.component[%d].expression", i), "the expression does not compile: %v", err)
			}
		}
		p.Components = append(p.Components, comp)
	}
	if p.Type != TypeComposite && len(p.Components) > 0 {
		add("SearchParameter.component", "only a composite search parameter has components")
	}
	if fe := checkParam(p); fe != nil {
		issues = append(issues, fe.Issues...)
	}
	if len(issues) > 0 {
		return nil, &fhir.Error{Kind: fhir.KindUnprocessable, Issues: issues,
			Message: "the SearchParameter " + sp.URL + " cannot be used for search"}
	}
	return p, nil
}
