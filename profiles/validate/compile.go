package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// coreBase is the canonical URL prefix of the base specification's
// StructureDefinitions.
const coreBase = "http://hl7.org/fhir/StructureDefinition/"

// profile is a StructureDefinition compiled for validation: the tree of
// its snapshot elements. It is immutable once compiled.
type profile struct {
	url, version, name string
	typ                string // the constrained type (Patient, Extension)
	// core is set for the base specification's own definitions (Patient,
	// Quantity, Extension): their invariants are the base validation's.
	core bool
	root *node
	// byPath holds the unsliced elements by path, to compare a profile's
	// bindings with those of the base definition.
	byPath map[string]*node
	// keys are the constraint keys this definition declares (of a core
	// definition: the base specification's invariants).
	keys map[string]bool
	// warnings are problems found while compiling (slices that cannot be
	// checked), reported as warnings by every validation.
	warnings []string
	// notes are oddities of the snapshot that were worked around, logged
	// when the definition is added.
	notes []string
}

// node is one element of a snapshot.
type node struct {
	id, path  string
	name      string // the last path segment, without "[x]"
	choice    bool
	sliceName string
	min, max  int // max is -1 for "*"
	maxLength int
	types     []typeRef
	fixed     any
	pattern   any
	fixedType string
	patType   string
	binding   *bindingDef
	invs      []*invariant
	ref       *node // the element a contentReference points to
	children  []*node
	// slicing is set on an element that is sliced; slices are its slices
	// (for a slice that is resliced, its reslices) in definition order.
	slicing *slicingDef
	slices  []*node
	// sliceOf is the element this slice slices; expects are the values
	// the discriminators of that slicing must have for this slice.
	sliceOf *node
	expects []expect
	prof    *profile
}

// invariant is a constraint of an element, compiled.
type invariant struct {
	key, severity, human, source string
	expr                         *fhirpath.Expression
	err                          error // the expression did not compile
}

// content returns the elements that make up the children of an instance
// of n: its own, those of the element its contentReference points to, or
// for a slice that lists none, those of the sliced element.
func (n *node) content() []*node {
	for x := n; x != nil; {
		switch {
		case len(x.children) > 0:
			return x.children
		case x.ref != nil && x.ref != x:
			x = x.ref
		case x.sliceOf != nil:
			x = x.sliceOf
		default:
			return nil
		}
	}
	return nil
}

// declares reports whether n has a constraint with the given key.
func (n *node) declares(key string) bool {
	for _, inv := range n.invs {
		if inv.key == key {
			return true
		}
	}
	return false
}

// compile builds the element tree of a StructureDefinition snapshot.
func compile(sd *structureDefinition) (*profile, error) {
	if sd.ResourceType != "StructureDefinition" {
		return nil, fmt.Errorf("not a StructureDefinition: %q", sd.ResourceType)
	}
	if sd.URL == "" {
		return nil, errors.New("the StructureDefinition has no url")
	}
	if sd.Snapshot == nil || len(sd.Snapshot.Element) == 0 {
		return nil, fmt.Errorf("the StructureDefinition %s has no snapshot", sd.URL)
	}
	p := &profile{url: sd.URL, version: sd.Version, name: sd.Name, typ: sd.Type,
		byPath: map[string]*node{}, keys: map[string]bool{}}
	if rest, ok := strings.CutPrefix(sd.URL, coreBase); ok && model.Lookup(rest) != nil && sd.Derivation != "constraint" {
		p.core = true
	}
	els := sd.Snapshot.Element
	if p.typ == "" {
		p.typ = els[0].Path
	}
	byID := map[string]*node{}
	lastID := map[string]string{} // path → id of the latest element with that path
	for i := range els {
		ed := &els[i]
		n, err := p.newNode(ed)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if strings.Contains(ed.Path, ".") {
				return nil, fmt.Errorf("%s: the first snapshot element %s is not the root", sd.URL, ed.Path)
			}
			n.id = ed.Path
			p.root = n
			byID[n.id], lastID[ed.Path] = n, n.id
			p.byPath[ed.Path] = n
			continue
		}
		parentPath, last, ok := cutLast(ed.Path)
		parentID, found := lastID[parentPath]
		if !ok || !found {
			return nil, fmt.Errorf("%s: the element %s has no parent in the snapshot", sd.URL, ed.Path)
		}
		baseID := parentID + "." + last
		n.id = baseID
		if ed.SliceName != "" {
			n.id += ":" + ed.SliceName
			slicedID := baseID
			if k := strings.LastIndexByte(ed.SliceName, '/'); k > 0 {
				slicedID += ":" + ed.SliceName[:k] // a reslice
			}
			sliced := byID[slicedID]
			if sliced == nil {
				// A slice without the element it slices (a few R4 core
				// profiles): it constrains the element itself.
				n.id, n.sliceName = baseID, ""
				p.notes = append(p.notes, "the slice "+baseID+":"+ed.SliceName+" has no sliced element: it is read as the element")
				parent := byID[parentID]
				parent.children = append(parent.children, n)
				byID[n.id], lastID[ed.Path] = n, n.id
				continue
			}
			if sliced.slicing == nil && sliced.sliceOf == nil {
				// Extensions are sliced by url, choice elements by type,
				// even when the snapshot does not say so.
				switch {
				case sliced.name == "extension" || sliced.name == "modifierExtension":
					sliced.slicing = &slicingDef{Discriminator: []discriminatorDef{{Type: "value", Path: "url"}}, Rules: "open"}
				case sliced.choice:
					sliced.slicing = &slicingDef{Discriminator: []discriminatorDef{{Type: "type", Path: "$this"}}, Rules: "open"}
				default:
					p.warnings = append(p.warnings, "the element "+sliced.id+" has slices but no slicing: its slices are not checked")
				}
			}
			n.sliceOf = sliced
			sliced.slices = append(sliced.slices, n)
		} else {
			parent := byID[parentID]
			parent.children = append(parent.children, n)
			if parentID == parentPath {
				p.byPath[ed.Path] = n
			}
		}
		if byID[n.id] != nil {
			return nil, fmt.Errorf("%s: the element %s appears twice in the snapshot", sd.URL, n.id)
		}
		byID[n.id], lastID[ed.Path] = n, n.id
	}
	// contentReference: #Observation.referenceRange, or a URL with that
	// fragment.
	for _, n := range byID {
		if n.ref == nil {
			continue
		}
		ref := n.ref.id // the raw reference, stored there by newNode
		_, frag, _ := strings.Cut(ref, "#")
		target := byID[frag]
		if target == nil {
			return nil, fmt.Errorf("%s: the contentReference %s of %s is not in the snapshot", sd.URL, ref, n.id)
		}
		n.ref = target
	}
	for _, n := range byID {
		if n.sliceOf != nil {
			n.expects = p.expectations(n)
		}
	}
	return p, nil
}

// newNode converts one element definition.
func (p *profile) newNode(ed *elementDefinition) (*node, error) {
	n := &node{path: ed.Path, sliceName: ed.SliceName, types: ed.Type, fixed: ed.Fixed, pattern: ed.Pattern,
		fixedType: ed.FixedType, patType: ed.PatternType, slicing: ed.Slicing, prof: p, max: -1}
	_, last, _ := cutLast(ed.Path)
	n.name, n.choice = strings.CutSuffix(last, "[x]")
	if ed.Min != nil {
		n.min = *ed.Min
	}
	switch ed.Max {
	case "", "*":
	default:
		m, err := strconv.Atoi(ed.Max)
		if err != nil || m < 0 {
			return nil, fmt.Errorf("%s: the element %s has an invalid max %q", p.url, ed.Path, ed.Max)
		}
		n.max = m
	}
	if ed.MaxLength != nil {
		n.maxLength = *ed.MaxLength
	}
	if ed.ContentReference != "" {
		n.ref = &node{id: ed.ContentReference} // resolved once the tree is built
	}
	if b := ed.Binding; b != nil && b.ValueSet != "" && (b.Strength == "required" || b.Strength == "extensible") {
		n.binding = b
	}
	for _, c := range ed.Constraint {
		p.keys[c.Key] = true
		if c.Expression == "" {
			continue
		}
		inv := &invariant{key: c.Key, severity: c.Severity, human: c.Human, source: c.Source}
		inv.expr, inv.err = fhirpath.Compile(c.Expression)
		n.invs = append(n.invs, inv)
	}
	return n, nil
}

// cutLast splits a path at its last dot.
func cutLast(path string) (parent, last string, ok bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "", path, false
	}
	return path[:i], path[i+1:], true
}

// decodeDefinition reads a StructureDefinition.
func decodeDefinition(b []byte) (*structureDefinition, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var sd structureDefinition
	if err := d.Decode(&sd); err != nil {
		return nil, fmt.Errorf("the StructureDefinition cannot be read: %w", err)
	}
	return &sd, nil
}
