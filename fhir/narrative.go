package fhir

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// XHTMLNamespace is the namespace of Narrative.div.
const XHTMLNamespace = "http://www.w3.org/1999/xhtml"

// The XHTML a narrative may use (R4 narrative.html, invariant txt-1): the
// basic formatting elements and attributes of HTML 4.0, <a> with name or
// href, images and style attributes; no scripts, forms, frames, objects,
// event handler attributes, head or body.
var (
	narrativeElements = setOf("a", "abbr", "acronym", "address", "b", "bdo", "big", "blockquote", "br", "caption",
		"cite", "code", "col", "colgroup", "dd", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6",
		"hr", "i", "img", "kbd", "li", "ol", "p", "pre", "q", "samp", "small", "span", "strong", "sub", "sup",
		"table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var")
	narrativeAttributes = setOf("abbr", "accesskey", "align", "alt", "axis", "bgcolor", "border", "cellhalign",
		"cellpadding", "cellspacing", "cellvalign", "char", "charoff", "charset", "cite", "class", "colspan",
		"compact", "coords", "dir", "frame", "headers", "height", "href", "hreflang", "hspace", "id", "lang",
		"longdesc", "name", "nowrap", "rel", "rev", "rowspan", "rules", "scope", "shape", "span", "src", "start",
		"style", "summary", "tabindex", "title", "type", "valign", "value", "vspace", "width")
	// Schemes that run code or reach local data when a reader follows the
	// link or loads the image.
	activeSchemes = setOf("javascript", "vbscript", "livescript", "file", "blob", "jar", "mhtml", "ms-its")
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkNarrative returns what is wrong with the XHTML of a Narrative.div
// (invariant txt-1): not well-formed XML, not a <div> in the XHTML
// namespace, elements or attributes outside the allowed set, links or
// images with active schemes. An empty result means the narrative is
// acceptable. Narratives are shown by every FHIR UI, so this is also what
// keeps stored scripts out of them.
//
// Invariant txt-2 (some non-whitespace content) is not enforced: empty
// narratives are harmless, and the specification's own examples have them.
func checkNarrative(div string) []string {
	var problems []string
	add := func(msg string) {
		if len(problems) < 10 {
			problems = append(problems, msg)
		}
	}
	d := xml.NewDecoder(strings.NewReader(div))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				add("the narrative is not well-formed XHTML (line " + strconv.Itoa(se.Line) + "): " + se.Msg)
			} else {
				add("the narrative is not well-formed XHTML: " + err.Error())
			}
			return problems
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (t.Name.Local != "div" || t.Name.Space != XHTMLNamespace) {
				add(`the narrative must be one <div xmlns="` + XHTMLNamespace + `"> element`)
				return problems
			}
			depth++
			if t.Name.Space != XHTMLNamespace || !narrativeElements[t.Name.Local] {
				add("the element <" + t.Name.Local + "> is not allowed in a narrative")
			}
			for _, a := range t.Attr {
				checkNarrativeAttr(t.Name.Local, a, add)
			}
		case xml.EndElement:
			depth--
			if depth == 0 {
				// Only whitespace may follow the root element.
				if rest := div[d.InputOffset():]; strings.TrimSpace(rest) != "" {
					add("the narrative must be one <div> element, with nothing after it")
				}
				return problems
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				add(`the narrative must be one <div xmlns="` + XHTMLNamespace + `"> element`)
				return problems
			}
		case xml.ProcInst, xml.Directive:
			add("processing instructions and DOCTYPE declarations are not allowed in a narrative")
		}
	}
	if depth == 0 && len(problems) == 0 {
		add(`the narrative must be one <div xmlns="` + XHTMLNamespace + `"> element`)
	}
	return problems
}

func checkNarrativeAttr(elem string, a xml.Attr, add func(string)) {
	switch {
	case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
		return // namespace declarations
	case a.Name.Local == "lang" && (a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace"):
		return // xml:lang
	case a.Name.Space != "" || !narrativeAttributes[a.Name.Local]:
		add("the attribute " + a.Name.Local + " of <" + elem + "> is not allowed in a narrative")
		return
	}
	switch a.Name.Local {
	case "href", "src", "longdesc", "cite":
		if s := scheme(a.Value); activeSchemes[s] || (s == "data" && a.Name.Local != "src") {
			add("the " + a.Name.Local + " of <" + elem + "> uses the scheme " + s + ":, which is not allowed in a narrative")
		}
	case "style":
		v := strings.ToLower(a.Value)
		if strings.Contains(v, "expression(") || strings.Contains(v, "javascript:") || strings.Contains(v, "url(") {
			add("the style of <" + elem + "> loads or runs content, which is not allowed in a narrative")
		}
	}
}

// scheme returns the lower-cased URI scheme of v, ignoring the whitespace
// and control characters browsers ignore, or "" for a relative reference.
func scheme(v string) string {
	var sb strings.Builder
	for _, r := range v {
		switch {
		case r <= ' ':
			continue
		case r == ':':
			return strings.ToLower(sb.String())
		case r == '/' || r == '?' || r == '#':
			return ""
		}
		sb.WriteRune(r)
	}
	return ""
}
