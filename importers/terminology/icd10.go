package terminology

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// WHO ICD-10 comes as ClaML, the XML format WHO publishes the
// classification in, or as the eHDSI code list (a TSV of codes and English
// titles). Chapters are coded as in ClaML, by Roman numeral ("VI"); blocks
// by their range ("G40-G47"); categories with the dot ("G40.9").

// Copyright notices of ICD-10 CodeSystems.
const (
	icd10Copyright = "ICD-10 is © World Health Organization. Any use or redistribution " +
		"of the classification is subject to WHO's ICD-10 licence terms."
	icd10EHDSICopyright = "ICD-10 is © World Health Organization. The codes and English titles " +
		"are those published in the eHDSI Master Value Set Catalogue 8.1.0 (HL7 Europe) " +
		"and are for code-validation only: no index, inclusion/exclusion notes or Chapter XX. " +
		"Any other use or redistribution of the classification is subject to WHO's ICD-10 licence terms."
	icd10FrenchCopyright = " The French titles (CIM-10) are the ATIH French version of ICD-10; the same WHO/ATIH terms apply."
)

// ICD10EHDSIVersion is the version ICD10TSV gives the eHDSI code list
// unless told otherwise: eHDSI Master Value Set Catalogue 8.1.0.
const ICD10EHDSIVersion = "8.1.0-eHDSI"

// Values of the ICD-10 "kind" property: the ClaML class kinds.
const (
	ICD10Chapter  = "chapter"
	ICD10Block    = "block"
	ICD10Category = "category"
)

// newICD10CodeSystem returns an ICD-10 CodeSystem header.
func newICD10CodeSystem(version string) *ts.CodeSystem {
	cs := &ts.CodeSystem{
		ResourceType:     "CodeSystem",
		URL:              ts.ICD10URL,
		Version:          version,
		Name:             "ICD10",
		Title:            "International Statistical Classification of Diseases and Related Health Problems 10th Revision",
		Status:           "active",
		Publisher:        "World Health Organization",
		Copyright:        icd10Copyright,
		CaseSensitive:    ptr(true),
		HierarchyMeaning: "is-a",
		Content:          "complete",
		Property:         []ts.PropertyDef{parentDef, kindDef},
	}
	cs.ID = resourceID("icd-10-who", version)
	if version == "" {
		cs.ID = "icd-10-who"
	}
	return cs
}

// ICD10ClaML reads the WHO ICD-10 classification in ClaML 2.0 format into
// a CodeSystem. Every Class (chapter, block or category) becomes a
// concept: its preferred rubric the display (labels in other languages
// translations), its inclusion and preferredLong rubrics synonyms, its
// definition rubric the definition, its SuperClass the parent, its kind
// the property "kind". Labels are read as text, the text of references
// and fragments included. Modifiers (ModifierClass, used for some fifth
// characters) are not expanded. The version is the Title's version
// attribute (for example "2019"); the DOCTYPE's DTD is never fetched.
func ICD10ClaML(r io.Reader) (*ts.CodeSystem, error) {
	d := xml.NewDecoder(r)
	var (
		root     bool // the ClaML element was read
		title    claMLTitle
		lang     = "en"
		index    = map[string]int{} // code -> line of its Class
		concepts []ts.Concept
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("icd-10 claml: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		line, _ := d.InputPos()
		if !root {
			if se.Name.Local != "ClaML" {
				return nil, fmt.Errorf("icd-10 claml: %w", syntaxErrorf(line, "root element is <%s>, want <ClaML>", se.Name.Local))
			}
			root = true
			continue
		}
		switch se.Name.Local {
		case "Meta":
			if claMLAttr(se, "name") == "lang" {
				lang = claMLAttr(se, "value")
			}
			err = d.Skip()
		case "Title":
			err = d.DecodeElement(&title, &se)
		case "Class":
			var class claMLClass
			if err := d.DecodeElement(&class, &se); err != nil {
				return nil, fmt.Errorf("icd-10 claml: Class at line %d: %w", line, err)
			}
			c, err := class.concept(lang)
			if err != nil {
				return nil, fmt.Errorf("icd-10 claml: %w", syntaxErrorf(line, "Class %q: %v", class.Code, err))
			}
			if prev, dup := index[c.Code]; dup {
				return nil, fmt.Errorf("icd-10 claml: %w", syntaxErrorf(line, "duplicate Class %q (first at line %d)", c.Code, prev))
			}
			index[c.Code] = line
			concepts = append(concepts, c)
		default:
			err = d.Skip()
		}
		if err != nil {
			return nil, fmt.Errorf("icd-10 claml: <%s> at line %d: %w", se.Name.Local, line, err)
		}
	}
	if !root {
		return nil, errors.New("icd-10 claml: no <ClaML> element")
	}
	if len(concepts) == 0 {
		return nil, errors.New("icd-10 claml: no Class elements")
	}
	cs := newICD10CodeSystem(title.Version)
	if t := claMLCollapse(title.Text); t != "" {
		cs.Title = t
	}
	if claMLDate.MatchString(title.Date) {
		cs.Date = title.Date
	}
	cs.Concept = concepts
	finish(cs)
	return cs, nil
}

// claMLDate matches a FHIR date or dateTime.
var claMLDate = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?)?)?$`)

// claMLAttr returns the value of the attribute of se with this local name.
func claMLAttr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// claMLTitle is the ClaML Title element.
type claMLTitle struct {
	Name    string `xml:"name,attr"`
	Version string `xml:"version,attr"`
	Date    string `xml:"date,attr"`
	Text    string `xml:",chardata"`
}

// claMLClass is a ClaML Class element.
type claMLClass struct {
	Code       string `xml:"code,attr"`
	Kind       string `xml:"kind,attr"`
	SuperClass []struct {
		Code string `xml:"code,attr"`
	} `xml:"SuperClass"`
	Rubric []struct {
		Kind  string       `xml:"kind,attr"`
		Label []claMLLabel `xml:"Label"`
	} `xml:"Rubric"`
}

// concept returns the concept of a Class; lang is the language of labels
// that do not say.
func (class *claMLClass) concept(lang string) (ts.Concept, error) {
	if class.Code == "" {
		return ts.Concept{}, errors.New("no code attribute")
	}
	c := ts.Concept{Code: class.Code}
	var translations []claMLLabel
	for _, rub := range class.Rubric {
		for _, l := range rub.Label {
			if l.Lang == "" {
				l.Lang = lang
			}
			switch rub.Kind {
			case "preferred":
				if c.Display == "" && l.Lang == lang {
					c.Display = l.Text
				} else {
					translations = append(translations, l)
				}
			case "preferredLong", "inclusion":
				addSynonym(&c, l.Lang, l.Text)
			case "definition":
				if c.Definition == "" {
					c.Definition = l.Text
				}
			}
		}
	}
	if c.Display == "" {
		return c, errors.New("no preferred rubric label")
	}
	for _, l := range translations {
		addTranslation(&c, l.Lang, l.Text)
	}
	for _, s := range class.SuperClass {
		addCodeProperty(&c, PropertyParent, s.Code)
	}
	if class.Kind != "" {
		c.Property = append(c.Property, codeProperty(PropertyKind, class.Kind))
	}
	return c, nil
}

// claMLLabel is a ClaML Label: its language and its text content, nested
// elements (Reference, Term, Fragment, Para, List...) included, with
// white space collapsed.
type claMLLabel struct {
	Lang string
	Text string
}

// UnmarshalXML reads the text content of a Label element.
func (l *claMLLabel) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	l.Lang = claMLAttr(start, "lang")
	var b strings.Builder
	for depth := 0; ; {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "Fragment", "Para", "List", "ListItem", "Table", "Row", "Cell":
				b.WriteByte(' ') // block-like parts are separate words
			}
		case xml.EndElement:
			if depth == 0 {
				l.Text = claMLCollapse(b.String())
				return nil
			}
			depth--
		}
	}
}

// claMLCollapse trims s and turns every run of white space into a single
// space.
func claMLCollapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// icd10CodeRE matches ICD-10 category codes as the eHDSI list writes them:
// three characters, optionally a dot and one or two more (G40, G40.9,
// B18.00, M45.X0).
var icd10CodeRE = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,2})?$`)

// ICD10ChapterRange is an ICD-10 chapter and the range of 3-character
// categories it holds.
type ICD10ChapterRange struct {
	Number      int    // 1 to 22
	First, Last string // first and last 3-character category, such as "A00" and "B99"
	FrenchTitle string // title in the French version (CIM-10), if known
}

// Code returns the chapter's code as WHO writes it: the Roman numeral of
// its number ("VI").
func (ch ICD10ChapterRange) Code() string {
	if ch.Number < 1 || ch.Number >= len(icd10Chapters) {
		return strconv.Itoa(ch.Number)
	}
	return icd10Chapters[ch.Number].code
}

// Title returns the chapter's English title in WHO ICD-10.
func (ch ICD10ChapterRange) Title() string {
	if ch.Number < 1 || ch.Number >= len(icd10Chapters) {
		return ""
	}
	return icd10Chapters[ch.Number].title
}

// icd10Chapters holds the codes and English titles of the WHO ICD-10
// chapters, by number.
var icd10Chapters = [...]struct{ code, title string }{
	1:  {"I", "Certain infectious and parasitic diseases"},
	2:  {"II", "Neoplasms"},
	3:  {"III", "Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism"},
	4:  {"IV", "Endocrine, nutritional and metabolic diseases"},
	5:  {"V", "Mental and behavioural disorders"},
	6:  {"VI", "Diseases of the nervous system"},
	7:  {"VII", "Diseases of the eye and adnexa"},
	8:  {"VIII", "Diseases of the ear and mastoid process"},
	9:  {"IX", "Diseases of the circulatory system"},
	10: {"X", "Diseases of the respiratory system"},
	11: {"XI", "Diseases of the digestive system"},
	12: {"XII", "Diseases of the skin and subcutaneous tissue"},
	13: {"XIII", "Diseases of the musculoskeletal system and connective tissue"},
	14: {"XIV", "Diseases of the genitourinary system"},
	15: {"XV", "Pregnancy, childbirth and the puerperium"},
	16: {"XVI", "Certain conditions originating in the perinatal period"},
	17: {"XVII", "Congenital malformations, deformations and chromosomal abnormalities"},
	18: {"XVIII", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"},
	19: {"XIX", "Injury, poisoning and certain other consequences of external causes"},
	20: {"XX", "External causes of morbidity and mortality"},
	21: {"XXI", "Factors influencing health status and contact with health services"},
	22: {"XXII", "Codes for special purposes"},
}

// ReadICD10Chapters reads a chapter index: a JSON array of objects with
// "chapter" (the number, as a string), "bloc_low" and "bloc_high" (the
// first and last 3-character category) and "name" (the French title), as
// in the CIM-10 package's chapters_index.json.
func ReadICD10Chapters(r io.Reader) ([]ICD10ChapterRange, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("icd-10 chapters: read: %w", err)
	}
	var rows []struct {
		Chapter  string `json:"chapter"`
		BlocLow  string `json:"bloc_low"`
		BlocHigh string `json:"bloc_high"`
		Name     string `json:"name"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("icd-10 chapters: %w", jsonLineError(data, err))
	}
	chapters := make([]ICD10ChapterRange, 0, len(rows))
	for i, row := range rows {
		n, err := strconv.Atoi(row.Chapter)
		if err != nil || n < 1 || n >= len(icd10Chapters) {
			return nil, fmt.Errorf("icd-10 chapters: [%d]: chapter %q is not a number from 1 to %d", i, row.Chapter, len(icd10Chapters)-1)
		}
		if len(row.BlocLow) != 3 || len(row.BlocHigh) != 3 || row.BlocLow > row.BlocHigh {
			return nil, fmt.Errorf("icd-10 chapters: [%d]: bad range %q-%q", i, row.BlocLow, row.BlocHigh)
		}
		chapters = append(chapters, ICD10ChapterRange{Number: n, First: row.BlocLow, Last: row.BlocHigh, FrenchTitle: row.Name})
	}
	return chapters, nil
}

// ICD10TSVOption configures ICD10TSV.
type ICD10TSVOption func(*icd10TSVConfig)

// icd10TSVConfig is the configuration of ICD10TSV.
type icd10TSVConfig struct {
	version  string
	chapters []ICD10ChapterRange
}

// WithICD10Version sets the version of the CodeSystem ICD10TSV returns
// (ICD10EHDSIVersion by default).
func WithICD10Version(version string) ICD10TSVOption {
	return func(c *icd10TSVConfig) { c.version = version }
}

// WithICD10Chapters gives ICD10TSV the chapters: each chapter holding a
// category of the list becomes a concept (English WHO title, French title
// as a translation) and the parent of its 3-character categories.
// Without chapters, 3-character categories have no parent.
func WithICD10Chapters(chapters []ICD10ChapterRange) ICD10TSVOption {
	return func(c *icd10TSVConfig) { c.chapters = chapters }
}

// ICD10TSV reads a list of ICD-10 codes and English titles (a header line
// "code<TAB>display", then one code a line) such as the eHDSI Illness and
// Disorder value set. The hierarchy comes from the codes: G40.9's parent
// is G40, B18.00's is B18.0 (or B18 when B18.0 is not listed), and a
// 3-character category's is its chapter when chapters are given. The
// result is a fragment: such lists leave parts of ICD-10 out (eHDSI leaves
// out chapter XX, and blocks).
func ICD10TSV(r io.Reader, opts ...ICD10TSVOption) (*ts.CodeSystem, error) {
	cfg := icd10TSVConfig{version: ICD10EHDSIVersion}
	for _, o := range opts {
		o(&cfg)
	}
	index := map[string]int{} // code -> line
	var concepts []ts.Concept
	err := scanTSV(r, []string{"code", "display"}, func(line int, f []string) error {
		code, display := strings.TrimSpace(f[0]), strings.TrimSpace(f[1])
		if !icd10CodeRE.MatchString(code) {
			return syntaxErrorf(line, "%q is not an ICD-10 code", code)
		}
		if prev, dup := index[code]; dup {
			return syntaxErrorf(line, "duplicate code %s (first at line %d)", code, prev)
		}
		index[code] = line
		concepts = append(concepts, ts.Concept{
			Code:     code,
			Display:  display,
			Property: []ts.ConceptProperty{codeProperty(PropertyKind, ICD10Category)},
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("icd-10 tsv: %w", err)
	}
	if len(concepts) == 0 {
		return nil, errors.New("icd-10 tsv: no codes")
	}
	used := map[int]bool{} // chapters holding a category of the list
	for i := range concepts {
		c := &concepts[i]
		if parent := icd10Parent(c.Code, index); parent != "" {
			addCodeProperty(c, PropertyParent, parent)
			continue
		}
		for _, ch := range cfg.chapters {
			if c.Code >= ch.First && c.Code <= ch.Last {
				addCodeProperty(c, PropertyParent, ch.Code())
				used[ch.Number] = true
				break
			}
		}
	}
	for _, ch := range cfg.chapters {
		if !used[ch.Number] {
			continue
		}
		c := ts.Concept{
			Code:     ch.Code(),
			Display:  ch.Title(),
			Property: []ts.ConceptProperty{codeProperty(PropertyKind, ICD10Chapter)},
		}
		addTranslation(&c, "fr", ch.FrenchTitle)
		concepts = append(concepts, c)
	}
	cs := newICD10CodeSystem(cfg.version)
	cs.Title = "ICD-10 (WHO), eHDSI code list"
	cs.Description = "WHO ICD-10 codes and English titles as listed in the eHDSI Illness and Disorder value set " +
		"(eHDSI Master Value Set Catalogue); a subset of ICD-10."
	cs.Copyright = icd10EHDSICopyright
	cs.Content = "fragment"
	cs.Concept = concepts
	finish(cs)
	return cs, nil
}

// icd10Parent returns the parent of a category code with a dot: the
// longest listed code it extends (B18.00 -> B18.0, else B18), or "" for a
// 3-character code or when none is listed.
func icd10Parent(code string, listed map[string]int) string {
	for p := code[:len(code)-1]; len(p) >= 3; p = p[:len(p)-1] {
		if _, ok := listed[p]; ok && p != code && !strings.HasSuffix(p, ".") {
			return p
		}
	}
	return ""
}

// ICD10AddFrench adds French titles (CIM-10, from a TSV with a header line
// "code<TAB>name" and codes without the dot, A000 for A00.0) to the
// concepts of an ICD-10 CodeSystem, as translations with language "fr".
// Codes the CodeSystem does not hold are skipped. It returns the number of
// titles added.
func ICD10AddFrench(cs *ts.CodeSystem, r io.Reader) (int, error) {
	index := make(map[string]int, len(cs.Concept))
	for i, c := range cs.Concept {
		index[c.Code] = i
	}
	added := 0
	err := scanTSV(r, []string{"code", "name"}, func(line int, f []string) error {
		code := strings.TrimSpace(f[0])
		if len(code) < 3 {
			return syntaxErrorf(line, "%q is not an ICD-10 code", code)
		}
		if len(code) > 3 {
			code = code[:3] + "." + code[3:]
		}
		if i, ok := index[code]; ok && addTranslation(&cs.Concept[i], "fr", f[1]) {
			added++
		}
		return nil
	})
	if err != nil {
		return added, fmt.Errorf("icd-10 french titles: %w", err)
	}
	if added > 0 && !strings.Contains(cs.Copyright, icd10FrenchCopyright) {
		cs.Copyright += icd10FrenchCopyright
	}
	return added, nil
}
