package terminology

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/htmlindex"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// OrphaPrefix starts every ORPHAcode as CPMS writes it: "ORPHA:558" is
// Marfan syndrome in the system https://www.orpha.net.
const OrphaPrefix = "ORPHA:"

// Property codes of the Orphanet code system, besides parent, inactive and
// replacedBy.
const (
	// PropertyDisorderType is the Orphanet disorder type, such as
	// "Disease", "Clinical group", "Category" or "Malformation syndrome"
	// (valueString).
	PropertyDisorderType = "disorderType"
	// PropertyDisorderGroup is the Orphanet level of the entity:
	// "Group of disorders", "Disorder" or "Subtype of a disorder"
	// (valueString).
	PropertyDisorderGroup = "disorderGroup"
	// PropertyInheritance is a type of inheritance, such as "Autosomal
	// dominant" (valueString, one per type).
	PropertyInheritance = "inheritance"
	// PropertyClassification names an Orphanet classification the concept
	// appears in (valueString, one per classification).
	PropertyClassification = "classification"
)

var (
	orphaDisorderTypeDef = ts.PropertyDef{
		Code:        PropertyDisorderType,
		Description: "The Orphanet disorder type, such as Disease, Clinical group or Category.",
		Type:        "string",
	}
	orphaDisorderGroupDef = ts.PropertyDef{
		Code:        PropertyDisorderGroup,
		Description: "The Orphanet level: Group of disorders, Disorder or Subtype of a disorder.",
		Type:        "string",
	}
	orphaInheritanceDef = ts.PropertyDef{
		Code:        PropertyInheritance,
		Description: "A type of inheritance of the disorder.",
		Type:        "string",
	}
	orphaClassificationDef = ts.PropertyDef{
		Code:        PropertyClassification,
		Description: "The name of an Orphanet classification the concept appears in.",
		Type:        "string",
	}
)

// OrphaRelease identifies an Orphanet data release.
type OrphaRelease struct {
	// Version is the nomenclature version, such as "4.1.8"; it is the
	// version of the code system and the concept maps.
	Version string
	// DataVersion is the Orphadata data version as published, such as
	// "1.3.42 / 4.1.8 [2025-03-03]"; the copyright notice quotes it.
	DataVersion string
	// Date is the release date, such as "2025-03-03".
	Date string
}

// orphaDataVersion matches an Orphadata data version:
// "1.3.42 / 4.1.8 [2025-03-03]".
var orphaDataVersion = regexp.MustCompile(`^\S+\s*/\s*(\S+)\s*\[(\d{4}-\d{2}-\d{2})\]$`)

// ParseOrphaRelease reads an Orphadata data version such as
// "1.3.42 / 4.1.8 [2025-03-03]", as the version attribute of the JDBOR
// element of every Orphadata XML file and the version of every ORPHApacket
// give it.
func ParseOrphaRelease(dataVersion string) (OrphaRelease, error) {
	dataVersion = strings.TrimSpace(dataVersion)
	m := orphaDataVersion.FindStringSubmatch(dataVersion)
	if m == nil {
		return OrphaRelease{}, fmt.Errorf("orphanet data version %q: want the form \"1.3.42 / 4.1.8 [2025-03-03]\"", dataVersion)
	}
	return OrphaRelease{Version: m[1], DataVersion: dataVersion, Date: m[2]}, nil
}

// copyright returns the attribution Orphanet requires (CC BY 4.0).
func (rel OrphaRelease) copyright() string {
	return "Orphadata: Free access data from Orphanet. © INSERM 1999. " +
		"Available on http://www.orphadata.com. Data version " + rel.DataVersion + ". " +
		"Licence: https://creativecommons.org/licenses/by/4.0/."
}

// newOrphaCodeSystem returns an empty Orphanet code system for rel.
// Content is "complete" for a whole nomenclature release, "fragment" for
// an extract.
func newOrphaCodeSystem(rel OrphaRelease, content string, props ...ts.PropertyDef) *ts.CodeSystem {
	return &ts.CodeSystem{
		ResourceType: "CodeSystem",
		ID:           resourceID("orphanet", rel.Version),
		URL:          ts.OrphaURL,
		Version:      rel.Version,
		Name:         "ORPHAcodes",
		Title:        "Orphanet nomenclature of rare diseases (ORPHAcodes)",
		Status:       "active",
		Date:         rel.Date,
		Publisher:    "Orphanet (INSERM)",
		Description: "The clinical entities of the Orphanet nomenclature of rare diseases, " +
			"data version " + rel.DataVersion + ". Codes are written ORPHA: and the number (ORPHA:558).",
		Copyright:        rel.copyright(),
		CaseSensitive:    ptr(true),
		HierarchyMeaning: "is-a",
		Content:          content,
		Property:         append([]ts.PropertyDef{parentDef}, props...),
	}
}

// orphaCode returns the ORPHAcode for s, an Orphanet number with or
// without the ORPHA: prefix, and whether s is one.
func orphaCode(s string) (string, bool) {
	n := strings.TrimPrefix(strings.TrimSpace(s), OrphaPrefix)
	if n == "" || n[0] == '0' || strings.TrimLeft(n, "0123456789") != "" || len(n) > 18 {
		return "", false
	}
	return OrphaPrefix + n, true
}

// orphaDeclare declares def in cs unless a property with its code is
// already declared.
func orphaDeclare(cs *ts.CodeSystem, def ts.PropertyDef) {
	for _, p := range cs.Property {
		if p.Code == def.Code {
			return
		}
	}
	cs.Property = append(cs.Property, def)
}

// orphaIndex maps the codes of cs to their index in cs.Concept.
func orphaIndex(cs *ts.CodeSystem) map[string]int {
	idx := make(map[string]int, len(cs.Concept))
	for i, c := range cs.Concept {
		idx[c.Code] = i
	}
	return idx
}

// orphaSplit splits a multi-valued TSV field on "|", dropping empty values.
func orphaSplit(field string) []string {
	var out []string
	for v := range strings.SplitSeq(field, "|") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// OrphaTSV reads the derived ORPHAcode nomenclature table (tab-separated,
// with the header orphacode, label, disorder_type, parent_orphacodes,
// synonyms, omim, inheritance; multiple values separated by "|") into the
// Orphanet code system of release rel, which the table does not name.
//
// The label is the display, synonyms are English synonym designations,
// parents the property parent, and the disorder type and inheritance the
// properties disorderType and inheritance; the omim column is read by
// OrphaOMIMMapTSV. Parents may name codes the table lacks: they are kept.
// Since the table is an extract (it holds no inactive entity, and not every
// parent it names), content is "fragment". Concepts are sorted by code in
// byte order (ORPHA:10 before ORPHA:5), as every importer sorts them.
func OrphaTSV(r io.Reader, rel OrphaRelease) (*ts.CodeSystem, error) {
	t, err := newTabFile(r, "orphacode", "label", "disorder_type", "parent_orphacodes", "synonyms", "omim", "inheritance")
	if err != nil {
		return nil, fmt.Errorf("orphanet nomenclature: %w", err)
	}
	cs := newOrphaCodeSystem(rel, "fragment", orphaDisorderTypeDef, orphaInheritanceDef)
	first := make(map[string]int)
	for {
		row, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("orphanet nomenclature: %w", err)
		}
		code, ok := orphaCode(row.get("orphacode"))
		if !ok {
			return nil, fmt.Errorf("orphanet nomenclature: %w", syntaxErrorf(t.line, "orphacode %q is not an Orphanet number", row.get("orphacode")))
		}
		if line, dup := first[code]; dup {
			return nil, fmt.Errorf("orphanet nomenclature: %w", syntaxErrorf(t.line, "%s given again (first on line %d)", code, line))
		}
		first[code] = t.line
		c := ts.Concept{Code: code, Display: row.get("label")}
		if c.Display == "" {
			return nil, fmt.Errorf("orphanet nomenclature: %w", syntaxErrorf(t.line, "%s has no label", code))
		}
		for _, s := range orphaSplit(row.get("synonyms")) {
			addSynonym(&c, "en", s)
		}
		for _, p := range orphaSplit(row.get("parent_orphacodes")) {
			parent, ok := orphaCode(p)
			if !ok {
				return nil, fmt.Errorf("orphanet nomenclature: %w", syntaxErrorf(t.line, "%s: parent %q is not an Orphanet number", code, p))
			}
			addCodeProperty(&c, PropertyParent, parent)
		}
		if dt := row.get("disorder_type"); dt != "" {
			c.Property = append(c.Property, stringProperty(PropertyDisorderType, dt))
		}
		for _, inh := range orphaSplit(row.get("inheritance")) {
			c.Property = append(c.Property, stringProperty(PropertyInheritance, inh))
		}
		cs.Concept = append(cs.Concept, c)
	}
	if len(cs.Concept) == 0 {
		return nil, errors.New("orphanet nomenclature: no ORPHAcode in the table")
	}
	finish(cs)
	return cs, nil
}

// tabFile reads a tab-separated release table whose first line names the
// columns. Fields are not quoted: a quotation mark is data.
type tabFile struct {
	sc    *bufio.Scanner
	line  int            // number of the line last read
	cols  map[string]int // column name to index
	width int            // number of columns
}

// tabRow is one data line of a tabFile.
type tabRow struct {
	t      *tabFile
	fields []string
}

// newTabFile reads the header of a table from r and checks that it has
// every column in want (other columns are allowed, in any order).
func newTabFile(r io.Reader, want ...string) (*tabFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	t := &tabFile{sc: sc}
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("line 1: %w", err)
		}
		return nil, syntaxErrorf(1, "empty input: no header line")
	}
	t.line = 1
	header := strings.Split(strings.TrimRight(strings.TrimPrefix(sc.Text(), "\ufeff"), "\r"), "\t")
	t.width = len(header)
	t.cols = make(map[string]int, len(header))
	for i, h := range header {
		t.cols[strings.TrimSpace(h)] = i
	}
	for _, w := range want {
		if _, ok := t.cols[w]; !ok {
			return nil, syntaxErrorf(1, "header has no column %q (want %s)", w, strings.Join(want, ", "))
		}
	}
	return t, nil
}

// next returns the next data line, skipping blank lines, or io.EOF at the
// end of the table.
func (t *tabFile) next() (tabRow, error) {
	for t.sc.Scan() {
		t.line++
		text := strings.TrimRight(t.sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != t.width {
			return tabRow{}, syntaxErrorf(t.line, "%d fields, want %d", len(fields), t.width)
		}
		return tabRow{t: t, fields: fields}, nil
	}
	if err := t.sc.Err(); err != nil {
		return tabRow{}, fmt.Errorf("line %d: %w", t.line+1, err)
	}
	return tabRow{}, io.EOF
}

// get returns the field of column col, trimmed of spaces.
func (r tabRow) get(col string) string {
	return strings.TrimSpace(r.fields[r.t.cols[col]])
}

// OrphaNomenclature is an Orphadata nomenclature release (product1, such
// as en_product1.xml) as OrphaProduct1 reads it.
type OrphaNomenclature struct {
	// Release is the data version the JDBOR element names.
	Release OrphaRelease
	// CodeSystem holds every entity of the release, inactive ones too
	// (content "complete"). The release has no hierarchy: merge the
	// classifications (MergeOrphaClassification) for parents.
	CodeSystem *ts.CodeSystem
	// ICD10 and OMIM map the ORPHAcodes to the release's ICD-10 and OMIM
	// references (see OrphaReferenceMap).
	ICD10, OMIM *ts.ConceptMap
}

// OrphaProduct1 reads an English Orphadata nomenclature release (product1
// XML: JDBOR/DisorderList/Disorder, streamed) into the Orphanet code
// system and the ORPHA→ICD-10 and ORPHA→OMIM concept maps.
//
// Each Disorder gives a concept: OrphaCode the code, Name the display,
// SynonymList English synonym designations, the Definition text section
// the definition (markup removed), DisorderType and DisorderGroup the
// properties disorderType and disorderGroup. A DisorderFlag labelled
// inactive, obsolete or deprecated marks the concept inactive, and its
// "Moved to" association names the replacement (replacedBy). Unknown
// elements are ignored. Other languages are added with
// AddOrphaTranslation.
func OrphaProduct1(r io.Reader) (*OrphaNomenclature, error) {
	var (
		concepts []ts.Concept
		refs     []OrphaReference
		first    = make(map[string]int)
	)
	rel, err := orphaDisorders(r, nil, func(n *orphaNode, line int) error {
		d, err := readOrphaDisorder(n, line)
		if err != nil {
			return err
		}
		if d.lang != "en" && d.lang != "" {
			return syntaxErrorf(line, "<Disorder> %s: <Name lang=%q>: OrphaProduct1 reads the English release; add other languages with AddOrphaTranslation", d.code, d.lang)
		}
		if l, dup := first[d.code]; dup {
			return syntaxErrorf(line, "<Disorder> %s given again (first on line %d)", d.code, l)
		}
		first[d.code] = line
		c := ts.Concept{Code: d.code, Display: d.name, Definition: d.definition}
		for _, s := range d.synonyms {
			addSynonym(&c, "en", s)
		}
		if d.disorderType != "" {
			c.Property = append(c.Property, stringProperty(PropertyDisorderType, d.disorderType))
		}
		if d.disorderGroup != "" {
			c.Property = append(c.Property, stringProperty(PropertyDisorderGroup, d.disorderGroup))
		}
		if d.inactive {
			c.Property = append(c.Property, inactiveProperty())
			if d.replacedBy != "" {
				c.Property = append(c.Property, codeProperty(PropertyReplacedBy, d.replacedBy))
			}
		}
		concepts = append(concepts, c)
		refs = append(refs, d.refs...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("orphadata product1: %w", err)
	}
	if len(concepts) == 0 {
		return nil, errors.New("orphadata product1: no <Disorder> in <DisorderList>")
	}
	cs := newOrphaCodeSystem(rel, "complete", orphaDisorderTypeDef, orphaDisorderGroupDef, inactiveDef, replacedByDef)
	cs.Concept = concepts
	finish(cs)
	out := &OrphaNomenclature{Release: rel, CodeSystem: cs}
	if out.ICD10, err = OrphaReferenceMap(OrphaSourceICD10, refs, rel); err != nil {
		return nil, fmt.Errorf("orphadata product1: %w", err)
	}
	if out.OMIM, err = OrphaReferenceMap(OrphaSourceOMIM, refs, rel); err != nil {
		return nil, fmt.Errorf("orphadata product1: %w", err)
	}
	return out, nil
}

// AddOrphaTranslation reads an Orphadata nomenclature release in another
// language than English (product1 XML such as fr_product1.xml, whose Name
// elements carry lang="fr") and adds its names to the concepts of cs: the
// name as a translation (a designation with the language and no use), each
// synonym as a synonym designation in that language. The release must be
// the version of cs. Disorders cs lacks are skipped. It returns the number
// of concepts that gained a designation. On an error after the first
// disorder, cs keeps the designations added so far.
func AddOrphaTranslation(cs *ts.CodeSystem, r io.Reader) (int, error) {
	idx := orphaIndex(cs)
	added := 0
	sameVersion := func(rel OrphaRelease) error {
		if cs.Version != "" && rel.Version != cs.Version {
			return fmt.Errorf("release %s is not the code system's version %s", rel.Version, cs.Version)
		}
		return nil
	}
	_, err := orphaDisorders(r, sameVersion, func(n *orphaNode, line int) error {
		d, err := readOrphaDisorder(n, line)
		if err != nil {
			return err
		}
		if d.lang == "" || d.lang == "en" {
			return syntaxErrorf(line, "<Disorder> %s: <Name lang=%q>: a translation must be in another language than English", d.code, d.lang)
		}
		i, ok := idx[d.code]
		if !ok {
			return nil
		}
		c := &cs.Concept[i]
		got := addTranslation(c, d.lang, d.name)
		for _, s := range d.synonyms {
			got = addSynonym(c, d.lang, s) || got
		}
		if got {
			added++
		}
		return nil
	})
	if err != nil {
		return added, fmt.Errorf("orphadata translation: %w", err)
	}
	return added, nil
}

// orphaDisorder is what CPMS reads from a product1 Disorder element.
type orphaDisorder struct {
	code, name, lang            string
	synonyms                    []string
	disorderType, disorderGroup string
	definition                  string
	inactive                    bool
	replacedBy                  string
	refs                        []OrphaReference
}

// readOrphaDisorder reads a product1 Disorder element that starts on line.
func readOrphaDisorder(n *orphaNode, line int) (orphaDisorder, error) {
	var d orphaDisorder
	codeNode := n.child("OrphaCode")
	if codeNode == nil {
		return d, syntaxErrorf(line, "<Disorder id=%q> has no <OrphaCode>", n.attr("id"))
	}
	code, ok := orphaCode(codeNode.text())
	if !ok {
		return d, syntaxErrorf(line, "<Disorder id=%q>: <OrphaCode> %q is not an Orphanet number", n.attr("id"), codeNode.text())
	}
	d.code = code
	name := n.child("Name")
	if name == nil || name.text() == "" {
		return d, syntaxErrorf(line, "<Disorder> %s has no <Name>", code)
	}
	d.name, d.lang = name.text(), name.attr("lang")
	if list := n.child("SynonymList"); list != nil {
		for _, s := range list.children("Synonym") {
			d.synonyms = append(d.synonyms, s.text())
		}
	}
	d.disorderType = n.path("DisorderType", "Name").text()
	d.disorderGroup = n.path("DisorderGroup", "Name").text()
	if list := n.child("DisorderFlagList"); list != nil {
		for _, f := range list.children("DisorderFlag") {
			label := strings.ToLower(f.child("Label").text())
			if strings.Contains(label, "inactive") || strings.Contains(label, "obsolete") || strings.Contains(label, "deprecated") {
				d.inactive = true
			}
		}
	}
	if list := n.child("DisorderDisorderAssociationList"); list != nil && d.inactive {
		for _, a := range list.children("DisorderDisorderAssociation") {
			if !strings.EqualFold(a.path("DisorderDisorderAssociationType", "Name").text(), "Moved to") {
				continue
			}
			root, _ := orphaCode(a.path("RootDisorder", "OrphaCode").text())
			target, ok := orphaCode(a.path("TargetDisorder", "OrphaCode").text())
			if ok && target != code && (root == "" || root == code) {
				d.replacedBy = target
				break
			}
		}
	}
	n.each("TextSection", func(s *orphaNode) {
		if d.definition == "" && s.path("TextSectionType", "Name").text() == "Definition" {
			d.definition = orphaPlainText(s.child("Contents").text())
		}
	})
	if list := n.child("ExternalReferenceList"); list != nil {
		for _, e := range list.children("ExternalReference") {
			ref := OrphaReference{
				Code:      code,
				Display:   d.name,
				Source:    e.child("Source").text(),
				Reference: e.child("Reference").text(),
				Relation:  orphaRelation(e.path("DisorderMappingRelation", "Name").text()),
				Status:    e.path("DisorderMappingValidationStatus", "Name").text(),
			}
			if ref.Source == "" || ref.Reference == "" {
				return d, syntaxErrorf(line, "<Disorder> %s: <ExternalReference id=%q> lacks <Source> or <Reference>", code, e.attr("id"))
			}
			if ref.Source == OrphaSourceICD10 || ref.Source == OrphaSourceOMIM {
				if _, err := orphaMapTarget(ref); err != nil {
					return d, syntaxErrorf(line, "<Disorder> %s: <ExternalReference id=%q>: %s %q: %v", code, e.attr("id"), ref.Source, ref.Reference, err)
				}
			}
			d.refs = append(d.refs, ref)
		}
	}
	return d, nil
}

// orphaRelation returns the code of an Orphanet mapping relation named
// as published ("E (Exact mapping: the two concepts are equivalent)" is
// "E").
func orphaRelation(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.IndexAny(name, " (\t\n"); i >= 0 {
		name = name[:i]
	}
	return name
}

// orphaMarkup matches an HTML tag in Orphanet text (<i>, </sup>, <br/>).
var orphaMarkup = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>`)

// orphaPlainText removes HTML tags from Orphanet text and collapses runs of
// white space.
func orphaPlainText(s string) string {
	return strings.Join(strings.Fields(orphaMarkup.ReplaceAllString(s, "")), " ")
}

// OrphaClassification reports what MergeOrphaClassification read and
// changed.
type OrphaClassification struct {
	// Name is the classification's name, such as "Orphanet
	// classification of rare cardiac diseases" (the last one's when the
	// file holds several).
	Name string
	// Release is the data version the JDBOR element names.
	Release OrphaRelease
	// Nodes is the number of classification nodes read.
	Nodes int
	// Parents is the number of parent links added to the code system.
	Parents int
	// Concepts is the number of concepts added to the code system.
	Concepts int
}

// MergeOrphaClassification reads an Orphadata classification (product3
// XML: JDBOR/ClassificationList/Classification/ClassificationNodeRootList,
// nested ClassificationNode elements each with a Disorder and a
// ClassificationNodeChildList; streamed) and merges it into cs: each
// node's enclosing node becomes one of its parents (property parent, once
// per parent), each concept of the classification gets its name as the
// property classification, and a node cs lacks is added as a concept with
// its name and disorder type. Concepts stay sorted by code. The result
// names the classification's release, which the caller may compare with
// the version of cs. On an error, cs may be partly merged.
func MergeOrphaClassification(cs *ts.CodeSystem, r io.Reader) (OrphaClassification, error) {
	var out OrphaClassification
	idx := orphaIndex(cs)
	dec := newOrphaDecoder(r)
	var (
		elems []string // open elements
		nodes []string // ORPHAcodes of the open ClassificationNodes ("" before their Disorder)
		seen  bool     // whether the JDBOR element was read
	)
	fail := func(err error) (OrphaClassification, error) {
		return out, fmt.Errorf("orphadata classification: %w", err)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			parent := ""
			if len(elems) > 0 {
				parent = elems[len(elems)-1]
			}
			switch {
			case len(elems) == 0:
				if out.Release, err = orphaRoot(t, line); err != nil {
					return fail(err)
				}
				seen = true
			case t.Name.Local == "Name" && parent == "Classification":
				var n orphaNode
				if err := dec.DecodeElement(&n, &t); err != nil {
					return fail(err)
				}
				out.Name = n.text()
				continue
			case t.Name.Local == "ClassificationNode":
				nodes = append(nodes, "")
			case t.Name.Local == "Disorder" && parent == "ClassificationNode":
				var n orphaNode
				if err := dec.DecodeElement(&n, &t); err != nil {
					return fail(err)
				}
				code, ok := orphaCode(n.child("OrphaCode").text())
				if !ok {
					return fail(syntaxErrorf(line, "<Disorder id=%q>: <OrphaCode> %q is not an Orphanet number", n.attr("id"), n.child("OrphaCode").text()))
				}
				nodes[len(nodes)-1] = code
				out.Nodes++
				i, ok := idx[code]
				if !ok {
					name := n.child("Name").text()
					if name == "" {
						return fail(syntaxErrorf(line, "<Disorder> %s has no <Name>", code))
					}
					c := ts.Concept{Code: code, Display: name}
					if dt := n.path("DisorderType", "Name").text(); dt != "" {
						c.Property = append(c.Property, stringProperty(PropertyDisorderType, dt))
					}
					cs.Concept = append(cs.Concept, c)
					i = len(cs.Concept) - 1
					idx[code] = i
					out.Concepts++
				}
				c := &cs.Concept[i]
				if len(nodes) > 1 {
					p := nodes[len(nodes)-2]
					if p == "" {
						return fail(syntaxErrorf(line, "<ClassificationNode> of %s is inside a node without a <Disorder>", code))
					}
					if !hasProperty(c, PropertyParent, p) {
						addCodeProperty(c, PropertyParent, p)
						out.Parents++
					}
				}
				if out.Name != "" && !hasProperty(c, PropertyClassification, out.Name) {
					c.Property = append(c.Property, stringProperty(PropertyClassification, out.Name))
				}
				continue
			}
			elems = append(elems, t.Name.Local)
		case xml.EndElement:
			if t.Name.Local == "ClassificationNode" {
				if nodes[len(nodes)-1] == "" {
					line, _ := dec.InputPos()
					return fail(syntaxErrorf(line, "<ClassificationNode> without a <Disorder>"))
				}
				nodes = nodes[:len(nodes)-1]
			}
			elems = elems[:len(elems)-1]
		}
	}
	if !seen {
		return fail(errors.New("no <JDBOR> element"))
	}
	if out.Nodes == 0 {
		return fail(errors.New("no <ClassificationNode> with a <Disorder>"))
	}
	orphaDeclare(cs, parentDef)
	orphaDeclare(cs, orphaDisorderTypeDef)
	orphaDeclare(cs, orphaClassificationDef)
	finish(cs)
	return out, nil
}

// newOrphaDecoder returns a decoder for Orphadata XML, which is UTF-8 or,
// in older releases, ISO-8859-1.
func newOrphaDecoder(r io.Reader) *xml.Decoder {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("unsupported encoding %q", label)
		}
		return enc.NewDecoder().Reader(in), nil
	}
	return dec
}

// orphaRoot checks that t, starting on line, is an Orphadata JDBOR
// element and returns the release its version attribute names.
func orphaRoot(t xml.StartElement, line int) (OrphaRelease, error) {
	if t.Name.Local != "JDBOR" {
		return OrphaRelease{}, syntaxErrorf(line, "root element <%s>, want <JDBOR>", t.Name.Local)
	}
	for _, a := range t.Attr {
		if a.Name.Local == "version" {
			rel, err := ParseOrphaRelease(a.Value)
			if err != nil {
				return rel, syntaxErrorf(line, "<JDBOR>: %v", err)
			}
			return rel, nil
		}
	}
	return OrphaRelease{}, syntaxErrorf(line, "<JDBOR> has no version attribute")
}

// orphaDisorders streams an Orphadata XML release and calls fn with each
// Disorder element of its DisorderList and the line the element starts
// on, after check (unless nil) accepted the release the JDBOR element
// names. It returns that release.
func orphaDisorders(r io.Reader, check func(OrphaRelease) error, fn func(n *orphaNode, line int) error) (OrphaRelease, error) {
	dec := newOrphaDecoder(r)
	var (
		rel   OrphaRelease
		elems []string
		seen  bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rel, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			if len(elems) == 0 {
				if rel, err = orphaRoot(t, line); err != nil {
					return rel, err
				}
				if check != nil {
					if err := check(rel); err != nil {
						return rel, err
					}
				}
				seen = true
			}
			if t.Name.Local == "Disorder" && len(elems) > 0 && elems[len(elems)-1] == "DisorderList" {
				var n orphaNode
				if err := dec.DecodeElement(&n, &t); err != nil {
					return rel, err
				}
				if err := fn(&n, line); err != nil {
					return rel, err
				}
				continue
			}
			elems = append(elems, t.Name.Local)
		case xml.EndElement:
			elems = elems[:len(elems)-1]
		}
	}
	if !seen {
		return rel, errors.New("no <JDBOR> element")
	}
	return rel, nil
}

// orphaNode is an XML element read whole: its attributes, text and
// child elements.
type orphaNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr  `xml:",any,attr"`
	Text     string      `xml:",chardata"`
	Children []orphaNode `xml:",any"`
}

// child returns the first child element named name, or nil.
func (n *orphaNode) child(name string) *orphaNode {
	if n == nil {
		return nil
	}
	for i := range n.Children {
		if n.Children[i].XMLName.Local == name {
			return &n.Children[i]
		}
	}
	return nil
}

// children returns the child elements named name.
func (n *orphaNode) children(name string) []*orphaNode {
	var out []*orphaNode
	for i := range n.Children {
		if n.Children[i].XMLName.Local == name {
			out = append(out, &n.Children[i])
		}
	}
	return out
}

// path follows the first child with each name in turn; nil if one is
// missing.
func (n *orphaNode) path(names ...string) *orphaNode {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// each calls fn with every descendant element named name, in document
// order.
func (n *orphaNode) each(name string, fn func(*orphaNode)) {
	for i := range n.Children {
		c := &n.Children[i]
		if c.XMLName.Local == name {
			fn(c)
		}
		c.each(name, fn)
	}
}

// text returns the element's own text, trimmed; "" for a nil node.
func (n *orphaNode) text() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

// attr returns the value of the attribute named name, or "".
func (n *orphaNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// OrphaPackets is what CPMS reads from the ORPHApackets JSON release (a tar
// archive with one JSON file per disorder) besides the nomenclature table
// derived from it: the definitions and the OMIM references with
// Orphanet's mapping relation.
type OrphaPackets struct {
	// Release is the data version the packets name.
	Release OrphaRelease
	// Definitions maps ORPHAcodes to their definition (markup removed),
	// as the packets give it: the 2025-12 packets have lost most commas
	// of Orphanet's text, which product1 keeps.
	Definitions map[string]string
	// OMIM maps the ORPHAcodes to their OMIM references (see
	// OrphaReferenceMap).
	OMIM *ts.ConceptMap
}

// orphaPacket is the part of an ORPHApacket CPMS reads.
type orphaPacket struct {
	Orphapacket *struct {
		ORPHAcode          string
		Label              string
		Version            string
		TextSection        json.RawMessage
		ExternalReferences []orphaPacketRef
	}
}

// orphaPacketRef is an ORPHApacket external reference; the release writes
// it either bare or wrapped in an object with the key ExternalReference.
type orphaPacketRef struct {
	ExternalReference       *orphaPacketRef
	Source                  string
	Reference               string
	DisorderMappingRelation string
}

// orphaTextSection is an ORPHApacket text section.
type orphaTextSection struct {
	TextSectionType string
	Contents        string
}

// OrphaPacketsTar reads the ORPHApackets JSON release, a tar archive (give
// it decompressed: Open decompresses .gz) of files
// ORPHApacket_<number>.json. Files not ending in .json are skipped. Every
// packet must name the same data version.
func OrphaPacketsTar(r io.Reader) (*OrphaPackets, error) {
	out := &OrphaPackets{Definitions: make(map[string]string)}
	var refs []OrphaReference
	tr := tar.NewReader(r)
	files := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("orphapackets: %w", err)
		}
		if h.Typeflag != tar.TypeReg || path.Ext(h.Name) != ".json" {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("orphapackets: %s: %w", h.Name, err)
		}
		p, err := readOrphaPacket(body)
		if err != nil {
			return nil, fmt.Errorf("orphapackets: %s: %w", h.Name, err)
		}
		rel, err := ParseOrphaRelease(p.version)
		if err != nil {
			return nil, fmt.Errorf("orphapackets: %s: %w", h.Name, err)
		}
		if files == 0 {
			out.Release = rel
		} else if rel != out.Release {
			return nil, fmt.Errorf("orphapackets: %s: data version %q, but earlier packets have %q", h.Name, rel.DataVersion, out.Release.DataVersion)
		}
		files++
		if p.definition != "" {
			out.Definitions[p.code] = p.definition
		}
		refs = append(refs, p.refs...)
	}
	if files == 0 {
		return nil, errors.New("orphapackets: no .json file in the archive")
	}
	var err error
	if out.OMIM, err = OrphaReferenceMap(OrphaSourceOMIM, refs, out.Release); err != nil {
		return nil, fmt.Errorf("orphapackets: %w", err)
	}
	return out, nil
}

// orphaPacketData is what readOrphaPacket returns.
type orphaPacketData struct {
	code, version, definition string
	refs                      []OrphaReference
}

// readOrphaPacket reads one ORPHApacket JSON file.
func readOrphaPacket(body []byte) (orphaPacketData, error) {
	var d orphaPacketData
	var f orphaPacket
	if err := json.Unmarshal(body, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return d, syntaxErrorf(1+bytes.Count(body[:se.Offset], []byte("\n")), "%v", err)
		}
		return d, err
	}
	p := f.Orphapacket
	if p == nil {
		return d, errors.New("no Orphapacket object")
	}
	code, ok := orphaCode(p.ORPHAcode)
	if !ok {
		return d, fmt.Errorf("ORPHAcode %q is not an Orphanet number", p.ORPHAcode)
	}
	d.code, d.version = code, p.Version
	var sections []orphaTextSection
	switch t := bytes.TrimSpace(p.TextSection); {
	case len(t) > 0 && t[0] == '{':
		var s orphaTextSection
		if err := json.Unmarshal(t, &s); err != nil {
			return d, fmt.Errorf("%s: TextSection: %w", code, err)
		}
		sections = append(sections, s)
	case len(t) > 0 && t[0] == '[':
		if err := json.Unmarshal(t, &sections); err != nil {
			return d, fmt.Errorf("%s: TextSection: %w", code, err)
		}
	}
	for _, s := range sections {
		if s.TextSectionType == "Definition" && d.definition == "" {
			d.definition = orphaPlainText(s.Contents)
		}
	}
	for _, e := range p.ExternalReferences {
		if e.ExternalReference != nil {
			e = *e.ExternalReference
		}
		ref := OrphaReference{
			Code:      code,
			Display:   p.Label,
			Source:    e.Source,
			Reference: e.Reference,
			Relation:  orphaRelation(e.DisorderMappingRelation),
		}
		if ref.Source == "" || ref.Reference == "" {
			return d, fmt.Errorf("%s: external reference without Source or Reference", code)
		}
		if ref.Source == OrphaSourceOMIM {
			if _, err := orphaMapTarget(ref); err != nil {
				return d, fmt.Errorf("%s: OMIM reference %q: %w", code, ref.Reference, err)
			}
		}
		d.refs = append(d.refs, ref)
	}
	return d, nil
}

// AddDefinitions sets the definition of each concept of cs that has none
// and for which the packets have one. It returns the number of concepts
// it changed.
func (p *OrphaPackets) AddDefinitions(cs *ts.CodeSystem) int {
	n := 0
	for i := range cs.Concept {
		c := &cs.Concept[i]
		if def, ok := p.Definitions[c.Code]; ok && c.Definition == "" {
			c.Definition = def
			n++
		}
	}
	return n
}
