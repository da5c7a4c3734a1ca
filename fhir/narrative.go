package fhir

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
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
	if plainNarrative(div) {
		return nil
	}
	return parseNarrative(div)
}

// parseNarrative is checkNarrative through encoding/xml, which reads any
// XML and says what is wrong with it.
func parseNarrative(div string) []string {
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

// plainNarrative reports whether div is a narrative that parseNarrative
// accepts, read in one pass over the subset of XML that narratives are
// written in: elements with unprefixed names, attributes in quotes
// without entity references or control characters, text with the five
// predefined entities and character references. It answers false for
// anything else (comments, CDATA, prefixes, a namespace declared below
// the root, a problem of any kind), which parseNarrative then reads.
// encoding/xml reads text a byte at a time; this is several times faster
// on the narratives of real resources. FuzzPlainNarrative checks that it
// accepts nothing parseNarrative refuses.
func plainNarrative(div string) bool {
	s := strings.TrimLeft(div, " \t\r\n")
	var open []string
	for len(s) > 0 {
		if len(open) == 0 && s[0] != '<' {
			return false
		}
		if s[0] != '<' {
			n := plainText(s)
			if n < 0 {
				return false
			}
			s = s[n:]
			continue
		}
		if len(s) > 1 && s[1] == '/' {
			name, rest := xmlName(s[2:])
			rest = strings.TrimLeft(rest, " \t\r\n")
			if name == "" || len(open) == 0 || open[len(open)-1] != name || !strings.HasPrefix(rest, ">") {
				return false
			}
			open = open[:len(open)-1]
			s = rest[1:]
			if len(open) == 0 {
				return strings.TrimLeft(s, " \t\r\n") == ""
			}
			continue
		}
		name, rest := xmlName(s[1:])
		if name == "" || !narrativeElements[name] || len(open) == 0 && name != "div" {
			return false
		}
		var ok, closed, xmlns bool
		if s, ok, closed, xmlns = plainAttributes(name, rest); !ok || xmlns != (len(open) == 0) {
			return false
		}
		if !closed {
			open = append(open, name)
		} else if len(open) == 0 {
			return strings.TrimLeft(s, " \t\r\n") == ""
		}
	}
	return false
}

// plainText returns the length of the text at the start of s, up to the
// next tag, or -1 when it holds what plainNarrative leaves to
// parseNarrative: an entity other than the five of XML, a character XML
// does not allow, "]]>".
func plainText(s string) int {
	i := 0
	for i < len(s) && s[i] != '<' {
		c := s[i]
		switch {
		case c == '&':
			n := entityLen(s[i:])
			if n < 0 {
				return -1
			}
			i += n
		case c == ']' && strings.HasPrefix(s[i:], "]]>"):
			return -1
		case c < ' ' && c != '\t' && c != '\n' && c != '\r':
			return -1
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if !xmlChar(r) || r == utf8.RuneError && n == 1 {
				return -1
			}
			i += n
		default:
			i++
		}
	}
	return i
}

// entityLen returns the length of the entity or character reference at
// the start of s (which starts with '&'), or -1 for any other.
func entityLen(s string) int {
	end := strings.IndexByte(s, ';')
	if end < 0 {
		return -1
	}
	ref := s[1:end]
	switch ref {
	case "amp", "lt", "gt", "quot", "apos":
		return end + 1
	}
	var r uint64
	var err error
	switch {
	case strings.HasPrefix(ref, "#x"):
		r, err = strconv.ParseUint(ref[2:], 16, 32)
	case strings.HasPrefix(ref, "#"):
		r, err = strconv.ParseUint(ref[1:], 10, 32)
	default:
		return -1
	}
	if err != nil || len(ref) > 10 || !xmlChar(rune(r)) || strings.ContainsAny(ref[1:], "+-") {
		return -1
	}
	return end + 1
}

// xmlChar reports whether r is a character XML allows in a document.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// xmlName returns the lower-case ASCII name at the start of s (a-z, then
// a-z and 0-9) and what follows it.
func xmlName(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return s[:i], s[i:]
}

// plainAttributes reads the attributes of element elem and the end of its
// start tag from s, and returns what follows the tag, whether it was
// read and acceptable, whether the tag closed itself (/>), and whether it
// declares the XHTML namespace, as the root must and no other element of
// a plain narrative does.
func plainAttributes(elem, s string) (rest string, ok, closed, xmlns bool) {
	seen := map[string]bool{}
	for {
		trimmed := strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(trimmed, ">"):
			return trimmed[1:], true, false, xmlns
		case strings.HasPrefix(trimmed, "/>"):
			return trimmed[2:], true, true, xmlns
		case len(trimmed) == len(s):
			return "", false, false, false // no space before an attribute
		}
		name, after := xmlName(trimmed)
		if name == "xml" && strings.HasPrefix(after, ":lang") {
			name, after = "xml:lang", after[len(":lang"):]
		}
		if name == "" || seen[name] || len(after) < 2 || after[0] != '=' || after[1] != '"' && after[1] != '\'' {
			return "", false, false, false
		}
		seen[name] = true
		quote := after[1]
		end := strings.IndexByte(after[2:], quote)
		if end < 0 {
			return "", false, false, false
		}
		value := after[2 : 2+end]
		for i := 0; i < len(value); i++ {
			if c := value[i]; c == '&' || c == '<' || c < ' ' {
				return "", false, false, false
			}
		}
		if !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool { return !xmlChar(r) }) {
			return "", false, false, false
		}
		switch name {
		case "xmlns":
			if value != XHTMLNamespace {
				return "", false, false, false
			}
			xmlns = true
		case "xml:lang":
		default:
			problem := false
			checkNarrativeAttr(elem, xml.Attr{Name: xml.Name{Local: name}, Value: value}, func(string) { problem = true })
			if problem {
				return "", false, false, false
			}
		}
		s = after[3+end:]
	}
}
