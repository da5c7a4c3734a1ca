package terminology

import (
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// Orphanet's names of the systems it maps ORPHAcodes to, as the Source
// of its external references gives them.
const (
	OrphaSourceICD10 = "ICD-10"
	OrphaSourceOMIM  = "OMIM"
)

// OrphaReference is a cross-reference from an ORPHAcode to a code of
// another system, as Orphanet publishes it.
type OrphaReference struct {
	Code      string // ORPHAcode, such as "ORPHA:558"
	Display   string // Orphanet's preferred name of Code
	Source    string // the other system as Orphanet names it: OrphaSourceICD10, OrphaSourceOMIM...
	Reference string // the code in that system, as published ("Q87.4", "A98.5+", "154700")
	// Relation is Orphanet's mapping relation: "E" (exact), "NTBT" (the
	// ORPHAcode is narrower), "BTNT" (broader), "ND" (not decided), "W"
	// (wrong); "" when the source does not say.
	Relation string
	// Status is Orphanet's validation status of the mapping, such as
	// "Validated"; "" when the source does not say.
	Status string
}

// orphaTarget describes the concept map from ORPHAcodes to one system.
type orphaTarget struct {
	system string // canonical URL of the target system
	slug   string // in the id and url of the map
	name   string // ConceptMap.name
	title  string // ConceptMap.title
}

var (
	orphaICD10Target = orphaTarget{ts.ICD10URL, "icd10", "OrphanetToICD10", "Orphanet ORPHAcodes to ICD-10"}
	orphaOMIMTarget  = orphaTarget{ts.OMIMURL, "omim", "OrphanetToOMIM", "Orphanet ORPHAcodes to OMIM"}
	orphaHPOTarget   = orphaTarget{ts.HPOURL, "hpo", "OrphanetToHPO", "Orphanet ORPHAcodes to their HPO phenotypes"}
)

// orphaEquivalence gives, for each Orphanet mapping relation, the R4
// ConceptMap equivalence of the target and the comment that says so.
// NTBT (the ORPHAcode is narrower than the target) makes the target
// wider; BTNT makes it narrower, which R4 requires to be commented.
var orphaEquivalence = map[string]struct{ equivalence, comment string }{
	"":     {"relatedto", ""},
	"E":    {"equivalent", ""},
	"NTBT": {"wider", "Orphanet NTBT: the ORPHAcode is narrower than the target code."},
	"BTNT": {"narrower", "Orphanet BTNT: the ORPHAcode is broader than the target code."},
	"ND":   {"relatedto", "Orphanet ND: the relation is not yet decided."},
	"W":    {"disjoint", "Orphanet W: wrong mapping, the two concepts differ."},
}

// OrphaReferenceMap returns the concept map from ORPHAcodes to the system
// Orphanet names source (OrphaSourceICD10 or OrphaSourceOMIM), made of the
// references of refs with that source: one group, one element per
// ORPHAcode (sorted by code in byte order), its targets sorted by code. The
// equivalence follows Orphanet's relation (E equivalent, NTBT wider, BTNT
// narrower, ND relatedto, W disjoint; relatedto when none is given).
// ICD-10 dagger (+, †) and asterisk (*) marks and stray punctuation are
// taken out of the code and noted in the target's comment.
func OrphaReferenceMap(source string, refs []OrphaReference, rel OrphaRelease) (*ts.ConceptMap, error) {
	var target orphaTarget
	switch source {
	case OrphaSourceICD10:
		target = orphaICD10Target
	case OrphaSourceOMIM:
		target = orphaOMIMTarget
	default:
		return nil, fmt.Errorf("orphanet references: no concept map for source %q", source)
	}
	b := newOrphaMapBuilder()
	for _, ref := range refs {
		if ref.Source != source {
			continue
		}
		t, err := orphaMapTarget(ref)
		if err != nil {
			return nil, fmt.Errorf("orphanet references: %s → %s %q: %w", ref.Code, source, ref.Reference, err)
		}
		b.add(ref.Code, ref.Display, t)
	}
	return b.conceptMap(target, rel), nil
}

// orphaMapTarget returns the concept map target of a reference.
func orphaMapTarget(ref OrphaReference) (ts.MapTarget, error) {
	eq, ok := orphaEquivalence[ref.Relation]
	if !ok {
		return ts.MapTarget{}, fmt.Errorf("unknown Orphanet mapping relation %q", ref.Relation)
	}
	t := ts.MapTarget{Code: ref.Reference, Equivalence: eq.equivalence, Comment: eq.comment}
	var note string
	switch ref.Source {
	case OrphaSourceICD10:
		code, n, err := orphaICD10Code(ref.Reference)
		if err != nil {
			return t, err
		}
		t.Code, note = code, n
	case OrphaSourceOMIM:
		if !orphaOMIMNumber.MatchString(ref.Reference) {
			return t, fmt.Errorf("%q is not an OMIM number", ref.Reference)
		}
	}
	if ref.Status != "" && !strings.EqualFold(ref.Status, "Validated") {
		note = orphaJoinComment(note, "Orphanet validation status: "+ref.Status+".")
	}
	t.Comment = orphaJoinComment(t.Comment, note)
	return t, nil
}

// orphaJoinComment joins two comments with a space, either may be empty.
func orphaJoinComment(a, b string) string {
	return strings.TrimSpace(a + " " + b)
}

var (
	// orphaICD10Shape matches a WHO ICD-10 category or subcategory.
	orphaICD10Shape = regexp.MustCompile(`^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$`)
	// orphaOMIMNumber matches an OMIM number.
	orphaOMIMNumber = regexp.MustCompile(`^[0-9]{6}$`)
)

// orphaICD10Code returns the ICD-10 code of an Orphanet ICD-10 reference
// without its dagger or asterisk mark or stray punctuation, and a note
// saying what was taken out ("" when nothing was).
func orphaICD10Code(ref string) (code, note string, err error) {
	ref = strings.TrimSpace(ref)
	code = strings.TrimRight(ref, "+*†,;. ")
	switch mark := ref[len(code):]; {
	case mark == "":
	case strings.ContainsAny(mark, "+†"):
		note = fmt.Sprintf("ICD-10 dagger (aetiology) code, published as %q.", ref)
	case strings.Contains(mark, "*"):
		note = fmt.Sprintf("ICD-10 asterisk (manifestation) code, published as %q.", ref)
	default:
		note = fmt.Sprintf("Published as %q.", ref)
	}
	if !orphaICD10Shape.MatchString(code) {
		return "", "", fmt.Errorf("%q is not an ICD-10 code", ref)
	}
	return code, note, nil
}

// orphaMapBuilder collects the elements of a concept map from ORPHAcodes.
type orphaMapBuilder struct {
	elems map[string]*ts.MapElement
}

func newOrphaMapBuilder() *orphaMapBuilder {
	return &orphaMapBuilder{elems: make(map[string]*ts.MapElement)}
}

// add records target t for the ORPHAcode code (named display), unless an
// equal target is recorded already.
func (b *orphaMapBuilder) add(code, display string, t ts.MapTarget) {
	e, ok := b.elems[code]
	if !ok {
		e = &ts.MapElement{Code: code, Display: display}
		b.elems[code] = e
	}
	if !slices.Contains(e.Target, t) {
		e.Target = append(e.Target, t)
	}
}

// targets returns the number of targets recorded.
func (b *orphaMapBuilder) targets() int {
	n := 0
	for _, e := range b.elems {
		n += len(e.Target)
	}
	return n
}

// conceptMap returns the concept map to target: elements sorted by code,
// targets by code, equivalence and comment (byte order). A map without
// elements has no group.
func (b *orphaMapBuilder) conceptMap(target orphaTarget, rel OrphaRelease) *ts.ConceptMap {
	cm := &ts.ConceptMap{
		ResourceType: "ConceptMap",
		ID:           resourceID("orphanet", target.slug, rel.Version),
		URL:          "https://www.orpha.net/fhir/ConceptMap/orpha-" + target.slug,
		Version:      rel.Version,
		Name:         target.name,
		Title:        target.title,
		Status:       "active",
		Date:         rel.Date,
		Publisher:    "Orphanet (INSERM)",
		Description: fmt.Sprintf("%s, from Orphanet data version %s: %d ORPHAcodes, %d targets.",
			target.title, rel.DataVersion, len(b.elems), b.targets()),
		Copyright: rel.copyright(),
	}
	if len(b.elems) == 0 {
		return cm
	}
	elems := make([]ts.MapElement, 0, len(b.elems))
	for _, e := range b.elems {
		slices.SortFunc(e.Target, func(x, y ts.MapTarget) int {
			return cmp.Or(strings.Compare(x.Code, y.Code), strings.Compare(x.Equivalence, y.Equivalence), strings.Compare(x.Comment, y.Comment))
		})
		elems = append(elems, *e)
	}
	slices.SortFunc(elems, func(x, y ts.MapElement) int { return strings.Compare(x.Code, y.Code) })
	cm.Group = []ts.MapGroup{{Source: ts.OrphaURL, SourceVersion: rel.Version, Target: target.system, Element: elems}}
	return cm
}

// OrphaICD10MapTSV reads the derived ORPHA→ICD-10 mapping table
// (tab-separated, with the header orphacode, orpha_label, skos_predicate,
// orphanet_relation, icd10_code) into the concept map
// https://www.orpha.net/fhir/ConceptMap/orpha-icd10 of release rel, as
// OrphaReferenceMap makes it.
func OrphaICD10MapTSV(r io.Reader, rel OrphaRelease) (*ts.ConceptMap, error) {
	t, err := newTabFile(r, "orphacode", "orpha_label", "orphanet_relation", "icd10_code")
	if err != nil {
		return nil, fmt.Errorf("orphanet ICD-10 mappings: %w", err)
	}
	var refs []OrphaReference
	for {
		row, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("orphanet ICD-10 mappings: %w", err)
		}
		ref, err := orphaTSVReference(t, row, "orpha_label", OrphaSourceICD10, row.get("icd10_code"), row.get("orphanet_relation"))
		if err != nil {
			return nil, fmt.Errorf("orphanet ICD-10 mappings: %w", err)
		}
		refs = append(refs, ref)
	}
	return OrphaReferenceMap(OrphaSourceICD10, refs, rel)
}

// OrphaOMIMMapTSV reads the omim column of the derived ORPHAcode
// nomenclature table (see OrphaTSV) into the concept map
// https://www.orpha.net/fhir/ConceptMap/orpha-omim of release rel. The
// table gives no mapping relation, so every target is relatedto; the
// ORPHApackets give the relations (OrphaPacketsTar).
func OrphaOMIMMapTSV(r io.Reader, rel OrphaRelease) (*ts.ConceptMap, error) {
	t, err := newTabFile(r, "orphacode", "label", "omim")
	if err != nil {
		return nil, fmt.Errorf("orphanet OMIM references: %w", err)
	}
	var refs []OrphaReference
	for {
		row, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("orphanet OMIM references: %w", err)
		}
		for _, mim := range orphaSplit(row.get("omim")) {
			ref, err := orphaTSVReference(t, row, "label", OrphaSourceOMIM, mim, "")
			if err != nil {
				return nil, fmt.Errorf("orphanet OMIM references: %w", err)
			}
			refs = append(refs, ref)
		}
	}
	return OrphaReferenceMap(OrphaSourceOMIM, refs, rel)
}

// orphaTSVReference returns the reference a table row gives, checked so
// that an error names the line.
func orphaTSVReference(t *tabFile, row tabRow, labelCol, source, reference, relation string) (OrphaReference, error) {
	code, ok := orphaCode(row.get("orphacode"))
	if !ok {
		return OrphaReference{}, syntaxErrorf(t.line, "orphacode %q is not an Orphanet number", row.get("orphacode"))
	}
	ref := OrphaReference{Code: code, Display: row.get(labelCol), Source: source, Reference: reference, Relation: relation}
	if _, err := orphaMapTarget(ref); err != nil {
		return ref, syntaxErrorf(t.line, "%s → %s: %v", code, source, err)
	}
	return ref, nil
}

// orphaHPOTerm matches an HPO term identifier.
var orphaHPOTerm = regexp.MustCompile(`^HP:[0-9]{7}$`)

// OrphaHPOMapTSV reads the derived ORPHA–HPO phenotype associations
// (tab-separated, with the header orphacode, disorder_label, hpo_id,
// hpo_term, frequency) into the concept map
// https://www.orpha.net/fhir/ConceptMap/orpha-hpo of release rel: one
// target per association, equivalence relatedto, the HPO term its display
// and the frequency ("Very frequent (99-80%)") its comment. An association
// given twice with two frequencies keeps both targets; note that Orphanet
// lists phenotypes that exclude the disorder with the frequency "Excluded
// (0%)".
func OrphaHPOMapTSV(r io.Reader, rel OrphaRelease) (*ts.ConceptMap, error) {
	t, err := newTabFile(r, "orphacode", "disorder_label", "hpo_id", "hpo_term", "frequency")
	if err != nil {
		return nil, fmt.Errorf("orphanet HPO associations: %w", err)
	}
	b := newOrphaMapBuilder()
	for {
		row, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("orphanet HPO associations: %w", err)
		}
		code, ok := orphaCode(row.get("orphacode"))
		if !ok {
			return nil, fmt.Errorf("orphanet HPO associations: %w", syntaxErrorf(t.line, "orphacode %q is not an Orphanet number", row.get("orphacode")))
		}
		hpo := row.get("hpo_id")
		if !orphaHPOTerm.MatchString(hpo) {
			return nil, fmt.Errorf("orphanet HPO associations: %w", syntaxErrorf(t.line, "%s: hpo_id %q is not an HPO term (HP:0000000)", code, hpo))
		}
		b.add(code, row.get("disorder_label"), ts.MapTarget{
			Code:        hpo,
			Display:     row.get("hpo_term"),
			Equivalence: "relatedto",
			Comment:     row.get("frequency"),
		})
	}
	return b.conceptMap(orphaHPOTarget, rel), nil
}
