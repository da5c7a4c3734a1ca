package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// Links between the entries of a transaction. The specification
// (http.html#trules) has the server replace every link to an entry's
// fullUrl with the resource's new identity: in resource references, in
// elements of type uri, url, canonical, oid and uuid, and in the <a href>
// and <img src> of the narrative. Values of other types (an identifier's
// value that happens to equal a fullUrl) stay as written. A reference may
// also be conditional ("Patient?identifier=s|v"), which the transaction
// resolves to its one match.

// linkKind says where a link was found.
type linkKind int

const (
	// linkReference is Reference.reference, which may be conditional.
	linkReference linkKind = iota
	// linkURI is an element of a URI type, or a narrative link.
	linkURI
)

// linker replaces a link found in a resource: the new value, or ok false
// to keep it.
type linker func(kind linkKind, value string) (replacement string, ok bool, err error)

// uriTypes are the primitive types whose values are links.
var uriTypes = map[string]bool{"uri": true, "url": true, "canonical": true, "oid": true, "uuid": true}

// rewriteLinks returns body, a resource of type typ, with its links
// replaced by link, and whether any was. It scans the JSON once and
// copies it as it is, but for the strings it replaces (the body itself
// when none is).
func rewriteLinks(body []byte, typ string, link linker) ([]byte, bool, error) {
	w := &linkWalker{in: body, link: link}
	i, err := w.value(w.space(0), model.Lookup(typ), "", 0)
	if err != nil {
		return nil, false, err
	}
	if w.space(i) != len(body) {
		return nil, false, errors.New("trailing data after the resource")
	}
	if w.out == nil {
		return body, false, nil
	}
	return append(w.out, body[w.copied:]...), true, nil
}

// linkWalker scans a JSON document. out, once a string is replaced,
// holds the output up to input offset copied.
type linkWalker struct {
	in     []byte
	out    []byte
	copied int
	link   linker
}

var errJSON = errors.New("malformed JSON")

// space returns the offset of the first non-space byte at or after i.
func (w *linkWalker) space(i int) int {
	for i < len(w.in) && (w.in[i] == ' ' || w.in[i] == '\t' || w.in[i] == '\n' || w.in[i] == '\r') {
		i++
	}
	return i
}

// value scans the value at i, of FHIR type typ (nil when unknown), and
// returns the offset after it. prim is "reference" for
// Reference.reference, "uri" for a link type, "xhtml" for the narrative.
func (w *linkWalker) value(i int, typ *model.Type, prim string, depth int) (int, error) {
	if depth > 256 {
		return 0, errors.New("the resource nests too deeply")
	}
	if i >= len(w.in) {
		return 0, errJSON
	}
	switch w.in[i] {
	case '{':
		return w.object(i, typ, depth)
	case '[':
		i = w.space(i + 1)
		if i < len(w.in) && w.in[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = w.value(i, typ, prim, depth+1); err != nil {
				return 0, err
			}
			i = w.space(i)
			if i >= len(w.in) {
				return 0, errJSON
			}
			if w.in[i] == ']' {
				return i + 1, nil
			}
			if w.in[i] != ',' {
				return 0, errJSON
			}
			i = w.space(i + 1)
		}
	case '"':
		end, err := w.stringEnd(i)
		if err != nil {
			return 0, err
		}
		if prim != "" {
			if err := w.replace(i, end, prim); err != nil {
				return 0, err
			}
		}
		return end, nil
	}
	// A number, true, false or null.
	j := i
	for j < len(w.in) && !strings.ContainsRune(",]} \t\r\n", rune(w.in[j])) {
		j++
	}
	if j == i {
		return 0, errJSON
	}
	return j, nil
}

// stringEnd returns the offset after the string starting at i.
func (w *linkWalker) stringEnd(i int) (int, error) {
	for j := i + 1; j < len(w.in); j++ {
		switch w.in[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errJSON
}

// text returns the value of the string in[i:end].
func (w *linkWalker) text(i, end int) (string, error) {
	raw := w.in[i:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errJSON
	}
	return s, nil
}

// object scans an object of type typ. A resource whose type the model
// leaves open (contained, Bundle.entry.resource) takes it from its
// resourceType member, wherever that comes.
func (w *linkWalker) object(i int, typ *model.Type, depth int) (int, error) {
	if typ != nil && typ.Abstract && typ.IsResource() {
		if name, err := w.resourceType(i, depth); err != nil {
			return 0, err
		} else if model.IsResourceType(name) {
			typ = model.Lookup(name)
		}
	}
	i = w.space(i + 1)
	if i < len(w.in) && w.in[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(w.in) || w.in[i] != '"' {
			return 0, errJSON
		}
		end, err := w.stringEnd(i)
		if err != nil {
			return 0, err
		}
		key, err := w.text(i, end)
		if err != nil {
			return 0, err
		}
		i = w.space(end)
		if i >= len(w.in) || w.in[i] != ':' {
			return 0, errJSON
		}
		childType, prim := child(typ, key)
		if i, err = w.value(w.space(i+1), childType, prim, depth+1); err != nil {
			return 0, err
		}
		i = w.space(i)
		if i >= len(w.in) {
			return 0, errJSON
		}
		if w.in[i] == '}' {
			return i + 1, nil
		}
		if w.in[i] != ',' {
			return 0, errJSON
		}
		i = w.space(i + 1)
	}
}

// resourceType returns the resourceType member of the object at i. It
// scans the members as values of no known type, which replaces nothing.
func (w *linkWalker) resourceType(i int, depth int) (string, error) {
	i = w.space(i + 1)
	for i < len(w.in) && w.in[i] == '"' {
		end, err := w.stringEnd(i)
		if err != nil {
			return "", err
		}
		key, err := w.text(i, end)
		if err != nil {
			return "", err
		}
		i = w.space(end)
		if i >= len(w.in) || w.in[i] != ':' {
			return "", errJSON
		}
		i = w.space(i + 1)
		if key == "resourceType" && i < len(w.in) && w.in[i] == '"' {
			end, err := w.stringEnd(i)
			if err != nil {
				return "", err
			}
			return w.text(i, end)
		}
		if i, err = w.value(i, nil, "", depth+1); err != nil {
			return "", err
		}
		if i = w.space(i); i < len(w.in) && w.in[i] == ',' {
			i = w.space(i + 1)
		}
	}
	return "", nil
}

// child returns the type of member key of an object of type typ and, for
// a primitive whose value may be a link, the kind of value.
func child(typ *model.Type, key string) (*model.Type, string) {
	if typ == nil {
		return nil, ""
	}
	if strings.HasPrefix(key, "_") {
		return model.Lookup("Element"), ""
	}
	el := typ.ElementByJSONName(key)
	if el == nil {
		return nil, ""
	}
	et := el.Types[0]
	for _, t := range el.Types {
		if t.JSONName == key {
			et = t
		}
	}
	ct := et.Type
	switch {
	case ct == nil:
		return nil, ""
	case key == "reference" && typ.Name == "Reference":
		return ct, "reference"
	case ct.Name == "xhtml":
		return ct, "xhtml"
	case uriTypes[ct.Name]:
		return ct, "uri"
	}
	return ct, ""
}

// narrativeLink matches the href and src attributes of the narrative.
var narrativeLink = regexp.MustCompile(`(\s(?:href|src)=")([^"]*)(")`)

// replace replaces the links in the string in[i:end], of kind prim.
func (w *linkWalker) replace(i, end int, prim string) error {
	s, err := w.text(i, end)
	if err != nil {
		return err
	}
	var out string
	switch prim {
	case "xhtml":
		var ferr error
		changed := false
		out = narrativeLink.ReplaceAllStringFunc(s, func(m string) string {
			sub := narrativeLink.FindStringSubmatch(m)
			r, ok, err := w.link(linkURI, unescapeXMLAttr(sub[2]))
			if err != nil && ferr == nil {
				ferr = err
			}
			if !ok {
				return m
			}
			changed = true
			return sub[1] + escapeXMLAttr(r) + sub[3]
		})
		if ferr != nil || !changed {
			return ferr
		}
	default:
		kind := linkURI
		if prim == "reference" {
			kind = linkReference
		}
		r, ok, err := w.link(kind, s)
		if err != nil || !ok {
			return err
		}
		out = r
	}
	if w.out == nil {
		w.out = make([]byte, 0, len(w.in)+64)
	}
	w.out = append(w.out, w.in[w.copied:i]...)
	w.out = appendJSONString(w.out, out)
	w.copied = end
	return nil
}

// appendJSONString appends s as a JSON string, escaping what JSON
// requires only (not HTML's characters, which the narrative holds).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

var xmlAttrUnescaper = strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&apos;", "'")
var xmlAttrEscaper = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")

func unescapeXMLAttr(s string) string { return xmlAttrUnescaper.Replace(s) }
func escapeXMLAttr(s string) string   { return xmlAttrEscaper.Replace(s) }

// RewriteLinks returns body, a resource of type t, with every link (as a
// transaction rewrites them) whose value is a key of links replaced by its
// value, and whether any was. Bulk import uses it to point the references
// of a Bundle's entries at the ids they are stored under.
func RewriteLinks(body []byte, t fhir.ResourceType, links map[string]string) ([]byte, bool, error) {
	return rewriteLinks(body, string(t), func(_ linkKind, v string) (string, bool, error) {
		to, ok := links[v]
		return to, ok, nil
	})
}

// RewriteLinksFunc is RewriteLinks with a function that replaces each
// link: reference says it is a Reference.reference (which may be
// conditional), rather than a URI element or a narrative link; ok false
// keeps the link, and an error stops the walk.
func RewriteLinksFunc(body []byte, t fhir.ResourceType, link func(reference bool, v string) (to string, ok bool, err error)) ([]byte, bool, error) {
	return rewriteLinks(body, string(t), func(kind linkKind, v string) (string, bool, error) {
		return link(kind == linkReference, v)
	})
}

// IsPlaceholder reports whether a reference is a urn:uuid: or urn:oid:,
// which in a Bundle names an entry by its fullUrl.
func IsPlaceholder(v string) bool {
	return strings.HasPrefix(v, "urn:uuid:") || strings.HasPrefix(v, "urn:oid:")
}

// FirstPlaceholder returns the first reference of body, a resource of
// type t, that is a placeholder (IsPlaceholder), or "" when it has none.
func FirstPlaceholder(body []byte, t fhir.ResourceType) string {
	if !bytes.Contains(body, []byte("urn:uuid:")) && !bytes.Contains(body, []byte("urn:oid:")) {
		return ""
	}
	var found string
	rewriteLinks(body, string(t), func(kind linkKind, v string) (string, bool, error) {
		if kind == linkReference && IsPlaceholder(v) {
			found = v
			return "", false, errFoundLink // the first is enough
		}
		return "", false, nil
	})
	return found
}

var errFoundLink = errors.New("found")

// IsConditionalRef reports whether a reference is a search
// ("Patient?identifier=s|v"), which a transaction resolves to its one
// match.
func IsConditionalRef(v string) bool { return isConditionalRef(v) }
