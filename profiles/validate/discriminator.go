package validate

import (
	"strings"
)

// segKind is the kind of one step of a discriminator path.
type segKind uint8

const (
	segName    segKind = iota // an element name
	segExt                    // extension('url')
	segOfType                 // ofType(Type)
	segResolve                // resolve(): not supported
)

type pathSeg struct {
	kind segKind
	arg  string // the element name, extension URL or type name
}

// parsePath splits a discriminator path ("coding.code", "$this",
// "extension('http://x').value", "value.ofType(Quantity)") into steps.
// $this yields no step.
func parsePath(path string) ([]pathSeg, bool) {
	var segs []pathSeg
	for _, part := range splitPath(path) {
		switch {
		case part == "$this":
		case part == "resolve()":
			segs = append(segs, pathSeg{kind: segResolve})
		case strings.HasPrefix(part, "extension(") && strings.HasSuffix(part, ")"):
			arg := strings.TrimSpace(part[len("extension(") : len(part)-1])
			if len(arg) < 2 || (arg[0] != '\'' && arg[0] != '"') || arg[len(arg)-1] != arg[0] {
				return nil, false
			}
			segs = append(segs, pathSeg{kind: segExt, arg: arg[1 : len(arg)-1]})
		case strings.HasPrefix(part, "ofType(") && strings.HasSuffix(part, ")"):
			arg := strings.TrimSpace(part[len("ofType(") : len(part)-1])
			arg = strings.TrimPrefix(arg, "FHIR.")
			segs = append(segs, pathSeg{kind: segOfType, arg: arg})
		case part == "" || strings.ContainsAny(part, "()[]' "):
			return nil, false
		default:
			segs = append(segs, pathSeg{kind: segName, arg: part})
		}
	}
	return segs, true
}

// splitPath splits at the dots outside parentheses and quotes.
func splitPath(path string) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '.' && depth == 0:
			parts = append(parts, path[start:i])
			start = i + 1
		}
	}
	return append(parts, path[start:])
}

// expect is what one discriminator requires of a repetition for it to
// belong to a slice.
type expect struct {
	disc discriminatorDef
	path []pathSeg
	// unsupported says why the discriminator cannot be evaluated ("" when
	// it can).
	unsupported string
	// value and pattern: the values the instance must have at path, each
	// matched exactly (fixed) or as a pattern. valueSet: instead, a code
	// from this value set (a required binding).
	values   []any
	exact    bool
	valueSet string
	// exists: whether the element at path must be present.
	exists bool
	// type: the allowed types; profile: the profiles to conform to.
	types    []string
	profiles []string
}

// expectations computes, for a slice, what each discriminator of its
// slicing requires.
func (p *profile) expectations(slice *node) []expect {
	sliced := slice.sliceOf
	for sliced.slicing == nil && sliced.sliceOf != nil {
		sliced = sliced.sliceOf // a reslice uses the slicing of its slice
	}
	if sliced.slicing == nil {
		return nil
	}
	var out []expect
	for _, d := range sliced.slicing.Discriminator {
		out = append(out, p.expectation(slice, d))
	}
	return out
}

func (p *profile) expectation(slice *node, d discriminatorDef) expect {
	e := expect{disc: d}
	segs, ok := parsePath(d.Path)
	if !ok {
		e.unsupported = "the discriminator path " + d.Path + " cannot be read"
		return e
	}
	e.path = segs
	for _, s := range segs {
		if s.kind == segResolve {
			e.unsupported = "resolve() in a discriminator path needs the referenced resources"
			return e
		}
	}
	// Walk the slice's elements along the path, remembering the last
	// fixed or pattern value met: a pattern on an ancestor
	// (patternIdentifier {system}) fixes the discriminated value too.
	target := slice
	var carried any
	var carriedExact bool
	var rest []pathSeg
	if target.fixed != nil || target.pattern != nil {
		carried, carriedExact, rest = fixedOrPattern(target), target.fixed != nil, segs
	}
	for i, s := range segs {
		target = childForSeg(target, s)
		if target == nil {
			break
		}
		if i < len(segs)-1 && len(target.slices) > 0 {
			// The path goes on into a sliced element (code.coding.code
			// with coding sliced): a slice every instance must have
			// (min 1) fixes the value.
			for _, sl := range target.slices {
				if sl.min > 0 {
					target = sl
					break
				}
			}
		}
		if target.fixed != nil || target.pattern != nil {
			carried, carriedExact, rest = fixedOrPattern(target), target.fixed != nil, segs[i+1:]
		}
	}
	switch d.Type {
	case "value", "pattern":
		if carried != nil {
			vals := navigateJSON([]any{carried}, rest)
			if len(vals) > 0 {
				e.values, e.exact = vals, carriedExact && d.Type == "value"
				return e
			}
		}
		if target != nil && target.binding != nil && target.binding.Strength == "required" {
			e.valueSet = target.binding.ValueSet
			return e
		}
		// Extensions are sliced by url, which the slice's type profile
		// gives when the url element is not constrained.
		if len(segs) == 1 && segs[0].kind == segName && segs[0].arg == "url" {
			if u := extensionURL(slice); u != "" {
				e.values, e.exact = []any{u}, true
				return e
			}
		}
		e.unsupported = "the slice " + slice.id + " fixes no value at " + d.Path
	case "exists":
		switch {
		case target == nil:
			e.unsupported = "the slice " + slice.id + " has no element " + d.Path
		case target.min > 0:
			e.exists = true
		case target.max == 0:
			e.exists = false
		default:
			e.unsupported = "the slice " + slice.id + " neither requires nor forbids " + d.Path
		}
	case "type":
		if target == nil || len(target.types) == 0 {
			e.unsupported = "the slice " + slice.id + " restricts no type at " + d.Path
			break
		}
		for _, t := range target.types {
			e.types = append(e.types, t.Code)
		}
	case "profile":
		if target == nil {
			e.unsupported = "the slice " + slice.id + " has no element " + d.Path
			break
		}
		for _, t := range target.types {
			e.profiles = append(e.profiles, t.Profile...)
		}
		if len(e.profiles) == 0 {
			e.unsupported = "the slice " + slice.id + " gives no profile at " + d.Path
		}
	default:
		e.unsupported = "the discriminator type " + d.Type + " is not supported"
	}
	return e
}

func fixedOrPattern(n *node) any {
	if n.fixed != nil {
		return n.fixed
	}
	return n.pattern
}

// extensionURL returns the URL an extension slice stands for: its fixed
// url, or its type profile.
func extensionURL(n *node) string {
	for _, c := range n.children {
		if c.name == "url" {
			if s, ok := c.fixed.(string); ok {
				return s
			}
		}
	}
	for _, t := range n.types {
		if t.Code == "Extension" && len(t.Profile) > 0 {
			return t.Profile[0]
		}
	}
	return ""
}

// childForSeg returns the element one path step below n, or nil.
func childForSeg(n *node, s pathSeg) *node {
	switch s.kind {
	case segName:
		for _, c := range n.content() {
			if c.name == s.arg {
				return c
			}
		}
	case segExt:
		for _, c := range n.content() {
			if c.name != "extension" {
				continue
			}
			for _, sl := range c.slices {
				if extensionURL(sl) == s.arg {
					return sl
				}
			}
			return nil
		}
	case segOfType:
		for _, sl := range n.slices {
			if len(sl.types) == 1 && sl.types[0].Code == s.arg {
				return sl
			}
		}
		return n
	}
	return nil
}

// navigateJSON follows name steps through decoded JSON values (a fixed or
// pattern value), flattening arrays.
func navigateJSON(vals []any, segs []pathSeg) []any {
	for _, s := range segs {
		var next []any
		for _, v := range vals {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			var x any
			switch s.kind {
			case segName:
				x = m[s.arg]
				if x == nil {
					x = choiceValue(m, s.arg)
				}
			case segExt:
				for _, e := range asArray(m["extension"]) {
					if em, ok := e.(map[string]any); ok && em["url"] == s.arg {
						next = append(next, em)
					}
				}
				continue
			default:
				return nil
			}
			next = append(next, asArray(x)...)
		}
		vals = next
	}
	return vals
}

// choiceValue returns the value of the choice element name in m
// (valueQuantity for value), if any.
func choiceValue(m map[string]any, name string) any {
	for k, v := range m {
		if len(k) > len(name) && strings.HasPrefix(k, name) && isTypeSuffix(k[len(name):]) {
			return v
		}
	}
	return nil
}

func asArray(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}
