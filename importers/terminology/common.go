package terminology

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// Property codes the importers write and the terminology service reads.
const (
	// PropertyParent links a concept to one of its parents (valueCode).
	PropertyParent = "parent"
	// PropertyInactive marks an inactive, obsolete or deprecated concept
	// (valueBoolean true).
	PropertyInactive = "inactive"
	// PropertyReplacedBy names the concept that replaces an obsolete one
	// (valueCode).
	PropertyReplacedBy = "replacedBy"
	// PropertyAltID records an alternative identifier of a concept
	// (valueCode), so that a lookup by the old code finds it.
	PropertyAltID = "alt_id"
	// PropertyKind records the kind of a classification entry, such as
	// ICD-10's chapter, block and category (valueCode).
	PropertyKind = "kind"
)

// Standard property definitions, declared in CodeSystem.property by every
// importer whose concepts carry the property.
var (
	parentDef = ts.PropertyDef{
		Code:        PropertyParent,
		URI:         "http://hl7.org/fhir/concept-properties#parent",
		Description: "A parent of this concept (is-a).",
		Type:        "code",
	}
	inactiveDef = ts.PropertyDef{
		Code:        PropertyInactive,
		URI:         "http://hl7.org/fhir/concept-properties#inactive",
		Description: "True if the concept is inactive, obsolete or deprecated.",
		Type:        "boolean",
	}
	replacedByDef = ts.PropertyDef{
		Code:        PropertyReplacedBy,
		URI:         "http://hl7.org/fhir/concept-properties#replacedBy",
		Description: "The concept that replaces this obsolete concept.",
		Type:        "code",
	}
	altIDDef = ts.PropertyDef{
		Code:        PropertyAltID,
		Description: "An alternative identifier of this concept, such as a merged code.",
		Type:        "code",
	}
	kindDef = ts.PropertyDef{
		Code:        PropertyKind,
		Description: "The kind of classification entry (for example chapter, block or category).",
		Type:        "code",
	}
)

// Open opens the named release file for reading. A name ending in ".gz" or
// ".bz2" is decompressed transparently. Closing the result closes the file.
func Open(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	rc, err := Decompress(name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &decompressed{Reader: rc, closers: []io.Closer{rc, f}}, nil
}

// Decompress reads r, the content of the file name, decompressing it when
// the name ends in ".gz" or ".bz2". Closing the result does not close r.
func Decompress(name string, r io.Reader) (io.ReadCloser, error) {
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(bufio.NewReader(r))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		return zr, nil
	case strings.HasSuffix(name, ".bz2"):
		return io.NopCloser(bzip2.NewReader(bufio.NewReader(r))), nil
	}
	return io.NopCloser(r), nil
}

// decompressed is a decompressing reader over an open file.
type decompressed struct {
	io.Reader
	closers []io.Closer
}

// Close closes the decompressor and the file, returning the first error.
func (d *decompressed) Close() error {
	var first error
	for _, c := range d.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// SyntaxError reports malformed input in a release file, at a line.
type SyntaxError struct {
	Line int    // 1-based line number, or 0 when unknown
	Msg  string // what is wrong
}

// Error implements error.
func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// syntaxErrorf returns a *SyntaxError for line with a formatted message.
func syntaxErrorf(line int, format string, args ...any) error {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// jsonLineError returns err, an error from decoding the JSON document
// data, as a *SyntaxError naming the line when err gives an offset.
func jsonLineError(data []byte, err error) error {
	var offset int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	default:
		return err
	}
	offset = min(max(offset, 0), int64(len(data)))
	line := bytes.Count(data[:offset], []byte("\n")) + 1
	return &SyntaxError{Line: line, Msg: err.Error()}
}

// scanTSV reads tab-separated lines: a header line whose first fields must
// be header, then rows of exactly len(header) fields, each passed to row
// with its line number. Empty lines are skipped. Quotes have no special
// meaning.
func scanTSV(r io.Reader, header []string, row func(line int, fields []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
			got := strings.Split(text, "\t")
			if !tsvHeaderMatches(got, header) {
				return syntaxErrorf(line, "header is %q, want %q", text, strings.Join(header, "\t"))
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != len(header) {
			return syntaxErrorf(line, "%d fields, want %d", len(fields), len(header))
		}
		if err := row(line, fields); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("after line %d: %w", line, err)
	}
	if line == 0 {
		return errors.New("empty input")
	}
	return nil
}

// tsvHeaderMatches reports whether the first fields of got are the
// column names want, ignoring case and surrounding space.
func tsvHeaderMatches(got, want []string) bool {
	if len(got) < len(want) {
		return false
	}
	for i, w := range want {
		if !strings.EqualFold(strings.TrimSpace(got[i]), w) {
			return false
		}
	}
	return true
}

// synonymUse returns the SNOMED CT "Synonym" designation use.
func synonymUse() *ts.Coding {
	return &ts.Coding{System: ts.SynonymCS, Code: ts.SynonymCode, Display: "Synonym"}
}

// addSynonym appends value to c's designations as a synonym in language
// lang (empty when unknown); see addDesignation.
func addSynonym(c *ts.Concept, lang, value string) bool {
	return addDesignation(c, ts.Designation{Language: lang, Use: synonymUse(), Value: value})
}

// addTranslation appends value to c's designations as a translation into
// lang, with no use; see addDesignation.
func addTranslation(c *ts.Concept, lang, value string) bool {
	return addDesignation(c, ts.Designation{Language: lang, Value: value})
}

// addDesignation appends d to c's designations unless its value is empty,
// or it repeats the display (when d has a use and no language other than
// English), or an equal designation (same language, use code and value) is
// already there. It reports whether d was added.
func addDesignation(c *ts.Concept, d ts.Designation) bool {
	d.Value = strings.TrimSpace(d.Value)
	if d.Value == "" {
		return false
	}
	if d.Use != nil && d.Value == c.Display && (d.Language == "" || d.Language == "en") {
		return false
	}
	for _, o := range c.Designation {
		if o.Value == d.Value && o.Language == d.Language && useCode(o.Use) == useCode(d.Use) {
			return false
		}
	}
	c.Designation = append(c.Designation, d)
	return true
}

// useCode returns the code of a designation use, or "" for none.
func useCode(u *ts.Coding) string {
	if u == nil {
		return ""
	}
	return u.System + "|" + u.Code
}

// codeProperty returns a concept property with a valueCode.
func codeProperty(code, value string) ts.ConceptProperty {
	return ts.ConceptProperty{Code: code, ValueCode: value}
}

// stringProperty returns a concept property with a valueString.
func stringProperty(code, value string) ts.ConceptProperty {
	return ts.ConceptProperty{Code: code, ValueString: value}
}

// boolProperty returns a concept property with a valueBoolean.
func boolProperty(code string, value bool) ts.ConceptProperty {
	return ts.ConceptProperty{Code: code, ValueBoolean: &value}
}

// inactiveProperty returns the property marking a concept inactive.
func inactiveProperty() ts.ConceptProperty {
	return boolProperty(PropertyInactive, true)
}

// hasProperty reports whether c has a property with this code and
// valueCode (or valueString).
func hasProperty(c *ts.Concept, code, value string) bool {
	for _, p := range c.Property {
		if p.Code == code && (p.ValueCode == value || p.ValueString == value) {
			return true
		}
	}
	return false
}

// addCodeProperty appends a valueCode property to c unless c already has
// it (so parents given twice are recorded once).
func addCodeProperty(c *ts.Concept, code, value string) {
	if value == "" || hasProperty(c, code, value) {
		return
	}
	c.Property = append(c.Property, codeProperty(code, value))
}

// sortConcepts sorts concepts by code (byte order), for deterministic
// output.
func sortConcepts(concepts []ts.Concept) {
	slices.SortFunc(concepts, func(a, b ts.Concept) int { return strings.Compare(a.Code, b.Code) })
}

// finish sorts the concepts of cs by code and sets its count.
func finish(cs *ts.CodeSystem) {
	sortConcepts(cs.Concept)
	cs.Count = len(cs.Concept)
}

// resourceID returns a FHIR id (at most 64 characters of [A-Za-z0-9-.])
// made of the parts joined by "-"; other characters become "-".
func resourceID(parts ...string) string {
	id := []byte(strings.Join(parts, "-"))
	for i, b := range id {
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-', b == '.':
		default:
			id[i] = '-'
		}
	}
	if len(id) > 64 {
		id = id[:64]
	}
	return string(id)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
