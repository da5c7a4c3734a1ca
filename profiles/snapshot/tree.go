package snapshot

import (
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/profiles/base"
)

// node is an element of a snapshot being built, with its children and its
// slices (each slice holding its own children).
//
// The snapshot of a base definition is read into a tree of pristine nodes,
// which share the definition's elements and are never modified; the profile
// works on a copy whose nodes own their elements and point to their pristine
// counterpart (src), the base definition of the element.
type node struct {
	name     string                  // the last segment of the path
	def      *base.ElementDefinition // shared by pristine nodes, owned by working ones
	src      *node                   // the pristine node a working node is copied from
	root     *node                   // the root of a pristine node's tree
	children []*node
	slices   []*node

	// State of working nodes.
	newSlice    bool        // a slice the differential adds
	diffTypes   bool        // the differential set the types
	choiceTypes []base.Type // a choice's types before type-specific names restricted them
	diffIndex   int         // 1 + the index of the differential element applied
}

// tree returns the pristine tree of the snapshot of sd.
func (g *generator) tree(sd *base.StructureDefinition) (*node, error) {
	if t, ok := g.trees[sd]; ok {
		return t, nil
	}
	t, err := buildTree(sd)
	if err != nil {
		return nil, err
	}
	g.trees[sd] = t
	return t, nil
}

// buildTree reads the snapshot of sd: each element is a child of the
// element of its parent path last seen, a slice (with a sliceName) of the
// last child of that element with its path.
func buildTree(sd *base.StructureDefinition) (*node, error) {
	if sd.Snapshot == nil || len(sd.Snapshot.Element) == 0 {
		return nil, fmt.Errorf("%s has no snapshot", sd.URL)
	}
	els := sd.Snapshot.Element
	if strings.Contains(els[0].Path, ".") || els[0].Path == "" {
		return nil, fmt.Errorf("%s: the first element %q is not the root", sd.URL, els[0].Path)
	}
	root := &node{name: els[0].Path, def: &els[0]}
	root.root = root
	stack := []*node{root}
	for i := 1; i < len(els); i++ {
		e := &els[i]
		names := strings.Split(e.Path, ".")
		d := len(names)
		if d < 2 || d-1 > len(stack) || names[0] != root.name {
			return nil, fmt.Errorf("%s: element %s out of place in the snapshot", sd.URL, e)
		}
		stack = stack[:d-1]
		parent := stack[d-2]
		n := &node{name: names[d-1], def: e, root: root}
		if e.SliceName != "" {
			if strings.Contains(e.SliceName, "/") {
				return nil, fmt.Errorf("%s: element %s: reslicing is not supported", sd.URL, e)
			}
			var sliced *node
			for j := len(parent.children) - 1; j >= 0; j-- {
				if parent.children[j].name == n.name {
					sliced = parent.children[j]
					break
				}
			}
			if sliced == nil {
				return nil, fmt.Errorf("%s: slice %s without its sliced element", sd.URL, e)
			}
			sliced.slices = append(sliced.slices, n)
		} else {
			parent.children = append(parent.children, n)
		}
		stack = append(stack, n)
	}
	return root, nil
}

// copyTree returns a working copy of the pristine tree p.
func copyTree(p *node) *node {
	n := &node{name: p.name, def: p.def.Clone(), src: p}
	n.children = copyNodes(p.children)
	n.slices = copyNodes(p.slices)
	return n
}

func copyNodes(ps []*node) []*node {
	if len(ps) == 0 {
		return nil
	}
	out := make([]*node, len(ps))
	for i, p := range ps {
		out[i] = copyTree(p)
	}
	return out
}

func (n *node) slice(name string) *node {
	for _, s := range n.slices {
		if s.def.SliceName == name {
			return s
		}
	}
	return nil
}

func (n *node) isChoice() bool { return strings.HasSuffix(n.name, "[x]") }

// expand gives the working node n the children of its type: the elements
// of the element its contentReference names, or of the definition of its
// only type (the type's profile when it names one, such as an extension
// definition, or else the data type).
func (r *run) expand(n *node) error {
	if ref := n.def.ContentReference; ref != "" {
		target, err := findPath(n.src.root, ref)
		if err != nil {
			return err
		}
		n.children = copyNodes(target.children)
		return nil
	}
	if len(n.def.Type) != 1 {
		return fmt.Errorf("%s has %d types: restrict it to one type (or use its type-specific name) before constraining its children", n.def.Path, len(n.def.Type))
	}
	t := &n.def.Type[0]
	var sd *base.StructureDefinition
	if len(t.Profile) == 1 {
		var err error
		if sd, err = r.g.withSnapshot(t.Profile[0]); err != nil {
			return fmt.Errorf("cannot expand %s: %v", n.def.Path, err)
		}
	} else {
		var ok bool
		if sd, ok = base.ByType(t.FHIRType()); !ok {
			return fmt.Errorf("%s (type %s) has no children", n.def.Path, t.Code)
		}
	}
	p, err := r.g.tree(sd)
	if err != nil {
		return err
	}
	if len(p.children) == 0 {
		return fmt.Errorf("%s (type %s) has no children", n.def.Path, t.Code)
	}
	n.children = copyNodes(p.children)
	return nil
}

// findPath returns the element of the tree root with path ref
// ("#Questionnaire.item", or a URL ending with it).
func findPath(root *node, ref string) (*node, error) {
	if i := strings.LastIndexByte(ref, '#'); i >= 0 {
		ref = ref[i+1:]
	}
	names := strings.Split(ref, ".")
	n := root
	if names[0] != root.name {
		return nil, fmt.Errorf("contentReference %s is outside %s", ref, root.name)
	}
next:
	for _, name := range names[1:] {
		for _, c := range n.children {
			if c.name == name {
				n = c
				continue next
			}
		}
		return nil, fmt.Errorf("contentReference %s: no such element", ref)
	}
	return n, nil
}

// emit returns the snapshot: each element followed by its children, then
// by its slices, each slice followed by its own children. Paths and ids are
// set from the place of each element.
func (r *run) emit() []base.ElementDefinition {
	var out []base.ElementDefinition
	var walk func(n *node, path, id string)
	walk = func(n *node, path, id string) {
		e := n.def.Clone() // the caller's own, sharing nothing
		e.Path, e.ID = path, id
		out = append(out, *e)
		for _, c := range n.children {
			walk(c, path+"."+c.name, id+"."+c.name)
		}
		for _, s := range n.slices {
			walk(s, path, id+":"+s.def.SliceName)
		}
	}
	walk(r.root, r.root.name, r.root.name)
	return out
}
