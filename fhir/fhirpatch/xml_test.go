package fhirpatch_test

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// A test-only converter from FHIR XML to FHIR JSON
// (http://hl7.org/fhir/R4/json.html), driven by the R4 model: the official
// patch test cases are in XML, the server speaks JSON only.

// fhirNamespace is the namespace of the elements of FHIR XML.
const fhirNamespace = "http://hl7.org/fhir"

// node is an element of an XML document, or a run of text inside one.
type node struct {
	name     xml.Name // zero for a text node
	attrs    []xml.Attr
	children []*node // child elements and text in document order, comments dropped
	text     string  // the character data of a text node
}

// parseXML reads an XML document into a tree of nodes and returns its root
// element.
func parseXML(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	doc := &node{} // holds the root element
	stack := []*node{doc}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch tok := xml.CopyToken(tok).(type) {
		case xml.StartElement:
			n := &node{name: tok.Name, attrs: tok.Attr}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.children = append(top.children, &node{text: string(tok)})
		}
	}
	if root := doc.elements(); len(root) == 1 {
		return root[0], nil
	}
	return nil, errors.New("no root element")
}

// elements returns the child elements of n, without its text.
func (n *node) elements() []*node {
	var elems []*node
	for _, c := range n.children {
		if c.name.Local != "" {
			elems = append(elems, c)
		}
	}
	return elems
}

// attr returns the value of n's attribute name (in no namespace) and whether
// n has it.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// resourceJSON converts a FHIR resource in XML, n being its root element, to
// FHIR JSON.
func resourceJSON(n *node) ([]byte, error) {
	obj, err := resource(n)
	if err != nil {
		return nil, err
	}
	// Marshal also rejects integers and decimals that are not JSON numbers.
	return json.Marshal(obj)
}

// resource converts the resource element n to its JSON object, whose
// resourceType is the element's name.
func resource(n *node) (map[string]any, error) {
	t := model.Lookup(n.name.Local)
	if n.name.Space != fhirNamespace || !t.IsResource() || t.Abstract {
		return nil, fmt.Errorf("<%s>: not a FHIR resource", n.name.Local)
	}
	obj := map[string]any{"resourceType": t.Name}
	if err := fill(obj, t, n); err != nil {
		return nil, err
	}
	return obj, nil
}

// fill sets in obj the JSON properties for the attributes (id, url) and child
// elements of n, an element of type t. A primitive's value attribute is left
// to the caller.
func fill(obj map[string]any, t *model.Type, n *node) error {
	for _, a := range n.attrs {
		switch {
		case a.Name.Space == "xmlns", a.Name.Space == "" && a.Name.Local == "xmlns":
			// a namespace declaration
		case a.Name.Space == "" && a.Name.Local == "value" && t.IsPrimitive():
			// converted by value
		case a.Name.Space == "" && t.Element(a.Name.Local) != nil:
			obj[a.Name.Local] = a.Value
		default:
			return fmt.Errorf("<%s>: unexpected attribute %s", n.name.Local, a.Name.Local)
		}
	}
	byName := map[string][]*node{}
	for _, c := range n.children {
		if c.name.Local == "" {
			if strings.TrimSpace(c.text) != "" {
				return fmt.Errorf("<%s>: unexpected text %q", n.name.Local, c.text)
			}
			continue
		}
		byName[c.name.Local] = append(byName[c.name.Local], c)
	}
	for name, nodes := range byName {
		if err := property(obj, t, name, nodes); err != nil {
			return err
		}
	}
	return nil
}

// property sets in obj the JSON property for nodes, the child elements named
// name of an element of type t: a value, or an array when the element
// repeats. For a primitive it also sets the "_" sibling (an object, or an
// array parallel to the values with null where nothing) holding the ids and
// extensions, if any.
func property(obj map[string]any, t *model.Type, name string, nodes []*node) error {
	el := t.ElementByJSONName(name)
	if el == nil {
		return fmt.Errorf("%s has no element <%s>", t.Name, name)
	}
	i := slices.IndexFunc(el.Types, func(et model.ElementType) bool { return et.JSONName == name })
	if i < 0 { // "_birthDate": a JSON-only name
		return fmt.Errorf("%s has no element <%s>", t.Name, name)
	}
	if !el.IsCollection() && len(nodes) > 1 {
		return fmt.Errorf("%s.%s does not repeat", t.Name, name)
	}
	et := el.Types[i]
	values := make([]any, len(nodes))
	exts := make([]any, len(nodes))
	hasExt := false
	for j, c := range nodes {
		v, ext, err := value(et.Type, c)
		if err != nil {
			return err
		}
		values[j] = v
		if ext != nil {
			exts[j] = ext
			hasExt = true
		}
	}
	if el.IsCollection() {
		obj[et.JSONName] = values
		if hasExt {
			obj[et.ExtName] = exts
		}
		return nil
	}
	if values[0] != nil {
		obj[et.JSONName] = values[0]
	}
	if hasExt {
		obj[et.ExtName] = exts[0]
	}
	return nil
}

// value converts the element n of type t to its JSON value. For a primitive
// it also returns the object holding the element's id and extensions (nil
// when it has neither), and a nil value when n has no value attribute.
func value(t *model.Type, n *node) (v any, ext map[string]any, err error) {
	switch {
	case t.Name == "xhtml":
		s, err := xhtml(n)
		return s, nil, err
	case n.name.Space != fhirNamespace:
		return nil, nil, fmt.Errorf("<%s>: not in the FHIR namespace", n.name.Local)
	case t.IsPrimitive():
		ext = map[string]any{}
		if err := fill(ext, t, n); err != nil {
			return nil, nil, err
		}
		if len(ext) == 0 {
			ext = nil
		}
		s, ok := n.attr("value")
		if !ok {
			return nil, ext, nil
		}
		v, err := primitive(t, s)
		return v, ext, err
	case t.IsResource():
		elems := n.elements()
		if len(elems) != 1 {
			return nil, nil, fmt.Errorf("<%s> must hold one resource", n.name.Local)
		}
		obj, err := resource(elems[0])
		return obj, nil, err
	default:
		obj := map[string]any{}
		err := fill(obj, t, n)
		return obj, nil, err
	}
}

// primitive returns the JSON value of the value attribute s of a primitive
// of type t: a boolean, a number written as in the XML for integers and
// decimals, a string otherwise.
func primitive(t *model.Type, s string) (any, error) {
	switch t.System {
	case model.SystemBoolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("invalid boolean %q", s)
	case model.SystemInteger, model.SystemDecimal:
		return json.Number(s), nil
	}
	return s, nil
}

var (
	xhtmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	xhtmlAttr = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;")
)

// xhtml serialises the XHTML element n (a Narrative's div) as XML text, the
// JSON form of Narrative.div. Elements and attributes in other namespaces
// than XHTML's are not supported.
func xhtml(n *node) (string, error) {
	var b strings.Builder
	if err := writeXHTML(&b, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeXHTML writes the XHTML node n (element or text) to b.
func writeXHTML(b *strings.Builder, n *node) error {
	if n.name.Local == "" {
		b.WriteString(xhtmlText.Replace(n.text))
		return nil
	}
	if n.name.Space != fhir.XHTMLNamespace {
		return fmt.Errorf("<%s>: not in the XHTML namespace", n.name.Local)
	}
	b.WriteString("<" + n.name.Local)
	for _, a := range n.attrs {
		name := a.Name.Local
		switch a.Name.Space {
		case "":
		case "xmlns":
			name = "xmlns:" + name
		default:
			return fmt.Errorf("<%s>: unsupported attribute %s:%s", n.name.Local, a.Name.Space, name)
		}
		b.WriteString(" " + name + `="` + xhtmlAttr.Replace(a.Value) + `"`)
	}
	if len(n.children) == 0 {
		b.WriteString("/>")
		return nil
	}
	b.WriteString(">")
	for _, c := range n.children {
		if err := writeXHTML(b, c); err != nil {
			return err
		}
	}
	b.WriteString("</" + n.name.Local + ">")
	return nil
}

// TestConverter checks the XML to JSON conversion on a resource using each
// rule: primitives of each JSON kind, a primitive with an id and an
// extension, repeating elements, a repeating primitive with a parallel "_"
// array, a choice element, a narrative and a contained resource.
func TestConverter(t *testing.T) {
	const in = `<Patient xmlns="http://hl7.org/fhir">
  <id value="p1"/>
  <text>
    <status value="generated"/>
    <div xmlns="http://www.w3.org/1999/xhtml"><p class="x">Tom &amp; &quot;Jerry&quot;<br/></p></div>
  </text>
  <contained>
    <Observation>
      <id value="o1"/>
      <status value="final"/>
      <valueQuantity><value value="1.50"/></valueQuantity>
    </Observation>
  </contained>
  <extension url="http://example.org/rank"><valueInteger value="-3"/></extension>
  <active value="true"/>
  <name>
    <given value="Ann"/>
    <given id="g2"><extension url="http://example.org/x"><valueBoolean value="false"/></extension></given>
    <given value="Cy"/>
  </name>
  <name><family value="Doe"/></name>
  <birthDate value="1970-01-01">
    <extension url="http://example.org/time"><valueDateTime value="1970-01-01T10:00:00Z"/></extension>
  </birthDate>
  <multipleBirthInteger value="2"/>
</Patient>`
	const want = `{
  "resourceType": "Patient",
  "id": "p1",
  "text": {
    "status": "generated",
    "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p class=\"x\">Tom &amp; \"Jerry\"<br/></p></div>"
  },
  "contained": [{
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "valueQuantity": {"value": 1.50}
  }],
  "extension": [{"url": "http://example.org/rank", "valueInteger": -3}],
  "active": true,
  "name": [
    {
      "given": ["Ann", null, "Cy"],
      "_given": [null, {"id": "g2", "extension": [{"url": "http://example.org/x", "valueBoolean": false}]}, null]
    },
    {"family": "Doe"}
  ],
  "birthDate": "1970-01-01",
  "_birthDate": {"extension": [{"url": "http://example.org/time", "valueDateTime": "1970-01-01T10:00:00Z"}]},
  "multipleBirthInteger": 2
}`
	n, err := parseXML(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := resourceJSON(n)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decodeJSON(t, got), decodeJSON(t, []byte(want))) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestConverterRejects checks that the converter fails on XML it cannot
// convert faithfully instead of producing wrong JSON.
func TestConverterRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown element":      `<Patient xmlns="http://hl7.org/fhir"><colour value="red"/></Patient>`,
		"repeated singleton":   `<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><gender value="female"/></Patient>`,
		"choice without type":  `<Patient xmlns="http://hl7.org/fhir"><deceased value="true"/></Patient>`,
		"bad boolean":          `<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>`,
		"bad integer":          `<Patient xmlns="http://hl7.org/fhir"><multipleBirthInteger value="two"/></Patient>`,
		"not a resource":       `<HumanName xmlns="http://hl7.org/fhir"/>`,
		"wrong namespace":      `<Patient xmlns="http://hl7.org/fhir"><active xmlns="urn:x" value="true"/></Patient>`,
		"text in FHIR element": `<Patient xmlns="http://hl7.org/fhir"><active value="true">yes</active></Patient>`,
	} {
		n, err := parseXML(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := resourceJSON(n); err == nil {
			t.Errorf("%s: converted to %s, want an error", name, got)
		}
	}
}
