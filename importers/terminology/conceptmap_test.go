package terminology_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/validate"
	"github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

// assertValidMap checks that cm marshals to JSON the project's FHIR
// validator accepts, and checks it as checkMap does.
func assertValidMap(t testing.TB, cm *ts.ConceptMap) {
	t.Helper()
	validatorOnce.Do(func() { validator, validatorErr = validate.New() })
	if validatorErr != nil {
		t.Fatal(validatorErr)
	}
	body, err := json.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	if err := validator.Validate(body); err != nil {
		t.Fatalf("ConceptMap %s is not valid FHIR: %v", cm.ID, err)
	}
	checkMap(t, cm)
}

// checkMap checks the conventions of the Orphanet concept maps: status,
// version and licence, elements and targets sorted, and R4's rule cmd-1
// that a narrower or inexact target has a comment.
func checkMap(t testing.TB, cm *ts.ConceptMap) {
	t.Helper()
	if cm.Status != "active" || !strings.Contains(cm.Copyright, "creativecommons.org/licenses/by/4.0") || cm.Version == "" {
		t.Errorf("%s: status %s, version %q, copyright %q", cm.ID, cm.Status, cm.Version, cm.Copyright)
	}
	for _, g := range cm.Group {
		if g.Source != ts.OrphaURL {
			t.Errorf("%s: group source %s", cm.ID, g.Source)
		}
		for i, e := range g.Element {
			if i > 0 && g.Element[i-1].Code >= e.Code {
				t.Fatalf("%s: elements not sorted: %s before %s", cm.ID, g.Element[i-1].Code, e.Code)
			}
			for j, tg := range e.Target {
				if j > 0 && e.Target[j-1].Code > tg.Code {
					t.Fatalf("%s: %s: targets not sorted: %s before %s", cm.ID, e.Code, e.Target[j-1].Code, tg.Code)
				}
				if (tg.Equivalence == "narrower" || tg.Equivalence == "inexact") && tg.Comment == "" {
					t.Errorf("%s: %s → %s is %s without a comment", cm.ID, e.Code, tg.Code, tg.Equivalence)
				}
			}
		}
	}
}

// mapTargets lists the targets of cm as "source target equivalence".
func mapTargets(cm *ts.ConceptMap) []string {
	var out []string
	for _, g := range cm.Group {
		for _, e := range g.Element {
			for _, tg := range e.Target {
				out = append(out, e.Code+" "+tg.Code+" "+tg.Equivalence)
			}
		}
	}
	return out
}

// target returns the target code of the element code of cm.
func target(t testing.TB, cm *ts.ConceptMap, code, targetCode string) ts.MapTarget {
	t.Helper()
	for _, g := range cm.Group {
		for _, e := range g.Element {
			if e.Code != code {
				continue
			}
			for _, tg := range e.Target {
				if tg.Code == targetCode {
					return tg
				}
			}
		}
	}
	t.Fatalf("%s: no target %s → %s", cm.ID, code, targetCode)
	return ts.MapTarget{}
}

// equivalences counts the targets of cm by equivalence, and the elements
// under "elements".
func equivalences(cm *ts.ConceptMap) map[string]int {
	n := map[string]int{}
	for _, g := range cm.Group {
		n["elements"] += len(g.Element)
		for _, e := range g.Element {
			for _, tg := range e.Target {
				n[tg.Equivalence]++
			}
		}
	}
	return n
}

func orphaICD10(r io.Reader) (*ts.ConceptMap, error) {
	return terminology.OrphaICD10MapTSV(r, orpha2025)
}
func orphaOMIM(r io.Reader) (*ts.ConceptMap, error) { return terminology.OrphaOMIMMapTSV(r, orpha2025) }
func orphaHPO(r io.Reader) (*ts.ConceptMap, error)  { return terminology.OrphaHPOMapTSV(r, orpha2025) }

func TestOrphaMapsTSV(t *testing.T) {
	for _, tc := range []struct {
		file    string
		parse   func(io.Reader) (*ts.ConceptMap, error)
		url     string
		target  string
		targets []string
	}{
		{"testdata/map-orpha-icd10.tsv", orphaICD10, "https://www.orpha.net/fhir/ConceptMap/orpha-icd10", ts.ICD10URL, []string{
			"ORPHA:100 G11.3 wider", "ORPHA:340 A98.5 equivalent", "ORPHA:340 N08.0 equivalent", "ORPHA:558 Q87.4 equivalent",
			"ORPHA:645822 A18.0 equivalent", "ORPHA:723 B48.5 equivalent", "ORPHA:723 J17.2 wider", "ORPHA:988 Q87.2 wider",
		}},
		{"testdata/orpha-nomenclature.tsv", orphaOMIM, "https://www.orpha.net/fhir/ConceptMap/orpha-omim", ts.OMIMURL, []string{
			"ORPHA:100 208900 relatedto", "ORPHA:100 208910 relatedto", "ORPHA:166024 607131 relatedto", "ORPHA:558 154700 relatedto",
			"ORPHA:558 610168 relatedto", "ORPHA:988 188740 relatedto", "ORPHA:988 190605 relatedto",
		}},
		{"testdata/map-orpha-hpo.tsv", orphaHPO, "https://www.orpha.net/fhir/ConceptMap/orpha-hpo", ts.HPOURL, []string{
			"ORPHA:100057 HP:0000989 relatedto", "ORPHA:101001 HP:0001288 relatedto", "ORPHA:101001 HP:0001288 relatedto",
			"ORPHA:558 HP:0001519 relatedto", "ORPHA:558 HP:0001533 relatedto", "ORPHA:558 HP:0001763 relatedto",
			"ORPHA:558 HP:0002108 relatedto", "ORPHA:558 HP:0002616 relatedto", "ORPHA:558 HP:0004942 relatedto",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cm := withFile(t, tc.file, tc.parse)
			assertValidMap(t, cm)
			if cm.URL != tc.url || len(cm.Group) != 1 || cm.Group[0].Target != tc.target || cm.Version != "4.1.8" {
				t.Errorf("url %s, version %s, groups %+v", cm.URL, cm.Version, cm.Group)
			}
			if got := mapTargets(cm); !slices.Equal(got, tc.targets) {
				t.Errorf("targets = %q\nwant %q", got, tc.targets)
			}
		})
	}

	icd := withFile(t, "testdata/map-orpha-icd10.tsv", orphaICD10)
	for _, tc := range []struct{ code, target, comment string }{
		{"ORPHA:340", "N08.0", `ICD-10 asterisk (manifestation) code, published as "N08.0*".`},
		{"ORPHA:723", "J17.2", `Orphanet NTBT: the ORPHAcode is narrower than the target code. ICD-10 asterisk (manifestation) code, published as "J17.2*".`},
		{"ORPHA:723", "B48.5", `ICD-10 dagger (aetiology) code, published as "B48.5+".`},
		{"ORPHA:645822", "A18.0", `Published as "A18.0,".`},
		{"ORPHA:558", "Q87.4", ""},
	} {
		if got := target(t, icd, tc.code, tc.target).Comment; got != tc.comment {
			t.Errorf("%s → %s comment = %q, want %q", tc.code, tc.target, got, tc.comment)
		}
	}
	if d := icd.Group[0].Element[0]; d.Code != "ORPHA:100" || d.Display != "Ataxia-telangiectasia" {
		t.Errorf("first element = %s %q", d.Code, d.Display)
	}
	hpo := withFile(t, "testdata/map-orpha-hpo.tsv", orphaHPO)
	if tg := target(t, hpo, "ORPHA:558", "HP:0002616"); tg.Display != "Aortic root aneurysm" || tg.Comment != "Very frequent (99-80%)" {
		t.Errorf("ORPHA:558 → HP:0002616 = %+v", tg)
	}
	if tg := target(t, hpo, "ORPHA:100057", "HP:0000989"); tg.Comment != "Excluded (0%)" {
		t.Errorf("ORPHA:100057 → HP:0000989 = %+v", tg)
	}
}

func TestOrphaMapsMalformed(t *testing.T) {
	const icdHeader = "orphacode\torpha_label\tskos_predicate\torphanet_relation\ticd10_code\n"
	const hpoHeader = "orphacode\tdisorder_label\thpo_id\thpo_term\tfrequency\n"
	parse := func(fn func(io.Reader) (*ts.ConceptMap, error)) func(string) error {
		return func(in string) error {
			_, err := fn(strings.NewReader(in))
			return err
		}
	}
	for _, tc := range []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{"ICD-10 header", parse(orphaICD10), "orphacode\ticd10_code\n", `line 1: header has no column "orpha_label"`},
		{"ICD-10 relation", parse(orphaICD10), icdHeader + "558\tMarfan syndrome\tskos:exactMatch\tE\tQ87.4\n558\tMarfan syndrome\tskos:closeMatch\tC\tQ87.4\n", `line 3: ORPHA:558 → ICD-10: unknown Orphanet mapping relation "C"`},
		{"ICD-10 code", parse(orphaICD10), icdHeader + "558\tMarfan syndrome\tskos:exactMatch\tE\tQ8\n", `line 2: ORPHA:558 → ICD-10: "Q8" is not an ICD-10 code`},
		{"ICD-10 orphacode", parse(orphaICD10), icdHeader + "Orphanet_558\tMarfan syndrome\tskos:exactMatch\tE\tQ87.4\n", `line 2: orphacode "Orphanet_558"`},
		{"ICD-10 fields", parse(orphaICD10), icdHeader + "558\tMarfan syndrome\tE\tQ87.4\n", "line 2: 4 fields, want 5"},
		{"OMIM number", parse(orphaOMIM), "orphacode\tlabel\tdisorder_type\tparent_orphacodes\tsynonyms\tomim\tinheritance\n558\tMarfan syndrome\tDisease\t\t\t154700|MIM:1\t\n", `line 2: ORPHA:558 → OMIM: "MIM:1" is not an OMIM number`},
		{"HPO id", parse(orphaHPO), hpoHeader + "558\tMarfan syndrome\tHP:0001519\tDisproportionate tall stature\tVery frequent (99-80%)\n558\tMarfan syndrome\tHP_0001533\tSlender build\t\n", `line 3: ORPHA:558: hpo_id "HP_0001533"`},
		{"HPO empty", parse(orphaHPO), "", "line 1: empty input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := terminology.OrphaReferenceMap("UMLS", nil, orpha2025); err == nil {
		t.Error("a UMLS concept map was made")
	}
	empty, err := terminology.OrphaReferenceMap(terminology.OrphaSourceOMIM, nil, orpha2025)
	if err != nil || len(empty.Group) != 0 {
		t.Errorf("map of no references = %+v, %v", empty, err)
	}
	assertValidMap(t, empty)
}

func TestOrphaMapsShared(t *testing.T) {
	for _, tc := range []struct {
		file     string
		parse    func(io.Reader) (*ts.ConceptMap, error)
		want     map[string]int
		validate bool // the validator takes seconds on the 13 MB HPO map
	}{
		{"terminology/orphanet/orpha-icd10-mappings-2025-03.tsv.gz", orphaICD10,
			map[string]int{"elements": 7515, "equivalent": 618, "wider": 6853, "narrower": 841}, true},
		{"terminology/orphanet/orphanet-nomenclature-2025.tsv.gz", orphaOMIM,
			map[string]int{"elements": 4888, "relatedto": 8435}, true},
		// 115,878 rows: 25 repeat a row exactly (same disorder, term and
		// frequency) and give no target of their own.
		{"terminology/orphanet/orphanet-hpo-associations-2025.tsv.gz", orphaHPO,
			map[string]int{"elements": 4335, "relatedto": 115878 - 25}, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cm := withFile(t, releaseFile(t, tc.file), tc.parse)
			if got := equivalences(cm); !maps.Equal(got, tc.want) {
				t.Errorf("counts = %v, want %v", got, tc.want)
			}
			if tc.validate {
				assertValidMap(t, cm)
			} else {
				checkMap(t, cm)
			}
		})
	}
	// The HPO table has 115,878 associations.
	rows := withFile(t, releaseFile(t, "terminology/orphanet/orphanet-hpo-associations-2025.tsv.gz"), func(r io.Reader) (int, error) {
		b, err := io.ReadAll(r)
		return bytes.Count(b, []byte("\n")) - 1, err
	})
	if rows != 115878 {
		t.Errorf("HPO associations: %d rows, want 115878", rows)
	}
}
