package search

import (
	"net/url"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// Parse parses search criteria for resources of type t. Parameters that
// control results rather than select them (_count, _format...) are
// ignored; any other parameter the server cannot evaluate is an error, so
// that a conditional interaction never acts on more resources than the
// client asked for.
func Parse(t fhir.ResourceType, params url.Values) (*Query, error) {
	q := &Query{Types: []fhir.ResourceType{t}}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := params[name]
		switch {
		case resultParams[name]:
			continue
		case name == "_id" || name == "identifier":
			for _, v := range values {
				c := Clause{Param: name, Type: TypeToken}
				for _, s := range splitOr(v) {
					if s == "" {
						return nil, invalid(name, "empty value for %s", name)
					}
					tv := parseToken(s)
					if name == "_id" && (tv.System != nil || !fhir.ID(tv.Code).Valid()) {
						return nil, invalid(name, "_id must be a FHIR id, got %q", s)
					}
					c.Values = append(c.Values, tv)
				}
				q.Clauses = append(q.Clauses, c)
			}
		default:
			return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{
				Severity: fhir.SeverityError, Code: fhir.IssueNotSupported,
				Diagnostics: "the search parameter " + name + " is not supported here; supported: _id, identifier",
				Expression:  []string{name},
			}}}
		}
	}
	return q, nil
}

// resultParams shape the result of a search without selecting resources.
var resultParams = map[string]bool{
	"_count": true, "_format": true, "_pretty": true, "_summary": true, "_elements": true,
	"_sort": true, "_total": true, "_include": true, "_revinclude": true, "_contained": true,
	"_containedType": true,
}

// splitOr splits a parameter value on commas not escaped with a backslash,
// and unescapes \, \| and \$ in the parts.
func splitOr(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v):
			cur.WriteByte('\\')
			cur.WriteByte(v[i+1])
			i++
		case c == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

// parseToken parses [system|]code, honouring \| as a literal bar.
func parseToken(s string) Value {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '|' {
			sys := unescape(s[:i])
			return Value{System: &sys, Code: unescape(s[i+1:])}
		}
	}
	return Value{Code: unescape(s)}
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func invalid(param, format string, args ...any) *fhir.Error {
	e := fhir.Errorf(fhir.KindInvalid, format, args...)
	e.Issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Diagnostics: e.Message, Expression: []string{param}}}
	return e
}
