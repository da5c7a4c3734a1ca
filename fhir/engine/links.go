package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
// replaced by link, and whether any was. The JSON is re-encoded member by
// member in its order.
func rewriteLinks(body []byte, typ string, link linker) ([]byte, bool, error) {
	w := &linkWalker{dec: json.NewDecoder(bytes.NewReader(body)), link: link}
	w.dec.UseNumber()
	w.out.Grow(len(body) + 64)
	if err := w.value(model.Lookup(typ), "", 0); err != nil {
		return nil, false, err
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false, errors.New("trailing data after the resource")
	}
	return w.out.Bytes(), w.changed, nil
}

type linkWalker struct {
	dec     *json.Decoder
	out     bytes.Buffer
	link    linker
	changed bool
}

// value copies the next JSON value, of FHIR type typ (nil when unknown),
// to the output. prim is the name of its primitive type, or "reference"
// for Reference.reference, or "xhtml".
func (w *linkWalker) value(typ *model.Type, prim string, depth int) error {
	if depth > 256 {
		return errors.New("the resource nests too deeply")
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return w.object(typ, depth)
		case '[':
			w.out.WriteByte('[')
			for i := 0; w.dec.More(); i++ {
				if i > 0 {
					w.out.WriteByte(',')
				}
				if err := w.value(typ, prim, depth+1); err != nil {
					return err
				}
			}
			if _, err := w.dec.Token(); err != nil {
				return err
			}
			w.out.WriteByte(']')
			return nil
		}
		return errors.New("unexpected " + t.String())
	case string:
		s, err := w.replace(prim, t)
		if err != nil {
			return err
		}
		w.str(s)
	case json.Number:
		w.out.WriteString(t.String())
	case bool:
		if t {
			w.out.WriteString("true")
		} else {
			w.out.WriteString("false")
		}
	case nil:
		w.out.WriteString("null")
	}
	return nil
}

// object copies an object of type typ. A resource whose type the model
// leaves open (contained, Bundle.entry.resource) takes it from its
// resourceType member, wherever that comes.
func (w *linkWalker) object(typ *model.Type, depth int) error {
	if typ != nil && typ.Abstract && typ.IsResource() {
		return w.resource(typ, depth)
	}
	w.out.WriteByte('{')
	for i := 0; w.dec.More(); i++ {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if i > 0 {
			w.out.WriteByte(',')
		}
		w.str(key)
		w.out.WriteByte(':')
		childType, prim := child(typ, key)
		if err := w.value(childType, prim, depth+1); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return err
	}
	w.out.WriteByte('}')
	return nil
}

// resource copies a resource whose type is read from its members.
func (w *linkWalker) resource(typ *model.Type, depth int) error {
	type member struct {
		key string
		raw json.RawMessage
	}
	var members []member
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return err
		}
		members = append(members, member{key, raw})
		if key == "resourceType" {
			var name string
			if json.Unmarshal(raw, &name) == nil && model.IsResourceType(name) {
				typ = model.Lookup(name)
			}
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return err
	}
	w.out.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			w.out.WriteByte(',')
		}
		w.str(m.key)
		w.out.WriteByte(':')
		sub := &linkWalker{dec: json.NewDecoder(bytes.NewReader(m.raw)), link: w.link}
		sub.dec.UseNumber()
		childType, prim := child(typ, m.key)
		if err := sub.value(childType, prim, depth+1); err != nil {
			return err
		}
		w.out.Write(sub.out.Bytes())
		w.changed = w.changed || sub.changed
	}
	w.out.WriteByte('}')
	return nil
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

// replace returns the value of a string of kind prim with its links
// replaced.
func (w *linkWalker) replace(prim, s string) (string, error) {
	var kind linkKind
	switch prim {
	case "reference":
		kind = linkReference
	case "uri":
		kind = linkURI
	case "xhtml":
		var ferr error
		out := narrativeLink.ReplaceAllStringFunc(s, func(m string) string {
			sub := narrativeLink.FindStringSubmatch(m)
			r, ok, err := w.link(linkURI, unescapeXMLAttr(sub[2]))
			if err != nil && ferr == nil {
				ferr = err
			}
			if !ok {
				return m
			}
			w.changed = true
			return sub[1] + escapeXMLAttr(r) + sub[3]
		})
		return out, ferr
	default:
		return s, nil
	}
	r, ok, err := w.link(kind, s)
	if err != nil || !ok {
		return s, err
	}
	w.changed = true
	return r, nil
}

// str writes s as a JSON string, escaping what JSON requires only (not
// HTML's characters, which the narrative holds).
func (w *linkWalker) str(s string) {
	const hex = "0123456789abcdef"
	w.out.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.out.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			w.out.WriteByte('\\')
			w.out.WriteByte(c)
		case '\n':
			w.out.WriteString(`\n`)
		case '\r':
			w.out.WriteString(`\r`)
		case '\t':
			w.out.WriteString(`\t`)
		default:
			w.out.WriteString(`\u00`)
			w.out.WriteByte(hex[c>>4])
			w.out.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	w.out.WriteString(s[start:])
	w.out.WriteByte('"')
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
