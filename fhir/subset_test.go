package fhir

import (
	"encoding/json"
	"testing"
)

func TestSubset(t *testing.T) {
	keep := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, x := range names {
				if x == n {
					return true
				}
			}
			return false
		}
	}
	const tag = SubsettedTag
	for _, tc := range []struct{ in, want string }{
		{`{"resourceType":"Patient","id":"a","meta":{"versionId":"1"},"text":{"div":"x"},"birthDate":"2000","_birthDate":{"id":"b"},"active":true}`,
			`{"resourceType":"Patient","id":"a","meta":{"versionId":"1","tag":[` + tag + `]},"birthDate":"2000","_birthDate":{"id":"b"}}`},
		{`{"resourceType":"Patient","id":"a","meta":{"tag":[{"code":"x"}]},"active":true}`,
			`{"resourceType":"Patient","id":"a","meta":{"tag":[{"code":"x"},` + tag + `]}}`},
		{`{"resourceType":"Patient","id":"a","active":true}`,
			`{"resourceType":"Patient","id":"a","meta":{"tag":[` + tag + `]}}`},
	} {
		got := string(Subset([]byte(tc.in), keep("birthDate")))
		if got != tc.want {
			t.Errorf("Subset(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON %s", got)
		}
	}
}
