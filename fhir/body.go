package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
)

// Prepared is a resource's JSON readied for storing versions of it: the
// client's bytes, compacted, split around the elements the server owns (id,
// meta.versionId, meta.lastUpdated) so that Render can write a version
// without parsing again. Every other element keeps the client's bytes and
// order.
type Prepared struct {
	Type ResourceType
	// ID is the id the body carried, or "" if it had none.
	ID ID
	// Issues are violations of FHIR's JSON rules found in the body (see
	// checkJSONRules). The body can still be rendered and validated, so
	// that one answer reports every problem; it must not be stored.
	Issues []Issue
	// meta holds the client's meta members other than versionId and
	// lastUpdated, comma-separated, without braces.
	meta []byte
	// rest holds the other top-level members in the client's order,
	// comma-separated, without braces.
	rest []byte
}

// errNotObject and errNoType describe why a body cannot be prepared;
// Prepare wraps them in an Error of kind KindInvalid.
var (
	errNotObject = errors.New("the body is not a JSON object")
	errNoType    = errors.New("the resource has no resourceType")
)

// Prepare checks that body is one JSON object holding a resource and splits
// it for Render. It fails on malformed JSON, a missing or non-string
// resourceType or id, and a meta that is not an object; what else FHIR's
// JSON rules forbid anywhere in the document (see checkJSONRules) it
// reports in Prepared.Issues.
func Prepare(body []byte) (*Prepared, error) {
	var compact bytes.Buffer
	compact.Grow(len(body))
	if err := json.Compact(&compact, body); err != nil {
		return nil, invalidJSON(err)
	}
	b := compact.Bytes()
	members, err := objectMembers(b)
	if err != nil {
		return nil, err
	}
	p := &Prepared{}
	rest := make([]byte, 0, len(b))
	for _, m := range members {
		switch m.key {
		case "resourceType":
			var s string
			if json.Unmarshal(m.value, &s) != nil || s == "" {
				return nil, &Error{Kind: KindInvalid, Issues: []Issue{{Severity: SeverityError, Code: IssueStructure,
					Diagnostics: "resourceType must be a non-empty string", Expression: []string{"resourceType"}}}}
			}
			p.Type = ResourceType(s)
		case "id":
			var s string
			if json.Unmarshal(m.value, &s) != nil {
				return nil, &Error{Kind: KindInvalid, Issues: []Issue{{Severity: SeverityError, Code: IssueStructure,
					Diagnostics: "id must be a string", Expression: []string{"id"}}}}
			}
			p.ID = ID(s)
		case "meta":
			metaMembers, err := objectMembers(m.value)
			if err != nil {
				return nil, &Error{Kind: KindInvalid, Issues: []Issue{{Severity: SeverityError, Code: IssueStructure,
					Diagnostics: "meta must be a JSON object", Expression: []string{"meta"}}}}
			}
			for _, mm := range metaMembers {
				if mm.key == "versionId" || mm.key == "lastUpdated" {
					continue
				}
				p.meta = appendMember(p.meta, mm)
			}
		default:
			rest = appendMember(rest, m)
		}
	}
	if p.Type == "" {
		return nil, &Error{Kind: KindInvalid, Err: errNoType, Issues: []Issue{{Severity: SeverityError, Code: IssueRequired,
			Diagnostics: "the resource has no resourceType", Expression: []string{"resourceType"}}}}
	}
	p.Issues = checkJSONRules(b, string(p.Type))
	p.rest = rest
	return p, nil
}

// Render returns the JSON of the version: resourceType, id and meta first,
// then the client's other elements in the client's order.
func (p *Prepared) Render(id ID, version int64, lastUpdated time.Time) []byte {
	out := make([]byte, 0, len(p.rest)+len(p.meta)+128)
	out = append(out, `{"resourceType":`...)
	out = strconv.AppendQuote(out, string(p.Type))
	if id != "" {
		out = append(out, `,"id":`...)
		out = strconv.AppendQuote(out, string(id))
	}
	if version > 0 || len(p.meta) > 0 {
		out = append(out, `,"meta":{`...)
		sep := false
		if version > 0 {
			out = append(out, `"versionId":"`...)
			out = strconv.AppendInt(out, version, 10)
			out = append(out, `","lastUpdated":"`...)
			out = lastUpdated.UTC().AppendFormat(out, InstantFormat)
			out = append(out, '"')
			sep = true
		}
		if len(p.meta) > 0 {
			if sep {
				out = append(out, ',')
			}
			out = append(out, p.meta...)
		}
		out = append(out, '}')
	}
	if len(p.rest) > 0 {
		out = append(out, ',')
		out = append(out, p.rest...)
	}
	return append(out, '}')
}

// SameContent reports whether stored, a version rendered by Render, holds
// the same content as p apart from the id and meta.versionId and
// meta.lastUpdated.
func (p *Prepared) SameContent(stored *Resource) bool {
	if stored == nil || stored.Deleted || stored.Type != p.Type {
		return false
	}
	return bytes.Equal(p.Render(stored.ID, stored.Version, stored.LastUpdated), stored.Body)
}

type member struct {
	key   string
	raw   []byte // the key and value as they appear: "key":value
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
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, invalidJSON(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Kind: KindInvalid, Err: errNotObject, Issues: []Issue{{Severity: SeverityError,
			Code: IssueStructure, Diagnostics: "the body must be a JSON object holding a FHIR resource"}}}
	}
	var out []member
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidJSON(err)
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, invalidJSON(err)
		}
		raw := bytes.TrimLeft(b[start:dec.InputOffset()], ",")
		out = append(out, member{key: key, raw: raw, value: v})
	}
	return out, nil
}

// maxIssues bounds the issues one check reports, so that a hostile body
// cannot make the server build an enormous OperationOutcome.
const maxIssues = 100

// checkJSONRules walks the whole document once and reports what FHIR's JSON
// format forbids and a JSON parser would silently accept: a property named
// twice in one object (a parser keeps one of them, so the stored bytes and
// the validated content would differ), null as a property value, and empty
// strings, arrays and objects. null stays allowed inside arrays, where it
// aligns primitive values with their "_name" extensions.
func checkJSONRules(b []byte, root string) []Issue {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		object bool
		path   string
		index  int
		n      int // members or items seen
		keys   map[string]struct{}
		key    string // the member whose value comes next (objects)
	}
	var (
		stack  []frame
		issues []Issue
	)
	report := func(path, msg string) {
		if len(issues) < maxIssues {
			issues = append(issues, Issue{Severity: SeverityError, Code: IssueStructure, Diagnostics: msg, Expression: []string{path}})
		}
	}
	childPath := func() string {
		if len(stack) == 0 {
			return root
		}
		f := &stack[len(stack)-1]
		if f.object {
			return f.path + "." + f.key
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	inObject := func() bool { return len(stack) > 0 && stack[len(stack)-1].object }
	expectKey := func() bool { return inObject() && stack[len(stack)-1].key == "" }
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		f.n++
		if f.object {
			f.key = ""
		} else {
			f.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			// The body was compacted, so it is valid JSON: EOF is the end.
			return issues
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{object: t == '{', path: childPath()})
			case '}', ']':
				f := stack[len(stack)-1]
				if f.n == 0 && len(stack) > 1 {
					if f.object {
						report(f.path, "an object must not be empty")
					} else {
						report(f.path, "an array must not be empty")
					}
				}
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if expectKey() {
				f := &stack[len(stack)-1]
				if f.keys == nil {
					f.keys = make(map[string]struct{}, 8)
				}
				if _, dup := f.keys[t]; dup {
					report(f.path+"."+t, "the property "+strconv.Quote(t)+" appears more than once")
				}
				f.keys[t] = struct{}{}
				f.key = t
				continue
			}
			if t == "" {
				report(childPath(), "a string must not be empty")
			}
			valueDone()
		case nil:
			if inObject() {
				report(childPath(), "null is not allowed as a property value")
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

func invalidJSON(err error) *Error {
	msg := "the body is not valid JSON"
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg += " (at byte " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error() + ")"
	} else if err == io.ErrUnexpectedEOF || errors.Is(err, io.EOF) {
		msg += " (unexpected end of input)"
	}
	return &Error{Kind: KindInvalid, Err: err, Issues: []Issue{{Severity: SeverityError, Code: IssueStructure, Diagnostics: msg}}}
}
