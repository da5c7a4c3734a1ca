package extract

import (
	"reflect"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestDecodeMatchesEncodingJSON checks that the fast decoder gives what
// encoding/json with UseNumber gives, on every R4 example and on the
// corners of the JSON grammar.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, ` {"a" : [ 1 , -2.50e+3 , 0 , true , false , null , {} , [] ] } `,
		`{"s":"plain","e":"tab\tquote\" slash\/ back\\ nl\n","u":"\u00e9\u4e2d\ud83d\ude00","lone":"\ud83d x","bad":"\udc00"}`,
		`{"utf8":"Zoë 中文 😀","ctl":"a\u0000b"}`,
		`{"dup":1,"dup":2}`,
		`{"deep":[[[[[[{"x":[1]}]]]]]]}`,
		// Malformed or unusual: the fallback must give encoding/json's answer.
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":"x` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		`{"a":"` + "\xff\xfe" + `"}`, `{"a":1}{"b":2}`, `[1]`, `"s"`, `null`, `{"a":tru}`, `{"a" 1}`, `{"a":1,}`, ``, `{`,
	}
	for _, c := range cases {
		check(t, c, []byte(c))
	}
	check(t, "Patient", testfixture.Patient)
	for _, ex := range loadExamples(t) {
		check(t, ex.name, ex.body)
	}
}

func check(t *testing.T, name string, body []byte) {
	t.Helper()
	got, gotErr := fhir.DecodeJSON(body)
	want, wantErr := fhir.DecodeJSONStd(body)
	if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, %v; want %v, %v", name, got, gotErr, want, wantErr)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x\u00e9",{"b":null}]}`))
	f.Add(testfixture.Patient)
	f.Fuzz(func(t *testing.T, body []byte) {
		check(t, "fuzz", body)
	})
}

func BenchmarkDecode(b *testing.B) {
	b.SetBytes(int64(len(testfixture.Patient)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fhir.DecodeJSON(testfixture.Patient); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	b.SetBytes(int64(len(testfixture.Patient)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fhir.DecodeJSONStd(testfixture.Patient); err != nil {
			b.Fatal(err)
		}
	}
}
