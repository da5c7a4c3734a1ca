package extract

import (
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// reference indexes a Reference by its reference and its identifier (as a
// "<param>:identifier" token), a canonical or uri by its URL and version,
// and a resource selected in place (Bundle.entry[0].resource) by its type
// and id.
//
// A relative reference "Type/id" or "Type/id/_history/v" gives Type, ID
// and Version. An absolute one keeps its URL; under the server's base it
// gives Type, ID and Version too. References to contained resources
// ("#id") and relative references that do not name a resource are left
// out, as are references to types outside the parameter's targets.
func (c *converter) reference(it fhirpath.Item) {
	m, isMap := it.Map()
	if !isMap {
		if s, ok := it.AsString(); ok && s != "" {
			c.canonical(s)
		}
		return
	}
	if t := it.Type(); t != nil && t.IsResource() {
		id := str(m, "id")
		if validID(id) && c.allows(fhir.ResourceType(t.Name)) {
			c.addReference(search.Reference{Type: fhir.ResourceType(t.Name), ID: fhir.ID(id)})
		}
		return
	}
	if it.FHIRType() != "Reference" {
		return
	}
	if ref := str(m, "reference"); ref != "" {
		if r, typ, ok := c.x.parseReference(ref); ok && c.allows(typ) {
			c.addReference(r)
		}
	}
	if ident, ok := m["identifier"].(map[string]any); ok {
		if value := str(ident, "value"); value != "" {
			c.idx.Tokens = append(c.idx.Tokens, search.Token{Param: c.param + search.SuffixIdentifier,
				System: str(ident, "system"), Code: value})
		}
	}
}

// canonical indexes a canonical or uri value: URL without |version, the
// version, and the type and id when the value is a relative or local
// reference.
func (c *converter) canonical(s string) {
	url, version, _ := strings.Cut(s, "|")
	r, typ, ok := c.x.parseReference(url)
	if !ok || !c.allows(typ) {
		return
	}
	if r.URL == "" && isAbsolute(url) {
		r.URL = url
	}
	r.Version = version
	c.addReference(r)
}

func (c *converter) addReference(r search.Reference) {
	r.Param = c.param
	c.idx.References = append(c.idx.References, r)
}

// allows reports whether the parameter may refer to type t: any type when
// the parameter lists no targets or the type is unknown.
func (c *converter) allows(t fhir.ResourceType) bool {
	return t == "" || len(c.targets) == 0 || slices.Contains(c.targets, t)
}

// parseReference parses a reference. Type and ID (and Version) are set for
// a relative reference and for an absolute one under the server's base;
// URL for an absolute one. typ is the resource type the reference names,
// when it can be told, even for another server's URL: it is what the
// parameter's targets are checked against.
func (x *Extractor) parseReference(ref string) (r search.Reference, typ fhir.ResourceType, ok bool) {
	if strings.HasPrefix(ref, "#") {
		return search.Reference{}, "", false
	}
	if !isAbsolute(ref) {
		r, ok = parseRelative(ref)
		return r, r.Type, ok
	}
	if x.base != "" && strings.HasPrefix(ref, x.base) {
		if p, ok := parseRelative(ref[len(x.base):]); ok {
			p.URL = ref
			return p, p.Type, true
		}
	}
	return search.Reference{URL: ref}, urlType(ref), true
}

// parseRelative parses "Type/id" or "Type/id/_history/v".
func parseRelative(ref string) (search.Reference, bool) {
	typ, rest, ok := strings.Cut(ref, "/")
	if !ok || !model.IsResourceType(typ) {
		return search.Reference{}, false
	}
	id, version, hasVersion := strings.Cut(rest, "/_history/")
	if !validID(id) || hasVersion && version == "" {
		return search.Reference{}, false
	}
	return search.Reference{Type: fhir.ResourceType(typ), ID: fhir.ID(id), Version: version}, true
}

// urlType returns the resource type an absolute URL ends with
// (".../Type/id" or ".../Type/id/_history/v"), or "".
func urlType(ref string) fhir.ResourceType {
	if i := strings.LastIndex(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, '/')
	if i < 0 {
		return ""
	}
	j := strings.LastIndexByte(ref[:i], '/')
	if j < 0 || !model.IsResourceType(ref[j+1:i]) {
		return ""
	}
	return fhir.ResourceType(ref[j+1 : i])
}

// validID reports whether id has the form of a FHIR id, as fhir.ID.Valid
// does, without a regular expression.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isAbsolute reports whether ref is an absolute URI (it has a scheme).
func isAbsolute(ref string) bool {
	i := strings.IndexByte(ref, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := ref[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}
