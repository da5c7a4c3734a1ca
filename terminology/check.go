package terminology

import (
	"fmt"
	"slices"

	"github.com/cpms-fhir/cpms/fhir"
)

// CheckCoding is the hook the profile validator calls for a coded
// element: is the coding valid in its system, and, when valueSet is
// given, in that value set. where is the element's FHIRPath location,
// given to every issue. The findings:
//   - a system the server does not hold: a warning (the code cannot be
//     checked, which is not an error of the resource);
//   - a known system without the code: an error (a warning when the
//     server holds only a fragment of the system);
//   - a display that is not the concept's: a warning;
//   - a code outside the value set: an error (the validator makes it a
//     warning for an extensible binding);
//   - a value set the server does not hold: a warning.
func (s *Service) CheckCoding(c Coding, valueSet, where string) []fhir.Issue {
	var issues []fhir.Issue
	add := func(sev fhir.Severity, code fhir.IssueType, at, msg string) {
		issues = append(issues, fhir.Issue{Severity: sev, Code: code, Expression: []string{at}, Diagnostics: msg})
	}
	if c.System == "" {
		if valueSet == "" {
			return nil
		}
		// A code element: its system is the value set's (the one of its
		// systems that has the code).
		m, err := s.bindingMembers(valueSet)
		if err != nil {
			add(fhir.SeverityWarning, fhir.IssueNotFound, where, err.Error())
			return issues
		}
		for _, p := range m.parts {
			if p.sys == nil {
				if slices.ContainsFunc(p.foreign, func(f IncludeConcept) bool { return f.Code == c.Code }) {
					return nil
				}
			} else if ci, ok := p.sys.find(c.Code); ok && p.has(ci) {
				return nil
			}
		}
		add(fhir.SeverityError, fhir.IssueCodeInvalid, where, "the code "+c.Code+" is not in the value set "+valueSet)
		return issues
	}
	sys, known := s.System(c.System, c.Version)
	if !known {
		add(fhir.SeverityWarning, fhir.IssueNotFound, where+".system", "the code system "+c.System+" is not known to this server: the code was not checked")
	} else if ci, ok := sys.find(c.Code); !ok {
		sev := fhir.SeverityError
		if sys.Content != "complete" && sys.Content != "" {
			sev = fhir.SeverityWarning
		}
		add(sev, fhir.IssueCodeInvalid, where+".code", "the code "+c.Code+" is not in the code system "+sys.URL+" (version "+sys.Version+")")
		return issues
	} else if c.Display != "" && !sys.hasDisplay(ci, c.Display, nil) {
		add(fhir.SeverityWarning, fhir.IssueValue, where+".display", "the display "+c.Display+" is not a display of "+sys.URL+"#"+c.Code+": it is "+sys.concepts[ci].display)
	}
	if valueSet == "" {
		return issues
	}
	m, err := s.bindingMembers(valueSet)
	if err != nil {
		add(fhir.SeverityWarning, fhir.IssueNotFound, where, err.Error())
		return issues
	}
	for _, p := range m.parts {
		if p.system != c.System {
			continue
		}
		if p.sys == nil {
			for _, f := range p.foreign {
				if f.Code == c.Code {
					return issues
				}
			}
			continue
		}
		if ci, ok := p.sys.find(c.Code); ok && p.has(ci) {
			return issues
		}
	}
	add(fhir.SeverityError, fhir.IssueCodeInvalid, where, "the code "+c.System+"#"+c.Code+" is not in the value set "+valueSet)
	return issues
}

// bindingMembers evaluates the value set of a binding; the error says
// why the binding cannot be checked.
func (s *Service) bindingMembers(valueSet string) (*members, error) {
	vs, err := s.requestValueSet(nil, valueSet, "", "valueSet")
	if err != nil {
		return nil, fmt.Errorf("the value set %s is not known to this server: the binding was not checked", valueSet)
	}
	m, err := s.evaluate(vs, &resolveOptions{}, 0)
	if err != nil {
		return nil, fmt.Errorf("the value set %s could not be evaluated: the binding was not checked", valueSet)
	}
	return m, nil
}
