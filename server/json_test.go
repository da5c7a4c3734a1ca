package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestFHIRJSONForms stores forms of FHIR JSON that parsers often get wrong
// and checks they come back as sent.
func TestFHIRJSONForms(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ext := `{"extension":[{"url":"http://example.org/x","valueString":"y"}]}`
	forms := []struct{ name, members string }{
		{"primitive with an extension", `"birthDate":"1970-01-01","_birthDate":` + ext},
		{"primitive with only an extension", `"_birthDate":` + ext},
		{"repeating primitive, extensions only", `"name":[{"_given":[` + ext + `]}]`},
		{"decimal literals", `"extension":[{"url":"http://example.org/d","valueDecimal":1.500},{"url":"http://example.org/e","valueDecimal":1e2},` +
			`{"url":"http://example.org/f","valueDecimal":-0.000000000000000000001}]`},
		{"escapes and non-ASCII", `"name":[{"family":"M\u00fcller \"\\/\" \u2603 ñ 中"}]`},
		{"contained resource", `"contained":[{"resourceType":"Organization","id":"o1","name":"Centre"}],"managingOrganization":{"reference":"#o1"}`},
		{"choice type", `"deceasedDateTime":"2020-02-29T10:00:00+01:00"`},
	}
	for i, f := range forms {
		id := "form" + string(rune('a'+i))
		body := `{"resourceType":"Patient","id":"` + id + `",` + f.members + `}`
		r := ts.do(http.MethodPut, "/fhir/Patient/"+id, body)
		if r.Status != http.StatusCreated {
			t.Errorf("%s: status %d: %s", f.name, r.Status, r.Body)
			continue
		}
		r = ts.do(http.MethodGet, "/fhir/Patient/"+id, nil)
		if !strings.HasSuffix(string(r.Body), "},"+f.members+"}") {
			t.Errorf("%s: stored as %s", f.name, r.Body)
		}
	}
}

// TestNullPaddedPrimitiveArrays covers the FHIR JSON form of a repeating
// primitive whose repetitions carry extensions: two arrays aligned with
// nulls (http://hl7.org/fhir/R4/json.html#primitive). They are stored as
// sent; a null in an array without a partner array is refused.
func TestNullPaddedPrimitiveArrays(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ext := `{"extension":[{"url":"http://example.org/x","valueString":"y"}]}`
	bodies := map[string]string{
		"n1": `"name":[{"given":["a","b"],"_given":[null,` + ext + `]}]`,
		"n2": `"name":[{"given":["a",null],"_given":[null,` + ext + `]}]`,
	}
	for id, members := range bodies {
		r := ts.do(http.MethodPut, "/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`",`+members+`}`)
		if r.Status != http.StatusCreated {
			t.Errorf("%s: status %d: %s", id, r.Status, r.Body)
			continue
		}
		r = ts.do(http.MethodGet, "/fhir/Patient/"+id, nil)
		if !strings.HasSuffix(string(r.Body), "},"+members+"}") {
			t.Errorf("%s: stored as %s", id, r.Body)
		}
	}
	r := ts.do(http.MethodPut, "/fhir/Patient/n3", `{"resourceType":"Patient","id":"n3","name":[{"given":["a",null]}]}`)
	if r.Status != http.StatusBadRequest || !strings.Contains(firstIssue(r), "_given") {
		t.Errorf("null without a partner array: %d %s", r.Status, r.Body)
	}
}
