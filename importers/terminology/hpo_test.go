package terminology_test

import (
	"bytes"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

func TestHPOFixtures(t *testing.T) {
	obo := parseFile(t, "testdata/hpo-mini.obo", terminology.HPOOBO)
	js := parseFile(t, "testdata/hpo-mini.json", terminology.HPOJSON)
	for _, cs := range []*ts.CodeSystem{obo, js} {
		assertValidFHIR(t, cs)
		if cs.URL != ts.HPOURL || cs.Version != "2026-01-08" || cs.ID != "hpo-2026-01-08" ||
			cs.Date != "2026-01-08" || cs.Content != "complete" || cs.HierarchyMeaning != "is-a" {
			t.Errorf("header: url %q version %q id %q date %q content %q hierarchy %q",
				cs.URL, cs.Version, cs.ID, cs.Date, cs.Content, cs.HierarchyMeaning)
		}
		if !strings.Contains(cs.Copyright, "Human Phenotype Ontology (version 2026-01-08)") {
			t.Errorf("copyright %q lacks the HPO acknowledgement", cs.Copyright)
		}
		if cs.Count != 13 {
			t.Errorf("count = %d, want 13 (HP classes only)", cs.Count)
		}
		seizure := concept(t, cs, "HP:0001250")
		if seizure.Display != "Seizure" || !strings.HasPrefix(seizure.Definition, "A seizure is an intermittent abnormality") {
			t.Errorf("HP:0001250 display %q definition %q", seizure.Display, seizure.Definition)
		}
		if got := designations(seizure, "en", true); !slices.Equal(got, []string{"Epileptic seizure", "Seizures", "Epilepsy"}) {
			t.Errorf("HP:0001250 synonyms = %q", got)
		}
		if got := values(seizure, terminology.PropertyParent); !slices.Equal(got, []string{"HP:0012638"}) {
			t.Errorf("HP:0001250 parents = %q", got)
		}
		if got := values(seizure, terminology.PropertyAltID); len(got) != 19 || got[0] != "HP:0001275" {
			t.Errorf("HP:0001250 alt_id = %q", got)
		}
		absence := concept(t, cs, "HP:0002121")
		if got := values(absence, terminology.PropertyParent); !slices.Equal(got, []string{"HP:0002197", "HP:0011146", "HP:0033259"}) {
			t.Errorf("HP:0002121 parents = %q, want three", got)
		}
		obsolete := concept(t, cs, "HP:0000057")
		if got := values(obsolete, terminology.PropertyInactive); !slices.Equal(got, []string{"true"}) {
			t.Errorf("HP:0000057 inactive = %q", got)
		}
		if got := values(obsolete, terminology.PropertyReplacedBy); !slices.Equal(got, []string{"HP:0008665"}) {
			t.Errorf("HP:0000057 replacedBy = %q", got)
		}
		if got := values(concept(t, cs, "HP:0000001"), terminology.PropertyParent); got != nil {
			t.Errorf("root HP:0000001 has parents %q", got)
		}
	}
	// The two formats of one release give the same concepts.
	if !reflect.DeepEqual(obo.Concept, js.Concept) {
		for i := range obo.Concept {
			if i < len(js.Concept) && !reflect.DeepEqual(obo.Concept[i], js.Concept[i]) {
				t.Fatalf("OBO and JSON differ at %s:\n%+v\n%+v", obo.Concept[i].Code, obo.Concept[i], js.Concept[i])
			}
		}
		t.Fatalf("OBO has %d concepts, JSON %d", len(obo.Concept), len(js.Concept))
	}
}

func TestHPOOBOSyntax(t *testing.T) {
	const in = `format-version: 1.4
data-version: releases/2017-04-13
! a comment line

[Typedef]
id: part_of
name: part of

[Term]
id: HP:0000002
name: Abnormality of body height
def: "Deviation from the \"norm\" of height." [HPO:probinson] {comment="x"}
synonym: "Height \\ abnormality" EXACT layperson [] {source="PMID:1"}
is_a: HP:0001507 {source="PMID:2"} ! Growth abnormality
is_a: HP:0000118 ! Phenotypic abnormality
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: GO:0008150
name: biological_process
`
	cs, err := terminology.HPOOBO(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if cs.Version != "2017-04-13" || cs.Count != 1 {
		t.Fatalf("version %q count %d, want 2017-04-13 and 1 (GO term skipped)", cs.Version, cs.Count)
	}
	c := cs.Concept[0]
	if c.Definition != `Deviation from the "norm" of height.` {
		t.Errorf("definition = %q", c.Definition)
	}
	if got := designations(&c, "en", true); !slices.Equal(got, []string{`Height \ abnormality`}) {
		t.Errorf("synonyms = %q", got)
	}
	if got := values(&c, terminology.PropertyParent); !slices.Equal(got, []string{"HP:0001507", "HP:0000118"}) {
		t.Errorf("parents = %q (modifiers dropped, duplicates once)", got)
	}
}

func TestHPOMalformed(t *testing.T) {
	tests := []struct {
		name  string
		parse func(io.Reader) (*ts.CodeSystem, error)
		in    string
		want  string
	}{
		{"no colon", terminology.HPOOBO, "format-version: 1.2\n\n[Term]\nid: HP:0000001\nname All\n", "line 5"},
		{"unterminated def", terminology.HPOOBO, "[Term]\nid: HP:0000001\ndef: \"All [HPO:x]\n", "line 3: def: unterminated"},
		{"unquoted synonym", terminology.HPOOBO, "[Term]\nid: HP:0000001\nsynonym: All EXACT []\n", "line 3: synonym: missing quoted text"},
		{"stanza header", terminology.HPOOBO, "[Term\nid: HP:0000001\n", "line 1: malformed stanza header"},
		{"no id", terminology.HPOOBO, "[Term]\nid: HP:0000001\n\n[Term]\nname: All\n", "line 4: [Term] without id"},
		{"duplicate", terminology.HPOOBO, "[Term]\nid: HP:0000001\n\n[Term]\nid: HP:0000001\n", "line 4: duplicate term HP:0000001 (first at line 1)"},
		{"obsolete value", terminology.HPOOBO, "[Term]\nid: HP:0000001\nis_obsolete: yes\n", "line 3: is_obsolete"},
		{"empty", terminology.HPOOBO, "format-version: 1.2\n", "no HP terms"},
		{"json syntax", terminology.HPOJSON, "{\"graphs\": [\n{\"nodes\": [\n{\"id\": }]}]}", "line 3"},
		{"json type", terminology.HPOJSON, "{\"graphs\": [\n{\"nodes\": \"x\"}]}", "line 2"},
		{"json no classes", terminology.HPOJSON, `{"graphs": [{"nodes": []}]}`, "no HP classes"},
		{"json edge", terminology.HPOJSON, `{"graphs": [{"nodes": [{"id": "http://purl.obolibrary.org/obo/HP_0000001", "type": "CLASS"}],
			"edges": [{"sub": "http://purl.obolibrary.org/obo/HP_0000002", "pred": "is_a", "obj": "http://purl.obolibrary.org/obo/HP_0000001"}]}]}`,
			"graphs[0].edges[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.parse(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHPOShared(t *testing.T) {
	tests := []struct {
		file       string
		parse      func(io.Reader) (*ts.CodeSystem, error)
		version    string
		concepts   int
		inactive   int
		parents    int
		replacedBy int
		seizure    string
	}{
		{"terminology/hpo/hp.v2026-01-08.json.gz", terminology.HPOJSON, "2026-01-08", 19934, 526, 23765, 432, "Seizure"},
		{"terminology/hpo/hp.2017-04-13.obo.gz", terminology.HPOOBO, "2017-04-13", 12358, 132, 16044, 56, "Seizures"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			start := time.Now()
			cs := parseFile(t, releaseFile(t, tt.file), tt.parse)
			elapsed := time.Since(start)
			inactive, props, desig := stats(cs)
			t.Logf("%s: %d concepts, %d inactive, %d designations, %v properties, parsed in %v",
				tt.file, cs.Count, inactive, desig, props, elapsed)
			if cs.Version != tt.version || cs.Count != tt.concepts || inactive != tt.inactive ||
				props[terminology.PropertyParent] != tt.parents || props[terminology.PropertyReplacedBy] != tt.replacedBy {
				t.Errorf("version %q, %d concepts, %d inactive, %d parents, %d replacedBy; want %q, %d, %d, %d, %d",
					cs.Version, cs.Count, inactive, props[terminology.PropertyParent], props[terminology.PropertyReplacedBy],
					tt.version, tt.concepts, tt.inactive, tt.parents, tt.replacedBy)
			}
			seizure := concept(t, cs, "HP:0001250")
			if seizure.Display != tt.seizure || len(designations(seizure, "en", true)) == 0 ||
				!slices.Contains(values(seizure, terminology.PropertyParent), "HP:0012638") {
				t.Errorf("HP:0001250 = %+v", seizure)
			}
			// Every parent is a concept of the release.
			codes := map[string]bool{}
			for _, c := range cs.Concept {
				codes[c.Code] = true
			}
			for _, c := range cs.Concept {
				for _, p := range values(&c, terminology.PropertyParent) {
					if !codes[p] {
						t.Fatalf("%s: parent %s is not a concept", c.Code, p)
					}
				}
			}
			assertValidFHIR(t, cs)
		})
	}
}

func BenchmarkHPOJSON(b *testing.B) {
	benchmarkRelease(b, "terminology/hpo/hp.v2026-01-08.json.gz", terminology.HPOJSON)
}

func BenchmarkHPOOBO(b *testing.B) {
	benchmarkRelease(b, "terminology/hpo/hp.2017-04-13.obo.gz", terminology.HPOOBO)
}

// benchmarkRelease measures parse on the decompressed shared file rel.
func benchmarkRelease(b *testing.B, rel string, parse func(io.Reader) (*ts.CodeSystem, error)) {
	f, err := terminology.Open(releaseFile(b, rel))
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
