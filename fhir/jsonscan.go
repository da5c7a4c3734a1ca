package fhir

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The functions here walk JSON that compact (see Prepare) has already
// checked and compacted, so they can assume valid syntax and no
// whitespace. They replace encoding/json's token stream, which allocates
// for every token, on the write path.

// maxDepth bounds the nesting of objects and arrays in a body.
const maxDepth = 256

// member is one member of an object: its key, its bytes as they appear
// ("key":value) and its value.
type member struct {
	key   string
	raw   []byte
	value []byte
}

func appendMember(dst []byte, m member) []byte {
	if len(dst) > 0 {
		dst = append(dst, ',')
	}
	return append(dst, m.raw...)
}

// objectMembers splits a compact JSON object into its members.
func objectMembers(b []byte) ([]member, error) {
	if len(b) == 0 || b[0] != '{' {
		return nil, &Error{Kind: KindInvalid, Err: errNotObject, Issues: []Issue{{Severity: SeverityError,
			Code: IssueStructure, Diagnostics: "the body must be a JSON object holding a FHIR resource"}}}
	}
	var out []member
	i := 1
	for i < len(b) && b[i] != '}' {
		start := i
		keyEnd := skipString(b, i)
		key := unquote(b[i:keyEnd])
		valStart := keyEnd + 1 // past ':'
		valEnd := skipValue(b, valStart)
		out = append(out, member{key: key, raw: b[start:valEnd], value: b[valStart:valEnd]})
		i = valEnd
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return out, nil
}

// Member returns the value of the top-level member key of a JSON object
// in compact form (as Prepared.Render writes it), or nil if it has none.
// It does not allocate.
func Member(body []byte, key string) []byte {
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	for i := 1; i < len(body) && body[i] == '"'; {
		keyEnd := skipString(body, i)
		valStart := keyEnd + 1
		valEnd := skipValue(body, valStart)
		if string(body[i+1:keyEnd-1]) == key {
			return body[valStart:valEnd]
		}
		i = valEnd + 1 // past ','
	}
	return nil
}

// skipString returns the index just past the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']':
			return i
		}
	}
	return len(b)
}

// unquote returns the text of a JSON string literal.
func unquote(lit []byte) string {
	if len(lit) < 2 {
		return ""
	}
	inner := lit[1 : len(lit)-1]
	for _, c := range inner {
		if c == '\\' {
			if s, ok := unquoteBody(inner); ok {
				return s
			}
			var s string
			json.Unmarshal(lit, &s)
			return s
		}
	}
	return string(inner)
}

// checkDepth refuses documents nested deeper than maxDepth, before any
// recursive walk meets them.
func checkDepth(b []byte) error {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = skipString(b, i) - 1
		case '{', '[':
			depth++
			if depth > maxDepth {
				return &Error{Kind: KindInvalid, Issues: []Issue{{Severity: SeverityError, Code: IssueStructure,
					Diagnostics: "the body nests objects and arrays deeper than " + strconv.Itoa(maxDepth) + " levels"}}}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// maxIssues bounds the issues one check reports, so that a hostile body
// cannot make the server build an enormous OperationOutcome.
const maxIssues = 100

// rules walks a document for checkJSONRules. path holds the keys and
// indexes leading to the current value; it becomes a FHIRPath-like string
// only when an issue is reported.
type rules struct {
	b      []byte
	root   string
	path   []pathStep
	issues []Issue
	// arrayNulls says whether the array value just walked held null items.
	arrayNulls bool
}

type pathStep struct {
	key   []byte // nil for an array index
	index int
}

// checkJSONRules reports what FHIR's JSON format forbids and a JSON parser
// would silently accept: a property named twice in one object (a parser
// keeps one of them, so the stored bytes and the validated content would
// differ), null as a property value, empty strings, arrays and objects,
// and narratives (Narrative.div) that break FHIR's XHTML rules. null stays allowed inside an array that has a partner ("given"
// and "_given"), where it aligns primitive values with their ids and
// extensions. b must be compact and no deeper than maxDepth.
func checkJSONRules(b []byte, root string) []Issue {
	r := &rules{b: b, root: root}
	r.value(0, false)
	return r.issues
}

func (r *rules) report(msg string) { r.reportCode(IssueStructure, msg) }

func (r *rules) reportCode(code IssueType, msg string) {
	if len(r.issues) >= maxIssues {
		return
	}
	var sb strings.Builder
	sb.WriteString(r.root)
	for _, st := range r.path {
		if st.key != nil {
			sb.WriteByte('.')
			sb.Write(st.key)
		} else {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(st.index))
			sb.WriteByte(']')
		}
	}
	r.issues = append(r.issues, Issue{Severity: SeverityError, Code: code, Diagnostics: msg, Expression: []string{sb.String()}})
}

// value checks the value at b[i] and returns the index past it. inArray
// says whether the value is an array item.
func (r *rules) value(i int, inArray bool) int {
	b := r.b
	switch b[i] {
	case '{':
		return r.object(i)
	case '[':
		if b[i+1] == ']' {
			r.report("an array must not be empty")
			return i + 2
		}
		i++
		nulls := false
		for n := 0; ; n++ {
			nulls = nulls || b[i] == 'n'
			r.path = append(r.path, pathStep{index: n})
			i = r.value(i, true)
			r.path = r.path[:len(r.path)-1]
			if b[i] == ']' {
				r.arrayNulls = nulls
				return i + 1
			}
			i++ // ','
		}
	case '"':
		if b[i+1] == '"' {
			r.report("a string must not be empty")
			return i + 2
		}
		return skipString(b, i)
	case 'n':
		if !inArray {
			r.report("null is not allowed as a property value")
		}
	}
	return skipValue(b, i)
}

// object checks the object at b[i] and returns the index past it.
func (r *rules) object(i int) int {
	b := r.b
	if b[i+1] == '}' {
		if len(r.path) > 0 {
			r.report("an object must not be empty")
		}
		return i + 2
	}
	var keys, nullKeys [][]byte
	var keySet map[string]struct{}
	i++
	for {
		keyEnd := skipString(b, i)
		key := keyBytes(b[i:keyEnd])
		if dup := seen(&keys, &keySet, key); dup {
			r.path = append(r.path, pathStep{key: key})
			r.report("the property " + strconv.Quote(string(key)) + " appears more than once")
			r.path = r.path[:len(r.path)-1]
		}
		r.path = append(r.path, pathStep{key: key})
		r.arrayNulls = false
		start := keyEnd + 1
		i = r.value(start, false)
		if string(key) == "div" && b[start] == '"' && i > start+2 {
			// Only Narrative has an element named div.
			for _, msg := range checkNarrative(unquote(b[start:i])) {
				r.reportCode(IssueInvariant, msg)
			}
		}
		if b[keyEnd+1] == '[' && r.arrayNulls {
			nullKeys = append(nullKeys, key)
		}
		r.path = r.path[:len(r.path)-1]
		if b[i] == '}' {
			r.checkNullPartners(nullKeys, keys)
			return i + 1
		}
		i++ // ','
	}
}

// checkNullPartners reports arrays holding null items that have no
// partner: null only aligns an array of primitive values ("given") with
// the array of their ids and extensions ("_given").
func (r *rules) checkNullPartners(nullKeys, keys [][]byte) {
	for _, k := range nullKeys {
		partner := "_" + string(k)
		if k[0] == '_' {
			partner = string(k[1:])
		}
		found := false
		for _, other := range keys {
			if string(other) == partner {
				found = true
				break
			}
		}
		if !found {
			r.path = append(r.path, pathStep{key: k})
			r.report("null items are only allowed to align primitive values with their " + strconv.Quote(partner) + " array, which is missing")
			r.path = r.path[:len(r.path)-1]
		}
	}
}

// seen records key and reports whether it was recorded before: a list for
// the usual small objects, a set once an object grows large.
func seen(keys *[][]byte, set *map[string]struct{}, key []byte) bool {
	if *set != nil {
		if _, ok := (*set)[string(key)]; ok {
			return true
		}
		(*set)[string(key)] = struct{}{}
		return false
	}
	for _, k := range *keys {
		if bytes.Equal(k, key) {
			return true
		}
	}
	*keys = append(*keys, key)
	if len(*keys) > 32 {
		*set = make(map[string]struct{}, 64)
		for _, k := range *keys {
			(*set)[string(k)] = struct{}{}
		}
	}
	return false
}

// keyBytes returns the text of an object key: the bytes between the
// quotes, decoded only when the key holds escapes.
func keyBytes(lit []byte) []byte {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	return []byte(unquote(lit))
}
