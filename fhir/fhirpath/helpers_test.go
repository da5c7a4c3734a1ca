package fhirpath

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// sharedDataDir returns the shared test corpora folder, or skips the test
// when it is absent.
func sharedDataDir(t testing.TB) string {
	t.Helper()
	return testfixture.SharedData(t)
}

// decodeJSON decodes FHIR JSON the way the server does (numbers as json.Number).
func decodeJSON(t testing.TB, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readJSONFile(t testing.TB, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, data)
}
