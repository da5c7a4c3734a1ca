package parse

import (
	"errors"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// MaxCodes is the default of Options.MaxCodes: the most codes the
// terminology modifiers of one search may stand for in all.
const MaxCodes = 10000

// needsTerminology reports whether the token modifier mod is answered
// through the terminology service.
func needsTerminology(mod search.Modifier) bool {
	switch mod {
	case search.ModBelow, search.ModAbove, search.ModIn, search.ModNotIn:
		return true
	}
	return false
}

// resolveCodes rewrites a token clause with :below, :above, :in or
// :not-in into a clause on the codes it stands for: an OR of system|code
// values, with :not for :not-in (so a resource without any code in the
// value sets matches, as with :not). Without any code (an empty value
// set) the clause matches nothing, or everything for :not-in. key is the
// parameter as written, for the issues.
func (p *parser) resolveCodes(key string, c *search.Clause) bool {
	term := p.opts.Terminology
	var out []search.Value
	seen := map[search.Coding]bool{}
	ok := true
	for _, v := range c.Values {
		var codes []search.Coding
		var written string
		var err error
		switch c.Modifier {
		case search.ModBelow, search.ModAbove:
			if v.System == nil || *v.System == "" {
				p.issue(key, fhir.IssueValue, "The modifier :%s needs the code system of the code: write %s=system|%s.", c.Modifier, key, v.Code)
				ok = false
				continue
			}
			if v.Code == "" {
				p.issue(key, fhir.IssueValue, "The modifier :%s needs a code: write %s=%s|code.", c.Modifier, key, *v.System)
				ok = false
				continue
			}
			written = *v.System + "|" + v.Code
			walk := term.Below
			if c.Modifier == search.ModAbove {
				walk = term.Above
			}
			var list []string
			list, err = walk(*v.System, v.Code)
			codes = make([]search.Coding, len(list))
			for i, code := range list {
				codes[i] = search.Coding{System: *v.System, Code: code}
			}
		default:
			written = v.URL
			if v.Version != "" {
				written += "|" + v.Version
			}
			codes, err = term.ValueSetCodes(v.URL, v.Version)
		}
		if err != nil {
			if !p.termIssues(key, written, err) {
				return false
			}
			ok = false
			continue
		}
		if len(codes) > p.maxCodes {
			p.issue(key, fhir.IssueTooCostly, "%s=%s stands for %d codes, more than the %d a search may use: search a narrower code or value set.",
				key, written, len(codes), p.maxCodes)
			ok = false
			continue
		}
		for _, code := range codes {
			if code.Code == "" || seen[code] {
				continue
			}
			seen[code] = true
			out = append(out, search.Value{System: &code.System, Code: code.Code})
		}
	}
	if !ok {
		return false
	}
	p.codes += len(out)
	if p.codes > p.maxCodes {
		if !p.costly {
			p.issue(key, fhir.IssueTooCostly, "The modifiers :below, :above, :in and :not-in of this search stand for more than %d codes in all: search narrower codes or value sets.", p.maxCodes)
			p.costly = true
		}
		return false
	}
	not := c.Modifier == search.ModNotIn
	c.Modifier = search.ModNone
	if not {
		c.Modifier = search.ModNot
	}
	if len(out) == 0 {
		// No codes: a clause needs a value, so ask for the empty id,
		// which no resource has (with :not, which every resource has).
		c.Param, out = "_id", []search.Value{{}}
	}
	c.Values = out
	return true
}

// termIssues records the issues of a terminology error for the value
// written of the parameter key. An error that is not the request's fault
// fails the search instead: termIssues then returns false.
func (p *parser) termIssues(key, written string, err error) bool {
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Kind == fhir.KindInternal || fe.Kind == fhir.KindUnavailable {
		if p.fatal == nil {
			p.fatal = err
		}
		return false
	}
	issues := fe.Issues
	if len(issues) == 0 {
		issues = []fhir.Issue{{Code: fhir.IssueValue, Diagnostics: fe.Message}}
	}
	for _, is := range issues {
		code := is.Code
		if code == "" {
			code = fhir.IssueValue
		}
		p.issue(key, code, "Cannot search %s=%s: %s.", key, written, strings.TrimSuffix(is.Diagnostics, "."))
	}
	return true
}
