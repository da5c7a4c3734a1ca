package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/terminology"
)

// SearchTerminology answers the token search modifiers :below, :above,
// :in and :not-in from a terminology service: it is the
// search.Terminology of engine.Options. Hierarchies are those of the
// latest version of a code system; value sets are expanded as $expand
// does, and one larger than terminology.MaxExpansion is refused as too
// costly rather than listed in part.
type SearchTerminology struct {
	Service *terminology.Service
}

var _ search.Terminology = SearchTerminology{}

// Below returns code and every code below it in system.
func (t SearchTerminology) Below(system, code string) ([]string, error) {
	return t.closure(system, code, (*terminology.System).Below)
}

// Above returns code and every code above it in system.
func (t SearchTerminology) Above(system, code string) ([]string, error) {
	return t.closure(system, code, (*terminology.System).Above)
}

func (t SearchTerminology) closure(system, code string, walk func(*terminology.System, string) ([]string, bool)) ([]string, error) {
	sys, ok := t.Service.System(system, "")
	if !ok {
		return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotFound, Diagnostics: "the code system " + system + " is not known to this server"}}}
	}
	codes, ok := walk(sys, code)
	if !ok {
		in := sys.URL
		if sys.Version != "" {
			in += " (version " + sys.Version + ")"
		}
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueCodeInvalid, Diagnostics: "the code " + code + " is not in the code system " + in}}}
	}
	return codes, nil
}

// ValueSetCodes expands the value set url (explicit, or implicit as in
// system?fhir_vs=isa/code) in version and returns all its codes.
func (t SearchTerminology) ValueSetCodes(url, version string) ([]search.Coding, error) {
	if version != "" && !strings.Contains(url, "?fhir_vs") && strings.Contains(version, "?fhir_vs") {
		// system|version?fhir_vs...: the parser cut the implicit URL at
		// its version.
		url, version = url+"|"+version, ""
	}
	vs, err := t.Service.Expand(terminology.ExpandRequest{URL: url, ValueSetVersion: version})
	if err != nil {
		var fe *fhir.Error
		if errors.As(err, &fe) && len(fe.Issues) > 0 && fe.Issues[0].Code == fhir.IssueTooCostly {
			// $expand's advice (filter, count and offset) is not for a
			// search.
			return nil, tooCostly(fmt.Sprintf("the value set %s has more than %d codes", url, terminology.MaxExpansion))
		}
		return nil, err
	}
	var out []search.Coding
	listed := 0
	var walk func([]terminology.Contains)
	walk = func(list []terminology.Contains) {
		for _, c := range list {
			listed++
			if c.Code != "" {
				out = append(out, search.Coding{System: c.System, Code: c.Code})
			}
			walk(c.Contains)
		}
	}
	if vs.Expansion != nil {
		walk(vs.Expansion.Contains)
		if total := vs.Expansion.Total; total != nil && *total > listed {
			return nil, tooCostly(fmt.Sprintf("the value set %s has %d codes, and only %d could be listed", url, *total, listed))
		}
	}
	return out, nil
}

func tooCostly(msg string) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueTooCostly, Diagnostics: msg}}}
}
