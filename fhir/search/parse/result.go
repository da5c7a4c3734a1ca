package parse

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// types returns the types searched: those of _type, checked against the
// types the caller allows, or the caller's types.
func (p *parser) types(types []fhir.ResourceType, params url.Values) []fhir.ResourceType {
	values, ok := params["_type"]
	if !ok || p.opts.Conditional {
		return slices.Clone(types)
	}
	if len(values) > 1 {
		p.issue("_type", fhir.IssueInvalid, "The parameter _type is given %d times: list the types once, separated by commas.", len(values))
		return slices.Clone(types)
	}
	var out []fhir.ResourceType
	for _, name := range strings.Split(values[0], ",") {
		t := fhir.ResourceType(name)
		switch {
		case name == "" && values[0] == "":
			continue
		case !isResourceType(name):
			p.issue("_type", fhir.IssueValue, "Invalid value for _type: %q is not a resource type.", name)
			continue
		case len(types) > 0 && !slices.Contains(types, t):
			p.issue("_type", fhir.IssueValue, "Invalid value for _type: %s is not searched here (%s).", name, typeList(types))
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return slices.Clone(types)
	}
	return out
}

// The result parameters that R4 allows once only.
var once = map[string]bool{
	"_count": true, "_sort": true, "_total": true, "_summary": true, "_elements": true,
	"_cursor": true, "_contained": true, "_containedType": true,
}

// result parses a result parameter (name:mod=values).
func (p *parser) result(q *search.Query, key, name, mod string, hasMod bool, values []string) {
	switch {
	case name == "_format" || name == "_pretty":
		return
	case name == "_contained" || name == "_containedType":
		p.unknown(q, key, "The parameter %s is not supported: contained resources are not searched separately.", key)
		return
	case hasMod && !((name == "_include" || name == "_revinclude") && (mod == "iterate" || mod == "recurse")):
		p.unknown(q, key, "Unknown search parameter %q: %s takes no modifier.", key, name)
		return
	}
	values = slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "" })
	switch {
	case len(values) == 0:
		return // an empty parameter is ignored
	case once[name] && len(values) > 1:
		p.issue(key, fhir.IssueInvalid, "The parameter %s is given %d times; it may be given once.", key, len(values))
		return
	}
	v := values[0]
	switch name {
	case "_count":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || v[0] == '+' {
			if allDigits(v) {
				n = p.opts.MaxCount // more than an int holds
			} else {
				p.issue(key, fhir.IssueValue, "Invalid value for _count: %q is not a whole number of zero or more.", v)
				return
			}
		}
		q.Count = min(n, p.opts.MaxCount)
	case "_sort":
		q.Sort = p.sort(q.Types, v)
	case "_total":
		switch t := search.Total(v); t {
		case search.TotalNone, search.TotalEstimate, search.TotalAccurate:
			q.Total = t
		default:
			p.issue(key, fhir.IssueValue, "Invalid value for _total: %q; use none, estimate or accurate.", v)
			return
		}
	case "_summary":
		switch s := search.Summary(v); s {
		case search.SummaryTrue, search.SummaryText, search.SummaryData, search.SummaryCount, search.SummaryFalse:
			q.Summary = s
		default:
			p.issue(key, fhir.IssueValue, "Invalid value for _summary: %q; use true, text, data, count or false.", v)
			return
		}
	case "_elements":
		q.Elements = p.elements(q.Types, v)
	case "_cursor":
		q.Cursor = v
	case "_include", "_revinclude":
		iterate := hasMod
		for _, v := range values {
			for _, s := range strings.Split(v, ",") {
				inc := p.include(q.Types, key, s, name == "_revinclude", iterate)
				if name == "_revinclude" {
					q.RevInclude = append(q.RevInclude, inc...)
				} else {
					q.Include = append(q.Include, inc...)
				}
			}
		}
	}
}

func allDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// unknown ignores an unsupported parameter, or reports it when strict.
func (p *parser) unknown(q *search.Query, key, format string, args ...any) {
	if p.opts.Strict {
		p.issue(key, fhir.IssueNotSupported, format, args...)
		return
	}
	q.Unknown = append(q.Unknown, key)
}

// sortable are the types _sort takes.
var sortable = []search.ParamType{search.TypeDate, search.TypeString, search.TypeNumber, search.TypeToken,
	search.TypeQuantity, search.TypeURI, search.TypeReference}

// sort parses the keys of _sort: parameters, each with - for descending.
func (p *parser) sort(types []fhir.ResourceType, v string) []search.Sort {
	var out []search.Sort
	for _, k := range strings.Split(v, ",") {
		code, desc := strings.CutPrefix(k, "-")
		if strings.ContainsAny(code, ":.") {
			p.issue("_sort", fhir.IssueValue, "Invalid value for _sort: %q; _sort takes parameter names, without modifiers or chains.", k)
			continue
		}
		if code == "" {
			p.issue("_sort", fhir.IssueValue, "Invalid value for _sort: %q has an empty key; list parameters separated by commas, each with - for descending order.", v)
			continue
		}
		def, prob := p.lookup(types, code, 1)
		if prob != nil {
			p.issue("_sort", fhir.IssueValue, "Invalid value for _sort: %s", prob.msg)
			continue
		}
		if !slices.Contains(sortable, def.Type) {
			p.issue("_sort", fhir.IssueValue, "Invalid value for _sort: %s is a %s parameter, which results cannot be sorted by.", code, def.Type)
			continue
		}
		if slices.ContainsFunc(out, func(s search.Sort) bool { return s.Param == code }) {
			p.issue("_sort", fhir.IssueValue, "Invalid value for _sort: %s is listed twice.", code)
			continue
		}
		out = append(out, search.Sort{Param: code, Type: def.Type, Desc: desc})
	}
	return out
}

// elementPattern is an element name, optionally after its resource type.
var elementPattern = regexp.MustCompile(`^(?:([A-Z][A-Za-z]*)\.)?([a-z][A-Za-z0-9]*)$`)

// elements parses _elements: top-level element names, separated by commas.
func (p *parser) elements(types []fhir.ResourceType, v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		m := elementPattern.FindStringSubmatch(e)
		if m == nil || m[1] != "" && !isResourceType(m[1]) {
			p.issue("_elements", fhir.IssueValue, "Invalid value for _elements: %q is not the name of a top-level element.", e)
			continue
		}
		if m[1] != "" && len(types) > 0 && !slices.Contains(types, fhir.ResourceType(m[1])) {
			p.issue("_elements", fhir.IssueValue, "Invalid value for _elements: %s is not searched here.", m[1])
			continue
		}
		if !slices.Contains(out, m[2]) {
			out = append(out, m[2])
		}
	}
	return out
}

// include parses one value of _include or _revinclude: Source:param,
// Source:param:Target, Source:*, or *; a trailing :iterate is read as the
// modifier.
func (p *parser) include(types []fhir.ResourceType, key, s string, rev, iterate bool) []search.Include {
	parts := strings.Split(s, ":")
	if n := len(parts); n >= 2 && (parts[n-1] == "iterate" || parts[n-1] == "recurse") {
		parts, iterate = parts[:n-1], true
	}
	if len(parts) == 1 && parts[0] == "*" {
		if rev || len(types) == 0 {
			return []search.Include{{Param: "*", Iterate: iterate}}
		}
		out := make([]search.Include, len(types))
		for i, t := range types {
			out[i] = search.Include{Source: t, Param: "*", Iterate: iterate}
		}
		return out
	}
	if len(parts) < 2 || len(parts) > 3 {
		p.issue(key, fhir.IssueValue, "Invalid value for %s: %q is not of the form Type:parameter, Type:parameter:TargetType or Type:*.", key, s)
		return nil
	}
	inc := search.Include{Source: fhir.ResourceType(parts[0]), Param: parts[1], Iterate: iterate}
	if !isResourceType(parts[0]) {
		p.issue(key, fhir.IssueValue, "Invalid value for %s: %q is not a resource type.", key, parts[0])
		return nil
	}
	var targets []fhir.ResourceType
	if inc.Param != "*" {
		def, ok := p.reg.Lookup(inc.Source, inc.Param)
		if !ok || def == nil || def.Type != search.TypeReference {
			p.issue(key, fhir.IssueValue, "Invalid value for %s: %s has no reference parameter %s.", key, inc.Source, inc.Param)
			return nil
		}
		targets = def.Targets
	}
	if len(parts) == 3 {
		inc.Target = fhir.ResourceType(parts[2])
		switch {
		case !isResourceType(parts[2]):
			p.issue(key, fhir.IssueValue, "Invalid value for %s: %q is not a resource type.", key, parts[2])
			return nil
		case len(targets) > 0 && !slices.Contains(targets, inc.Target):
			p.issue(key, fhir.IssueValue, "Invalid value for %s: %s:%s cannot refer to %s.", key, inc.Source, inc.Param, inc.Target)
			return nil
		}
	}
	return []search.Include{inc}
}
