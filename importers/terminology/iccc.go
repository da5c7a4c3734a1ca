package terminology

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// iarcCopyright is the notice the ICCC-3 and ICD-O-3 code systems carry.
const iarcCopyright = "ICCC-3: Steliarova-Foucher E, Stiller C, Lacour B, Kaatsch P. " +
	"International Classification of Childhood Cancer, third edition. Cancer 2005;103:1457–1467 (© IARC). " +
	"ICD-O-3 is © WHO/IARC. Only ICCC-3 group codes/titles and the ICD-O-3 behaviour, grade and laterality axes " +
	"(plus four example morphology codes) are included, as published in the Swiss Cancer Registration IG " +
	"(CH-CRL, National Cancer Data Dictionary v1.1) and the HL7 Europe PCSP IG (both CC-BY-SA-4.0). " +
	"ICD-O-3 topography and morphology tables and the ICCC-3 site/morphology conversion are not included."

// chCRL is the base of the CH-CRL code system URLs.
const chCRL = "http://fhir.ch/ig/ch-crl/CodeSystem/"

// Kinds of ICCC-3 codes (property kind).
const (
	ICCC3MainGroup = "main-group"    // I to XII, 14 and 15
	ICCC3Subgroup  = "subgroup"      // Ia, IIb..., 140 and 150
	ICCC3Extended  = "extended-code" // Ia.1, IXd.11...
)

// icccTables maps the CH-CRL ICCC-3 tables to the kind of their codes.
var icccTables = map[string]string{
	chCRL + "nkrs-iccc3maingroup":    ICCC3MainGroup,
	chCRL + "nkrs-iccc3code":         ICCC3Subgroup,
	chCRL + "nkrs-iccc3extendedcode": ICCC3Extended,
}

// icdo3Axes names the CH-CRL ICD-O-3 axis code systems.
var icdo3Axes = map[string]struct{ name, title string }{
	chCRL + "nkrs-icdo3behaviour":         {"NkrsIcdO3Behaviour", "NKRS - ICD-O-3 Behaviour"},
	chCRL + "nkrs-icdo3histologicalgrade": {"NkrsIcdO3HistologicalGrade", "NKRS - ICD-O-3 Histological Grade"},
	chCRL + "nkrs-icdo3laterality":        {"NkrsIcdO3Laterality", "NKRS - ICD-O-3 Laterality"},
}

var (
	// icccMain matches a main group: a Roman numeral, or the two digits
	// of the groups CH-CRL adds (14, 15).
	icccMain = regexp.MustCompile(`^(?:[IVX]+|[0-9]{2})$`)
	// icccSub matches a subgroup and captures its main group: a numeral
	// and a letter (Ia), a main group without subgroups (V), or a
	// two-digit group and 0 (140).
	icccSub = regexp.MustCompile(`^(?:([IVX]+)[a-z]?|([0-9]{2})0)$`)
	// icccExtended matches an extended code and captures its subgroup.
	icccExtended = regexp.MustCompile(`^([IVX]+[a-z]?)\.[0-9]+$`)
	// icdo3Morphology matches an ICD-O-3 morphology code with behaviour.
	icdo3Morphology = regexp.MustCompile(`^[0-9]{4}/[0-9]$`)
	// icdo3AxisCode matches a code of an ICD-O-3 axis.
	icdo3AxisCode = regexp.MustCompile(`^[0-9]$`)
)

// icccRow is one line of the code list.
type icccRow struct {
	line                      int
	system, id                string
	code, display, definition string
}

// ICCC3TSV reads the ICCC-3 / ICD-O-3 code list (tab-separated, with the
// header system, codesystem_id, code, display, definition, source_file)
// and returns its code systems sorted by URL:
//
//   - ICCC-3 (http://terminology.hl7.org/CodeSystem/iccc-3, version 2005,
//     the edition the CH-CRL tables cite; content "fragment"): the main
//     groups, subgroups and extended codes of the three CH-CRL tables in
//     their Roman notation, with the hierarchy main group → subgroup (Ia,
//     140) → extended code (Ia.1) as the property parent and the table as
//     the property kind (ICCC3MainGroup, ICCC3Subgroup, ICCC3Extended).
//     Main group V has no subgroups and is its own subgroup: one concept
//     of both kinds. The codes the list gives for iccc-3 itself (the
//     example of the HL7 Europe PCSP IG, in another notation) are kept as
//     they are, outside the hierarchy.
//   - ICD-O-3 (http://terminology.hl7.org/CodeSystem/icd-o-3, version
//     2000 as the PCSP IG gives it; content "fragment"): the morphology
//     codes only (8260/3).
//   - One code system per ICD-O-3 axis (behaviour, histological grade,
//     laterality), under the CH-CRL URL it comes from (content
//     "complete", no version). Their one-digit codes overlap (1 is
//     borderline, grade I and right), so they cannot share the ICD-O-3
//     system.
//
// Concepts are sorted by code in byte order.
func ICCC3TSV(r io.Reader) ([]*ts.CodeSystem, error) {
	t, err := newTabFile(r, "system", "codesystem_id", "code", "display", "definition")
	if err != nil {
		return nil, fmt.Errorf("iccc-3 code list: %w", err)
	}
	bySystem := make(map[string][]icccRow)
	for {
		row, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("iccc-3 code list: %w", err)
		}
		ir := icccRow{line: t.line, system: row.get("system"), id: row.get("codesystem_id"),
			code: row.get("code"), display: row.get("display"), definition: row.get("definition")}
		if ir.code == "" || ir.display == "" {
			return nil, fmt.Errorf("iccc-3 code list: %w", syntaxErrorf(t.line, "no code or no display"))
		}
		bySystem[ir.system] = append(bySystem[ir.system], ir)
	}
	var out []*ts.CodeSystem
	iccc, err := iccc3CodeSystem(bySystem)
	if err != nil {
		return nil, fmt.Errorf("iccc-3 code list: %w", err)
	}
	if iccc != nil {
		out = append(out, iccc)
	}
	for system, rows := range bySystem {
		switch _, isICCC := icccTables[system]; {
		case isICCC || system == ts.ICCC3URL:
			continue
		case system == ts.ICDO3URL:
			cs, err := icdo3CodeSystem(rows)
			if err != nil {
				return nil, fmt.Errorf("iccc-3 code list: %w", err)
			}
			out = append(out, cs)
		default:
			cs, err := icdo3AxisCodeSystem(system, rows)
			if err != nil {
				return nil, fmt.Errorf("iccc-3 code list: %w", err)
			}
			out = append(out, cs)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("iccc-3 code list: no code")
	}
	slices.SortFunc(out, func(a, b *ts.CodeSystem) int { return strings.Compare(a.URL, b.URL) })
	return out, nil
}

// newIARCCodeSystem returns an empty code system with the conventions and
// the IARC notice.
func newIARCCodeSystem(url, id, version, name, title, publisher, content string) *ts.CodeSystem {
	return &ts.CodeSystem{
		ResourceType:  "CodeSystem",
		ID:            resourceID(id),
		URL:           url,
		Version:       version,
		Name:          name,
		Title:         title,
		Status:        "active",
		Publisher:     publisher,
		Copyright:     iarcCopyright,
		CaseSensitive: ptr(true),
		Content:       content,
	}
}

// iccc3CodeSystem builds the ICCC-3 code system from the rows of the
// CH-CRL ICCC-3 tables and of iccc-3; nil when there are none.
func iccc3CodeSystem(bySystem map[string][]icccRow) (*ts.CodeSystem, error) {
	concepts := make(map[string]*ts.Concept)
	lines := make(map[string]int)
	add := func(r icccRow, kind, parent string) error {
		c, ok := concepts[r.code]
		if !ok {
			c = &ts.Concept{Code: r.code, Display: r.display, Definition: r.definition}
			concepts[r.code], lines[r.code] = c, r.line
		} else if kind == "" || hasProperty(c, PropertyKind, kind) || !strings.EqualFold(c.Display, r.display) {
			return syntaxErrorf(r.line, "ICCC-3 code %q given again (first on line %d)", r.code, lines[r.code])
		}
		if parent != "" {
			if _, ok := concepts[parent]; !ok {
				return syntaxErrorf(r.line, "ICCC-3 %s %q: no code %q above it", kind, r.code, parent)
			}
			addCodeProperty(c, PropertyParent, parent)
		}
		addCodeProperty(c, PropertyKind, kind)
		return nil
	}
	// Main groups first, then subgroups, then extended codes, so that
	// every parent is there before its children.
	for _, r := range bySystem[chCRL+"nkrs-iccc3maingroup"] {
		if !icccMain.MatchString(r.code) {
			return nil, syntaxErrorf(r.line, "ICCC-3 main group %q: want a Roman numeral or two digits", r.code)
		}
		if err := add(r, ICCC3MainGroup, ""); err != nil {
			return nil, err
		}
	}
	for _, r := range bySystem[chCRL+"nkrs-iccc3code"] {
		m := icccSub.FindStringSubmatch(r.code)
		if m == nil {
			return nil, syntaxErrorf(r.line, "ICCC-3 subgroup %q: want a main group and a letter (Ia), or a two-digit group and 0 (140)", r.code)
		}
		parent := m[1] + m[2]
		if parent == r.code {
			parent = "" // V: the main group is its own subgroup
		}
		if err := add(r, ICCC3Subgroup, parent); err != nil {
			return nil, err
		}
	}
	for _, r := range bySystem[chCRL+"nkrs-iccc3extendedcode"] {
		m := icccExtended.FindStringSubmatch(r.code)
		if m == nil {
			return nil, syntaxErrorf(r.line, "ICCC-3 extended code %q: want a subgroup, a dot and a number (Ia.1)", r.code)
		}
		if err := add(r, ICCC3Extended, m[1]); err != nil {
			return nil, err
		}
	}
	for _, r := range bySystem[ts.ICCC3URL] {
		if err := add(r, "", ""); err != nil {
			return nil, err
		}
	}
	if len(concepts) == 0 {
		return nil, nil
	}
	cs := newIARCCodeSystem(ts.ICCC3URL, "iccc-3-2005", "2005", "ICCC3",
		"International Classification of Childhood Cancer, Third Edition (ICCC-3)",
		"International Agency for Research on Cancer (IARC)", "fragment")
	cs.Description = "ICCC-3 main groups, subgroups and extended codes in Roman notation as the " +
		"Swiss Cancer Registration IG (CH-CRL) tables nkrs-iccc3maingroup, nkrs-iccc3code and " +
		"nkrs-iccc3extendedcode give them, with the hierarchy main group, subgroup, extended code; " +
		"and the example code of the HL7 Europe PCSP IG."
	cs.HierarchyMeaning = "is-a"
	cs.Property = []ts.PropertyDef{parentDef, kindDef}
	for _, c := range concepts {
		cs.Concept = append(cs.Concept, *c)
	}
	finish(cs)
	return cs, nil
}

// icdo3CodeSystem builds the ICD-O-3 code system from its morphology rows.
func icdo3CodeSystem(rows []icccRow) (*ts.CodeSystem, error) {
	cs := newIARCCodeSystem(ts.ICDO3URL, "icd-o-3-2000", "2000", "ICDO3",
		"International Classification of Diseases for Oncology, Third Edition (ICD-O-3), morphology",
		"World Health Organization (WHO)", "fragment")
	cs.Description = "ICD-O-3 morphology codes (histology and behaviour) as the HL7 Europe PCSP IG gives them."
	if err := addICCCRows(cs, rows, icdo3Morphology, "an ICD-O-3 morphology code (8260/3)"); err != nil {
		return nil, err
	}
	return cs, nil
}

// icdo3AxisCodeSystem builds the code system of one CH-CRL ICD-O-3 axis.
func icdo3AxisCodeSystem(system string, rows []icccRow) (*ts.CodeSystem, error) {
	axis, ok := icdo3Axes[system]
	if !ok {
		return nil, syntaxErrorf(rows[0].line, "unknown code system %q", system)
	}
	cs := newIARCCodeSystem(system, rows[0].id, "", axis.name, axis.title,
		"NKRS (Swiss National Agency for Cancer Registration)", "complete")
	cs.Description = axis.title + ", as the Swiss Cancer Registration IG (CH-CRL) gives it."
	if err := addICCCRows(cs, rows, icdo3AxisCode, "one digit"); err != nil {
		return nil, err
	}
	return cs, nil
}

// addICCCRows adds one concept per row to cs, checking each code against
// shape (described by want), and finishes cs.
func addICCCRows(cs *ts.CodeSystem, rows []icccRow, shape *regexp.Regexp, want string) error {
	lines := make(map[string]int)
	for _, r := range rows {
		if !shape.MatchString(r.code) {
			return syntaxErrorf(r.line, "%s code %q: want %s", cs.Title, r.code, want)
		}
		if l, dup := lines[r.code]; dup {
			return syntaxErrorf(r.line, "%s code %q given again (first on line %d)", cs.Title, r.code, l)
		}
		lines[r.code] = r.line
		cs.Concept = append(cs.Concept, ts.Concept{Code: r.code, Display: r.display, Definition: r.definition})
	}
	finish(cs)
	return nil
}
