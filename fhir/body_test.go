package fhir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPrepareRender(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 20, 30, 456_000_000, time.UTC)
	tests := []struct {
		name, in string
		id       ID
		version  int64
		want     string
		bodyID   ID
	}{
		{
			name:    "adds id and meta after resourceType, keeps the rest in order",
			in:      `{"resourceType":"Patient","name":[{"family":"Chalmers"}],"active":true}`,
			id:      "p1",
			version: 1,
			want:    `{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2024-03-01T10:20:30.456Z"},"name":[{"family":"Chalmers"}],"active":true}`,
		},
		{
			name:    "replaces the client's id, versionId and lastUpdated, keeps other meta",
			in:      " {\n \"active\" : false, \"id\":\"x\", \"resourceType\":\"Patient\", \"meta\":{\"versionId\":\"9\",\"profile\":[\"http://p\"],\"lastUpdated\":\"2000-01-01T00:00:00Z\",\"tag\":[{\"code\":\"t\"}]}}",
			id:      "p2",
			version: 7,
			bodyID:  "x",
			want:    `{"resourceType":"Patient","id":"p2","meta":{"versionId":"7","lastUpdated":"2024-03-01T10:20:30.456Z","profile":["http://p"],"tag":[{"code":"t"}]},"active":false}`,
		},
		{
			name: "keeps numbers and unicode exactly",
			in:   `{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"µg"},"note":[{"text":"Sj\u00f6gren"}]}`,
			id:   "o", version: 2,
			want: `{"resourceType":"Observation","id":"o","meta":{"versionId":"2","lastUpdated":"2024-03-01T10:20:30.456Z"},"valueQuantity":{"value":1.50,"unit":"µg"},"note":[{"text":"Sj\u00f6gren"}]}`,
		},
		{
			name: "no version renders no server meta",
			in:   `{"resourceType":"Basic","meta":{"versionId":"3"}}`,
			id:   "b",
			want: `{"resourceType":"Basic","id":"b"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Issues) > 0 {
				t.Fatalf("unexpected issues: %+v", p.Issues)
			}
			if p.ID != tt.bodyID {
				t.Errorf("ID = %q, want %q", p.ID, tt.bodyID)
			}
			got := string(p.Render(tt.id, tt.version, at))
			if got != tt.want {
				t.Errorf("Render:\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("Render produced invalid JSON")
			}
		})
	}
}

func TestSameContent(t *testing.T) {
	at := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	p, err := Prepare([]byte(`{"resourceType":"Patient","id":"a","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	stored := &Resource{Type: "Patient", ID: "a", Version: 4, LastUpdated: at, Body: p.Render("a", 4, at)}
	again, _ := Prepare([]byte(`{"meta":{"versionId":"1"},"active":true,"resourceType":"Patient","id":"a"}`))
	if !again.SameContent(stored) {
		t.Error("same content with other meta and order: SameContent = false")
	}
	other, _ := Prepare([]byte(`{"resourceType":"Patient","id":"a","active":false}`))
	if other.SameContent(stored) {
		t.Error("different content: SameContent = true")
	}
	if p.SameContent(&Resource{Type: "Patient", ID: "a", Version: 5, Deleted: true}) {
		t.Error("a deletion has the same content as a resource")
	}
}

func TestPrepareErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // a word of the diagnostics
	}{
		{"malformed", `{"resourceType":"Patient",`, "not valid JSON"},
		{"array", `[{"resourceType":"Patient"}]`, "JSON object"},
		{"no type", `{"id":"a"}`, "resourceType"},
		{"type not a string", `{"resourceType":1}`, "resourceType"},
		{"id not a string", `{"resourceType":"Patient","id":1}`, "id must be a string"},
		{"meta not an object", `{"resourceType":"Patient","meta":[]}`, "meta must be"},
		{"trailing data", `{"resourceType":"Patient"} {}`, "not valid JSON"},
		{"position", "{\n  \"resourceType\": \"Patient\",\n  \"active\": tru\n}", "line 3, column 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prepare([]byte(tt.in))
			if KindOf(err) != KindInvalid {
				t.Fatalf("kind = %v (%v), want KindInvalid", KindOf(err), err)
			}
			if !strings.Contains(string(Outcome(err.(*Error).Issues)), tt.want) {
				t.Errorf("outcome %s does not mention %q", Outcome(err.(*Error).Issues), tt.want)
			}
		})
	}
}

func TestJSONRules(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // expressions of the issues, in document order
	}{
		{"clean", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"g"}]}],"_birthDate":{"extension":[{"url":"u","valueString":"x"}]}}`, nil},
		{"null without partner", `{"resourceType":"Patient","name":[null,{"given":[null,"b"],"_family":{"id":"f"}}]}`, []string{"Patient.name[1].given", "Patient.name"}},
		{"duplicate top-level", `{"resourceType":"Patient","active":true,"active":false}`, []string{"Patient.active"}},
		{"duplicate nested", `{"resourceType":"Patient","name":[{"family":"a"},{"family":"b","family":"c"}]}`, []string{"Patient.name[1].family"}},
		{"empty string", `{"resourceType":"Patient","name":[{"given":["a",""]}]}`, []string{"Patient.name[0].given[1]"}},
		{"empty array", `{"resourceType":"Patient","name":[]}`, []string{"Patient.name"}},
		{"empty object", `{"resourceType":"Patient","name":[{}]}`, []string{"Patient.name[0]"}},
		{"null property", `{"resourceType":"Patient","gender":null}`, []string{"Patient.gender"}},
		{"several", `{"resourceType":"Patient","gender":null,"name":[],"text":{"div":""}}`, []string{"Patient.gender", "Patient.name", "Patient.text.div"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, is := range p.Issues {
				if is.Severity != SeverityError {
					t.Errorf("issue %+v is not an error", is)
				}
				got = append(got, is.Expression...)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("issues at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJSONRulesBounded(t *testing.T) {
	in := `{"resourceType":"Patient","name":[` + strings.Repeat(`{},`, 1000) + `{}]}`
	p, err := Prepare([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Issues) != maxIssues {
		t.Errorf("%d issues, want the cap %d", len(p.Issues), maxIssues)
	}
}

func TestIDValid(t *testing.T) {
	for id, want := range map[ID]bool{
		"a": true, "A-1.b": true, ID(strings.Repeat("x", 64)): true,
		"": false, ID(strings.Repeat("x", 65)): false, "a_b": false, "a/b": false, "a b": false, "é": false,
	} {
		if id.Valid() != want {
			t.Errorf("ID(%q).Valid() = %v", id, !want)
		}
	}
}

func BenchmarkPrepareRender(b *testing.B) {
	body := []byte(`{"resourceType":"Patient","id":"x","meta":{"versionId":"1","profile":["http://p"]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` +
		strings.Repeat("Peter James Chalmers ", 90) + `</div>"},"identifier":[{"use":"usual","system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345"}],"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],"gender":"male","birthDate":"1974-12-25"}`)
	at := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := Prepare(body)
		if err != nil {
			b.Fatal(err)
		}
		p.Render("x", 2, at)
	}
}

func TestPrepareDepthLimit(t *testing.T) {
	deep := `{"resourceType":"Basic","extension":` + strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth) + `}`
	if _, err := Prepare([]byte(deep)); KindOf(err) != KindInvalid || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("deep nesting: %v", err)
	}
	ok := `{"resourceType":"Basic","extension":` + strings.Repeat(`[`, maxDepth-2) + `1` + strings.Repeat(`]`, maxDepth-2) + `}`
	if _, err := Prepare([]byte(ok)); err != nil {
		t.Errorf("nesting within the limit: %v", err)
	}
}

func TestJSONRulesEscapedKeys(t *testing.T) {
	p, err := Prepare([]byte(`{"resourceType":"Patient","active":true,"act\u0069ve":false,"gender":"x\"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Issues) != 1 || p.Issues[0].Expression[0] != "Patient.active" {
		t.Errorf("issues %+v, want one duplicate at Patient.active", p.Issues)
	}
}

func TestPrepareManyKeys(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"resourceType":"Basic"`)
	for i := range 100 {
		sb.WriteString(`,"k` + strconv.Itoa(i) + `":1`)
	}
	sb.WriteString(`,"k7":2}`)
	p, err := Prepare([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Issues) != 1 || p.Issues[0].Expression[0] != "Basic.k7" {
		t.Errorf("issues %+v, want one duplicate at Basic.k7", p.Issues)
	}
}

func TestMember(t *testing.T) {
	body := []byte(`{"resourceType":"Patient","id":"a","meta":{"versionId":"1"},"identifier":[{"value":"x"}],"a\"b":1,"active":true}`)
	for key, want := range map[string]string{
		"resourceType": `"Patient"`, "meta": `{"versionId":"1"}`, "identifier": `[{"value":"x"}]`,
		"active": `true`, "versionId": ``, "missing": ``, `a\"b`: `1`,
	} {
		if got := string(Member(body, key)); got != want {
			t.Errorf("Member(%q) = %q, want %q", key, got, want)
		}
	}
	if Member([]byte(`[]`), "a") != nil || Member(nil, "a") != nil {
		t.Error("Member of a non-object")
	}
}

// FuzzCompact checks that compact accepts exactly the documents
// encoding/json.Compact accepts and gives the same bytes: Prepare's answer
// to malformed JSON must not depend on which compacter runs. The seeds,
// run by every go test, are the edge cases of the JSON grammar; go test
// -fuzz FuzzCompact ./fhir/ explores further.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient"}`, " {\n \"a\" : [ 1 , 2.5e3 , -0.1 , \"x\\u00e9\\n\" ] }\t",
		`{"a":{"b":[true,false,null]}}`, `[]`, `{}`, `""`, `0`, `-0`, `1E+2`, `1e-7`,
		`"\ud800"`, `"\/"`, "\"\u2028\u2029\"", "\"\xff\"", `{"a":1,"a":2}`,
		// refused
		`01`, `1.`, `.5`, `+1`, `1e`, `-`, `0x10`, `NaN`, `tru`, `nul`, `[`, `{"a":1,}`, `[1,]`,
		`{"a" 1}`, `[1 2]`, `{"a":1}x`, `{} {}`, "\"\x01\"", `"\x"`, `"\u12"`, `'a'`, `{a:1}`, ``, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want bytes.Buffer
		stdErr := json.Compact(&want, in)
		got, ok := compact(in)
		if ok != (stdErr == nil) {
			t.Fatalf("compact(%q) ok = %v; encoding/json: %v", in, ok, stdErr)
		}
		if ok && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compact(%q) = %q, encoding/json gives %q", in, got, want.Bytes())
		}
	})
}

func TestCompactKeepsInput(t *testing.T) {
	in := []byte(`{ "a" : 1 }`)
	if got, ok := compact(in); !ok || string(got) != `{"a":1}` {
		t.Fatalf("compact = %q, %v", got, ok)
	}
	if string(in) != `{ "a" : 1 }` {
		t.Errorf("the caller's bytes changed: %q", in)
	}
}
