package match_test

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/match"
)

// The corpus: resources of several types, each type holding the values of
// one kind of search (Patient tokens and strings, Encounter dates,
// RiskAssessment numbers, Observation codes, quantities and composites,
// ValueSet uris, DocumentReference and QuestionnaireResponse references,
// DiagnosticReport chains), which TestCases checks Match on and
// TestAgreesWithSQLite writes into a SQLite store.

const (
	patient       fhir.ResourceType = "Patient"
	observation   fhir.ResourceType = "Observation"
	encounter     fhir.ResourceType = "Encounter"
	riskAssess    fhir.ResourceType = "RiskAssessment"
	valueSet      fhir.ResourceType = "ValueSet"
	docRef        fhir.ResourceType = "DocumentReference"
	questionnaire fhir.ResourceType = "QuestionnaireResponse"
	report        fhir.ResourceType = "DiagnosticReport"
	organization  fhir.ResourceType = "Organization"
	groupType     fhir.ResourceType = "Group"
	practitioner  fhir.ResourceType = "Practitioner"
)

const (
	loinc  = "http://loinc.org"
	ucum   = "http://unitsofmeasure.org"
	gender = "http://hl7.org/fhir/administrative-gender"
	v20203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
	units  = "http://example.org/units"
)

// fixedNow is the instant ap on dates is relative to in TestCases.
var fixedNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// base is the lastUpdated of the first resource of the corpus; each next
// one is a second later.
var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// fixture is a candidate built value by value.
type fixture struct{ c match.Candidate }

func fx(t fhir.ResourceType, id fhir.ID) *fixture {
	return &fixture{c: match.Candidate{Type: t, ID: id, Index: &search.Index{}}}
}

func (f *fixture) tok(param, system, code string) *fixture {
	f.c.Index.Tokens = append(f.c.Index.Tokens, search.Token{Param: param, System: system, Code: code})
	return f
}

// tokText adds a token with a display or text, folded as the extractor
// does.
func (f *fixture) tokText(param, system, code, text string) *fixture {
	f.c.Index.Tokens = append(f.c.Index.Tokens, search.Token{Param: param, System: system, Code: code, Text: search.Fold(text)})
	return f
}

func (f *fixture) str(param, exact string) *fixture {
	f.c.Index.Strings = append(f.c.Index.Strings, search.String{Param: param, Value: search.Fold(exact), Exact: exact})
	return f
}

// date adds a date at the precision it is written with (see span).
func (f *fixture) date(param, value string) *fixture {
	lo, hi := span(value)
	return f.dateRange(param, lo, hi)
}

// period adds a period from the start of start to the end of end; "" is
// an open end.
func (f *fixture) period(param, start, end string) *fixture {
	lo, hi := search.MinTime, search.MaxTime
	if start != "" {
		lo, _ = span(start)
	}
	if end != "" {
		_, hi = span(end)
	}
	return f.dateRange(param, lo, hi)
}

func (f *fixture) dateRange(param string, lo, hi int64) *fixture {
	f.c.Index.Dates = append(f.c.Index.Dates, search.Date{Param: param, Lo: lo, Hi: hi})
	return f
}

func (f *fixture) num(param string, lo, hi float64) *fixture {
	f.c.Index.Numbers = append(f.c.Index.Numbers, search.Number{Param: param, Lo: lo, Hi: hi})
	return f
}

// qty adds a quantity with its unit and, when canonicalCode is not empty,
// its value in the canonical unit (value × factor).
func (f *fixture) qty(param string, value float64, system, code, unit, canonicalCode string, factor float64) *fixture {
	return f.qtyValue(quantityPart(param, value, system, code, unit, canonicalCode, factor))
}

func quantityPart(param string, value float64, system, code, unit, canonicalCode string, factor float64) search.Quantity {
	q := search.Quantity{Param: param, Lo: value, Hi: value, System: system, Code: code, Unit: unit}
	if canonicalCode != "" {
		q.CanonicalCode, q.CanonicalLo, q.CanonicalHi = canonicalCode, value*factor, value*factor
	}
	return q
}

func (f *fixture) qtyValue(q search.Quantity) *fixture {
	f.c.Index.Quantities = append(f.c.Index.Quantities, q)
	return f
}

func (f *fixture) ref(param string, t fhir.ResourceType, id fhir.ID) *fixture {
	return f.refValue(search.Reference{Param: param, Type: t, ID: id})
}

func (f *fixture) refValue(r search.Reference) *fixture {
	f.c.Index.References = append(f.c.Index.References, r)
	return f
}

func (f *fixture) uri(param, value string) *fixture {
	f.c.Index.URIs = append(f.c.Index.URIs, search.URI{Param: param, Value: value})
	return f
}

func (f *fixture) comp(param string, parts ...search.Part) *fixture {
	f.c.Index.Composites = append(f.c.Index.Composites, search.Composite{Param: param, Parts: parts})
	return f
}

// Composite parts.

func tokPart(system, code string) search.Part {
	return search.Part{Token: &search.Token{System: system, Code: code}}
}

func mmHg(v float64) search.Part {
	q := quantityPart("", v, ucum, "mm[Hg]", "mmHg", "g.m-1.s-2", 133322)
	return search.Part{Quantity: &q}
}

// corpus returns the resources the cases search, each with a lastUpdated
// a second after the one before and the _id and _lastUpdated values the
// engine adds to every index.
func corpus() []*match.Candidate {
	sct := "urn:sct"
	d := func(value string) *search.Date { lo, hi := span(value); return &search.Date{Lo: lo, Hi: hi} }
	mar15, _ := span("2024-03-15")
	mar16, _ := span("2024-03-16")
	fs := []*fixture{
		// Tokens, strings, birthdates, _lastUpdated; targets of chains.
		// p1 carries an _id and a _lastUpdated of its own, which the
		// SQLite store ignores.
		fx(patient, "p1").tok("identifier", "urn:mrn", "100").tokText("identifier", "urn:ssn", "555", "Social Security").
			tok("identifier"+search.SuffixOfType, "", v20203+"|MR|100").tok("gender", gender, "male").
			str("family", "Smith").str("given", "Anna").str("given", "Marie").str("name", "Smith").
			date("birthdate", "1960-06-15").ref("organization", organization, "org1").
			tokText("_id", "", "zzz", "Zed").date("_lastUpdated", "1990"),
		fx(patient, "p2").tok("identifier", "urn:mrn", "200").tok("gender", gender, "female").
			str("family", "Smythe").str("given", "Bob").str("name", "Jones").date("birthdate", "1960").
			ref("organization", organization, "org2"),
		fx(patient, "p3").tok("identifier", "", "300").tok("gender", gender, "male").
			str("family", "Ångström").str("given", "Élodie").str("name", "Smith").period("birthdate", "1950-01", ""),
		fx(patient, "p4"),
		fx(patient, "p5").str("family", "O'Brien").str("given", "Seán").str("name", "Dr. Seán  O'Brien").
			tok("telecom", "phone", "555-1234").tokText("identifier", "", "", "Passport number"),

		fx(organization, "org1").str("name", "Acme Hospital"),
		fx(organization, "org2").str("name", "Beta Clinic"),
		fx(organization, "org3").str("name", "Acme Annex"),
		fx(groupType, "g1").str("name", "Smith family"),
		fx(practitioner, "d1"),

		// Codes.
		fx(observation, "o1").tokText("code", loinc, "1234-5", "Glucose [Mass/volume] in Blood").tokText("code", "", "", "Blood sugar"),
		fx(observation, "o2").tokText("code", loinc, "9999-9", "Hemoglobin").tok("code", "urn:local", "1234-5"),
		fx(observation, "o3").tok("code", "urn:local", "1234-5").tokText("code", "", "", "Glucose by meter"),

		// Quantities.
		fx(observation, "q-mg").qty("value-quantity", 5.4, ucum, "mg", "mg", "g", 0.001),
		fx(observation, "q-g").qty("value-quantity", 0.0054, ucum, "g", "g", "g", 1),
		fx(observation, "q-tab").qty("value-quantity", 5.4, units, "tab", "tablets", "", 0),
		fx(observation, "q-mgdl").qty("value-quantity", 5.4, ucum, "mg/dL", "mg/dL", "g.m-3", 10),
		fx(observation, "q-bare").qty("value-quantity", 5.4, "", "", "", "", 0),
		fx(observation, "q-kg").qty("value-quantity", 5, ucum, "kg", "kg", "g", 1000),
		fx(observation, "q-open").qtyValue(search.Quantity{Param: "value-quantity", Lo: 1, Hi: math.Inf(1),
			System: ucum, Code: "mg", Unit: "mg", CanonicalCode: "g", CanonicalLo: 0.001, CanonicalHi: math.Inf(1)}),
		fx(observation, "q-nan").qtyValue(search.Quantity{Param: "value-quantity", Lo: math.NaN(), Hi: math.NaN(), System: ucum, Code: "mg"}),
		fx(observation, "q-code").qty("value-quantity", 5.4, "", "tab", "", "", 0),
		fx(observation, "q-nocanon").qty("value-quantity", 5.4, ucum, "[foo]", "foo", "", 0),
		fx(observation, "q-othercc").qty("value-quantity", 5.4, ucum, "mg", "mg", "zzz", 1),

		// Composites.
		fx(observation, "c1").comp("component-code-value-quantity", tokPart(loinc, "8480-6"), mmHg(120)).
			comp("component-code-value-quantity", tokPart(loinc, "8462-4"), mmHg(80)),
		fx(observation, "c2").comp("component-code-value-quantity", tokPart(loinc, "8480-6"), mmHg(140)).
			comp("component-code-value-quantity", tokPart(loinc, "8462-4"), mmHg(90)),
		fx(observation, "c3").
			comp("code-value-string", tokPart(loinc, "x"), search.Part{String: &search.String{Value: "positive", Exact: "Positive"}}).
			comp("code-value-date", tokPart(loinc, "d"), search.Part{Date: d("2024-03-15")}).
			comp("code-value-concept", tokPart(loinc, "y"), tokPart(sct, "10828004")),
		fx(observation, "c4").comp("x-empty", search.Part{}),
		fx(observation, "c5").
			comp("x-comp", tokPart(loinc, "z"), search.Part{Number: &search.Number{Lo: 7, Hi: 7}},
				search.Part{Reference: &search.Reference{Type: patient, ID: "p1"}}, search.Part{URI: &search.URI{Value: "http://x/y"}}).
			comp("x-empty", tokPart("", "a"), search.Part{}).
			comp("x-short", tokPart("", "a")).
			comp("x-canon", tokPart("", "a"), search.Part{Reference: &search.Reference{URL: "http://q.org/Q", Version: "1.0"}}),
		fx(observation, "c6").
			comp("code-value-quantity", tokPart(loinc, "v"), func() search.Part {
				q := quantityPart("", 5.4, units, "tab", "tablets", "", 0)
				return search.Part{Quantity: &q}
			}()).
			comp("code-value-date", tokPart(loinc, "d"), search.Part{Date: &search.Date{Lo: mustSpanLo("2024-03-10"), Hi: search.MaxTime}}),

		// Dates.
		fx(encounter, "e1").date("date", "2024-03-15"),
		fx(encounter, "e2").date("date", "2024-03"),
		fx(encounter, "e3").date("date", "2024"),
		fx(encounter, "e4").period("date", "2024-03-10", "2024-03-20"),
		fx(encounter, "e5").period("date", "2024-03-15", ""),
		fx(encounter, "e6").period("date", "", "2024-03-15"),
		fx(encounter, "e7").date("date", "2024-03-15T00:00:00.000Z"),
		fx(encounter, "e8").dateRange("date", mar15, mar15),
		fx(encounter, "e9"),
		fx(encounter, "e10").date("date", "2024-03-15T23:59:59Z"),
		fx(encounter, "e11").date("date", "1900").date("date", "2100"),
		fx(encounter, "e12").period("date", "", ""),
		fx(encounter, "e13").dateRange("date", mar16, mar16),
		fx(encounter, "e14").date("date", "2024-12-30T12:00:00Z"),

		// Numbers.
		fx(riskAssess, "n100").num("probability", 100, 100),
		fx(riskAssess, "n100.4").num("probability", 100.4, 100.4),
		fx(riskAssess, "n99.5").num("probability", 99.5, 99.5),
		fx(riskAssess, "n100.5").num("probability", 100.5, 100.5),
		fx(riskAssess, "range").num("probability", 90, 110),
		fx(riskAssess, "n0.8").num("probability", 0.8, 0.8),
		fx(riskAssess, "n89.6").num("probability", 89.6, 89.6),
		fx(riskAssess, "nnone"),
		fx(riskAssess, "minus").num("probability", -5, -5),
		fx(riskAssess, "above50").num("probability", 50, math.Inf(1)),
		fx(riskAssess, "below0").num("probability", math.Inf(-1), 0),
		fx(riskAssess, "nan").num("probability", math.NaN(), math.NaN()),
		fx(riskAssess, "nanmix").num("probability", math.NaN(), 1).num("probability", 3, 3),

		// URIs.
		fx(valueSet, "v1").uri("url", "http://acme.org/fhir/ValueSet/123"),
		fx(valueSet, "v2").uri("url", "http://acme.org/fhir/ValueSet/124"),
		fx(valueSet, "v3").uri("url", "http://acme.org/"),
		fx(valueSet, "v4").uri("url", "http://other.org/fhir/ValueSet/123"),
		fx(valueSet, "v5"),
		fx(valueSet, "v6").uri("url", ""),

		// References.
		fx(docRef, "ra").ref("subject", patient, "r1").ref("author", practitioner, "d1"),
		fx(docRef, "rb").ref("subject", groupType, "r1"),
		fx(docRef, "rc").refValue(search.Reference{Param: "subject", Type: patient, ID: "r2", Version: "3"}),
		fx(docRef, "rd").refValue(search.Reference{Param: "subject", URL: "http://remote.org/fhir/Patient/77"}),
		fx(docRef, "rl").refValue(search.Reference{Param: "subject", Type: patient, ID: "r2", URL: "http://this.server/fhir/Patient/r2"}),
		fx(docRef, "re").tok("subject"+search.SuffixIdentifier, "urn:mrn", "123"),
		fx(docRef, "rf").ref("subject", patient, "nobody"),
		fx(docRef, "rg").refValue(search.Reference{Param: "subject", Type: patient}),
		fx(docRef, "rh").refValue(search.Reference{Param: "subject", ID: "r1"}),
		fx(questionnaire, "qa").refValue(search.Reference{Param: "questionnaire", URL: "http://q.org/Q", Version: "1.0"}),
		fx(questionnaire, "qb").refValue(search.Reference{Param: "questionnaire", URL: "http://q.org/Q", Version: "2.0"}),
		fx(questionnaire, "qc").refValue(search.Reference{Param: "questionnaire", URL: "http://q.org/Q2"}),

		// Chains and reverse chains.
		fx(report, "dr1").ref("subject", patient, "p1").tok("code", loinc, "A"),
		fx(report, "dr2").ref("subject", patient, "p2").tok("code", loinc, "A"),
		fx(report, "dr3").ref("subject", patient, "p3").tok("code", loinc, "B"),
		fx(report, "dr4").ref("subject", groupType, "g1").tok("code", loinc, "A"),
		fx(report, "dr5").ref("subject", patient, "gone").tok("code", loinc, "A"),
		fx(report, "dr6").refValue(search.Reference{Param: "subject", URL: "http://remote.org/fhir/Patient/p1"}).tok("code", loinc, "B"),
	}
	out := make([]*match.Candidate, len(fs))
	for i, f := range fs {
		c := f.c
		c.LastUpdated = base + int64(i)*1000
		c.Index.Tokens = append(c.Index.Tokens, search.Token{Param: "_id", Code: string(c.ID)})
		c.Index.Dates = append(c.Index.Dates, search.Date{Param: "_lastUpdated", Lo: c.LastUpdated, Hi: c.LastUpdated + 1})
		out[i] = &c
	}
	return out
}

// mustSpanLo returns the start of a date.
func mustSpanLo(value string) int64 {
	lo, _ := span(value)
	return lo
}

// span returns the range of a FHIR date, dateTime or instant at its
// precision, in Unix milliseconds.
func span(s string) (lo, hi int64) {
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05.000Z07:00", func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
	}
	for _, l := range layouts {
		if strings.Contains(s, ".") != strings.Contains(l.layout, ".") {
			continue
		}
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UnixMilli(), l.next(t).UnixMilli()
		}
	}
	panic("not a date: " + s)
}

// resolver resolves chains and reverse chains over the candidates cs
// with Match itself, as a store that uses this package does.
func resolver(cs []*match.Candidate, now time.Time) match.Resolver {
	var r match.Resolver
	types := func() []fhir.ResourceType {
		var out []fhir.ResourceType
		for _, c := range cs {
			if !slices.Contains(out, c.Type) {
				out = append(out, c.Type)
			}
		}
		return out
	}
	r.Chain = func(ctx context.Context, ch *search.Chain) (map[string]bool, error) {
		targets := ch.Targets
		if len(targets) == 0 {
			targets = types()
		}
		out := map[string]bool{}
		for _, t := range targets {
			m, err := match.Compile(ctx, t, []search.Clause{ch.Clause}, now, r)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if m.Match(c) {
					out[string(c.Type)+"/"+string(c.ID)] = true
				}
			}
		}
		return out, nil
	}
	r.Has = func(ctx context.Context, t fhir.ResourceType, h *search.Has) (map[fhir.ID]bool, error) {
		m, err := match.Compile(ctx, h.Type, []search.Clause{h.Clause}, now, r)
		if err != nil {
			return nil, err
		}
		out := map[fhir.ID]bool{}
		for _, c := range cs {
			if !m.Match(c) {
				continue
			}
			for _, ref := range c.Index.References {
				if ref.Param == h.Ref && ref.Type == t && ref.ID != "" {
					out[ref.ID] = true
				}
			}
		}
		return out, nil
	}
	return r
}

// Query builders.

func ptr(s string) *string { return &s }

// sc is the token value system|code.
func sc(system, code string) search.Value { return search.Value{System: &system, Code: code} }

// code is the token value code, of any system.
func code(c string) search.Value { return search.Value{Code: c} }

// text is a :text or string value, folded.
func text(s string) search.Value { return search.Value{Text: search.Fold(s)} }

func tokenClause(param string, mod search.Modifier, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeToken, Modifier: mod, Values: values}
}

// stringClause is a string clause; values are folded but for :exact.
func stringClause(param string, mod search.Modifier, values ...string) search.Clause {
	c := search.Clause{Param: param, Type: search.TypeString, Modifier: mod}
	for _, v := range values {
		if mod != search.ModExact {
			v = search.Fold(v)
		}
		c.Values = append(c.Values, search.Value{Text: v})
	}
	return c
}

// dv is the date search value prefix+value at the value's precision.
func dv(prefix search.Prefix, value string) search.Value {
	lo, hi := span(value)
	return search.Value{Prefix: prefix, DateLo: lo, DateHi: hi}
}

func dateClause(param string, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeDate, Values: values}
}

// nv is the number search value prefix+value at its precision (100 is
// [99.5, 100.5)).
func nv(prefix search.Prefix, value string) search.Value {
	x, err := strconv.ParseFloat(value, 64)
	if err != nil {
		panic("not a number: " + value)
	}
	decimals := 0
	if i := strings.IndexByte(value, '.'); i >= 0 {
		decimals = len(value) - i - 1
	}
	half := 0.5 * math.Pow(10, -float64(decimals))
	return search.Value{Prefix: prefix, Num: x, NumLo: x - half, NumHi: x + half}
}

// nvExact is prefix+x as the parser sends gt, lt, ge, le, sa and eb: the
// range [x, the next float after x).
func nvExact(prefix search.Prefix, x float64) search.Value {
	return search.Value{Prefix: prefix, Num: x, NumLo: x, NumHi: math.Nextafter(x, math.Inf(1))}
}

func numberClause(param string, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeNumber, Values: values}
}

// qv is the quantity search value prefix+value|system|code; with
// canonicalCode, the value converts to it by factor.
func qv(prefix search.Prefix, value string, system *string, code, canonicalCode string, factor float64) search.Value {
	v := nv(prefix, value)
	v.System, v.Code = system, code
	if canonicalCode != "" {
		v.CanonicalCode = canonicalCode
		v.Canonical, v.CanonicalLo, v.CanonicalHi = v.Num*factor, v.NumLo*factor, v.NumHi*factor
	}
	return v
}

func quantityClause(param string, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeQuantity, Values: values}
}

func refClause(param string, mod search.Modifier, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeReference, Modifier: mod, Values: values}
}

// rv is the reference value Type/id (id alone when t is empty).
func rv(t fhir.ResourceType, id fhir.ID) search.Value { return search.Value{Type: t, ID: id} }

// url is the reference value of an absolute or canonical URL.
func url(u, version string) search.Value { return search.Value{URL: u, Version: version} }

func uriClause(param string, mod search.Modifier, values ...string) search.Clause {
	c := search.Clause{Param: param, Type: search.TypeURI, Modifier: mod}
	for _, v := range values {
		c.Values = append(c.Values, search.Value{Text: v})
	}
	return c
}

func missing(param string, typ search.ParamType, want bool) search.Clause {
	return search.Clause{Param: param, Type: typ, Missing: &want}
}

func chain(param string, targets []fhir.ResourceType, inner search.Clause) search.Clause {
	return search.Clause{Param: param, Type: search.TypeReference, Chain: &search.Chain{Targets: targets, Clause: inner}}
}

func has(t fhir.ResourceType, ref string, inner search.Clause) search.Clause {
	return search.Clause{Param: "_has", Type: search.TypeSpecial, Has: &search.Has{Type: t, Ref: ref, Clause: inner}}
}

func compositeClause(param string, values ...[]search.Value) search.Clause {
	c := search.Clause{Param: param, Type: search.TypeComposite}
	for _, comps := range values {
		c.Values = append(c.Values, search.Value{Components: comps})
	}
	return c
}

func of(t ...fhir.ResourceType) []fhir.ResourceType { return t }

// comps is a list of component values.
func comps(v ...search.Value) []search.Value { return v }
