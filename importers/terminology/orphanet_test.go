package terminology_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

// The Orphanet fixtures in testdata hold real ORPHAcodes, names and
// references from the shared 2025 files: orpha-nomenclature.tsv and the
// map-orpha-*.tsv tables are lines of the shared tables; orpha-product1-en.xml
// and its French counterpart (ISO-8859-1, as older Orphadata files are)
// follow Orphadata's product1 layout, with a deprecated entity "Moved to"
// another; orpha-product3-186.xml is classification 186 cut down to seven
// nodes; orpha-packet-*.json are two ORPHApackets without most of their
// genes and phenotypes (ORPHA:100 with its references written bare).

// orpha2025 is the release of the shared Orphanet files.
var orpha2025 = terminology.OrphaRelease{Version: "4.1.8", DataVersion: "1.3.42 / 4.1.8 [2025-03-03]", Date: "2025-03-03"}

// orphaTSV reads a nomenclature table of release orpha2025.
func orphaTSV(r io.Reader) (*ts.CodeSystem, error) { return terminology.OrphaTSV(r, orpha2025) }

// orphaProduct1 reads a product1 fixture or release file.
func orphaProduct1(t *testing.T, name string) *terminology.OrphaNomenclature {
	t.Helper()
	f, err := terminology.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := terminology.OrphaProduct1(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

// withFile opens name and calls fn with it.
func withFile[T any](t *testing.T, name string, fn func(io.Reader) (T, error)) T {
	t.Helper()
	f, err := terminology.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := fn(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// packetsTar returns a tar archive of the ORPHApacket fixtures and a file
// that is not a packet.
func packetsTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.WriteHeader(&tar.Header{Name: "orphapacket-json/", Mode: 0o755, Typeflag: tar.TypeDir})
	add("orphapacket-json/README.md", []byte("not a packet"))
	for _, code := range []string{"100", "558"} {
		body, err := os.ReadFile(filepath.Join("testdata", "orpha-packet-"+code+".json"))
		if err != nil {
			t.Fatal(err)
		}
		add("orphapacket-json/ORPHApacket_"+code+".json", body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseOrphaRelease(t *testing.T) {
	rel, err := terminology.ParseOrphaRelease(" 1.3.42 / 4.1.8 [2025-03-03]\n")
	if err != nil || rel != orpha2025 {
		t.Errorf("ParseOrphaRelease = %+v, %v; want %+v", rel, err, orpha2025)
	}
	for _, bad := range []string{"", "4.1.8", "1.3.42 / 4.1.8", "1.3.42 / 4.1.8 [March 2025]"} {
		if _, err := terminology.ParseOrphaRelease(bad); err == nil {
			t.Errorf("ParseOrphaRelease(%q) succeeded", bad)
		}
	}
}

func TestOrphaTSV(t *testing.T) {
	cs := parseFile(t, "testdata/orpha-nomenclature.tsv", orphaTSV)
	assertValidFHIR(t, cs)
	if cs.ID != "orphanet-4.1.8" || cs.URL != ts.OrphaURL || cs.Version != "4.1.8" || cs.Content != "fragment" ||
		cs.HierarchyMeaning != "is-a" || cs.Count != 7 || cs.Date != "2025-03-03" {
		t.Errorf("header: id %s url %s version %s content %s hierarchy %s count %d date %s",
			cs.ID, cs.URL, cs.Version, cs.Content, cs.HierarchyMeaning, cs.Count, cs.Date)
	}
	if !strings.Contains(cs.Copyright, "© INSERM 1999") || !strings.Contains(cs.Copyright, "Data version 1.3.42 / 4.1.8 [2025-03-03].") ||
		!strings.Contains(cs.Copyright, "https://creativecommons.org/licenses/by/4.0/") {
		t.Errorf("copyright = %q", cs.Copyright)
	}
	marfan := concept(t, cs, "ORPHA:558")
	if marfan.Display != "Marfan syndrome" {
		t.Errorf("ORPHA:558 display = %q", marfan.Display)
	}
	if got := designations(marfan, "en", true); !slices.Equal(got, []string{"MFS"}) {
		t.Errorf("ORPHA:558 synonyms = %q", got)
	}
	parents := values(marfan, terminology.PropertyParent)
	if len(parents) != 8 || !slices.Contains(parents, "ORPHA:284993") || !slices.Contains(parents, "ORPHA:98623") {
		t.Errorf("ORPHA:558 parents = %q", parents)
	}
	if got := values(marfan, terminology.PropertyDisorderType); !slices.Equal(got, []string{"Disease"}) {
		t.Errorf("ORPHA:558 disorderType = %q", got)
	}
	if got := values(marfan, terminology.PropertyInheritance); !slices.Equal(got, []string{"Autosomal dominant"}) {
		t.Errorf("ORPHA:558 inheritance = %q", got)
	}
	if got := values(concept(t, cs, "ORPHA:10"), terminology.PropertyInheritance); !slices.Equal(got, []string{"Not applicable", "Unknown"}) {
		t.Errorf("ORPHA:10 inheritance = %q", got)
	}
	if got := designations(concept(t, cs, "ORPHA:166024"), "en", true); !slices.Equal(got, []string{"Multiple epiphyseal dysplasia, Al-Gazali type"}) {
		t.Errorf("ORPHA:166024 synonyms = %q", got)
	}
	if got := values(concept(t, cs, "ORPHA:284993"), terminology.PropertyParent); !slices.Equal(got, []string{"ORPHA:619249", "ORPHA:182222"}) {
		t.Errorf("ORPHA:284993 parents = %q", got)
	}
}

func TestOrphaProduct1(t *testing.T) {
	n := orphaProduct1(t, "testdata/orpha-product1-en.xml")
	cs := n.CodeSystem
	assertValidFHIR(t, cs)
	if n.Release != orpha2025 || cs.Version != "4.1.8" || cs.Content != "complete" || cs.Count != 6 {
		t.Errorf("release %+v, version %s, content %s, count %d", n.Release, cs.Version, cs.Content, cs.Count)
	}
	marfan := concept(t, cs, "ORPHA:558")
	want := "Marfan syndrome is a systemic disease of connective tissue characterized by a variable combination of cardiovascular, musculo-skeletal, ophthalmic and pulmonary manifestations."
	if marfan.Display != "Marfan syndrome" || marfan.Definition != want {
		t.Errorf("ORPHA:558 = %q, definition %q", marfan.Display, marfan.Definition)
	}
	if got := designations(marfan, "en", true); !slices.Equal(got, []string{"MFS"}) {
		t.Errorf("ORPHA:558 synonyms = %q", got)
	}
	if got := values(marfan, terminology.PropertyDisorderGroup); !slices.Equal(got, []string{"Disorder"}) {
		t.Errorf("ORPHA:558 disorderGroup = %q", got)
	}
	if got := values(marfan, terminology.PropertyInactive); got != nil {
		t.Errorf("ORPHA:558 inactive = %q (a flag with an empty label)", got)
	}
	if def := concept(t, cs, "ORPHA:100").Definition; !strings.Contains(def, "DNA repair defect (ATM gene), characterized") {
		t.Errorf("ORPHA:100 definition keeps markup: %q", def)
	}
	deprecated := concept(t, cs, "ORPHA:2950")
	if got := values(deprecated, terminology.PropertyInactive); !slices.Equal(got, []string{"true"}) {
		t.Errorf("ORPHA:2950 inactive = %q", got)
	}
	if got := values(deprecated, terminology.PropertyReplacedBy); !slices.Equal(got, []string{"ORPHA:988"}) {
		t.Errorf("ORPHA:2950 replacedBy = %q", got)
	}
	if got := values(concept(t, cs, "ORPHA:988"), terminology.PropertyReplacedBy); got != nil {
		t.Errorf("ORPHA:988 (the replacement) replacedBy = %q", got)
	}
	if got := values(concept(t, cs, "ORPHA:284993"), terminology.PropertyDisorderType); !slices.Equal(got, []string{"Category"}) {
		t.Errorf("ORPHA:284993 disorderType = %q", got)
	}

	assertValidMap(t, n.ICD10)
	assertValidMap(t, n.OMIM)
	if got := mapTargets(n.ICD10); !slices.Equal(got, []string{
		"ORPHA:100 G11.3 wider", "ORPHA:340 A98.5 equivalent", "ORPHA:340 N08.0 equivalent",
		"ORPHA:558 Q87.4 equivalent", "ORPHA:988 Q87.2 wider",
	}) {
		t.Errorf("ICD-10 targets = %q", got)
	}
	if got := mapTargets(n.OMIM); !slices.Equal(got, []string{
		"ORPHA:100 208900 narrower", "ORPHA:558 154700 narrower", "ORPHA:558 610168 wider",
		"ORPHA:988 188740 wider", "ORPHA:988 190605 relatedto",
	}) {
		t.Errorf("OMIM targets (UMLS left out) = %q", got)
	}
	if c := target(t, n.ICD10, "ORPHA:340", "A98.5").Comment; !strings.Contains(c, `dagger`) || !strings.Contains(c, `"A98.5+"`) {
		t.Errorf("ORPHA:340 → A98.5 comment = %q", c)
	}
	if c := target(t, n.OMIM, "ORPHA:988", "190605").Comment; !strings.Contains(c, "ND") || !strings.Contains(c, "Not yet validated") {
		t.Errorf("ORPHA:988 → 190605 comment = %q", c)
	}
}

func TestAddOrphaTranslation(t *testing.T) {
	cs := orphaProduct1(t, "testdata/orpha-product1-en.xml").CodeSystem
	addFrench := func(cs *ts.CodeSystem) (int, error) {
		f, err := os.Open("testdata/orpha-product1-fr.xml")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return terminology.AddOrphaTranslation(cs, f)
	}
	// Four of the five French disorders are in the code system;
	// ORPHA:166024 is not.
	if n, err := addFrench(cs); n != 4 || err != nil {
		t.Fatalf("AddOrphaTranslation = %d, %v; want 4", n, err)
	}
	assertValidFHIR(t, cs)
	for _, tc := range []struct {
		code, name string
		synonyms   []string
	}{
		{"ORPHA:558", "Syndrome de Marfan", []string{"Maladie de Marfan"}},
		{"ORPHA:100", "Ataxie-télangiectasie", []string{"Syndrome de Louis-Bar"}},
		{"ORPHA:340", "Fièvre hémorragique avec syndrome rénal", []string{"Hantavirose"}},
		{"ORPHA:284993", "Syndrome de Marfan et syndromes apparentés", nil},
		{"ORPHA:988", "", nil},
	} {
		c := concept(t, cs, tc.code)
		var want []string
		if tc.name != "" {
			want = []string{tc.name}
		}
		if got := designations(c, "fr", false); !slices.Equal(got, want) {
			t.Errorf("%s French names = %q, want %q", tc.code, got, want)
		}
		if got := designations(c, "fr", true); !slices.Equal(got, tc.synonyms) {
			t.Errorf("%s French synonyms = %q, want %q", tc.code, got, tc.synonyms)
		}
	}
	if c := concept(t, cs, "ORPHA:558"); c.Display != "Marfan syndrome" || !slices.Equal(designations(c, "en", true), []string{"MFS"}) {
		t.Errorf("ORPHA:558 English changed: %q %q", c.Display, designations(c, "en", true))
	}
	if n, err := addFrench(cs); n != 0 || err != nil {
		t.Errorf("adding the translation again = %d, %v; want 0", n, err)
	}

	tsv := parseFile(t, "testdata/orpha-nomenclature.tsv", orphaTSV)
	if n, err := addFrench(tsv); n != 5 || err != nil {
		t.Errorf("AddOrphaTranslation onto the table = %d, %v; want 5 (it holds ORPHA:166024)", n, err)
	}
	other := parseFile(t, "testdata/orpha-nomenclature.tsv", orphaTSV)
	other.Version = "4.1.7"
	if n, err := addFrench(other); n != 0 || err == nil || !strings.Contains(err.Error(), "release 4.1.8 is not the code system's version 4.1.7") {
		t.Errorf("translation of another release = %d, %v", n, err)
	}
	if got := designations(concept(t, other, "ORPHA:558"), "fr", false); got != nil {
		t.Errorf("translation of another release added %q", got)
	}
}

func TestMergeOrphaClassification(t *testing.T) {
	cs := orphaProduct1(t, "testdata/orpha-product1-en.xml").CodeSystem
	merge := func() terminology.OrphaClassification {
		t.Helper()
		return withFile(t, "testdata/orpha-product3-186.xml", func(r io.Reader) (terminology.OrphaClassification, error) {
			return terminology.MergeOrphaClassification(cs, r)
		})
	}
	got := merge()
	want := terminology.OrphaClassification{
		Name:    "Orphanet classification of rare surgical thoracic diseases",
		Release: orpha2025,
		Nodes:   7,
		// 97962 > 97330, 285014; 285014 > 558, 60030; 558 > 284963, 284973.
		Parents:  6,
		Concepts: 6,
	}
	if got != want {
		t.Errorf("merge = %+v, want %+v", got, want)
	}
	assertValidFHIR(t, cs)
	if cs.Count != 12 {
		t.Errorf("count = %d, want 12", cs.Count)
	}
	marfan := concept(t, cs, "ORPHA:558")
	if p := values(marfan, terminology.PropertyParent); !slices.Equal(p, []string{"ORPHA:285014"}) {
		t.Errorf("ORPHA:558 parents = %q", p)
	}
	if c := values(marfan, terminology.PropertyClassification); !slices.Equal(c, []string{want.Name}) {
		t.Errorf("ORPHA:558 classifications = %q", c)
	}
	added := concept(t, cs, "ORPHA:285014")
	if added.Display != "Rare disease with thoracic aortic aneurysm and aortic dissection" ||
		!slices.Equal(values(added, terminology.PropertyDisorderType), []string{"Category"}) ||
		!slices.Equal(values(added, terminology.PropertyParent), []string{"ORPHA:97962"}) {
		t.Errorf("ORPHA:285014 = %q %q", added.Display, values(added, ""))
	}
	if p := values(concept(t, cs, "ORPHA:97962"), terminology.PropertyParent); p != nil {
		t.Errorf("root ORPHA:97962 parents = %q", p)
	}
	if again := merge(); again.Parents != 0 || again.Concepts != 0 || again.Nodes != 7 {
		t.Errorf("merging again = %+v, want no change", again)
	}
}

func TestOrphaPacketsTar(t *testing.T) {
	p, err := terminology.OrphaPacketsTar(bytes.NewReader(packetsTar(t)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Release != orpha2025 || len(p.Definitions) != 2 {
		t.Errorf("release %+v, %d definitions", p.Release, len(p.Definitions))
	}
	if !strings.HasPrefix(p.Definitions["ORPHA:558"], "Marfan syndrome is a systemic disease of connective tissue") {
		t.Errorf("ORPHA:558 definition = %q", p.Definitions["ORPHA:558"])
	}
	assertValidMap(t, p.OMIM)
	// ORPHA:100 writes its references bare, ORPHA:558 wrapped.
	if got := mapTargets(p.OMIM); !slices.Equal(got, []string{
		"ORPHA:100 208900 narrower", "ORPHA:100 208910 wider", "ORPHA:558 154700 narrower", "ORPHA:558 610168 wider",
	}) {
		t.Errorf("OMIM targets = %q", got)
	}
	cs := parseFile(t, "testdata/orpha-nomenclature.tsv", orphaTSV)
	if n := p.AddDefinitions(cs); n != 2 {
		t.Errorf("AddDefinitions = %d, want 2", n)
	}
	if concept(t, cs, "ORPHA:100").Definition == "" {
		t.Error("ORPHA:100 has no definition")
	}
	assertValidFHIR(t, cs)
}

func TestOrphaMalformed(t *testing.T) {
	const header = "orphacode\tlabel\tdisorder_type\tparent_orphacodes\tsynonyms\tomim\tinheritance\n"
	const marfan = "558\tMarfan syndrome\tDisease\t284993\tMFS\t154700\tAutosomal dominant\n"
	const jdbor = `<?xml version="1.0"?>` + "\n" + `<JDBOR version="1.3.42 / 4.1.8 [2025-03-03]">` + "\n" + "<DisorderList>\n"
	tsv := func(in string) error {
		_, err := terminology.OrphaTSV(strings.NewReader(in), orpha2025)
		return err
	}
	product1 := func(in string) error {
		_, err := terminology.OrphaProduct1(strings.NewReader(in))
		return err
	}
	classification := func(in string) error {
		cs := &ts.CodeSystem{}
		_, err := terminology.MergeOrphaClassification(cs, strings.NewReader(in))
		return err
	}
	for _, tc := range []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{"empty table", tsv, "", "line 1: empty input"},
		{"missing column", tsv, "orphacode\tlabel\n558\tMarfan syndrome\n", `line 1: header has no column "disorder_type"`},
		{"no rows", tsv, header, "no ORPHAcode"},
		{"not a number", tsv, header + marfan + "ORPHA:x\tX\t\t\t\t\t\n", `line 3: orphacode "ORPHA:x" is not an Orphanet number`},
		{"given twice", tsv, header + marfan + "\n" + marfan, "line 4: ORPHA:558 given again (first on line 2)"},
		{"short line", tsv, header + "558\tMarfan syndrome\tDisease\n", "line 2: 3 fields, want 7"},
		{"no label", tsv, header + "558\t\tDisease\t\t\t\t\n", "line 2: ORPHA:558 has no label"},
		{"bad parent", tsv, header + "558\tMarfan syndrome\tDisease\t284993|x1\t\t\t\n", `line 2: ORPHA:558: parent "x1"`},
		{"not XML", product1, "<JDBOR version=\"1.3.42 / 4.1.8 [2025-03-03]\"><DisorderList>\n<Disorder>\n</JDBOR>", "XML syntax error on line 3"},
		{"other root", product1, "<HPOList/>", "line 1: root element <HPOList>, want <JDBOR>"},
		{"no version", product1, "<JDBOR date=\"2025-03-03\"><DisorderList/></JDBOR>", "line 1: <JDBOR> has no version attribute"},
		{"bad version", product1, "<JDBOR version=\"4.1.8\"><DisorderList/></JDBOR>", "line 1: <JDBOR>: orphanet data version"},
		{"no disorder", product1, jdbor + "</DisorderList></JDBOR>", "no <Disorder>"},
		{"no OrphaCode", product1, jdbor + "<Disorder id=\"7\">\n<Name lang=\"en\">X</Name></Disorder></DisorderList></JDBOR>", `line 4: <Disorder id="7"> has no <OrphaCode>`},
		{"no Name", product1, jdbor + "<Disorder id=\"7\"><OrphaCode>558</OrphaCode></Disorder></DisorderList></JDBOR>", "line 4: <Disorder> ORPHA:558 has no <Name>"},
		{"French release", product1, jdbor + "<Disorder><OrphaCode>558</OrphaCode><Name lang=\"fr\">Syndrome de Marfan</Name></Disorder></DisorderList></JDBOR>", "AddOrphaTranslation"},
		{"bad ICD-10 reference", product1, jdbor + "<Disorder><OrphaCode>558</OrphaCode><Name lang=\"en\">Marfan syndrome</Name><ExternalReferenceList><ExternalReference><Source>ICD-10</Source><Reference>Q87-Q88</Reference></ExternalReference></ExternalReferenceList></Disorder></DisorderList></JDBOR>", `line 4: <Disorder> ORPHA:558: <ExternalReference id="">: ICD-10 "Q87-Q88": "Q87-Q88" is not an ICD-10 code`},
		{"bad relation", product1, jdbor + "<Disorder><OrphaCode>558</OrphaCode><Name lang=\"en\">Marfan syndrome</Name><ExternalReferenceList><ExternalReference><Source>OMIM</Source><Reference>154700</Reference><DisorderMappingRelation><Name>Z (zany)</Name></DisorderMappingRelation></ExternalReference></ExternalReferenceList></Disorder></DisorderList></JDBOR>", `line 4: <Disorder> ORPHA:558: <ExternalReference id="">: OMIM "154700": unknown Orphanet mapping relation "Z"`},
		{"node without disorder", classification, `<JDBOR version="1.3.42 / 4.1.8 [2025-03-03]"><ClassificationList><Classification><Name>C</Name><ClassificationNodeRootList>` + "\n<ClassificationNode>\n</ClassificationNode></ClassificationNodeRootList></Classification></ClassificationList></JDBOR>", "line 3: <ClassificationNode> without a <Disorder>"},
		{"bad node code", classification, `<JDBOR version="1.3.42 / 4.1.8 [2025-03-03]"><ClassificationList><Classification><ClassificationNodeRootList>` + "\n<ClassificationNode><Disorder id=\"3\"><OrphaCode>0x1</OrphaCode></Disorder></ClassificationNode></ClassificationNodeRootList></Classification></ClassificationList></JDBOR>", `line 2: <Disorder id="3">: <OrphaCode> "0x1"`},
		{"empty classification", classification, `<JDBOR version="1.3.42 / 4.1.8 [2025-03-03]"><ClassificationList/></JDBOR>`, "no <ClassificationNode>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	var se *terminology.SyntaxError
	if err := tsv(header + marfan + marfan); !errors.As(err, &se) || se.Line != 3 {
		t.Errorf("error %v is not a *SyntaxError on line 3", err)
	}

	broken := []byte("{\n  \"Orphapacket\": {\n    \"ORPHAcode\": 558,,\n  }\n}\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "ORPHApacket_558.json", Mode: 0o644, Size: int64(len(broken))})
	tw.Write(broken)
	tw.Close()
	if _, err := terminology.OrphaPacketsTar(&buf); err == nil || !strings.Contains(err.Error(), "ORPHApacket_558.json: line 3") {
		t.Errorf("broken packet: %v", err)
	}
	if _, err := terminology.OrphaPacketsTar(bytes.NewReader(nil)); err == nil {
		t.Error("empty archive accepted")
	}
}

func TestOrphaShared(t *testing.T) {
	name := releaseFile(t, "terminology/orphanet/orphanet-nomenclature-2025.tsv.gz")
	cs := parseFile(t, name, orphaTSV)
	if cs.Count != 9960 {
		t.Errorf("count = %d, want 9960", cs.Count)
	}
	marfan := concept(t, cs, "ORPHA:558")
	if marfan.Display != "Marfan syndrome" || !slices.Contains(designations(marfan, "en", true), "MFS") ||
		!slices.Contains(values(marfan, terminology.PropertyParent), "ORPHA:284993") {
		t.Errorf("ORPHA:558 = %q, synonyms %q, parents %q", marfan.Display, designations(marfan, "en", true), values(marfan, terminology.PropertyParent))
	}
	// Parents the table names but does not hold.
	codes := make(map[string]bool, len(cs.Concept))
	for _, c := range cs.Concept {
		codes[c.Code] = true
	}
	links, dangling, missing := 0, 0, map[string]bool{}
	for _, c := range cs.Concept {
		for _, p := range values(&c, terminology.PropertyParent) {
			links++
			if !codes[p] {
				dangling++
				missing[p] = true
			}
		}
	}
	if links != 19481 || dangling != 300 || len(missing) != 38 {
		t.Errorf("parent links %d, dangling %d to %d codes; want 19481, 300, 38", links, dangling, len(missing))
	}
	_, props, desig := stats(cs)
	t.Logf("ORPHA table: %d concepts, %d parent links (%d dangling, to %d codes), %d synonyms, properties %v", cs.Count, links, dangling, len(missing), desig, props)
	assertValidFHIR(t, cs)

	// The classifications add parents the table lacks: phenylketonuria is
	// under "Disorder of phenylalanine metabolism" in classification 150.
	pku := concept(t, cs, "ORPHA:716")
	if slices.Contains(values(pku, terminology.PropertyParent), "ORPHA:284814") {
		t.Fatal("ORPHA:716 already has parent ORPHA:284814 in the table")
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(name), "classifications", "en_product3_*.xml.gz"))
	if err != nil || len(files) != 32 {
		t.Fatalf("%d classification files, %v", len(files), err)
	}
	var total terminology.OrphaClassification
	for _, f := range files {
		got := withFile(t, f, func(r io.Reader) (terminology.OrphaClassification, error) {
			return terminology.MergeOrphaClassification(cs, r)
		})
		if got.Release != orpha2025 {
			t.Errorf("%s: release %+v", filepath.Base(f), got.Release)
		}
		total.Nodes += got.Nodes
		total.Parents += got.Parents
		total.Concepts += got.Concepts
	}
	t.Logf("32 classifications: %d nodes, %d parent links and %d concepts added; %d concepts", total.Nodes, total.Parents, total.Concepts, cs.Count)
	if total.Nodes != 15767 || total.Parents != 383 || total.Concepts != 70 || cs.Count != 9960+70 {
		t.Errorf("merge totals %+v, count %d", total, cs.Count)
	}
	pku = concept(t, cs, "ORPHA:716")
	if !slices.Contains(values(pku, terminology.PropertyParent), "ORPHA:284814") ||
		!slices.Contains(values(pku, terminology.PropertyClassification), "Orphanet classification of rare inborn errors of metabolism") {
		t.Errorf("ORPHA:716 parents %q, classifications %q", values(pku, terminology.PropertyParent), values(pku, terminology.PropertyClassification))
	}
	if !slices.Contains(values(concept(t, cs, "ORPHA:558"), terminology.PropertyClassification), "Orphanet classification of rare surgical thoracic diseases") {
		t.Error("ORPHA:558 is not in classification 186")
	}
}

func TestOrphaPacketsShared(t *testing.T) {
	name := releaseFile(t, "terminology/orphanet/orphapackets-json-2025-12.tar.gz")
	p := withFile(t, name, terminology.OrphaPacketsTar)
	if p.Release != orpha2025 || len(p.Definitions) != 6891 {
		t.Errorf("release %+v, %d definitions; want 6891", p.Release, len(p.Definitions))
	}
	assertValidMap(t, p.OMIM)
	eq := equivalences(p.OMIM)
	if eq["narrower"] != 3989 || eq["equivalent"] != 3659 || eq["wider"] != 758 || eq["relatedto"] != 29 {
		t.Errorf("OMIM equivalences = %v", eq)
	}
	cs := parseFile(t, releaseFile(t, "terminology/orphanet/orphanet-nomenclature-2025.tsv.gz"), orphaTSV)
	if n := p.AddDefinitions(cs); n != 6891 {
		t.Errorf("AddDefinitions = %d, want 6891", n)
	}
	if !strings.HasPrefix(concept(t, cs, "ORPHA:558").Definition, "Marfan syndrome is a systemic disease") {
		t.Errorf("ORPHA:558 definition = %q", concept(t, cs, "ORPHA:558").Definition)
	}
}
