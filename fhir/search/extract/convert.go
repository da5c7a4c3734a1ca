package extract

import (
	"encoding/json"
	"strconv"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// converter turns the items one expression selected into index values of
// one parameter, by the parameter's type and each item's FHIR type. Items
// of a type that the parameter type cannot index (an Attachment in a
// reference parameter, a Reference in a token parameter) are left out.
type converter struct {
	x          *Extractor
	idx        *search.Index
	param      string
	typ        search.ParamType
	targets    []fhir.ResourceType
	codeSystem string // system of code items (see branch.codeSystem)
	noText     bool   // leave Token.Text empty (composite parts)
}

func (c *converter) item(it fhirpath.Item) {
	switch c.typ {
	case search.TypeToken:
		c.token(it)
	case search.TypeString:
		c.string(it)
	case search.TypeDate:
		c.date(it)
	case search.TypeNumber:
		c.number(it)
	case search.TypeQuantity:
		c.quantity(it)
	case search.TypeReference:
		c.reference(it)
	case search.TypeURI:
		c.uri(it)
	}
}

// token indexes Coding (system|code, display as text), CodeableConcept
// (each coding, and its text as a text-only token), Identifier
// (system|value, type.text as text, and "<param>:of-type" tokens
// typeSystem|typeCode|value), ContactPoint (its system code, such as
// "phone", as system; its value as code), boolean ("true", "false") and
// the string-like primitives (code, id, string, uri...) as codes without a
// system, except a code bound to a single code system.
func (c *converter) token(it fhirpath.Item) {
	m, isMap := it.Map()
	switch it.FHIRType() {
	case "Coding":
		c.coding(m)
		return
	case "CodeableConcept":
		eachObject(m["coding"], c.coding)
		if text := c.fold(str(m, "text")); text != "" {
			c.addToken("", "", text)
		}
		return
	case "Identifier":
		value := str(m, "value")
		typ, _ := m["type"].(map[string]any)
		text := ""
		if typ != nil {
			text = c.fold(str(typ, "text"))
		}
		if value != "" || text != "" {
			c.addToken(str(m, "system"), value, text)
		}
		if value != "" && typ != nil {
			eachObject(typ["coding"], func(cd map[string]any) {
				if code := str(cd, "code"); code != "" {
					c.idx.Tokens = append(c.idx.Tokens, search.Token{Param: c.param + search.SuffixOfType,
						Code: str(cd, "system") + "|" + code + "|" + value})
				}
			})
		}
		return
	case "ContactPoint":
		if value := str(m, "value"); value != "" {
			c.addToken(str(m, "system"), value, "")
		}
		return
	}
	if isMap {
		return
	}
	if b, ok := it.AsBool(); ok {
		c.addToken("", strconv.FormatBool(b), "")
		return
	}
	if s, ok := it.AsString(); ok && s != "" {
		system := ""
		if it.FHIRType() == "code" {
			system = c.codeSystem
		}
		c.addToken(system, s, "")
	}
}

func (c *converter) coding(m map[string]any) {
	code, display := str(m, "code"), str(m, "display")
	if code == "" && display == "" {
		return
	}
	c.addToken(str(m, "system"), code, c.fold(display))
}

// fold folds a display or text for Token.Text.
func (c *converter) fold(s string) string {
	if c.noText || s == "" {
		return ""
	}
	return search.Fold(s)
}

func (c *converter) addToken(system, code, text string) {
	c.idx.Tokens = append(c.idx.Tokens, search.Token{Param: c.param, System: system, Code: code, Text: text})
}

// string indexes string-like primitives, each part of a HumanName (family,
// given, prefix, suffix, text) and of an Address (line, city, district,
// state, postalCode, country, text).
func (c *converter) string(it fhirpath.Item) {
	m, isMap := it.Map()
	switch it.FHIRType() {
	case "HumanName":
		c.addString(str(m, "family"))
		c.addStrings(m["given"])
		c.addStrings(m["prefix"])
		c.addStrings(m["suffix"])
		c.addString(str(m, "text"))
		return
	case "Address":
		c.addStrings(m["line"])
		for _, k := range [...]string{"city", "district", "state", "postalCode", "country", "text"} {
			c.addString(str(m, k))
		}
		return
	}
	if isMap {
		return
	}
	if s, ok := it.AsString(); ok {
		c.addString(s)
	}
}

func (c *converter) addString(s string) {
	if s == "" {
		return
	}
	c.idx.Strings = append(c.idx.Strings, search.String{Param: c.param, Value: search.Fold(s), Exact: s})
}

func (c *converter) addStrings(v any) {
	switch v := v.(type) {
	case string:
		c.addString(v)
	case []any:
		for _, s := range v {
			if s, ok := s.(string); ok {
				c.addString(s)
			}
		}
	}
}

// uri indexes uri, url, canonical, oid and uuid values (and any other
// string primitive) as written.
func (c *converter) uri(it fhirpath.Item) {
	if s, ok := it.AsString(); ok && s != "" {
		c.idx.URIs = append(c.idx.URIs, search.URI{Param: c.param, Value: s})
	}
}

// str returns the string member key of m, or "".
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// eachObject calls f with each JSON object of a member that is an object
// or an array of objects.
func eachObject(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
	case []any:
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				f(m)
			}
		}
	}
}

// number returns the value of a JSON number.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// isType reports whether the FHIR type of it is name or derives from it.
func isType(it fhirpath.Item, name string) bool {
	t := it.Type()
	return t != nil && t.IsSubtypeOf(model.Lookup(name))
}
