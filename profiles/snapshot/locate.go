package snapshot

import (
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/profiles/base"
)

// seg is one step of an element id: a path segment and a slice name.
type seg struct{ name, slice string }

// segments returns the location of the differential element de: from its
// id, or, without an id, from its path and sliceName, the slices of the
// segments its path shares with the previous element being kept (children
// of a slice follow the slice).
func (r *run) segments(de *base.ElementDefinition) ([]seg, error) {
	if de.Path == "" {
		return nil, fmt.Errorf("no path")
	}
	names := strings.Split(de.Path, ".")
	for _, n := range names {
		if n == "" {
			return nil, fmt.Errorf("malformed path %q", de.Path)
		}
	}
	segs := make([]seg, len(names))
	if de.ID != "" {
		parts := strings.Split(de.ID, ".")
		if len(parts) != len(names) {
			return nil, fmt.Errorf("id %q does not match path %q", de.ID, de.Path)
		}
		for i, p := range parts {
			name, slice, _ := strings.Cut(p, ":")
			if name != names[i] {
				return nil, fmt.Errorf("id %q does not match path %q", de.ID, de.Path)
			}
			segs[i] = seg{name, slice}
		}
		last := segs[len(segs)-1].slice
		switch {
		case de.SliceName != "" && last != de.SliceName:
			return nil, fmt.Errorf("sliceName %q does not match id %q", de.SliceName, de.ID)
		case de.SliceName == "" && last != "" && !strings.HasSuffix(names[len(names)-1], "[x]"):
			return nil, fmt.Errorf("id %q names a slice but the element has no sliceName", de.ID)
		}
		return segs, nil
	}
	shared := true
	for i, name := range names {
		segs[i].name = name
		if i == len(names)-1 {
			break
		}
		if shared && i < len(r.prev) && r.prev[i].name == name {
			segs[i].slice = r.prev[i].slice
		} else {
			shared = false
		}
	}
	segs[len(segs)-1].slice = de.SliceName
	return segs, nil
}

// locate returns the working node at segs, expanding data types and adding
// the slice the last segment names when it is new.
func (r *run) locate(segs []seg) (*node, error) {
	n := r.root
	if segs[0].name != n.name || segs[0].slice != "" {
		return nil, fmt.Errorf("the path must start with %s", n.name)
	}
	inSlice := false // below a slice
	for i := 1; i < len(segs); i++ {
		s := segs[i]
		last := i == len(segs)-1
		c, typeName, err := r.child(n, s.name)
		if err != nil {
			return nil, err
		}
		if strings.Contains(s.slice, "/") {
			return nil, fmt.Errorf("reslicing (%s:%s) is not supported", c.def.Path, s.slice)
		}
		switch {
		case typeName != "":
			if s.slice != "" {
				return nil, fmt.Errorf("reslicing (%s:%s) is not supported", s.name, s.slice)
			}
			if inSlice {
				// Below a slice, the R4 tools constrain the choice
				// itself, restricted to the type.
				r.restrictChoice(c, typeName)
				break
			}
			c, err = r.typeSlice(c, s.name, typeName)
		case s.slice != "":
			sl := c.slice(s.slice)
			if sl == nil {
				if !last {
					return nil, fmt.Errorf("unknown slice %q of %s: a slice is declared (with its sliceName) before its children", s.slice, c.def.Path)
				}
				sl, err = r.newSlice(c, s.slice)
			}
			c = sl
		}
		if err != nil {
			return nil, err
		}
		if c.def.SliceName != "" {
			inSlice = true
		}
		n = c
	}
	return n, nil
}

// child returns the child of n named name, expanding n if needed. For the
// type-specific name of a choice element (onsetDateTime for onset[x]) it
// returns the choice element and the type (dateTime).
func (r *run) child(n *node, name string) (*node, string, error) {
	if len(n.children) == 0 {
		if err := r.expand(n); err != nil {
			return nil, "", err
		}
	}
	for _, c := range n.children {
		if c.name == name {
			return c, "", nil
		}
	}
	for _, c := range n.children {
		prefix, ok := strings.CutSuffix(c.name, "[x]")
		if !ok || !strings.HasPrefix(name, prefix) || len(name) == len(prefix) {
			continue
		}
		suffix := name[len(prefix):]
		types := c.def.Type
		if c.choiceTypes != nil {
			types = c.choiceTypes
		}
		for _, t := range types {
			if upperFirst(t.FHIRType()) == suffix {
				return c, t.FHIRType(), nil
			}
		}
		return nil, "", fmt.Errorf("%s: type %s is not one of the types of %s (%s)", name, suffix, c.def.Path, typeList(types))
	}
	return nil, "", fmt.Errorf("unknown element %s in %s", name, n.def.Path)
}

// typeSlice returns the slice of the choice element c for the type-specific
// name sliceName (valueQuantity), adding it if new. As the R4 tools do, the
// choice's types are restricted to those named this way (unless the
// differential sets them) and it gets a closed type slicing.
func (r *run) typeSlice(c *node, sliceName, typeName string) (*node, error) {
	r.restrictChoice(c, typeName)
	if c.def.Slicing == nil {
		c.def.Slicing = &base.Slicing{
			Discriminator: []base.Discriminator{{Type: "type", Path: "$this"}},
			Ordered:       ptr(false),
			Rules:         "closed",
		}
	}
	if s := c.slice(sliceName); s != nil {
		return s, nil
	}
	s := r.addSlice(c, sliceName)
	types := c.choiceTypes
	if types == nil {
		types = c.def.Type
	}
	s.def.Type = []base.Type{pickType(types, typeName)}
	return s, nil
}

// restrictChoice restricts the types of the choice element c to those its
// type-specific names name, unless the differential sets its types.
func (r *run) restrictChoice(c *node, typeName string) {
	if c.diffTypes {
		return
	}
	if c.choiceTypes == nil {
		c.choiceTypes = c.def.Type
		c.def.Type = nil
	}
	if !hasType(c.def.Type, typeName) {
		c.def.Type = append(c.def.Type, pickType(c.choiceTypes, typeName))
	}
}

// newSlice adds the slice name to c, which must be sliced: by its own
// slicing, or implicitly, extensions by url and choice elements by type.
func (r *run) newSlice(c *node, name string) (*node, error) {
	if c.def.Slicing == nil {
		switch {
		case c.name == "extension" || c.name == "modifierExtension":
			c.def.Slicing = &base.Slicing{
				Discriminator: []base.Discriminator{{Type: "value", Path: "url"}},
				Ordered:       ptr(false),
				Rules:         "open",
			}
		case c.isChoice():
			c.def.Slicing = &base.Slicing{
				Discriminator: []base.Discriminator{{Type: "type", Path: "$this"}},
				Ordered:       ptr(false),
				Rules:         "open",
			}
		default:
			return nil, fmt.Errorf("slice %q of %s, which is not sliced: give %s a slicing first", name, c.def.Path, c.def.Path)
		}
	}
	if bs := c.src.def.Slicing; bs != nil && bs.Rules == "closed" && !isTypeSlicing(bs) {
		return nil, fmt.Errorf("slice %q cannot be added: the slicing of %s in the base is closed", name, c.def.Path)
	}
	s := r.addSlice(c, name)
	// The base's min is that of all the repetitions together: a slice is
	// optional unless the differential says otherwise.
	s.def.Min = ptr(0)
	if c.isChoice() {
		prefix := strings.TrimSuffix(c.name, "[x]")
		for _, t := range c.def.Type {
			if prefix+upperFirst(t.FHIRType()) == name {
				s.def.Type = []base.Type{t}
			}
		}
	}
	return s, nil
}

// addSlice appends to c a new slice named name: a copy of the base
// definition of c, with its children.
func (r *run) addSlice(c *node, name string) *node {
	p := c.src
	s := &node{name: c.name, def: p.def.Clone(), src: p, newSlice: true}
	s.def.SliceName = name
	s.def.Slicing = nil
	s.children = copyNodes(p.children)
	c.slices = append(c.slices, s)
	return s
}

func isTypeSlicing(s *base.Slicing) bool {
	return len(s.Discriminator) == 1 && s.Discriminator[0].Type == "type" && s.Discriminator[0].Path == "$this"
}

func hasType(ts []base.Type, code string) bool {
	for _, t := range ts {
		if t.FHIRType() == code {
			return true
		}
	}
	return false
}

func pickType(ts []base.Type, code string) base.Type {
	for _, t := range ts {
		if t.FHIRType() == code {
			return t
		}
	}
	return base.Type{Code: code}
}

func typeList(ts []base.Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.FHIRType()
	}
	return strings.Join(names, ", ")
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func ptr[T any](v T) *T { return &v }
