package validate

import (
	"strconv"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// checkBinding checks a code, Coding or CodeableConcept against the
// required or extensible binding of n through the terminology service.
// A required binding not met is an error, an extensible one a warning.
// Bindings on other types (Quantity, string, uri) are not checked, and
// neither are the bindings the profile keeps unchanged from the base
// definition of its type: the base validation checks the required
// bindings of the base specification.
func (r *run) checkBinding(n *node, v value) {
	if v.typ == nil || r.inherited(n) {
		return
	}
	b := n.binding
	switch v.typ.Name {
	case "code":
		s, ok := v.v.(string)
		if !ok || (v.in != nil && v.in.IsSubtypeOf(quantityType())) {
			return // units (Quantity.code) are not checked
		}
		r.bindingIssues(n, r.v.term.CheckCoding(codeSystem(n), "", s, "", b.ValueSet, v.loc))
	case "Coding":
		m, _ := v.v.(map[string]any)
		r.bindingIssues(n, r.checkCoding(m, b.ValueSet, v.loc))
	case "CodeableConcept":
		m, _ := v.v.(map[string]any)
		codings := asArray(m["coding"])
		if len(codings) == 0 {
			if b.Strength == "required" {
				r.add(fhir.SeverityError, fhir.IssueCodeInvalid, v.loc, n.prof,
					n.id+": no coding, and the binding to "+b.ValueSet+" is required")
			}
			return
		}
		var all, passed []fhir.Issue
		pass := false
		for i, c := range codings {
			cm, _ := c.(map[string]any)
			issues := r.checkCoding(cm, b.ValueSet, v.loc+".coding["+strconv.Itoa(i)+"]")
			all = append(all, issues...)
			if !fhir.HasErrors(issues) {
				pass = true
				passed = append(passed, issues...)
			}
		}
		if pass {
			r.bindingIssues(n, passed) // one coding in the value set is enough
			return
		}
		r.bindingIssues(n, all)
	}
}

// checkCoding asks the terminology service about one Coding.
func (r *run) checkCoding(m map[string]any, valueSet, where string) []fhir.Issue {
	str := func(k string) string { s, _ := m[k].(string); return s }
	return r.v.term.CheckCoding(str("system"), str("version"), str("code"), str("display"), valueSet, where)
}

// bindingIssues records the terminology service's findings, naming the
// binding; for an extensible binding, errors become warnings.
func (r *run) bindingIssues(n *node, issues []fhir.Issue) {
	for _, is := range issues {
		if n.binding.Strength == "extensible" && is.Severity == fhir.SeverityError {
			is.Severity = fhir.SeverityWarning
		}
		is.Diagnostics += " (" + n.binding.Strength + " binding of " + n.id + " to " + n.binding.ValueSet + ", profile " + n.prof.url + ")"
		r.issues = append(r.issues, is)
	}
}

// inValueSet reports whether a code, Coding or CodeableConcept is in a
// value set (a value discriminator with a required binding).
func (r *run) inValueSet(v value, valueSet string) bool {
	m, _ := v.v.(map[string]any)
	switch v.typeName() {
	case "code":
		s, _ := v.v.(string)
		return !fhir.HasErrors(r.v.term.CheckCoding("", "", s, "", valueSet, v.loc))
	case "Coding":
		return !fhir.HasErrors(r.checkCoding(m, valueSet, v.loc))
	case "CodeableConcept":
		for _, c := range asArray(m["coding"]) {
			cm, _ := c.(map[string]any)
			if !fhir.HasErrors(r.checkCoding(cm, valueSet, v.loc)) {
				return true
			}
		}
	}
	return false
}

// inherited reports whether the binding of n is that of the base
// definition of the profile's type, when the validator knows it.
func (r *run) inherited(n *node) bool {
	if n.prof.core {
		return true
	}
	core := r.reg.byURL[coreBase+n.prof.typ]
	if core == nil || !core.core {
		return false
	}
	bn := core.byPath[n.path]
	return bn != nil && bn.binding != nil && bn.binding.Strength == n.binding.Strength &&
		unversioned(bn.binding.ValueSet) == unversioned(n.binding.ValueSet)
}

var quantityType = sync.OnceValue(func() *model.Type { return model.Lookup("Quantity") })

func unversioned(url string) string {
	if i := strings.IndexByte(url, '|'); i >= 0 {
		return url[:i]
	}
	return url
}

// codeSystem returns the code system of a code element bound to a value
// set of one system in the base specification (Patient.gender), "" when
// it is not known.
func codeSystem(n *node) string {
	if strings.Contains(n.path, "[x]") {
		return ""
	}
	if el, ok := model.LookupElement(n.prof.typ, n.path); ok {
		return el.CodeSystem
	}
	return ""
}
