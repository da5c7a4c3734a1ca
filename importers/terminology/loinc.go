package terminology

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// loincCopyright is the notice the LOINC licence asks for.
const loincCopyright = "This material contains content from LOINC (http://loinc.org). " +
	"LOINC is copyright © Regenstrief Institute, Inc. and the Logical Observation " +
	"Identifiers Names and Codes (LOINC) Committee and is available at no cost " +
	"under the license at http://loinc.org/license. LOINC® is a registered " +
	"United States trademark of Regenstrief Institute, Inc."

// loincAxes are the columns of Loinc.csv LOINCTable keeps as concept
// properties (valueString), in the order they are written.
var loincAxes = []string{"COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "METHOD_TYP", "CLASS", "CLASSTYPE", "STATUS"}

// loincNames are the columns of Loinc.csv LOINCTable keeps as synonym
// designations.
var loincNames = []string{"SHORTNAME", "DisplayName", "CONSUMER_NAME"}

// loincCodeRE matches a LOINC term code: digits, a hyphen, a check digit.
var loincCodeRE = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)

// newLOINCCodeSystem returns a LOINC CodeSystem header.
func newLOINCCodeSystem(version string) *ts.CodeSystem {
	cs := &ts.CodeSystem{
		ResourceType:  "CodeSystem",
		URL:           ts.LOINCURL,
		Version:       version,
		Name:          "LOINC",
		Title:         "Logical Observation Identifiers Names and Codes (LOINC)",
		Status:        "active",
		Publisher:     "Regenstrief Institute, Inc.",
		Copyright:     loincCopyright,
		CaseSensitive: ptr(true),
		Content:       "complete",
	}
	cs.ID = resourceID("loinc", version)
	if version == "" {
		cs.ID = "loinc"
	}
	return cs
}

// LOINCTable reads the LOINC table (Loinc.csv: comma-separated, quoted,
// with a header row) into a CodeSystem. Columns are found by name, so
// extra and missing optional columns are fine; LOINC_NUM and
// LONG_COMMON_NAME are required. LONG_COMMON_NAME is the display,
// DefinitionDescription the definition, SHORTNAME, DisplayName and
// CONSUMER_NAME English synonyms, and the columns COMPONENT, PROPERTY,
// TIME_ASPCT, SYSTEM, SCALE_TYP, METHOD_TYP, CLASS, CLASSTYPE and STATUS
// string properties of the same names. DEPRECATED and DISCOURAGED terms
// are marked inactive. LOINC terms have no is-a hierarchy. The version is
// the highest VersionLastChanged, the release the table comes from; set
// Version and ID on the result to name another.
func LOINCTable(r io.Reader) (*ts.CodeSystem, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("loinc csv: empty input")
	}
	if err != nil {
		return nil, fmt.Errorf("loinc csv: header: %w", err)
	}
	col := make(map[string]int, len(header))
	for i, name := range header {
		col[strings.TrimSpace(name)] = i
	}
	for _, name := range []string{"LOINC_NUM", "LONG_COMMON_NAME"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("loinc csv: %w", syntaxErrorf(1, "header has no column %s", name))
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	cs := newLOINCCodeSystem("")
	for _, name := range loincAxes {
		if _, ok := col[name]; ok {
			cs.Property = append(cs.Property, ts.PropertyDef{Code: name, URI: "http://loinc.org/property/" + name, Type: "string"})
		}
	}
	cs.Property = append(cs.Property, inactiveDef)
	index := map[string]int{} // code -> line
	var version string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("loinc csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		code := field(rec, "LOINC_NUM")
		if !loincCodeRE.MatchString(code) {
			return nil, fmt.Errorf("loinc csv: %w", syntaxErrorf(line, "LOINC_NUM %q is not a LOINC code", code))
		}
		if prev, dup := index[code]; dup {
			return nil, fmt.Errorf("loinc csv: %w", syntaxErrorf(line, "duplicate LOINC_NUM %s (first at line %d)", code, prev))
		}
		index[code] = line
		c := ts.Concept{Code: code, Display: field(rec, "LONG_COMMON_NAME"), Definition: field(rec, "DefinitionDescription")}
		for _, name := range loincNames {
			addSynonym(&c, "en", field(rec, name))
		}
		for _, name := range loincAxes {
			if v := field(rec, name); v != "" {
				c.Property = append(c.Property, stringProperty(name, v))
			}
		}
		switch field(rec, "STATUS") {
		case "DEPRECATED", "DISCOURAGED":
			c.Property = append(c.Property, inactiveProperty())
		}
		if v := field(rec, "VersionLastChanged"); loincVersionLess(version, v) {
			version = v
		}
		cs.Concept = append(cs.Concept, c)
	}
	if len(cs.Concept) == 0 {
		return nil, errors.New("loinc csv: no terms")
	}
	cs.Version = version
	if version != "" {
		cs.ID = resourceID("loinc", version)
	}
	finish(cs)
	return cs, nil
}

// loincVersionLess reports whether LOINC version a (such as "2.8") is
// older than b (such as "2.77"), comparing dot-separated numbers. An empty
// or non-numeric b is never newer.
func loincVersionLess(a, b string) bool {
	bp, ok := loincVersionParts(b)
	if !ok {
		return false
	}
	ap, ok := loincVersionParts(a)
	if !ok {
		return true
	}
	for i := 0; i < len(ap) && i < len(bp); i++ {
		if ap[i] != bp[i] {
			return ap[i] < bp[i]
		}
	}
	return len(ap) < len(bp)
}

// loincVersionParts splits a LOINC version into its numbers.
func loincVersionParts(v string) ([]int, bool) {
	if v == "" {
		return nil, false
	}
	var parts []int
	for _, s := range strings.Split(v, ".") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, false
		}
		parts = append(parts, n)
	}
	return parts, true
}

// LOINCTSV reads a list of LOINC codes with the display text seen in use
// (a header line "loinc_code<TAB>display_as_seen<TAB>first_seen_in", then
// one code a line), such as the codes found in FHIR example data. Codes
// are kept as written (answer and part codes included) and the display
// may be empty. The result has no version and is a fragment of LOINC.
func LOINCTSV(r io.Reader) (*ts.CodeSystem, error) {
	index := map[string]int{} // code -> line
	var concepts []ts.Concept
	err := scanTSV(r, []string{"loinc_code", "display_as_seen", "first_seen_in"}, func(line int, f []string) error {
		code := strings.TrimSpace(f[0])
		if code == "" || strings.ContainsAny(code, " \t") {
			return syntaxErrorf(line, "%q is not a code", f[0])
		}
		if prev, dup := index[code]; dup {
			return syntaxErrorf(line, "duplicate code %s (first at line %d)", code, prev)
		}
		index[code] = line
		concepts = append(concepts, ts.Concept{Code: code, Display: strings.TrimSpace(f[1])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loinc tsv: %w", err)
	}
	if len(concepts) == 0 {
		return nil, errors.New("loinc tsv: no codes")
	}
	cs := newLOINCCodeSystem("")
	cs.ID = "loinc-observed"
	cs.Description = "LOINC codes with the display text seen in FHIR sources; not LOINC table content."
	cs.Content = "fragment"
	cs.Concept = concepts
	finish(cs)
	return cs, nil
}
