package terminology_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

// icd10Chapters reads a chapter index file.
func icd10Chapters(t *testing.T, name string) []terminology.ICD10ChapterRange {
	t.Helper()
	f, err := terminology.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chapters, err := terminology.ReadICD10Chapters(f)
	if err != nil {
		t.Fatal(err)
	}
	return chapters
}

// icd10AddFrench adds the French titles of the named file to cs.
func icd10AddFrench(t *testing.T, cs *ts.CodeSystem, name string) int {
	t.Helper()
	f, err := terminology.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := terminology.ICD10AddFrench(cs, f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestICD10ClaML(t *testing.T) {
	cs := parseFile(t, "testdata/icd10-claml.xml", terminology.ICD10ClaML)
	if cs.URL != ts.ICD10URL || cs.Version != "2019" || cs.ID != "icd-10-who-2019" || cs.Date != "2019-01-01" ||
		cs.Content != "complete" || cs.Count != 13 ||
		cs.Title != "International Statistical Classification of Diseases and Related Health Problems 10th Revision" {
		t.Errorf("header: url %q version %q id %q date %q content %q count %d title %q",
			cs.URL, cs.Version, cs.ID, cs.Date, cs.Content, cs.Count, cs.Title)
	}
	tests := []struct {
		code, display, kind string
		parents, synonyms   []string
	}{
		{"VI", "Diseases of the nervous system", "chapter", nil, nil},
		{"G40-G47", "Episodic and paroxysmal disorders", "block", []string{"VI"}, nil},
		{"G00", "Bacterial meningitis, not elsewhere classified", "category", []string{"G00-G09"},
			[]string{"arachnoiditis bacterial", "leptomeningitis bacterial"}},
		{"G00.0", "Haemophilus meningitis", "category", []string{"G00"}, []string{"Meningitis due to Haemophilus influenzae"}},
		{"G01", "Meningitis in bacterial diseases classified elsewhere", "category", []string{"G00-G09"},
			[]string{"Meningitis (in): anthrax (A22.8)"}},
		{"G40.9", "Epilepsy, unspecified", "category", []string{"G40"},
			[]string{"Epileptic: convulsions NOS fits NOS seizures NOS"}},
		{"G41.0", "Grand mal status epilepticus", "category", []string{"G41"}, []string{"Tonic-clonic status epilepticus"}},
	}
	for _, tt := range tests {
		c := concept(t, cs, tt.code)
		if c.Display != tt.display || !slices.Equal(values(c, terminology.PropertyKind), []string{tt.kind}) ||
			!slices.Equal(values(c, terminology.PropertyParent), tt.parents) ||
			!slices.Equal(designations(c, "en", true), tt.synonyms) {
			t.Errorf("%s: display %q kind %q parents %q synonyms %q; want %q %q %q %q", tt.code, c.Display,
				values(c, terminology.PropertyKind), values(c, terminology.PropertyParent), designations(c, "en", true),
				tt.display, tt.kind, tt.parents, tt.synonyms)
		}
	}
	if n := icd10AddFrench(t, cs, "testdata/icd10-fr.tsv"); n != 4 {
		t.Errorf("ICD10AddFrench added %d titles, want 4 (G40, G40.9, G41, G41.0)", n)
	}
	if got := designations(concept(t, cs, "G40.9"), "fr", false); !slices.Equal(got, []string{"Épilepsie, sans précision"}) {
		t.Errorf("G40.9 French = %q", got)
	}
	if !strings.Contains(cs.Copyright, "World Health Organization") || !strings.Contains(cs.Copyright, "ATIH") {
		t.Errorf("copyright = %q", cs.Copyright)
	}
	assertValidFHIR(t, cs)
}

func TestICD10TSV(t *testing.T) {
	chapters := icd10Chapters(t, "testdata/icd10-chapters.json")
	if len(chapters) != 6 || chapters[1].Code() != "VI" || chapters[1].Title() != "Diseases of the nervous system" {
		t.Fatalf("chapters = %+v", chapters)
	}
	plain := parseFile(t, "testdata/icd10-who.tsv.bz2", func(r io.Reader) (*ts.CodeSystem, error) {
		return terminology.ICD10TSV(r)
	})
	if plain.Count != 18 || values(concept(t, plain, "A00"), terminology.PropertyParent) != nil {
		t.Errorf("without chapters: %d concepts, A00 parents %q; want 18 and none", plain.Count,
			values(concept(t, plain, "A00"), terminology.PropertyParent))
	}
	cs := parseFile(t, "testdata/icd10-who.tsv.bz2", func(r io.Reader) (*ts.CodeSystem, error) {
		return terminology.ICD10TSV(r, terminology.WithICD10Chapters(chapters), terminology.WithICD10Version("8.1.0-eHDSI"))
	})
	// 18 codes and the 5 chapters holding them (not XX).
	if cs.Version != terminology.ICD10EHDSIVersion || cs.ID != "icd-10-who-8.1.0-eHDSI" || cs.Content != "fragment" || cs.Count != 23 {
		t.Errorf("header: version %q id %q content %q count %d", cs.Version, cs.ID, cs.Content, cs.Count)
	}
	for code, parent := range map[string]string{
		"A00": "I", "A00.0": "A00", "B18.00": "B18.0", "B18.0": "B18", "M45.X0": "M45",
		"G40.9": "G40", "U07": "XXII", "Z99": "XXI", "VI": "",
	} {
		got := values(concept(t, cs, code), terminology.PropertyParent)
		if (parent == "" && got != nil) || (parent != "" && !slices.Equal(got, []string{parent})) {
			t.Errorf("%s parents = %q, want %q", code, got, parent)
		}
	}
	ch := concept(t, cs, "I")
	if ch.Display != "Certain infectious and parasitic diseases" ||
		!slices.Equal(designations(ch, "fr", false), []string{"Certaines maladies infectieuses et parasitaires"}) ||
		!slices.Equal(values(ch, terminology.PropertyKind), []string{"chapter"}) {
		t.Errorf("chapter I = %+v", ch)
	}
	if n := icd10AddFrench(t, cs, "testdata/icd10-fr.tsv"); n != 11 {
		t.Errorf("ICD10AddFrench added %d titles, want 11", n)
	}
	if got := designations(concept(t, cs, "G40.9"), "fr", false); !slices.Equal(got, []string{"Épilepsie, sans précision"}) {
		t.Errorf("G40.9 French = %q", got)
	}
	if got := designations(concept(t, cs, "U07.1"), "*", false); got != nil {
		t.Errorf("U07.1 (not in CIM-10 2016) has translations %q", got)
	}
	assertValidFHIR(t, cs)
}

func TestICD10Malformed(t *testing.T) {
	tsv := func(r io.Reader) (*ts.CodeSystem, error) { return terminology.ICD10TSV(r) }
	french := func(r io.Reader) (*ts.CodeSystem, error) {
		cs, err := terminology.ICD10TSV(strings.NewReader("code\tdisplay\nG40\tEpilepsy\n"))
		if err != nil {
			return nil, err
		}
		_, err = terminology.ICD10AddFrench(cs, r)
		return cs, err
	}
	chapters := func(r io.Reader) (*ts.CodeSystem, error) {
		_, err := terminology.ReadICD10Chapters(r)
		return nil, err
	}
	const head = "<?xml version=\"1.0\"?>\n<!DOCTYPE ClaML SYSTEM \"ClaML.dtd\">\n<ClaML version=\"2.0.0\">\n"
	tests := []struct {
		name  string
		parse func(io.Reader) (*ts.CodeSystem, error)
		in    string
		want  string
	}{
		{"tsv header", tsv, "code,display\nG40,Epilepsy\n", "line 1: header"},
		{"tsv fields", tsv, "code\tdisplay\nG40\tEpilepsy\nG40.9\n", "line 3: 1 fields, want 2"},
		{"tsv code", tsv, "code\tdisplay\nG40\tEpilepsy\ng40.9\tEpilepsy, unspecified\n", `line 3: "g40.9" is not an ICD-10 code`},
		{"tsv duplicate", tsv, "code\tdisplay\nG40\tEpilepsy\nG40\tEpilepsy\n", "line 3: duplicate code G40 (first at line 2)"},
		{"tsv empty", tsv, "", "empty input"},
		{"tsv no codes", tsv, "code\tdisplay\n", "no codes"},
		{"french fields", french, "code\tname\nG40\tÉpilepsie\textra\n", "line 2: 3 fields"},
		{"french code", french, "code\tname\nG4\tÉpilepsie\n", `line 2: "G4" is not`},
		{"chapters json", chapters, "[\n{\"chapter\": 1}\n]", "line 2"},
		{"chapters range", chapters, `[{"chapter": "1", "bloc_low": "B99", "bloc_high": "A00"}]`, "bad range"},
		{"claml syntax", terminology.ICD10ClaML, head + "<Class code=\"G40\" kind=\"category\">\n<Rubric kind=\"preferred\"><Label>Epilepsy</Rubric>\n</Class></ClaML>", "line 5"},
		{"claml root", terminology.ICD10ClaML, "<?xml version=\"1.0\"?>\n<Classification/>", "line 2: root element is <Classification>"},
		{"claml no preferred", terminology.ICD10ClaML, head + "<Class code=\"G40\" kind=\"category\">\n<Rubric kind=\"inclusion\"><Label>Epilepsy</Label></Rubric>\n</Class></ClaML>", `line 4: Class "G40": no preferred rubric`},
		{"claml no code", terminology.ICD10ClaML, head + "<Class kind=\"category\"/></ClaML>", "line 4: Class \"\": no code"},
		{"claml duplicate", terminology.ICD10ClaML, head + "<Class code=\"G40\"><Rubric kind=\"preferred\"><Label>Epilepsy</Label></Rubric></Class>\n" +
			"<Class code=\"G40\"><Rubric kind=\"preferred\"><Label>Epilepsy</Label></Rubric></Class></ClaML>", `line 5: duplicate Class "G40" (first at line 4)`},
		{"claml no classes", terminology.ICD10ClaML, head + "</ClaML>", "no Class elements"},
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

func TestICD10Shared(t *testing.T) {
	chapters := icd10Chapters(t, releaseFile(t, "terminology/icd10-fr/chapters_index.json"))
	if len(chapters) != 22 {
		t.Fatalf("%d chapters, want 22", len(chapters))
	}
	cs := parseFile(t, releaseFile(t, "terminology/icd10-who/icd10-who-ehdsi-8.1.0.tsv.gz"), func(r io.Reader) (*ts.CodeSystem, error) {
		return terminology.ICD10TSV(r, terminology.WithICD10Chapters(chapters))
	})
	french := icd10AddFrench(t, cs, releaseFile(t, "terminology/icd10-fr/cim10-fr-2016.tsv.gz"))
	kinds := map[string]int{}
	orphans := 0
	for _, c := range cs.Concept {
		kind := values(&c, terminology.PropertyKind)[0]
		kinds[kind]++
		if kind == "category" && values(&c, terminology.PropertyParent) == nil {
			orphans++
		}
	}
	_, _, desig := stats(cs)
	t.Logf("%d concepts (%v), %d designations, %d French titles added", cs.Count, kinds, desig, french)
	// 14,158 codes and chapters I–XIX, XXI, XXII.
	if kinds["category"] != 14158 || kinds["chapter"] != 21 || orphans != 0 {
		t.Errorf("kinds %v, %d categories without parent; want 14158 categories, 21 chapters, none", kinds, orphans)
	}
	for _, c := range cs.Concept {
		if c.Code == "XX" {
			t.Error("chapter XX is not in the eHDSI list but was created")
		}
	}
	g409 := concept(t, cs, "G40.9")
	if g409.Display != "Epilepsy, unspecified" || !slices.Equal(values(g409, terminology.PropertyParent), []string{"G40"}) ||
		!slices.Equal(designations(g409, "fr", false), []string{"Épilepsie, sans précision"}) {
		t.Errorf("G40.9 = %+v", g409)
	}
	if got := values(concept(t, cs, "G40"), terminology.PropertyParent); !slices.Equal(got, []string{"VI"}) {
		t.Errorf("G40 parents = %q, want chapter VI", got)
	}
	if french < 13000 {
		t.Errorf("only %d French titles matched", french)
	}
	assertValidFHIR(t, cs)
}
