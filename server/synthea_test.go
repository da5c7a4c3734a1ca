package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/internal/synthea"
	"github.com/cpms-fhir/cpms/internal/testfixture"
	"github.com/cpms-fhir/cpms/internal/teststore"
)

// syntheaData is the Synthea sample set decoded for counting: every
// resource by type, as loaded.
type syntheaData struct {
	byType map[fhir.ResourceType][]map[string]any
}

// loadSynthea stores the 200 Synthea patients (52,434 resources) through
// the engine, validated, and returns them decoded.
func loadSynthea(t *testing.T, ts *testServer) *syntheaData {
	t.Helper()
	archive := testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz")
	data := &syntheaData{byType: map[fhir.ResourceType][]map[string]any{}}
	ctx := context.Background()
	err := synthea.ReadArchive(archive, func(name string, bundle []byte) error {
		rs, err := synthea.Resources(bundle)
		if err != nil {
			return err
		}
		items := make([]engine.ImportItem, len(rs))
		for i, r := range rs {
			items[i] = engine.ImportItem{Type: r.Type, ID: r.ID, Body: r.Body}
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil {
				return err
			}
			data.byType[r.Type] = append(data.byType[r.Type], m)
		}
		errs, err := ts.eng.Import(ctx, items, engine.ImportOptions{})
		if err != nil {
			return err
		}
		for i, e := range errs {
			if e != nil {
				return fmt.Errorf("%s/%s: %v", rs[i].Type, rs[i].ID, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// count counts the resources of type t for which match holds.
func (d *syntheaData) count(t fhir.ResourceType, match func(r map[string]any) bool) int {
	n := 0
	for _, r := range d.byType[t] {
		if match(r) {
			n++
		}
	}
	return n
}

func hasCoding(cc any, system, code string) bool {
	m, _ := cc.(map[string]any)
	codings, _ := m["coding"].([]any)
	for _, c := range codings {
		cm, _ := c.(map[string]any)
		if cm["system"] == system && cm["code"] == code {
			return true
		}
	}
	return false
}

func refOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["reference"].(string)
	return s
}

// total runs a search and returns its Bundle's total.
func (ts *testServer) total(t *testing.T, query string) int {
	t.Helper()
	r := ts.do("GET", "/fhir/"+query, nil)
	wantStatus(t, r, 200)
	n, err := r.JSON["total"].(json.Number).Int64()
	if err != nil {
		t.Fatalf("%s: no total in %.300s", query, r.Body)
	}
	return int(n)
}

// ids follows a search's next links and returns the ids of its matches.
func (ts *testServer) ids(t *testing.T, query string) []string {
	t.Helper()
	var out []string
	path := "/fhir/" + query
	for page := 0; path != ""; page++ {
		if page > 1000 {
			t.Fatalf("%s: more than 1000 pages", query)
		}
		r := ts.do("GET", path, nil)
		wantStatus(t, r, 200)
		entries, _ := r.JSON["entry"].([]any)
		for _, e := range entries {
			if get(e, "search", "mode") == "match" {
				out = append(out, str(e, "resource", "id"))
			}
		}
		path = ""
		links, _ := r.JSON["link"].([]any)
		for _, l := range links {
			if get(l, "relation") == "next" {
				path = str(l, "url")
			}
		}
	}
	return out
}

// TestSyntheaSearch loads the Synthea sample patients and checks search
// results against counts computed from the raw files.
func TestSyntheaSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 52,434 resources")
	}
	teststore.SkipOnFerretDB(t, "it reads a whole collection for every query, so loading 52,434 resources would take hours; the store contract's search vectors and the other search tests run on it")
	ts := newTestServer(t)
	d := loadSynthea(t, ts)
	pat := d.byType["Patient"][0]
	pid := pat["id"].(string)
	family := pat["name"].([]any)[0].(map[string]any)["family"].(string)
	const loinc, sct = "http://loinc.org", "http://snomed.info/sct"

	conditionSubjects := map[string]bool{}
	for _, c := range d.byType["Condition"] {
		if hasCoding(c["code"], sct, "38341003") {
			conditionSubjects[refOf(c["subject"])] = true
		}
	}
	female := map[string]bool{}
	for _, p := range d.byType["Patient"] {
		if p["gender"] == "female" {
			female["Patient/"+p["id"].(string)] = true
		}
	}
	prefix := strings.ToLower(family[:3])

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"Patient?_summary=count", len(d.byType["Patient"])},
		{"Observation?_summary=count", len(d.byType["Observation"])},
		{"Patient?gender=female&_summary=count", len(female)},
		{"Patient?birthdate=lt1950&_summary=count", d.count("Patient", func(p map[string]any) bool { return p["birthDate"].(string) < "1950" })},
		{"Patient?name=" + url.QueryEscape(prefix) + "&_summary=count", d.count("Patient", func(p map[string]any) bool {
			for _, n := range p["name"].([]any) {
				nm := n.(map[string]any)
				parts := []any{nm["family"]}
				if g, ok := nm["given"].([]any); ok {
					parts = append(parts, g...)
				}
				if pre, ok := nm["prefix"].([]any); ok {
					parts = append(parts, pre...)
				}
				for _, x := range parts {
					if s, ok := x.(string); ok && strings.HasPrefix(strings.ToLower(s), prefix) {
						return true
					}
				}
			}
			return false
		})},
		{"Observation?code=" + url.QueryEscape(loinc+"|8302-2") + "&_summary=count", d.count("Observation", func(o map[string]any) bool { return hasCoding(o["code"], loinc, "8302-2") })},
		{"Observation?code=8302-2&_summary=count", d.count("Observation", func(o map[string]any) bool { return hasCoding(o["code"], loinc, "8302-2") })},
		{"Condition?code=" + url.QueryEscape(sct+"|38341003") + "&_summary=count", d.count("Condition", func(c map[string]any) bool { return hasCoding(c["code"], sct, "38341003") })},
		{"Observation?date=2011&_summary=count", d.count("Observation", func(o map[string]any) bool {
			s, _ := o["effectiveDateTime"].(string)
			return strings.HasPrefix(s, "2011")
		})},
		{"Observation?code=" + url.QueryEscape(loinc+"|8302-2") + "&value-quantity=gt180%7Chttp://unitsofmeasure.org%7Ccm&_summary=count", d.count("Observation", func(o map[string]any) bool {
			q, _ := o["valueQuantity"].(map[string]any)
			v, _ := q["value"].(float64)
			return hasCoding(o["code"], loinc, "8302-2") && q["code"] == "cm" && v > 180
		})},
		{"Observation?code=" + url.QueryEscape(loinc+"|8302-2") + "&value-quantity=gt1.8%7Chttp://unitsofmeasure.org%7Cm&_summary=count", d.count("Observation", func(o map[string]any) bool {
			q, _ := o["valueQuantity"].(map[string]any)
			v, _ := q["value"].(float64)
			return hasCoding(o["code"], loinc, "8302-2") && q["code"] == "cm" && v > 180
		})},
		{"Observation?subject=Patient/" + pid + "&_summary=count", d.count("Observation", func(o map[string]any) bool { return refOf(o["subject"]) == "Patient/"+pid })},
		{"Patient?_has:Condition:subject:code=" + url.QueryEscape(sct+"|38341003") + "&_summary=count", len(conditionSubjects)},
		{"Observation?subject:Patient.gender=female&code=" + url.QueryEscape(loinc+"|29463-7") + "&_summary=count", d.count("Observation", func(o map[string]any) bool {
			return hasCoding(o["code"], loinc, "29463-7") && female[refOf(o["subject"])]
		})},
	} {
		if got := ts.total(t, tc.query); got != tc.want {
			t.Errorf("%s: total %d, want %d", tc.query, got, tc.want)
		} else {
			t.Logf("%s: %d", tc.query, got)
		}
	}

	// Paging through a large result finds each match once.
	var want []string
	for _, o := range d.byType["Observation"] {
		if hasCoding(o["code"], loinc, "8302-2") {
			want = append(want, o["id"].(string))
		}
	}
	got := ts.ids(t, "Observation?code="+url.QueryEscape(loinc+"|8302-2")+"&_count=97")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("paging: %d ids, want %d", len(got), len(want))
	}

	// Sorting: a patient's observations by date, newest first.
	var dates []string
	for _, o := range d.byType["Observation"] {
		if refOf(o["subject"]) == "Patient/"+pid {
			dates = append(dates, o["effectiveDateTime"].(string))
		}
	}
	slices.Sort(dates)
	slices.Reverse(dates)
	r := ts.do("GET", "/fhir/Observation?subject=Patient/"+pid+"&_sort=-date&_count=1000", nil)
	entries, _ := r.JSON["entry"].([]any)
	var sorted []string
	for _, e := range entries {
		sorted = append(sorted, str(e, "resource", "effectiveDateTime"))
	}
	if !slices.Equal(sorted, dates) {
		t.Errorf("_sort=-date: %v\nwant %v", sorted, dates)
	}

	// _revinclude brings the patient's conditions.
	r = ts.do("GET", "/fhir/Patient?_id="+pid+"&_revinclude=Condition:subject", nil)
	included := 0
	entries, _ = r.JSON["entry"].([]any)
	for _, e := range entries {
		if get(e, "search", "mode") == "include" && str(e, "resource", "resourceType") == "Condition" {
			included++
		}
	}
	if want := d.count("Condition", func(c map[string]any) bool { return refOf(c["subject"]) == "Patient/"+pid }); included != want {
		t.Errorf("_revinclude=Condition:subject: %d included, want %d", included, want)
	}

	syntheaCareDates(t, ts, d, pid)
}

// syntheaCareDates checks $everything with start and end on a Synthea
// patient against the raw files: of the types asked for, the
// Observations, Encounters, MedicationRequests and Immunizations whose
// care date overlaps the year of the patient's middle encounter, and all
// their Conditions, which have no care date.
func syntheaCareDates(t *testing.T, ts *testServer, d *syntheaData, pid string) {
	t.Helper()
	mine := func(r map[string]any) bool {
		return refOf(r["subject"]) == "Patient/"+pid || refOf(r["patient"]) == "Patient/"+pid
	}
	var starts []string
	for _, e := range d.byType["Encounter"] {
		if mine(e) {
			starts = append(starts, str(e, "period", "start"))
		}
	}
	if len(starts) == 0 {
		t.Fatalf("Patient/%s has no encounters", pid)
	}
	slices.Sort(starts)
	year := starts[len(starts)/2][:4]
	from, err := time.Parse(time.DateOnly, year+"-01-01")
	if err != nil {
		t.Fatal(err)
	}
	to := from.AddDate(1, 0, 0)
	// overlaps: [lo, hi] (to the second) meets [from, to).
	overlaps := func(lo, hi string) bool {
		l, err1 := time.Parse(time.RFC3339, lo)
		h, err2 := time.Parse(time.RFC3339, hi)
		if err1 != nil || err2 != nil {
			t.Fatalf("dates %q %q: %v %v", lo, hi, err1, err2)
		}
		return h.Add(time.Second).After(from) && l.Before(to)
	}
	at := func(field string) func(r map[string]any) bool {
		return func(r map[string]any) bool { v := str(r, field); return overlaps(v, v) }
	}
	want := map[string]int{}
	for typ, in := range map[fhir.ResourceType]func(r map[string]any) bool{
		"Observation":       at("effectiveDateTime"),
		"MedicationRequest": at("authoredOn"),
		"Immunization":      at("occurrenceDateTime"),
		"Encounter":         func(r map[string]any) bool { return overlaps(str(r, "period", "start"), str(r, "period", "end")) },
		"Condition":         func(map[string]any) bool { return true },
	} {
		if n := d.count(typ, func(r map[string]any) bool { return mine(r) && in(r) }); n > 0 {
			want[string(typ)] = n
		}
	}
	got := map[string]int{}
	path := "/fhir/Patient/" + pid + "/$everything?_type=Observation,MedicationRequest,Immunization,Encounter,Condition&_count=100&start=" + year + "&end=" + year
	for page := 0; path != ""; page++ {
		if page > 1000 {
			t.Fatal("$everything: more than 1000 pages")
		}
		r := ts.do("GET", path, nil)
		wantStatus(t, r, 200)
		entries, _ := r.JSON["entry"].([]any)
		for _, e := range entries {
			if get(e, "search", "mode") == "match" {
				got[str(e, "resource", "resourceType")]++
			}
		}
		path = linkOf(r, "next")
	}
	if !maps.Equal(got, want) {
		t.Errorf("$everything of Patient/%s in %s: %v, want %v", pid, year, got, want)
	} else {
		t.Logf("$everything of Patient/%s in %s: %v", pid, year, got)
	}
}
