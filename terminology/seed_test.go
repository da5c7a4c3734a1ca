package terminology

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoadSeed loads the embedded seed and checks each terminology CPMS
// ships is there, whole, with its hierarchy, synonyms and translations.
func TestLoadSeed(t *testing.T) {
	start := time.Now()
	s := New()
	if err := LoadSeed(s); err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	t.Logf("seed loaded in %v, %d systems, heap %d MB", loaded, len(s.Systems()), m.HeapAlloc>>20)
	for _, tc := range []struct {
		url          string
		min          int
		code, parent string
	}{
		{HPOURL, 19934, "HP:0001250", "HP:0012638"},
		{OrphaURL, 9960, "ORPHA:558", "ORPHA:285014"},
		{ICD10URL, 14158, "G40.9", "G40"},
		{LOINCURL, 7869, "8302-2", ""},
		{ICCC3URL, 140, "Ia", "I"},
		{"http://hl7.org/fhir/administrative-gender", 4, "female", ""},
		{"http://terminology.hl7.org/CodeSystem/v3-ActCode", 100, "AMB", ""},
	} {
		sys, ok := s.System(tc.url, "")
		if !ok {
			t.Errorf("%s is not in the seed", tc.url)
			continue
		}
		if sys.Len() < tc.min || !sys.Has(tc.code) {
			t.Errorf("%s: %d concepts (want at least %d), has %s: %v", tc.url, sys.Len(), tc.min, tc.code, sys.Has(tc.code))
		}
		if tc.parent == "" {
			continue
		}
		if got, err := s.Subsumes(tc.url, "", tc.parent, tc.code); err != nil || got != Subsumes {
			t.Errorf("%s: %s subsumes %s: %s %v", tc.url, tc.parent, tc.code, got, err)
		}
	}
	if r, err := s.Lookup(ICD10URL, "", "G40.9", "fr", nil); err != nil || r.Display != "Épilepsie, sans précision" {
		t.Errorf("G40.9 in French: %+v %v", r, err)
	}
	if r, err := s.Lookup(OrphaURL, "", "ORPHA:558", "", nil); err != nil || r.Display != "Marfan syndrome" || len(r.Designations) == 0 {
		t.Errorf("ORPHA:558: %+v %v", r, err)
	}
	vs, err := s.Expand(ExpandRequest{URL: OrphaURL + "?fhir_vs", Filter: "marfan", Count: 5, CountSet: true})
	if err != nil || len(vs.Expansion.Contains) == 0 || vs.Expansion.Contains[0].Code != "ORPHA:558" {
		t.Errorf("type-ahead marfan: %+v %v", vs, err)
	}
	// A page of a type-ahead with thousands of matches is the head of the
	// whole ranking.
	page, err1 := s.Expand(ExpandRequest{URL: HPOURL + "?fhir_vs", Filter: "abn", Offset: 5, Count: 20, CountSet: true})
	whole, err2 := s.Expand(ExpandRequest{URL: HPOURL + "?fhir_vs", Filter: "abn"})
	if err1 != nil || err2 != nil || *page.Expansion.Total != len(whole.Expansion.Contains) || *page.Expansion.Total < 1000 {
		t.Fatalf("abn: %v %v", err1, err2)
	}
	for i, c := range page.Expansion.Contains {
		if w := whole.Expansion.Contains[5+i]; c.Code != w.Code {
			t.Errorf("abn, offset 5: hit %d is %s, the whole ranking has %s", i, c.Code, w.Code)
		}
	}
	m2, err := s.Translate(TranslateRequest{System: OrphaURL, Code: "ORPHA:558", TargetSystem: ICD10URL})
	if err != nil || len(m2) == 0 || m2[0].Concept.Code != "Q87.4" {
		t.Errorf("ORPHA:558 to ICD-10: %+v %v", m2, err)
	}
	m2, err = s.Translate(TranslateRequest{System: OrphaURL, Code: "ORPHA:558", TargetSystem: HPOURL})
	if err != nil || len(m2) < 10 || m2[0].Concept.Display == "" {
		t.Errorf("ORPHA:558 phenotypes: %d %v", len(m2), err)
	}
}

// TestEachResource reads the resources of a Bundle (whatever the order of
// an entry's members), of a lone resource, and refuses what is neither;
// the bytes handed out stay valid after the walk.
func TestEachResource(t *testing.T) {
	var got []string
	keep := func(b []byte) error { got = append(got, string(b)); return nil }
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
		{"fullUrl":"urn:a","resource":{"resourceType":"CodeSystem","id":"a"}},
		{"resource":{"resourceType":"ValueSet","id":"b"},"search":{"mode":"match"}}],"total":2}`
	if err := eachResource([]byte(bundle), keep); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"resourceType":"CodeSystem","id":"a"}`, `{"resourceType":"ValueSet","id":"b"}`}
	if !slices.Equal(got, want) {
		t.Errorf("Bundle: %q, want %q", got, want)
	}
	got = nil
	lone := `{"resourceType":"CodeSystem","id":"c"}`
	if err := eachResource([]byte(lone), keep); err != nil || !slices.Equal(got, []string{lone}) {
		t.Errorf("a lone resource: %q, %v", got, err)
	}
	for _, bad := range []string{`[]`, `{"resourceType":"Bundle","entry":{}}`, `{"resourceType":"Bundle","entry":[{"resource":]}`} {
		if err := eachResource([]byte(bad), keep); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	// An entry without a resource is an error of the resource's reader.
	err := eachResource([]byte(`{"resourceType":"Bundle","entry":[{"fullUrl":"urn:x"}]}`), func(b []byte) error {
		if b == nil {
			return errors.New("no resource")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "entry[0]") {
		t.Errorf("an entry without a resource: %v", err)
	}
}
