package terminology_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

func TestLOINCTable(t *testing.T) {
	cs := parseFile(t, "testdata/loinc-Loinc.csv", terminology.LOINCTable)
	if cs.URL != ts.LOINCURL || cs.Version != "2.77" || cs.ID != "loinc-2.77" || cs.Content != "complete" || cs.Count != 16 ||
		!strings.HasPrefix(cs.Copyright, "This material contains content from LOINC (http://loinc.org).") {
		t.Errorf("header: url %q version %q id %q content %q count %d copyright %q",
			cs.URL, cs.Version, cs.ID, cs.Content, cs.Count, cs.Copyright)
	}
	var declared []string
	for _, p := range cs.Property {
		declared = append(declared, p.Code)
		if p.Code != terminology.PropertyInactive && (p.Type != "string" || p.URI != "http://loinc.org/property/"+p.Code) {
			t.Errorf("property %+v, want type string and a loinc.org URI", p)
		}
	}
	if want := []string{"COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "METHOD_TYP", "CLASS", "CLASSTYPE", "STATUS", "inactive"}; !slices.Equal(declared, want) {
		t.Errorf("properties = %q, want %q", declared, want)
	}
	tests := []struct {
		code, display   string
		synonyms        []string
		property, value string
		inactive        bool
	}{
		{"8302-2", "Body height", nil, "COMPONENT", "Body height", false},
		{"29463-7", "Body weight", []string{"Weight"}, "PROPERTY", "Mass", false},
		{"718-7", "Hemoglobin [Mass/volume] in Blood", []string{"Hgb Bld-mCnc", "Hemoglobin, Blood"}, "SYSTEM", "Bld", false},
		{"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", []string{"SaO2 % BldA PulseOx"}, "METHOD_TYP", "Pulse oximetry", false},
		{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", []string{"Hgb A1c MFr Bld", "Hemoglobin A1c/Hemoglobin total in Blood", "Hemoglobin A1c, Blood"}, "CLASS", "CHEM", false},
		{"24331-1", "Lipid 1996 panel - Serum or Plasma", []string{"Lipid 1996 pnl SerPl"}, "STATUS", "DEPRECATED", true},
	}
	for _, tt := range tests {
		c := concept(t, cs, tt.code)
		inactive := slices.Equal(values(c, terminology.PropertyInactive), []string{"true"})
		if c.Display != tt.display || !slices.Equal(designations(c, "en", true), tt.synonyms) ||
			!slices.Equal(values(c, tt.property), []string{tt.value}) || inactive != tt.inactive ||
			values(c, terminology.PropertyParent) != nil {
			t.Errorf("%s: display %q synonyms %q %s %q inactive %v; want %q %q %q %v", tt.code, c.Display,
				designations(c, "en", true), tt.property, values(c, tt.property), inactive,
				tt.display, tt.synonyms, tt.value, tt.inactive)
		}
	}
	assertValidFHIR(t, cs)
}

func TestLOINCTableColumns(t *testing.T) {
	// Columns in another order, most optional ones missing, one extra.
	const in = "\ufeff\"LONG_COMMON_NAME\",\"EXTRA\",\"LOINC_NUM\",\"STATUS\",\"DefinitionDescription\",\"VersionLastChanged\"\n" +
		"\"Body height\",\"x\",\"8302-2\",\"ACTIVE\",\"\",\"2.70\"\n" +
		"\"Heart rate\",\"y\",\"8867-4\",\"DISCOURAGED\",\"Number of heart beats per minute, \"\"at rest\"\".\",\"2.8\"\n"
	cs, err := terminology.LOINCTable(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if cs.Version != "2.70" || len(cs.Property) != 2 {
		t.Errorf("version %q (2.70 is newer than 2.8), properties %+v (STATUS and inactive)", cs.Version, cs.Property)
	}
	hr := concept(t, cs, "8867-4")
	if hr.Definition != `Number of heart beats per minute, "at rest".` || !slices.Equal(values(hr, terminology.PropertyInactive), []string{"true"}) {
		t.Errorf("8867-4 = %+v", hr)
	}
	assertValidFHIR(t, cs)
}

func TestLOINCTSV(t *testing.T) {
	cs := parseFile(t, "testdata/loinc-observed.tsv", terminology.LOINCTSV)
	if cs.Content != "fragment" || cs.Count != 7 || cs.Version != "" || cs.ID != "loinc-observed" {
		t.Errorf("content %q count %d version %q id %q", cs.Content, cs.Count, cs.Version, cs.ID)
	}
	if c := concept(t, cs, "718-7"); c.Display != "Hemoglobin [Mass/volume] in Blood" {
		t.Errorf("718-7 display %q", c.Display)
	}
	if c := concept(t, cs, "8302-2"); c.Display != "" {
		t.Errorf("8302-2 display %q, want none (none seen)", c.Display)
	}
	concept(t, cs, "LA10405-1")
	assertValidFHIR(t, cs)
}

func TestLOINCMalformed(t *testing.T) {
	const head = `"LOINC_NUM","LONG_COMMON_NAME","STATUS"` + "\n"
	tests := []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{"no LOINC_NUM", loincTable, "\"LONG_COMMON_NAME\"\n\"Body height\"\n", "line 1: header has no column LOINC_NUM"},
		{"bad code", loincTable, head + "\"8302-2\",\"Body height\",\"ACTIVE\"\n\"8302\",\"Body height\",\"ACTIVE\"\n", `line 3: LOINC_NUM "8302" is not a LOINC code`},
		{"duplicate", loincTable, head + "\"8302-2\",\"Body height\",\"ACTIVE\"\n\"8302-2\",\"Body height\",\"ACTIVE\"\n", "line 3: duplicate LOINC_NUM 8302-2 (first at line 2)"},
		{"fields", loincTable, head + "\"8302-2\",\"Body height\"\n", "record on line 2: wrong number of fields"},
		{"quote", loincTable, head + "\"8302-2\",\"Body \"height\",\"ACTIVE\"\n", "line 2"},
		{"empty", loincTable, "", "empty input"},
		{"no terms", loincTable, head, "no terms"},
		{"tsv header", loincTSV, "code\tdisplay\n8302-2\tBody height\n", "line 1: header"},
		{"tsv duplicate", loincTSV, "loinc_code\tdisplay_as_seen\tfirst_seen_in\n8302-2\t\tx\n8302-2\t\ty\n", "line 3: duplicate code 8302-2"},
		{"tsv fields", loincTSV, "loinc_code\tdisplay_as_seen\tfirst_seen_in\n8302-2\tBody height\n", "line 2: 2 fields, want 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// loincTable parses in with LOINCTable, returning only the error.
func loincTable(in string) error {
	_, err := terminology.LOINCTable(strings.NewReader(in))
	return err
}

// loincTSV parses in with LOINCTSV, returning only the error.
func loincTSV(in string) error {
	_, err := terminology.LOINCTSV(strings.NewReader(in))
	return err
}

func TestLOINCShared(t *testing.T) {
	cs := parseFile(t, releaseFile(t, "terminology/loinc/loinc-codes-observed-in-fhir-sources.tsv.gz"), terminology.LOINCTSV)
	if cs.Count != 7869 || cs.Content != "fragment" {
		t.Errorf("%d concepts, content %q; want 7869, fragment", cs.Count, cs.Content)
	}
	concept(t, cs, "8302-2")
	if c := concept(t, cs, "718-7"); c.Display != "Hemoglobin [Mass/volume] in Blood" {
		t.Errorf("718-7 display %q", c.Display)
	}
	assertValidFHIR(t, cs)
}
