package validate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func decodeStd(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	err := d.Decode(&m)
	return m, err
}

// TestDecodeMatchesEncodingJSON checks that the decoder gives what
// encoding/json gives with UseNumber, on every R4 example and on escapes,
// numbers and malformed input.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `{"a":[]}`, ` {"a" : [1, -2.50, 3e5, 0.1E-2, true, false, null, {"b": {}}]} `,
		`{"s":"tab\there \"q\" \\ \/ \u00e9 \ud83d\ude00 \ud800 x \u0041"}`,
		`{"s":"é日本"}`, `{"a":1,"a":2}`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":"x`, `{"a":1,}`, `[1]`, `{"a":1} x`, `{"a":"\x"}`, `{"a":tru}`,
		"{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
	}
	for _, c := range cases {
		want, werr := decodeStd([]byte(c))
		got, gerr := decodeResource([]byte(c))
		if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; want %#v, %v", c, got, gerr, want, werr)
		}
	}
	sharedDir(t)
	all, err := examplesOnce()
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range all {
		want, werr := decodeStd(body)
		got, gerr := decodeResource(body)
		if werr != nil || gerr != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the decoders differ (%v, %v)", name, gerr, werr)
		}
	}
}
