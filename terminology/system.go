package terminology

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// System is one version of a code system, indexed for the operations:
// concepts by code, the is-a hierarchy both ways, and the words of every
// display and designation for type-ahead filters.
type System struct {
	URL, Version, Name, Title string
	// Language is the language of the displays (CodeSystem.language).
	Language string
	// Content is CodeSystem.content: complete, fragment, example,
	// not-present or supplement.
	Content       string
	CaseSensitive bool
	// Resource is the CodeSystem without its concepts, for $lookup's name
	// and for listing.
	Resource *CodeSystem
	// ID is the id of the stored CodeSystem it was read from; empty for
	// a seed that is not stored.
	ID string

	concepts []concept
	byCode   map[string]int32
	// folded maps case-folded codes to concepts when the system is not
	// case-sensitive.
	folded map[string]int32
	props  map[string]PropertyDef
	roots  []int32
	// words is built on first use (see index), or by Service.Warm.
	wordsOnce sync.Once
	words     wordIndex
}

// concept is one concept of a System. parents and children index
// System.concepts.
type concept struct {
	code, display, definition string
	designations              []Designation
	properties                []ConceptProperty
	parents, children         []int32
	inactive, abstract        bool
}

// The property codes FHIR defines for all code systems
// (http://hl7.org/fhir/concept-properties), which the service reads.
const (
	propParent     = "parent"
	propChild      = "child"
	propInactive   = "inactive"
	propStatus     = "status"
	propNotSelect  = "notSelectable"
	propSubsumedBy = "subsumedBy"
)

// newSystem indexes cs. Concepts come from the nested concept tree (a
// child nested in its parent is-a that parent, unless the system says
// its hierarchy means something else) and from parent, child and
// subsumedBy properties, which polyhierarchies such as HPO and ORPHA use.
func newSystem(cs *CodeSystem) *System {
	s := &System{URL: cs.URL, Version: cs.Version, Name: cs.Name, Title: cs.Title, Language: cs.Language, Content: cs.Content,
		CaseSensitive: cs.CaseSensitive == nil || *cs.CaseSensitive, ID: cs.ID,
		byCode: map[string]int32{}, props: map[string]PropertyDef{}}
	meta := *cs
	meta.Concept = nil
	s.Resource = &meta
	for _, p := range cs.Property {
		s.props[p.Code] = p
	}
	nestedIsA := cs.HierarchyMeaning == "" || cs.HierarchyMeaning == "is-a"
	type edge struct{ child, parent string }
	var edges []edge
	var walk func(list []Concept, parent int32)
	walk = func(list []Concept, parent int32) {
		for i := range list {
			c := &list[i]
			idx, dup := s.byCode[c.Code]
			if !dup {
				idx = int32(len(s.concepts))
				s.byCode[c.Code] = idx
				s.concepts = append(s.concepts, concept{code: c.Code})
			}
			sc := &s.concepts[idx]
			if sc.display == "" {
				sc.display = c.Display
			}
			if sc.definition == "" {
				sc.definition = c.Definition
			}
			sc.designations = append(sc.designations, c.Designation...)
			for _, p := range c.Property {
				switch p.Code {
				case propParent, propSubsumedBy:
					if v := propCode(p); v != "" {
						edges = append(edges, edge{c.Code, v})
					}
					continue
				case propChild:
					if v := propCode(p); v != "" {
						edges = append(edges, edge{v, c.Code})
					}
					continue
				case propInactive:
					if p.ValueBoolean != nil && *p.ValueBoolean {
						sc.inactive = true
					}
				case propStatus:
					if v := propCode(p); v == "retired" || v == "inactive" || v == "deprecated" {
						sc.inactive = v != "deprecated"
					}
				case propNotSelect:
					if p.ValueBoolean != nil && *p.ValueBoolean {
						sc.abstract = true
					}
				}
				sc.properties = append(sc.properties, p)
			}
			if parent >= 0 && nestedIsA {
				edges = append(edges, edge{c.Code, s.concepts[parent].code})
			}
			walk(c.Concept, idx)
		}
	}
	walk(cs.Concept, -1)
	for _, e := range edges {
		ci, ok1 := s.byCode[e.child]
		pi, ok2 := s.byCode[e.parent]
		if !ok1 || !ok2 || ci == pi || slices.Contains(s.concepts[ci].parents, pi) {
			continue // a parent outside the system (a fragment) is not a concept here
		}
		s.concepts[ci].parents = append(s.concepts[ci].parents, pi)
		s.concepts[pi].children = append(s.concepts[pi].children, ci)
	}
	for i := range s.concepts {
		c := &s.concepts[i]
		if len(c.parents) == 0 {
			s.roots = append(s.roots, int32(i))
		}
		slices.SortFunc(c.children, func(a, b int32) int { return cmp.Compare(s.concepts[a].code, s.concepts[b].code) })
	}
	if !s.CaseSensitive {
		s.folded = make(map[string]int32, len(s.concepts))
		for i := range s.concepts {
			s.folded[strings.ToLower(s.concepts[i].code)] = int32(i)
		}
	}
	return s
}

// index returns the word index, building it on first use.
func (s *System) index() *wordIndex {
	s.wordsOnce.Do(func() { s.words = buildWords(s) })
	return &s.words
}

// propCode returns a property's value as a code (valueCode, or the code
// of valueCoding, or valueString).
func propCode(p ConceptProperty) string {
	switch {
	case p.ValueCode != "":
		return p.ValueCode
	case p.ValueCoding != nil:
		return p.ValueCoding.Code
	}
	return p.ValueString
}

// Len returns the number of concepts.
func (s *System) Len() int { return len(s.concepts) }

// Concept returns the code and display of the i-th concept (0 ≤ i < Len).
func (s *System) Concept(i int) (code, display string) {
	return s.concepts[i].code, s.concepts[i].display
}

// find returns the index of code, matching case-insensitively when the
// system is not case-sensitive.
func (s *System) find(code string) (int32, bool) {
	if i, ok := s.byCode[code]; ok {
		return i, true
	}
	if s.folded != nil {
		i, ok := s.folded[strings.ToLower(code)]
		return i, ok
	}
	return 0, false
}

// Has reports whether code is a concept of the system.
func (s *System) Has(code string) bool {
	_, ok := s.find(code)
	return ok
}

// Display returns the display of code, and whether the code exists.
func (s *System) Display(code string) (string, bool) {
	i, ok := s.find(code)
	if !ok {
		return "", false
	}
	return s.concepts[i].display, true
}

// descendants marks in set every concept below i (not i itself).
func (s *System) descendants(i int32, set []bool) {
	s.reach(i, set, func(c *concept) []int32 { return c.children })
}

// ancestors marks in set every concept above i (not i itself).
func (s *System) ancestors(i int32, set []bool) {
	s.reach(i, set, func(c *concept) []int32 { return c.parents })
}

// reach marks in set every concept reached from i by next, i excluded
// unless a cycle leads back to it.
func (s *System) reach(i int32, set []bool, next func(*concept) []int32) {
	stack := append([]int32(nil), next(&s.concepts[i])...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if set[c] {
			continue
		}
		set[c] = true
		stack = append(stack, next(&s.concepts[c])...)
	}
}

// subsumes reports whether a subsumes b (a is b or an ancestor of b).
func (s *System) subsumes(a, b int32) bool {
	if a == b {
		return true
	}
	seen := map[int32]bool{}
	stack := append([]int32(nil), s.concepts[b].parents...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == a {
			return true
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		stack = append(stack, s.concepts[c].parents...)
	}
	return false
}

// Below returns the codes of code and every concept below it, for token
// :below searches. ok is false when code is not in the system.
func (s *System) Below(code string) (codes []string, ok bool) {
	return s.closure(code, s.descendants)
}

// Above returns the codes of code and every concept above it, for token
// :above searches.
func (s *System) Above(code string) (codes []string, ok bool) {
	return s.closure(code, s.ancestors)
}

func (s *System) closure(code string, walk func(int32, []bool)) ([]string, bool) {
	i, ok := s.find(code)
	if !ok {
		return nil, false
	}
	set := make([]bool, len(s.concepts))
	set[i] = true
	walk(i, set)
	var out []string
	for j, in := range set {
		if in {
			out = append(out, s.concepts[j].code)
		}
	}
	return out, true
}

// property returns the values of concept i's property code, as codes.
func (s *System) property(i int32, code string) []string {
	var out []string
	for _, p := range s.concepts[i].properties {
		if p.Code == code {
			out = append(out, propValueString(p))
		}
	}
	return out
}

// propValueString renders any value[x] of a property as a string for
// comparison with a filter value.
func propValueString(p ConceptProperty) string {
	switch {
	case p.ValueCode != "":
		return p.ValueCode
	case p.ValueCoding != nil:
		return p.ValueCoding.Code
	case p.ValueString != "":
		return p.ValueString
	case p.ValueBoolean != nil:
		if *p.ValueBoolean {
			return "true"
		}
		return "false"
	case p.ValueInteger != nil:
		return itoa(*p.ValueInteger)
	case p.ValueDateTime != "":
		return p.ValueDateTime
	case p.ValueDecimal != nil:
		return ftoa(*p.ValueDecimal)
	}
	return ""
}
