package terminology_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

// icccSystems reads an ICCC-3 / ICD-O-3 code list and checks that every
// code system it returns is valid.
func icccSystems(t *testing.T, name string) map[string]*ts.CodeSystem {
	t.Helper()
	list := withFile(t, name, terminology.ICCC3TSV)
	out := make(map[string]*ts.CodeSystem)
	for i, cs := range list {
		if i > 0 && list[i-1].URL >= cs.URL {
			t.Errorf("code systems not sorted by URL: %s before %s", list[i-1].URL, cs.URL)
		}
		assertValidFHIR(t, cs)
		if !strings.Contains(cs.Copyright, "© IARC") || !strings.Contains(cs.Copyright, "ICD-O-3 is © WHO/IARC") {
			t.Errorf("%s: copyright %q", cs.URL, cs.Copyright)
		}
		out[cs.URL] = cs
	}
	return out
}

const (
	chBehaviour  = "http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-icdo3behaviour"
	chGrade      = "http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-icdo3histologicalgrade"
	chLaterality = "http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-icdo3laterality"
)

func TestICCC3TSV(t *testing.T) {
	systems := icccSystems(t, "testdata/iccc-codes.tsv")
	if len(systems) != 5 {
		t.Fatalf("%d code systems, want 5", len(systems))
	}
	iccc := systems[ts.ICCC3URL]
	if iccc.ID != "iccc-3-2005" || iccc.Version != "2005" || iccc.Content != "fragment" || iccc.HierarchyMeaning != "is-a" || iccc.Count != 12 {
		t.Errorf("ICCC-3: id %s version %s content %s hierarchy %s count %d", iccc.ID, iccc.Version, iccc.Content, iccc.HierarchyMeaning, iccc.Count)
	}
	for _, tc := range []struct {
		code, display string
		parents       []string
		kinds         []string
	}{
		{"I", "Leukaemias, myeloproliferative diseases, and myelodysplastic diseases", nil, []string{terminology.ICCC3MainGroup}},
		{"Ia", "Lymphoid leukaemias", []string{"I"}, []string{terminology.ICCC3Subgroup}},
		{"Ia.1", "Precursor cell leukaemias", []string{"Ia"}, []string{terminology.ICCC3Extended}},
		{"IIb.1", "Precursor cell lymphomas", []string{"IIb"}, []string{terminology.ICCC3Extended}},
		{"IIb", "Non-Hodgkin lymphomas (except Burkitt lymphoma)", []string{"II"}, []string{terminology.ICCC3Subgroup}},
		{"V", "Retinoblastoma", nil, []string{terminology.ICCC3MainGroup, terminology.ICCC3Subgroup}},
		{"140", "Langerhans cell histiocytosis", []string{"14"}, []string{terminology.ICCC3Subgroup}},
		{"081", "Leukemias, myeloproliferative diseases, and myelodysplastic diseases", nil, nil},
	} {
		c := concept(t, iccc, tc.code)
		if c.Display != tc.display || !slices.Equal(values(c, terminology.PropertyParent), tc.parents) || !slices.Equal(values(c, terminology.PropertyKind), tc.kinds) {
			t.Errorf("%s = %q, parents %q, kinds %q; want %q, %q, %q", tc.code, c.Display,
				values(c, terminology.PropertyParent), values(c, terminology.PropertyKind), tc.display, tc.parents, tc.kinds)
		}
	}
	icdo := systems[ts.ICDO3URL]
	if icdo.Version != "2000" || icdo.Content != "fragment" || icdo.Count != 2 || concept(t, icdo, "9510/3").Display != "Medulloblastoma, NOS" {
		t.Errorf("ICD-O-3: version %s content %s count %d", icdo.Version, icdo.Content, icdo.Count)
	}
	beh := systems[chBehaviour]
	if beh.ID != "nkrs-icdo3behaviour" || beh.Content != "complete" || beh.Count != 3 ||
		concept(t, beh, "3").Definition != "Invasive behaviour." {
		t.Errorf("behaviour: id %s content %s count %d", beh.ID, beh.Content, beh.Count)
	}
	// Code 1 means three things, one per axis.
	for url, want := range map[string]string{chBehaviour: "Borderline", chGrade: "Grade I", chLaterality: "Right"} {
		if got := concept(t, systems[url], "1").Display; got != want {
			t.Errorf("%s#1 = %q, want %q", url, got, want)
		}
	}
}

func TestICCC3Malformed(t *testing.T) {
	const header = "system\tcodesystem_id\tcode\tdisplay\tdefinition\tsource_file\n"
	const main = "http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-iccc3maingroup\tnkrs-iccc3maingroup\tI\tLeukaemias\t\tf.fsh\n"
	const sub = "http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-iccc3code\tnkrs-iccc3code\tIa\tLymphoid leukaemias\t\tf.fsh\n"
	const ext = "http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-iccc3extendedcode\tnkrs-iccc3extendedcode\t"
	for _, tc := range []struct{ name, in, want string }{
		{"header", "system\tcode\n", `line 1: header has no column "codesystem_id"`},
		{"no rows", header, "no code"},
		{"no display", header + main + "http://terminology.hl7.org/CodeSystem/icd-o-3\ticd-o-3\t8000/3\t\t\tf.fsh\n", "line 3: no code or no display"},
		{"orphan extended code", header + main + sub + ext + "Ib.1\tX\t\tf.fsh\n", `line 4: ICCC-3 extended-code "Ib.1": no code "Ib" above it`},
		{"orphan subgroup", header + sub, `line 2: ICCC-3 subgroup "Ia": no code "I" above it`},
		{"bad main group", header + strings.Replace(main, "\tI\t", "\t1a\t", 1), `line 2: ICCC-3 main group "1a"`},
		{"bad extended code", header + main + sub + ext + "Ia-1\tX\t\tf.fsh\n", `line 4: ICCC-3 extended code "Ia-1"`},
		{"given twice", header + main + sub + sub, `line 4: ICCC-3 code "Ia" given again (first on line 3)`},
		{"bad morphology", header + "http://terminology.hl7.org/CodeSystem/icd-o-3\ticd-o-3\t8000\tNeoplasm\t\tf.fsh\n", `line 2: International Classification of Diseases for Oncology, Third Edition (ICD-O-3), morphology code "8000"`},
		{"unknown system", header + "http://example.org/cs\tx\t1\tOne\t\tf.fsh\n", `line 2: unknown code system "http://example.org/cs"`},
		{"axis twice", header + strings.Repeat("http://fhir.ch/ig/ch-crl/CodeSystem/nkrs-icdo3laterality\tnkrs-icdo3laterality\t1\tRight\t\tf.fsh\n", 2), `line 3: NKRS - ICD-O-3 Laterality code "1" given again`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := terminology.ICCC3TSV(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestICCC3Shared(t *testing.T) {
	systems := icccSystems(t, releaseFile(t, "terminology/iccc3-icdo3/iccc3-icdo3-codes.tsv"))
	counts := map[string]int{}
	for url, cs := range systems {
		counts[url] = cs.Count
	}
	// ICCC-3: 14 main groups, 50 subgroups (V is also a main group), 82
	// extended codes and the PCSP example code.
	want := map[string]int{ts.ICCC3URL: 14 + 49 + 82 + 1, ts.ICDO3URL: 4, chBehaviour: 4, chGrade: 8, chLaterality: 4}
	for url, n := range want {
		if counts[url] != n {
			t.Errorf("%s: %d concepts, want %d", url, counts[url], n)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("code systems %v", counts)
	}
	iccc := systems[ts.ICCC3URL]
	kinds := map[string]int{}
	for _, c := range iccc.Concept {
		for _, k := range values(&c, terminology.PropertyKind) {
			kinds[k]++
		}
		// Every code but the main groups and the PCSP example has one
		// parent.
		isMain := slices.Contains(values(&c, terminology.PropertyKind), terminology.ICCC3MainGroup)
		if parents := values(&c, terminology.PropertyParent); (len(parents) != 1 && !isMain && c.Code != "081") ||
			(parents != nil && (isMain || c.Code == "081")) {
			t.Errorf("%s: parents %q, kinds %q", c.Code, parents, values(&c, terminology.PropertyKind))
		}
	}
	if kinds[terminology.ICCC3MainGroup] != 14 || kinds[terminology.ICCC3Subgroup] != 50 || kinds[terminology.ICCC3Extended] != 82 {
		t.Errorf("kinds %v", kinds)
	}
	for code, parent := range map[string]string{"IXd.11": "IXd", "IXd": "IX", "150": "15", "XIIb": "XII"} {
		if got := values(concept(t, iccc, code), terminology.PropertyParent); !slices.Equal(got, []string{parent}) {
			t.Errorf("%s parents = %q, want %s", code, got, parent)
		}
	}
}
