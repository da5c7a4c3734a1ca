package terminology

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	ts "github.com/cpms-fhir/cpms/terminology"
)

// HPO releases come as OBO (hp.obo) and OBO Graphs JSON (hp.json). Both
// parsers keep HP terms only, including obsolete ones, and never alter
// labels, as the HPO licence requires.

// hpoDate finds a release date such as 2026-01-08 in a version string.
var hpoDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)

// hpoCopyright is the acknowledgement the HPO licence asks for; %s is the
// release version.
const hpoCopyright = "This service/product is using the Human Phenotype Ontology (version %s). " +
	"Find out more at http://www.human-phenotype-ontology.org. " +
	"Cite: Gargano MA et al. The Human Phenotype Ontology in 2024: phenotypes around the world. " +
	"Nucleic Acids Res. 2024;52(D1):D1333–D1346. doi:10.1093/nar/gkad1005. " +
	"Licence: https://hpo.jax.org/app/license (acknowledge the HPO Consortium, show the version, " +
	"do not alter the content or the logical relationships of HPO files)."

// hpoVersion returns the release date in a data-version or version IRI
// (for example "releases/2017-04-13"), or the value itself when it holds
// no date.
func hpoVersion(v string) string {
	if d := hpoDate.FindString(v); d != "" {
		return d
	}
	return strings.TrimSpace(v)
}

// newHPOCodeSystem returns the HPO CodeSystem header for a release.
func newHPOCodeSystem(version string) *ts.CodeSystem {
	cs := &ts.CodeSystem{
		ResourceType:     "CodeSystem",
		URL:              ts.HPOURL,
		Version:          version,
		Name:             "HumanPhenotypeOntology",
		Title:            "Human Phenotype Ontology",
		Status:           "active",
		Publisher:        "Human Phenotype Ontology Consortium",
		Description:      "The Human Phenotype Ontology (HPO): a standardized vocabulary of phenotypic abnormalities encountered in human disease.",
		CaseSensitive:    ptr(true),
		HierarchyMeaning: "is-a",
		Content:          "complete",
		Property:         []ts.PropertyDef{parentDef, inactiveDef, replacedByDef, altIDDef},
	}
	cs.ID = resourceID("hpo", version)
	if version == "" {
		cs.ID = "hpo"
	}
	cs.Copyright = fmt.Sprintf(hpoCopyright, cmp.Or(version, "unknown"))
	if hpoDate.MatchString(version) && len(version) == len("2006-01-02") {
		cs.Date = version
	}
	return cs
}

// HPOOBO reads an HPO release in OBO format (1.2 or 1.4) into a CodeSystem.
// Every [Term] stanza with an HP id becomes a concept: name is the
// display, the quoted text of def the definition, each synonym (any scope)
// an English synonym designation, is_a a parent, is_obsolete an inactive
// flag, replaced_by and alt_id properties. Other stanzas and tags are
// skipped. The version is the date in the header's data-version.
func HPOOBO(r io.Reader) (*ts.CodeSystem, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024) // owl-axioms header lines are long
	var (
		version  string
		concepts []ts.Concept
		seen     = map[string]int{} // code -> line of its stanza
		term     *ts.Concept        // the [Term] being read, nil outside one
		inStanza bool               // inside any stanza (header done)
		start    int                // line of the current stanza header
		line     int
	)
	flush := func() error {
		if term == nil {
			return nil
		}
		c := term
		term = nil
		if c.Code == "" {
			return syntaxErrorf(start, "[Term] without id")
		}
		if !strings.HasPrefix(c.Code, "HP:") {
			return nil
		}
		if prev, dup := seen[c.Code]; dup {
			return syntaxErrorf(start, "duplicate term %s (first at line %d)", c.Code, prev)
		}
		seen[c.Code] = start
		concepts = append(concepts, *c)
		return nil
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '!' {
			continue
		}
		if text[0] == '[' {
			if !strings.HasSuffix(text, "]") {
				return nil, fmt.Errorf("hpo obo: %w", syntaxErrorf(line, "malformed stanza header %q", text))
			}
			if err := flush(); err != nil {
				return nil, fmt.Errorf("hpo obo: %w", err)
			}
			inStanza, start = true, line
			if text == "[Term]" {
				term = &ts.Concept{}
			}
			continue
		}
		tag, value, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("hpo obo: %w", syntaxErrorf(line, "expected \"tag: value\", got %q", text))
		}
		value = strings.TrimSpace(value)
		switch {
		case !inStanza:
			if tag == "data-version" {
				version = hpoVersion(value)
			}
		case term != nil:
			if err := oboTermTag(term, tag, value); err != nil {
				return nil, fmt.Errorf("hpo obo: %w", syntaxErrorf(line, "%s: %v", tag, err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hpo obo: after line %d: %w", line, err)
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("hpo obo: %w", err)
	}
	if len(concepts) == 0 {
		return nil, errors.New("hpo obo: no HP terms in input")
	}
	cs := newHPOCodeSystem(version)
	cs.Concept = concepts
	finish(cs)
	return cs, nil
}

// oboTermTag applies one tag-value line of a [Term] stanza to c.
func oboTermTag(c *ts.Concept, tag, value string) error {
	switch tag {
	case "id":
		if c.Code != "" {
			return fmt.Errorf("second id %q in stanza of %s", value, c.Code)
		}
		c.Code = oboID(value)
		if c.Code == "" {
			return errors.New("empty id")
		}
	case "name":
		c.Display = oboUnescape(oboStripModifiers(value))
	case "def":
		text, err := oboQuoted(value)
		if err != nil {
			return err
		}
		c.Definition = text
	case "synonym":
		text, err := oboQuoted(value)
		if err != nil {
			return err
		}
		addSynonym(c, "en", text)
	case "is_a":
		addCodeProperty(c, PropertyParent, oboID(value))
	case "replaced_by":
		addCodeProperty(c, PropertyReplacedBy, oboID(value))
	case "alt_id":
		addCodeProperty(c, PropertyAltID, oboID(value))
	case "is_obsolete":
		switch oboID(value) {
		case "true":
			c.Property = append(c.Property, inactiveProperty())
		case "false":
		default:
			return fmt.Errorf("want true or false, got %q", value)
		}
	}
	return nil
}

// oboID returns the identifier at the start of an OBO value, dropping a
// trailing "! comment" or "{modifiers}".
func oboID(value string) string {
	if f := strings.Fields(value); len(f) > 0 {
		return f[0]
	}
	return ""
}

// oboStripModifiers drops a trailing "! comment" and "{modifiers}" from an
// unquoted OBO value.
func oboStripModifiers(value string) string {
	if i := strings.Index(value, " ! "); i >= 0 {
		value = value[:i]
	}
	if strings.HasSuffix(value, "}") {
		if i := strings.LastIndex(value, " {"); i >= 0 {
			value = value[:i]
		}
	}
	return strings.TrimSpace(value)
}

// oboQuoted returns the unescaped text of the quoted string that starts an
// OBO def or synonym value.
func oboQuoted(value string) (string, error) {
	if !strings.HasPrefix(value, `"`) {
		return "", errors.New("missing quoted text")
	}
	var b strings.Builder
	for i := 1; i < len(value); i++ {
		switch ch := value[i]; ch {
		case '"':
			return b.String(), nil
		case '\\':
			i++
			if i == len(value) {
				return "", errors.New("unterminated quoted text")
			}
			b.WriteByte(oboEscape(value[i]))
		default:
			b.WriteByte(ch)
		}
	}
	return "", errors.New("unterminated quoted text")
}

// oboUnescape resolves backslash escapes in an unquoted OBO value.
func oboUnescape(value string) string {
	if !strings.Contains(value, `\`) {
		return value
	}
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if value[i] == '\\' && i+1 < len(value) {
			i++
			b.WriteByte(oboEscape(value[i]))
			continue
		}
		b.WriteByte(value[i])
	}
	return b.String()
}

// oboEscape returns the character an OBO escape sequence \ch stands for.
func oboEscape(ch byte) byte {
	switch ch {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'W':
		return ' '
	}
	return ch
}

// oboGraphsDoc is the part of an OBO Graphs JSON document HPOJSON reads.
type oboGraphsDoc struct {
	Graphs []struct {
		ID   string `json:"id"`
		Meta struct {
			Version             string          `json:"version"`
			BasicPropertyValues []oboGraphsProp `json:"basicPropertyValues"`
		} `json:"meta"`
		Nodes []struct {
			ID   string `json:"id"`
			Lbl  string `json:"lbl"`
			Type string `json:"type"`
			Meta struct {
				Definition struct {
					Val string `json:"val"`
				} `json:"definition"`
				Synonyms []struct {
					Pred string `json:"pred"`
					Val  string `json:"val"`
				} `json:"synonyms"`
				Deprecated          bool            `json:"deprecated"`
				BasicPropertyValues []oboGraphsProp `json:"basicPropertyValues"`
			} `json:"meta"`
		} `json:"nodes"`
		Edges []struct {
			Sub  string `json:"sub"`
			Pred string `json:"pred"`
			Obj  string `json:"obj"`
		} `json:"edges"`
	} `json:"graphs"`
}

// oboGraphsProp is an OBO Graphs basicPropertyValue.
type oboGraphsProp struct {
	Pred string `json:"pred"`
	Val  string `json:"val"`
}

// OBO Graphs predicates HPOJSON reads.
const (
	oboVersionInfo   = "http://www.w3.org/2002/07/owl#versionInfo"
	oboReplacedBy    = "http://purl.obolibrary.org/obo/IAO_0100001"
	oboAlternativeID = "http://www.geneontology.org/formats/oboInOwl#hasAlternativeId"
	oboPURL          = "http://purl.obolibrary.org/obo/"
)

// HPOJSON reads an HPO release in OBO Graphs JSON format (hp.json) into a
// CodeSystem. Every CLASS node of the first graph with an HP IRI becomes a
// concept (lbl the display, meta.definition the definition, every synonym
// an English synonym designation, meta.deprecated an inactive flag,
// term_replaced_by and hasAlternativeId the replacedBy and alt_id
// properties); every is_a edge between HP classes a parent. Nodes of other
// ontologies and PROPERTY nodes are skipped. The version is the date in
// graphs[0].meta.version (or owl:versionInfo).
func HPOJSON(r io.Reader) (*ts.CodeSystem, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("hpo json: read: %w", err)
	}
	var doc oboGraphsDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("hpo json: %w", jsonLineError(data, err))
	}
	if len(doc.Graphs) == 0 {
		return nil, errors.New("hpo json: no graphs")
	}
	g := &doc.Graphs[0]
	version := hpoVersion(g.Meta.Version)
	for _, p := range g.Meta.BasicPropertyValues {
		if version == "" && p.Pred == oboVersionInfo {
			version = hpoVersion(p.Val)
		}
	}
	cs := newHPOCodeSystem(version)
	index := make(map[string]int, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		code := hpoCode(n.ID)
		if n.Type != "CLASS" || code == "" {
			continue
		}
		if _, dup := index[code]; dup {
			return nil, fmt.Errorf("hpo json: graphs[0].nodes[%d]: duplicate class %s", i, code)
		}
		c := ts.Concept{Code: code, Display: n.Lbl, Definition: n.Meta.Definition.Val}
		for _, s := range n.Meta.Synonyms {
			addSynonym(&c, "en", s.Val)
		}
		if n.Meta.Deprecated {
			c.Property = append(c.Property, inactiveProperty())
		}
		for _, p := range n.Meta.BasicPropertyValues {
			switch {
			case p.Pred == oboReplacedBy || strings.HasSuffix(p.Pred, "term_replaced_by"):
				addCodeProperty(&c, PropertyReplacedBy, hpoCURIE(p.Val))
			case p.Pred == oboAlternativeID:
				addCodeProperty(&c, PropertyAltID, hpoCURIE(p.Val))
			}
		}
		index[code] = len(cs.Concept)
		cs.Concept = append(cs.Concept, c)
	}
	if len(cs.Concept) == 0 {
		return nil, errors.New("hpo json: no HP classes in graphs[0].nodes")
	}
	for i, e := range g.Edges {
		if e.Pred != "is_a" {
			continue
		}
		sub, obj := hpoCode(e.Sub), hpoCode(e.Obj)
		if sub == "" || obj == "" {
			continue
		}
		j, ok := index[sub]
		if !ok {
			return nil, fmt.Errorf("hpo json: graphs[0].edges[%d]: is_a from %s, which is not an HP class node", i, e.Sub)
		}
		addCodeProperty(&cs.Concept[j], PropertyParent, obj)
	}
	finish(cs)
	return cs, nil
}

// hpoCode returns the HP code (HP:0000118) of an HP class IRI
// (http://purl.obolibrary.org/obo/HP_0000118) or CURIE, or "" when id
// names no HP class.
func hpoCode(id string) string {
	if rest, ok := strings.CutPrefix(id, oboPURL+"HP_"); ok {
		return "HP:" + rest
	}
	if strings.HasPrefix(id, "HP:") {
		return id
	}
	return ""
}

// hpoCURIE returns an OBO identifier as a CURIE, turning an OBO PURL
// (http://purl.obolibrary.org/obo/HP_0000118) into HP:0000118.
func hpoCURIE(id string) string {
	if rest, ok := strings.CutPrefix(id, oboPURL); ok {
		return strings.Replace(rest, "_", ":", 1)
	}
	return id
}
