package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestRewriteLinks(t *testing.T) {
	links := map[string]string{"urn:uuid:p": "Patient/1", "urn:uuid:q": "Questionnaire/2", "urn:oid:1.2.3": "Binary/3",
		"http://other.org/fhir/Practitioner/x": "Practitioner/4"}
	link := func(kind linkKind, v string) (string, bool, error) {
		if to, ok := links[v]; ok {
			return to, true, nil
		}
		if kind == linkReference && isConditionalRef(v) {
			return "Organization/5", true, nil
		}
		return "", false, nil
	}
	in := `{"resourceType":"QuestionnaireResponse","questionnaire":"urn:uuid:q","status":"completed",
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"urn:uuid:p\">p</a><img src=\"urn:oid:1.2.3\"/><a href=\"urn:uuid:none\">n</a></div>"},
		"identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:p"},
		"subject":{"reference":"urn:uuid:p","display":"urn:uuid:p"},
		"author":{"reference":"http://other.org/fhir/Practitioner/x"},
		"source":{"reference":"Organization?identifier=urn:o|1"},
		"contained":[{"id":"c","name":[{"family":"X"}],"managingOrganization":{"reference":"urn:uuid:p"},"resourceType":"Patient"}],
		"extension":[{"url":"urn:uuid:p","valueReference":{"reference":"urn:uuid:p"}},{"url":"http://e.org","valueUri":"urn:oid:1.2.3"},{"url":"http://e.org","valueString":"urn:uuid:p"},{"url":"http://e.org","valueString":"q\"uote\\ <b>&amp;</b>\n\t\r\u0001 é ☃"}],
		"item":[{"linkId":"1","answer":[{"valueAttachment":{"url":"urn:oid:1.2.3"},"item":[{"linkId":"1.1","answer":[{"valueReference":{"reference":"urn:uuid:p"}}]}]}]}],
		"_status":{"extension":[{"url":"http://e.org","valueCanonical":"urn:uuid:q"}]}}`
	out, changed, err := rewriteLinks([]byte(in), "QuestionnaireResponse", link)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	want := map[string]any{}
	json.Unmarshal([]byte(in), &want)
	set := func(v string, path ...any) {
		var cur any = want
		for i, p := range path {
			last := i == len(path)-1
			switch k := p.(type) {
			case string:
				if last {
					cur.(map[string]any)[k] = v
				} else {
					cur = cur.(map[string]any)[k]
				}
			case int:
				if last {
					cur.([]any)[k] = v
				} else {
					cur = cur.([]any)[k]
				}
			}
		}
	}
	set("Questionnaire/2", "questionnaire")
	set(`<div xmlns="http://www.w3.org/1999/xhtml"><a href="Patient/1">p</a><img src="Binary/3"/><a href="urn:uuid:none">n</a></div>`, "text", "div")
	set("Patient/1", "subject", "reference")
	set("Practitioner/4", "author", "reference")
	set("Organization/5", "source", "reference")
	set("Patient/1", "contained", 0, "managingOrganization", "reference")
	set("Patient/1", "extension", 0, "url") // Extension.url is a uri
	set("Patient/1", "extension", 0, "valueReference", "reference")
	set("Binary/3", "extension", 1, "valueUri")
	set("Binary/3", "item", 0, "answer", 0, "valueAttachment", "url")
	set("Patient/1", "item", 0, "answer", 0, "item", 0, "answer", 0, "valueReference", "reference")
	set("Questionnaire/2", "_status", "extension", 0, "valueCanonical")
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
	// Nothing to replace: unchanged.
	if _, changed, err := rewriteLinks([]byte(`{"resourceType":"Patient","name":[{"family":"urn:uuid:p"}]}`), "Patient", link); err != nil || changed {
		t.Errorf("a string that is not a link was replaced (%v, %v)", changed, err)
	}
}

// TestRewriteLinksMalformed: every prefix of a resource, and a few broken
// documents, give an error or a result, never a panic; a body with nothing
// to replace comes back as it is.
func TestRewriteLinksMalformed(t *testing.T) {
	link := func(kind linkKind, v string) (string, bool, error) { return "Patient/1", v == "urn:uuid:p", nil }
	body := `{"resourceType":"Observation", "contained":[{"resourceType":"Patient","id":"c"}],
		"subject":{"reference":"urn:uuid:\u0070"},"valueQuantity":{"value":-1.5e3},"status":"final","text":{"div":"<a href=\"urn:uuid:p\">x</a>"}}`
	out, changed, err := rewriteLinks([]byte(body), "Observation", link)
	if err != nil || !changed || strings.Contains(string(out), "urn:uuid:p\"") || !strings.Contains(string(out), `"reference":"Patient/1"`) {
		t.Errorf("escaped link: changed %v, err %v, %s", changed, err, out)
	}
	for n := range len(body) {
		rewriteLinks([]byte(body[:n]), "Observation", link) // must not panic
	}
	for _, bad := range []string{`{"a":}`, `{"a" 1}`, `{"a":1,}`, `[1,2`, `{"a":"\`, `{"subject":{"reference":"urn:uuid:p"}} x`} {
		if _, _, err := rewriteLinks([]byte(bad), "Observation", link); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	plain := []byte(`{ "resourceType" : "Patient", "name" : [ { "family" : "urn:uuid:p" } ] }`)
	got, changed, err := rewriteLinks(plain, "Patient", link)
	if err != nil || changed || &got[0] != &plain[0] {
		t.Errorf("nothing to replace: changed %v, err %v, copied %v", changed, err, &got[0] != &plain[0])
	}
}
