package extract

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

const testBase = "https://cpms.example/fhir"

// only returns the values of idx for the parameter param.
func only(idx *search.Index, param string) search.Index {
	var out search.Index
	for _, v := range idx.Tokens {
		if v.Param == param {
			out.Tokens = append(out.Tokens, v)
		}
	}
	for _, v := range idx.Strings {
		if v.Param == param {
			out.Strings = append(out.Strings, v)
		}
	}
	for _, v := range idx.Dates {
		if v.Param == param {
			out.Dates = append(out.Dates, v)
		}
	}
	for _, v := range idx.Numbers {
		if v.Param == param {
			out.Numbers = append(out.Numbers, v)
		}
	}
	for _, v := range idx.Quantities {
		if v.Param == param {
			out.Quantities = append(out.Quantities, v)
		}
	}
	for _, v := range idx.References {
		if v.Param == param {
			out.References = append(out.References, v)
		}
	}
	for _, v := range idx.URIs {
		if v.Param == param {
			out.URIs = append(out.URIs, v)
		}
	}
	for _, v := range idx.Composites {
		if v.Param == param {
			out.Composites = append(out.Composites, v)
		}
	}
	return out
}

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

var inf = math.Inf(1)

type extractCase struct {
	name  string
	typ   fhir.ResourceType
	body  string
	param string
	want  search.Index
}

func runCases(t *testing.T, cases []extractCase) {
	t.Helper()
	x := New(search.NewTable(), Options{Base: testBase})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := x.Extract(tc.typ, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := only(idx, tc.param); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s:\n got %+v\nwant %+v", tc.param, got, tc.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tok := func(param, system, code, text string) search.Token {
		return search.Token{Param: param, System: system, Code: code, Text: text}
	}
	runCases(t, []extractCase{
		{"Coding", "Observation",
			`{"resourceType":"Observation","meta":{"tag":[{"system":"urn:t","code":"a","display":"Tág A"},{"code":"b"}]}}`,
			"_tag", search.Index{Tokens: []search.Token{tok("_tag", "urn:t", "a", "tag a"), tok("_tag", "", "b", "")}}},
		{"CodeableConcept", "Observation",
			`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8302-2","display":"Body Height"},{"system":"http://snomed.info/sct","code":"50373000"}],"text":"Height"}}`,
			"code", search.Index{Tokens: []search.Token{tok("code", "http://loinc.org", "8302-2", "body height"),
				tok("code", "http://snomed.info/sct", "50373000", ""), tok("code", "", "", "height")}}},
		{"Identifier and of-type", "Patient",
			`{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2","value":"12345","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}],"text":"Medical record"}},{"value":"x"}]}`,
			"identifier", search.Index{Tokens: []search.Token{tok("identifier", "urn:oid:1.2", "12345", "medical record"), tok("identifier", "", "x", "")}}},
		{"of-type tokens", "Patient",
			`{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2","value":"12345","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"},{"code":"X"}]}}]}`,
			"identifier:of-type", search.Index{Tokens: []search.Token{
				tok("identifier:of-type", "", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345", ""),
				tok("identifier:of-type", "", "|X|12345", "")}}},
		{"ContactPoint", "Patient",
			`{"resourceType":"Patient","telecom":[{"system":"phone","value":"+32 2 555"},{"system":"email","value":"a@b.eu"},{"value":"other"}]}`,
			"telecom", search.Index{Tokens: []search.Token{tok("telecom", "phone", "+32 2 555", ""), tok("telecom", "email", "a@b.eu", ""), tok("telecom", "", "other", "")}}},
		{"ContactPoint filtered", "Patient",
			`{"resourceType":"Patient","telecom":[{"system":"phone","value":"+32 2 555"},{"system":"email","value":"a@b.eu"}]}`,
			"email", search.Index{Tokens: []search.Token{tok("email", "email", "a@b.eu", "")}}},
		{"code with a required binding", "Patient", `{"resourceType":"Patient","gender":"female"}`,
			"gender", search.Index{Tokens: []search.Token{tok("gender", "http://hl7.org/fhir/administrative-gender", "female", "")}}},
		{"code in a data type", "Patient", `{"resourceType":"Patient","address":[{"use":"home"},{"use":"work"}]}`,
			"address-use", search.Index{Tokens: []search.Token{tok("address-use", "http://hl7.org/fhir/address-use", "home", ""),
				tok("address-use", "http://hl7.org/fhir/address-use", "work", "")}}},
		{"code in a union", "Observation", `{"resourceType":"Observation","status":"final"}`,
			"status", search.Index{Tokens: []search.Token{tok("status", "http://hl7.org/fhir/observation-status", "final", "")}}},
		{"code bound to several systems", "Task", `{"resourceType":"Task","intent":"order"}`,
			"intent", search.Index{Tokens: []search.Token{tok("intent", "", "order", "")}}},
		{"boolean", "Patient", `{"resourceType":"Patient","active":true}`,
			"active", search.Index{Tokens: []search.Token{tok("active", "", "true", "")}}},
		{"computed boolean", "Patient", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01"}`,
			"deceased", search.Index{Tokens: []search.Token{tok("deceased", "", "true", "")}}},
		{"string as token", "Library", `{"resourceType":"Library","version":"1.0.0"}`,
			"version", search.Index{Tokens: []search.Token{tok("version", "", "1.0.0", "")}}},
		{"duplicates removed", "Observation",
			`{"resourceType":"Observation","code":{"coding":[{"system":"s","code":"c"},{"system":"s","code":"c"}]}}`,
			"code", search.Index{Tokens: []search.Token{tok("code", "s", "c", "")}}},
		{"security", "Patient", `{"resourceType":"Patient","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}}`,
			"_security", search.Index{Tokens: []search.Token{tok("_security", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", "")}}},
	})
}

func TestStrings(t *testing.T) {
	str := func(param, exact string) search.String {
		return search.String{Param: param, Value: search.Fold(exact), Exact: exact}
	}
	runCases(t, []extractCase{
		{"HumanName", "Patient",
			`{"resourceType":"Patient","name":[{"family":"Zoë-Müller","given":["Anna","Maria"],"prefix":["Dr."],"suffix":["PhD"],"text":"Dr. Anna Maria Zoë-Müller"}]}`,
			"name", search.Index{Strings: []search.String{str("name", "Zoë-Müller"), str("name", "Anna"), str("name", "Maria"),
				str("name", "Dr."), str("name", "PhD"), str("name", "Dr. Anna Maria Zoë-Müller")}}},
		{"folding", "Patient", `{"resourceType":"Patient","name":[{"family":"  Ÿvès   STRAẞE "}]}`,
			"family", search.Index{Strings: []search.String{{Param: "family", Value: "yves strasse", Exact: "  Ÿvès   STRAẞE "}}}},
		{"Address", "Patient",
			`{"resourceType":"Patient","address":[{"line":["1 Rue Haute","Boîte 2"],"city":"Bruxelles","district":"BXL","state":"BRU","postalCode":"1000","country":"BE","text":"1 Rue Haute"}]}`,
			"address", search.Index{Strings: []search.String{str("address", "1 Rue Haute"), str("address", "Boîte 2"), str("address", "Bruxelles"),
				str("address", "BXL"), str("address", "BRU"), str("address", "1000"), str("address", "BE")}}},
		{"string", "Organization", `{"resourceType":"Organization","name":"Hôpital Erasme","alias":["Erasme"]}`,
			"name", search.Index{Strings: []search.String{str("name", "Hôpital Erasme"), str("name", "Erasme")}}},
		{"markdown", "Questionnaire", `{"resourceType":"Questionnaire","description":"A *form*"}`,
			"description", search.Index{Strings: []search.String{str("description", "A *form*")}}},
		{"given with extension only", "Patient", `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"u","valueString":"x"}]}]}]}`,
			"given", search.Index{Strings: []search.String{str("given", "A")}}},
	})
}

func TestDates(t *testing.T) {
	d := func(param string, lo, hi int64) search.Date { return search.Date{Param: param, Lo: lo, Hi: hi} }
	runCases(t, []extractCase{
		{"date", "Patient", `{"resourceType":"Patient","birthDate":"1974-12-25"}`,
			"birthdate", search.Index{Dates: []search.Date{d("birthdate", ms("1974-12-25T00:00:00Z"), ms("1974-12-26T00:00:00Z"))}}},
		{"year", "Patient", `{"resourceType":"Patient","birthDate":"1974"}`,
			"birthdate", search.Index{Dates: []search.Date{d("birthdate", ms("1974-01-01T00:00:00Z"), ms("1975-01-01T00:00:00Z"))}}},
		{"dateTime with zone", "Observation", `{"resourceType":"Observation","effectiveDateTime":"2024-03-01T10:00:00+02:00"}`,
			"date", search.Index{Dates: []search.Date{d("date", ms("2024-03-01T08:00:00Z"), ms("2024-03-01T08:00:01Z"))}}},
		{"instant", "Observation", `{"resourceType":"Observation","effectiveInstant":"2024-03-01T10:00:00.123Z"}`,
			"date", search.Index{Dates: []search.Date{d("date", ms("2024-03-01T10:00:00.123Z"), ms("2024-03-01T10:00:00.124Z"))}}},
		{"Period", "Encounter", `{"resourceType":"Encounter","period":{"start":"2024-03-01","end":"2024-03-05T12:00:00Z"}}`,
			"date", search.Index{Dates: []search.Date{d("date", ms("2024-03-01T00:00:00Z"), ms("2024-03-05T12:00:01Z"))}}},
		{"open Period", "Encounter", `{"resourceType":"Encounter","period":{"start":"2024-03"}}`,
			"date", search.Index{Dates: []search.Date{d("date", ms("2024-03-01T00:00:00Z"), search.MaxTime)}}},
		{"Period open at start", "Encounter", `{"resourceType":"Encounter","period":{"end":"2024"}}`,
			"date", search.Index{Dates: []search.Date{d("date", search.MinTime, ms("2025-01-01T00:00:00Z"))}}},
		{"Timing", "ServiceRequest",
			`{"resourceType":"ServiceRequest","occurrenceTiming":{"event":["2024-03-02","2024-03-01T09:00:00Z"],"repeat":{"boundsPeriod":{"start":"2024-01-01","end":"2024-12-31"}}}}`,
			"occurrence", search.Index{Dates: []search.Date{d("occurrence", ms("2024-03-01T09:00:00Z"), ms("2024-03-03T00:00:00Z")),
				d("occurrence", ms("2024-01-01T00:00:00Z"), ms("2025-01-01T00:00:00Z"))}}},
		{"string that is not a date", "Immunization", `{"resourceType":"Immunization","occurrenceString":"last spring"}`,
			"date", search.Index{}},
		{"lastUpdated not indexed", "Patient", `{"resourceType":"Patient","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`,
			"_lastUpdated", search.Index{}},
	})
}

func TestNumbersAndQuantities(t *testing.T) {
	q := func(param string, lo, hi float64, system, code, unit, ccode string, clo, chi float64) search.Quantity {
		return search.Quantity{Param: param, Lo: lo, Hi: hi, System: system, Code: code, Unit: unit, CanonicalCode: ccode, CanonicalLo: clo, CanonicalHi: chi}
	}
	const ucum = "http://unitsofmeasure.org"
	runCases(t, []extractCase{
		{"decimal", "RiskAssessment", `{"resourceType":"RiskAssessment","prediction":[{"probabilityDecimal":0.25}]}`,
			"probability", search.Index{Numbers: []search.Number{{Param: "probability", Lo: 0.25, Hi: 0.25}}}},
		{"Range", "RiskAssessment", `{"resourceType":"RiskAssessment","prediction":[{"probabilityRange":{"low":{"value":0.1},"high":{"value":0.3}}},{"probabilityRange":{"low":{"value":0.5}}}]}`,
			"probability", search.Index{Numbers: []search.Number{{Param: "probability", Lo: 0.1, Hi: 0.3}, {Param: "probability", Lo: 0.5, Hi: inf}}}},
		{"integer", "MolecularSequence", `{"resourceType":"MolecularSequence","referenceSeq":{"windowStart":22125500}}`,
			"window-start", search.Index{Numbers: []search.Number{{Param: "window-start", Lo: 22125500, Hi: 22125500}}}},
		{"UCUM Quantity", "Observation", `{"resourceType":"Observation","valueQuantity":{"value":250,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`,
			"value-quantity", search.Index{Quantities: []search.Quantity{q("value-quantity", 250, 250, ucum, "mg", "mg", "g", 0.25, 0.25)}}},
		{"comparator", "Observation", `{"resourceType":"Observation","valueQuantity":{"value":4,"comparator":"<","system":"http://unitsofmeasure.org","code":"g"}}`,
			"value-quantity", search.Index{Quantities: []search.Quantity{q("value-quantity", -inf, 4, ucum, "g", "", "g", -inf, 4)}}},
		{"other system", "Observation", `{"resourceType":"Observation","valueQuantity":{"value":3,"unit":"tablets","system":"http://snomed.info/sct","code":"385055001"}}`,
			"value-quantity", search.Index{Quantities: []search.Quantity{q("value-quantity", 3, 3, "http://snomed.info/sct", "385055001", "tablets", "", 0, 0)}}},
		{"unit only", "Observation", `{"resourceType":"Observation","valueQuantity":{"value":2,"unit":"kg"}}`,
			"value-quantity", search.Index{Quantities: []search.Quantity{q("value-quantity", 2, 2, "", "", "kg", "g", 2000, 2000)}}},
		{"no value", "Observation", `{"resourceType":"Observation","valueQuantity":{"unit":"kg"}}`,
			"value-quantity", search.Index{}},
		{"Age", "Condition", `{"resourceType":"Condition","onsetAge":{"value":3,"unit":"a","system":"http://unitsofmeasure.org","code":"a"}}`,
			"onset-age", search.Index{Quantities: []search.Quantity{q("onset-age", 3, 3, ucum, "a", "a", "s", 3*31557600, 3*31557600)}}},
		{"Range", "Condition", `{"resourceType":"Condition","onsetRange":{"low":{"value":1,"system":"http://unitsofmeasure.org","code":"a"},"high":{"value":2,"system":"http://unitsofmeasure.org","code":"a"}}}`,
			"onset-age", search.Index{Quantities: []search.Quantity{q("onset-age", 1, 2, ucum, "a", "", "s", 31557600, 2*31557600)}}},
		{"Money", "Invoice", `{"resourceType":"Invoice","totalNet":{"value":40.5,"currency":"EUR"}}`,
			"totalnet", search.Index{Quantities: []search.Quantity{q("totalnet", 40.5, 40.5, "urn:iso:std:iso:4217", "EUR", "", "", 0, 0)}}},
		{"Duration", "Encounter", `{"resourceType":"Encounter","length":{"value":90,"system":"http://unitsofmeasure.org","code":"min"}}`,
			"length", search.Index{Quantities: []search.Quantity{q("length", 90, 90, ucum, "min", "", "s", 5400, 5400)}}},
	})
}

func TestReferencesAndURIs(t *testing.T) {
	ref := func(param string, typ fhir.ResourceType, id fhir.ID, version, url string) search.Reference {
		return search.Reference{Param: param, Type: typ, ID: id, Version: version, URL: url}
	}
	runCases(t, []extractCase{
		{"relative", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/p1"}}`,
			"subject", search.Index{References: []search.Reference{ref("subject", "Patient", "p1", "", "")}}},
		{"versioned", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/p1/_history/3"}}`,
			"subject", search.Index{References: []search.Reference{ref("subject", "Patient", "p1", "3", "")}}},
		{"local absolute", "Observation", `{"resourceType":"Observation","subject":{"reference":"` + testBase + `/Patient/p1"}}`,
			"subject", search.Index{References: []search.Reference{ref("subject", "Patient", "p1", "", testBase+"/Patient/p1")}}},
		{"foreign absolute", "Observation", `{"resourceType":"Observation","subject":{"reference":"https://other.example/fhir/Patient/p1"}}`,
			"subject", search.Index{References: []search.Reference{ref("subject", "", "", "", "https://other.example/fhir/Patient/p1")}}},
		{"urn", "Observation", `{"resourceType":"Observation","subject":{"reference":"urn:uuid:0b7c1f38-1c8f-4d24-a0d4-c7c0a1f2a2a1"}}`,
			"subject", search.Index{References: []search.Reference{ref("subject", "", "", "", "urn:uuid:0b7c1f38-1c8f-4d24-a0d4-c7c0a1f2a2a1")}}},
		{"contained and display skipped", "Observation", `{"resourceType":"Observation","subject":{"reference":"#p"},"performer":[{"display":"Dr X"}]}`,
			"subject", search.Index{}},
		{"outside the targets", "Observation", `{"resourceType":"Observation","subject":{"reference":"Practitioner/x"}}`,
			"subject", search.Index{}},
		{"foreign outside the targets", "Observation", `{"resourceType":"Observation","subject":{"reference":"https://other.example/fhir/Practitioner/x"}}`,
			"subject", search.Index{}},
		{"not a reference", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient?identifier=x"}}`,
			"subject", search.Index{}},
		{"patient from subject", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/p1"}}`,
			"patient", search.Index{References: []search.Reference{ref("patient", "Patient", "p1", "", "")}}},
		{"patient not from a group", "Observation", `{"resourceType":"Observation","subject":{"reference":"Group/g"}}`,
			"patient", search.Index{}},
		{"identifier", "Observation", `{"resourceType":"Observation","subject":{"identifier":{"system":"urn:s","value":"42"}}}`,
			"subject:identifier", search.Index{Tokens: []search.Token{{Param: "subject:identifier", System: "urn:s", Code: "42"}}}},
		{"canonical", "RequestGroup", `{"resourceType":"RequestGroup","instantiatesCanonical":["http://example.org/PlanDefinition/kdn5|1.2","PlanDefinition/p"]}`,
			"instantiates-canonical", search.Index{References: []search.Reference{
				ref("instantiates-canonical", "", "", "1.2", "http://example.org/PlanDefinition/kdn5"),
				ref("instantiates-canonical", "PlanDefinition", "p", "", "")}}},
		{"resource in place", "Bundle", `{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Composition","id":"c1"}}]}`,
			"composition", search.Index{References: []search.Reference{ref("composition", "Composition", "c1", "", "")}}},
		{"uri", "Questionnaire", `{"resourceType":"Questionnaire","url":"http://example.org/Questionnaire/q"}`,
			"url", search.Index{URIs: []search.URI{{Param: "url", Value: "http://example.org/Questionnaire/q"}}}},
		{"profile", "Patient", `{"resourceType":"Patient","meta":{"profile":["https://cpms.example/StructureDefinition/cpms-patient"]}}`,
			"_profile", search.Index{URIs: []search.URI{{Param: "_profile", Value: "https://cpms.example/StructureDefinition/cpms-patient"}}}},
		{"source", "Patient", `{"resourceType":"Patient","meta":{"source":"urn:ehr:1"}}`,
			"_source", search.Index{URIs: []search.URI{{Param: "_source", Value: "urn:ehr:1"}}}},
	})
}

func TestComposites(t *testing.T) {
	tokPart := func(system, code string) search.Part {
		return search.Part{Token: &search.Token{Param: "code-value-quantity", System: system, Code: code}}
	}
	qtyPart := func(v float64) search.Part {
		return search.Part{Quantity: &search.Quantity{Param: "code-value-quantity", Lo: v, Hi: v, System: "http://unitsofmeasure.org",
			Code: "kg", CanonicalCode: "g", CanonicalLo: v * 1000, CanonicalHi: v * 1000}}
	}
	runCases(t, []extractCase{
		{"one per coding", "Observation",
			`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"},{"system":"urn:x","code":"w"}],"text":"Weight"},"valueQuantity":{"value":70,"system":"http://unitsofmeasure.org","code":"kg"}}`,
			"code-value-quantity", search.Index{Composites: []search.Composite{
				{Param: "code-value-quantity", Parts: []search.Part{tokPart("http://loinc.org", "29463-7"), qtyPart(70)}},
				{Param: "code-value-quantity", Parts: []search.Part{tokPart("urn:x", "w"), qtyPart(70)}}}}},
		{"component missing", "Observation",
			`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"valueString":"x"}`,
			"code-value-quantity", search.Index{}},
		{"relationship", "DocumentReference",
			`{"resourceType":"DocumentReference","relatesTo":[{"code":"replaces","target":{"reference":"DocumentReference/d0"}},{"code":"appends"}]}`,
			"relationship", search.Index{Composites: []search.Composite{{Param: "relationship", Parts: []search.Part{
				{Reference: &search.Reference{Param: "relationship", Type: "DocumentReference", ID: "d0"}},
				{Token: &search.Token{Param: "relationship", System: "http://hl7.org/fhir/document-relationship-type", Code: "replaces"}}}}}}},
	})
}

func TestComponentRoots(t *testing.T) {
	x := New(search.NewTable(), Options{})
	idx, err := x.Extract("Observation", []byte(`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
	"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":107,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
	{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":60,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, param := range []string{"component-code-value-quantity", "combo-code-value-quantity"} {
		got := only(idx, param).Composites
		if len(got) != 2 || got[0].Parts[0].Token.Code != "8480-6" || got[0].Parts[1].Quantity.Lo != 107 ||
			got[1].Parts[0].Token.Code != "8462-4" || got[1].Parts[1].Quantity.Lo != 60 {
			t.Errorf("%s = %+v", param, got)
		}
	}
	if got := only(idx, "code-value-quantity").Composites; len(got) != 0 {
		t.Errorf("code-value-quantity without a value = %+v", got)
	}
}

func TestNotIndexed(t *testing.T) {
	x := New(search.NewTable(), Options{})
	idx, err := x.Extract("Patient", []byte(`{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"text":{"status":"generated","div":"<div>x</div>"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"_id", "_lastUpdated", "_text", "_content"} {
		if got := only(idx, p); !reflect.DeepEqual(got, search.Index{}) {
			t.Errorf("%s indexed: %+v", p, got)
		}
	}
}

func TestErrors(t *testing.T) {
	tb := search.NewTable()
	if err := tb.Add(&search.Param{Code: "broken", URL: "urn:broken", Type: search.TypeString,
		Base: []fhir.ResourceType{"Patient"}, Expression: "Patient.name.family.single()"}); err != nil {
		t.Fatal(err)
	}
	x := New(tb, Options{})
	for _, body := range []string{`{"resourceType":"Observation"}`, `{"resourceType":`, `[]`} {
		if idx, err := x.Extract("Patient", []byte(body)); !fhir.IsKind(err, fhir.KindInternal) || idx != nil {
			t.Errorf("%s: %v, %v", body, idx, err)
		}
	}
	idx, err := x.Extract("Patient", []byte(`{"resourceType":"Patient","name":[{"family":"A"},{"family":"B"}]}`))
	var pe *ParamError
	if !fhir.IsKind(err, fhir.KindInternal) || !errors.As(err, &pe) || pe.Param != "broken" {
		t.Fatalf("err = %v", err)
	}
	if idx == nil || len(only(idx, "family").Strings) != 2 {
		t.Errorf("the other parameters were not extracted: %+v", idx)
	}
	if !strings.Contains(err.Error(), "broken") {
		t.Errorf("error %q does not name the parameter", err)
	}
}

func TestCustomParameters(t *testing.T) {
	tb := search.NewTable()
	x := New(tb, Options{})
	body := []byte(`{"resourceType":"Patient","identifier":[{"system":"https://cpms.example/id","value":"ERN-BE10-EuroBloodNet-006"}]}`)
	if _, err := x.Extract("Patient", body); err != nil {
		t.Fatal(err)
	}
	p, err := tb.ParamFromResource([]byte(cpmsIDParam))
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Add(p); err != nil {
		t.Fatal(err)
	}
	idx, err := x.Extract("Patient", body)
	if err != nil {
		t.Fatal(err)
	}
	want := []search.Token{{Param: "cpms-id", System: "https://cpms.example/id", Code: "ERN-BE10-EuroBloodNet-006"}}
	if got := only(idx, "cpms-id").Tokens; !reflect.DeepEqual(got, want) {
		t.Errorf("cpms-id = %+v", got)
	}
	tb.Remove(p.URL)
	idx, _ = x.Extract("Patient", body)
	if got := only(idx, "cpms-id").Tokens; len(got) != 0 {
		t.Errorf("cpms-id after Remove = %+v", got)
	}
}

const cpmsIDParam = `{"resourceType":"SearchParameter","url":"https://cpms.example/SearchParameter/cpms-id",
"name":"cpms-id","status":"active","code":"cpms-id","base":["Patient"],"type":"token",
"expression":"Patient.identifier.where(system = 'https://cpms.example/id')"}`

// TestConcurrentExtract extracts from several goroutines while custom
// parameters come and go (run with -race).
func TestConcurrentExtract(t *testing.T) {
	tb := search.NewTable()
	x := New(tb, Options{Base: testBase})
	bodies := map[fhir.ResourceType]string{
		"Patient":     `{"resourceType":"Patient","name":[{"family":"A"}],"gender":"male","birthDate":"2000"}`,
		"Observation": `{"resourceType":"Observation","code":{"coding":[{"system":"s","code":"c"}]},"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"mg"},"subject":{"reference":"Patient/a"}}`,
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				for rt, body := range bodies {
					if _, err := x.Extract(rt, []byte(body)); err != nil {
						t.Error(err)
						return
					}
				}
				if g == 0 && i%20 == 0 {
					url := "urn:custom:" + strconv.Itoa(i)
					p := &search.Param{Code: "c" + strconv.Itoa(i), URL: url, Type: search.TypeString,
						Base: []fhir.ResourceType{"Patient"}, Expression: "Patient.name.family"}
					if err := tb.Add(p); err != nil {
						t.Error(err)
					}
					if i%40 == 0 {
						tb.Remove(url)
					}
				}
			}
		}()
	}
	wg.Wait()
}
