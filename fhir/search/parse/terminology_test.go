package parse

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// fakeTerms is a Terminology over a hierarchy A > B > C and A > D in the
// system "s", and the value sets "vs" (C of s, X of t) and "empty".
type fakeTerms struct{}

var errBoom = errors.New("the terminology store is down")

func (fakeTerms) closure(system, code string, tree map[string][]string) ([]string, error) {
	switch system {
	case "s":
	case "boom":
		return nil, errBoom
	default:
		return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotFound, Diagnostics: "the code system " + system + " is not known"}}}
	}
	codes, ok := tree[code]
	if !ok {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueCodeInvalid, Diagnostics: "the code " + code + " is not in s"}}}
	}
	return codes, nil
}

func (f fakeTerms) Below(system, code string) ([]string, error) {
	return f.closure(system, code, map[string][]string{"A": {"A", "B", "C", "D"}, "B": {"B", "C"}, "C": {"C"}, "D": {"D"}})
}

func (f fakeTerms) Above(system, code string) ([]string, error) {
	return f.closure(system, code, map[string][]string{"A": {"A"}, "B": {"B", "A"}, "C": {"C", "B", "A"}, "D": {"D", "A"}})
}

func (fakeTerms) ValueSetCodes(url, version string) ([]search.Coding, error) {
	switch {
	case url == "vs" && (version == "" || version == "1"):
		return []search.Coding{{System: "s", Code: "C"}, {System: "t", Code: "X"}}, nil
	case url == "empty":
		return nil, nil
	}
	return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotFound, Diagnostics: "the value set " + url + " is not known"}}}
}

func codings(pairs ...string) []search.Value {
	var out []search.Value
	for i := 0; i < len(pairs); i += 2 {
		s := pairs[i]
		out = append(out, search.Value{System: &s, Code: pairs[i+1]})
	}
	return out
}

func TestTerminologyModifiers(t *testing.T) {
	reg := search.NewTable()
	empty := []search.Value{{}}
	for _, tc := range []struct {
		name  string
		typ   fhir.ResourceType
		query string
		want  search.Clause // the leaf clause, under its chain or reverse chain
	}{
		{"below", "Condition", "code:below=s|A", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "A", "s", "B", "s", "C", "s", "D")}},
		{"above", "Condition", "code:above=s|C", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "C", "s", "B", "s", "A")}},
		{"below OR, duplicates once", "Condition", "code:below=s|B,s|A", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "B", "s", "C", "s", "A", "s", "D")}},
		{"in", "Observation", "code:in=vs", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "C", "t", "X")}},
		{"in with a version", "Observation", "code:in=vs|1", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "C", "t", "X")}},
		{"not-in", "Observation", "code:not-in=vs", search.Clause{Param: "code", Type: search.TypeToken, Modifier: search.ModNot,
			Values: codings("s", "C", "t", "X")}},
		{"in an empty value set", "Observation", "code:in=empty", search.Clause{Param: "_id", Type: search.TypeToken, Values: empty}},
		{"not-in an empty value set", "Observation", "code:not-in=empty", search.Clause{Param: "_id", Type: search.TypeToken,
			Modifier: search.ModNot, Values: empty}},
		{"chain", "DiagnosticReport", "result.code:below=s|B", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "B", "s", "C")}},
		{"reverse chain", "Patient", "_has:Condition:subject:code:in=vs", search.Clause{Param: "code", Type: search.TypeToken,
			Values: codings("s", "C", "t", "X")}},
		{"uri below is not terminology", "ValueSet", "url:below=http://x/", search.Clause{Param: "url", Type: search.TypeURI,
			Modifier: search.ModBelow, Values: []search.Value{{Text: "http://x/"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := Parse(reg, []fhir.ResourceType{tc.typ}, params, Options{Terminology: fakeTerms{}})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(q.Clauses) != 1 {
				t.Fatalf("%d clauses, want 1", len(q.Clauses))
			}
			leaf := q.Clauses[0]
			for leaf.Chain != nil || leaf.Has != nil {
				if leaf.Chain != nil {
					leaf = leaf.Chain.Clause
				} else {
					leaf = leaf.Has.Clause
				}
			}
			if !reflect.DeepEqual(leaf, tc.want) {
				t.Errorf("clause\n got %s\nwant %s", clauseString(leaf), clauseString(tc.want))
			}
		})
	}
}

func clauseString(c search.Clause) string {
	s := c.Param + ":" + string(c.Modifier) + "="
	for i, v := range c.Values {
		if i > 0 {
			s += ","
		}
		if v.System != nil {
			s += *v.System + "|"
		}
		s += v.Code + v.Text
	}
	return s
}

// TestTerminologyModifiersWithout: without a Terminology the modifiers
// stay in the Query, for the store to refuse.
func TestTerminologyModifiersWithout(t *testing.T) {
	q, err := Parse(search.NewTable(), []fhir.ResourceType{"Condition"}, url.Values{"code:below": {"s|A"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := q.Clauses[0]; c.Modifier != search.ModBelow || len(c.Values) != 1 || c.Values[0].Code != "A" {
		t.Errorf("clause %s, want code:below=s|A", clauseString(c))
	}
}

func TestTerminologyModifierErrors(t *testing.T) {
	reg := search.NewTable()
	type issue struct {
		code fhir.IssueType
		expr string
	}
	for _, tc := range []struct {
		name     string
		query    string
		maxCodes int
		want     []issue
	}{
		{"below without a system", "code:below=A", 0, []issue{{fhir.IssueValue, "code:below"}}},
		{"above without a system", "code:above=|A", 0, []issue{{fhir.IssueValue, "code:above"}}},
		{"below without a code", "code:below=s|", 0, []issue{{fhir.IssueValue, "code:below"}}},
		{"unknown system", "code:below=u|A", 0, []issue{{fhir.IssueNotFound, "code:below"}}},
		{"unknown code", "code:above=s|Z", 0, []issue{{fhir.IssueCodeInvalid, "code:above"}}},
		{"unknown value set", "code:in=nope", 0, []issue{{fhir.IssueNotFound, "code:in"}}},
		{"unknown value set version", "code:not-in=vs|2", 0, []issue{{fhir.IssueNotFound, "code:not-in"}}},
		{"in a chain", "subject:Patient._has:Condition:subject:code:below=s", 0,
			[]issue{{fhir.IssueValue, "subject:Patient._has:Condition:subject:code:below"}}},
		{"all collected", "code:below=A&code:in=nope&onset-date=x", 0,
			[]issue{{fhir.IssueValue, "code:below"}, {fhir.IssueNotFound, "code:in"}, {fhir.IssueValue, "onset-date"}}},
		{"too many codes in one value", "code:below=s|A", 3, []issue{{fhir.IssueTooCostly, "code:below"}}},
		{"too many codes in all", "code:below=s|B&code:in=vs&code:above=s|C", 5, []issue{{fhir.IssueTooCostly, "code:in"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(reg, []fhir.ResourceType{"Condition"}, params, Options{Terminology: fakeTerms{}, MaxCodes: tc.maxCodes})
			var fe *fhir.Error
			if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid {
				t.Fatalf("error %v, want a KindInvalid *fhir.Error", err)
			}
			var got []issue
			for _, is := range fe.Issues {
				if is.Severity != fhir.SeverityError || is.Diagnostics == "" || len(is.Expression) != 1 {
					t.Errorf("issue %+v: want an error with diagnostics and one expression", is)
				}
				got = append(got, issue{is.Code, is.Expression[0]})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("issues %v, want %v (%v)", got, tc.want, fe.Issues)
			}
		})
	}
}

// TestTerminologyFailure: a failure of the terminology service is not the
// request's fault: Parse returns it as it is.
func TestTerminologyFailure(t *testing.T) {
	_, err := Parse(search.NewTable(), []fhir.ResourceType{"Condition"}, url.Values{"code:below": {"boom|A"}, "code:in": {"nope"}},
		Options{Terminology: fakeTerms{}})
	if !errors.Is(err, errBoom) {
		t.Errorf("error %v, want %v", err, errBoom)
	}
}
