package fhirpath

import (
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// memberStep navigates to child elements by name. A chain of names
// (name.given) is walked depth-first in one step, which yields the items in
// document order without intermediate collections.
type memberStep struct {
	names []string
	poss  []int // offset of each name in the expression
	// cache remembers, per name, the element found for the first type
	// navigated (an inline cache that saves the element lookup).
	cache []atomic.Pointer[elementCache]
}

type elementCache struct {
	t  *model.Type
	el *model.Element
}

func newMemberStep(names []string, poss []int) *memberStep {
	return &memberStep{names: names, poss: poss, cache: make([]atomic.Pointer[elementCache], len(names))}
}

func (s *memberStep) apply(c *evalCtx, _, input []Item) ([]Item, error) {
	if len(input) == 0 {
		return nil, nil
	}
	var out []Item
	var err error
	for i := range input {
		if out, err = c.navigate(out, input[i], s, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// element looks up the child element names[i] of t.
func (s *memberStep) element(t *model.Type, i int) *model.Element {
	if ce := s.cache[i].Load(); ce != nil && ce.t == t {
		return ce.el
	}
	el := t.Element(s.names[i])
	if s.cache[i].Load() == nil {
		s.cache[i].CompareAndSwap(nil, &elementCache{t: t, el: el})
	}
	return el
}

// navigate appends the items found at the path s.names[i:] below it.
func (c *evalCtx) navigate(out []Item, it Item, s *memberStep, i int) ([]Item, error) {
	name := s.names[i]
	names := s.names[i:]
	pos := s.poss[i]
	var m map[string]any
	switch v := it.v.(type) {
	case map[string]any:
		m = v
	case typeInfo:
		var s string
		switch name {
		case "namespace":
			s = v.namespace
		case "name":
			s = v.name
		case "baseType":
			s = v.base
		default:
			return out, nil
		}
		if len(names) > 1 {
			return out, nil
		}
		return append(out, strItem(s)), nil
	case refTarget:
		return out, nil
	default:
		// The id and extensions of a primitive live in its "_name" sibling.
		if it.ext == nil || it.t == nil {
			if it.t != nil && c.cfg.strict && it.t.Element(name) == nil {
				return out, unknownElement(it.t, name, pos)
			}
			return out, nil
		}
		m = it.ext
	}
	t := it.t
	if t == nil {
		x, ok := m[name]
		if !ok {
			return out, nil
		}
		return c.emitUntyped(out, x, s, i+1)
	}
	el := s.element(t, i)
	if el == nil {
		if err := c.unknownName(t, name, pos); err != nil {
			return out, err
		}
		return out, nil
	}
	if !el.Choice {
		et := &el.Types[0]
		x, ok := m[et.JSONName]
		var ext any
		hasExt := false
		if et.ExtName != "" {
			ext, hasExt = m[et.ExtName]
		}
		if !ok && !hasExt {
			return out, nil
		}
		return c.emit(out, x, ext, et.Type, s, i+1, c.site(m, t, el, et))
	}
	// Choice element: find the property valueXxx (or its _valueXxx sibling).
	if len(m) < len(el.Types) {
		for k, x := range m {
			ext := len(k) > 0 && k[0] == '_'
			key := k
			if ext {
				key = k[1:]
			}
			if !strings.HasPrefix(key, name) || len(key) == len(name) {
				continue
			}
			for j := range el.Types {
				et := &el.Types[j]
				if et.JSONName != key {
					continue
				}
				if ext {
					if _, hasValue := m[key]; hasValue {
						break // handled with the value
					}
					return c.emit(out, nil, x, et.Type, s, i+1, c.site(m, t, el, et))
				}
				var extv any
				if et.ExtName != "" {
					extv = m[et.ExtName]
				}
				return c.emit(out, x, extv, et.Type, s, i+1, c.site(m, t, el, et))
			}
		}
		return out, nil
	}
	for j := range el.Types {
		et := &el.Types[j]
		x, ok := m[et.JSONName]
		var ext any
		hasExt := false
		if et.ExtName != "" {
			ext, hasExt = m[et.ExtName]
		}
		if ok || hasExt {
			return c.emit(out, x, ext, et.Type, s, i+1, c.site(m, t, el, et))
		}
	}
	return out, nil
}

// unknownName handles a name that is not an element of t. Using the JSON
// name of a choice element (valueQuantity instead of value.ofType(Quantity))
// is always an error; other unknown names are errors in strict mode only.
func (c *evalCtx) unknownName(t *model.Type, name string, pos int) error {
	if el := t.ElementByJSONName(name); el != nil && el.Choice {
		return evalErrorf(pos, "%s is not an element of %s: use %s.ofType(...) for the choice element %s",
			name, t.TypeName(), el.Name, el.Path)
	}
	if c.cfg.strict {
		return unknownElement(t, name, pos)
	}
	return nil
}

func unknownElement(t *model.Type, name string, pos int) error {
	return evalErrorf(pos, "%s is not an element of %s", name, t.Name)
}

// site returns where the values of element el of m are, when the
// evaluation records locations (nil otherwise).
func (c *evalCtx) site(m map[string]any, t *model.Type, el *model.Element, et *model.ElementType) *Location {
	if !c.cfg.locate {
		return nil
	}
	return &Location{Parent: m, ParentType: t, Element: el, Key: et.JSONName, ExtKey: et.ExtName, Index: -1}
}

// at returns the location of the k-th value of an array at site (nil when
// not recorded).
func (l *Location) at(k int) *Location {
	if l == nil {
		return nil
	}
	a := *l
	a.Index = k
	return &a
}

// emit appends the item(s) of a JSON property value x (an array or a single
// value) of type t, with the matching primitive extension objects, or
// continues navigating below them. site is where x is, when recorded.
func (c *evalCtx) emit(out []Item, x, ext any, t *model.Type, s *memberStep, i int, site *Location) ([]Item, error) {
	var err error
	switch xv := x.(type) {
	case []any:
		exts, _ := ext.([]any)
		if s == nil || i == len(s.names) {
			out = slices.Grow(out, len(xv))
		}
		for k, e := range xv {
			var em map[string]any
			if k < len(exts) {
				em, _ = exts[k].(map[string]any)
			}
			if out, err = c.emitOne(out, e, em, t, s, i, site.at(k)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case nil:
		// Only the extension sibling is present.
		switch ev := ext.(type) {
		case []any:
			for k, e := range ev {
				em, _ := e.(map[string]any)
				if out, err = c.emitOne(out, nil, em, t, s, i, site.at(k)); err != nil {
					return nil, err
				}
			}
			return out, nil
		case map[string]any:
			return c.emitOne(out, nil, ev, t, s, i, site)
		}
		return out, nil
	}
	em, _ := ext.(map[string]any)
	return c.emitOne(out, x, em, t, s, i, site)
}

func (c *evalCtx) emitOne(out []Item, x any, ext map[string]any, t *model.Type, s *memberStep, i int, at *Location) ([]Item, error) {
	if x == nil && ext == nil {
		return out, nil
	}
	it := Item{t: t, sys: t.System, v: x, ext: ext, at: at}
	if t.Kind == model.Resource {
		// contained, Bundle.entry.resource...: typed by their resourceType.
		if m, ok := x.(map[string]any); ok {
			if rt, ok := m["resourceType"].(string); ok && rt != t.Name {
				if rtt := model.Lookup(rt); rtt != nil && rtt.Kind == model.Resource {
					it.t = rtt
				}
			}
		}
	}
	if s == nil || i == len(s.names) {
		return append(out, it), nil
	}
	return c.navigate(out, it, s, i)
}

// emitUntyped handles JSON without type information.
func (c *evalCtx) emitUntyped(out []Item, x any, s *memberStep, i int) ([]Item, error) {
	if arr, ok := x.([]any); ok {
		var err error
		for _, e := range arr {
			if out, err = c.emitUntyped(out, e, s, i); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	it, ok := untypedItem(x)
	if !ok {
		return out, nil
	}
	if s == nil || i == len(s.names) {
		return append(out, it), nil
	}
	return c.navigate(out, it, s, i)
}

func untypedItem(x any) (Item, bool) {
	switch v := x.(type) {
	case map[string]any:
		if _, ok := v["resourceType"]; ok {
			return resourceItem(v), true
		}
		return Item{v: v}, true
	case string:
		return strItem(v), true
	case bool:
		return boolItem(v), true
	case json.Number:
		return NewItem(v)
	case float64:
		return NewItem(v)
	}
	return Item{}, false
}

// children appends the child items of it, in definition order for typed
// values.
func (c *evalCtx) children(out []Item, it Item) ([]Item, error) {
	var m map[string]any
	switch v := it.v.(type) {
	case map[string]any:
		m = v
	default:
		if it.ext == nil || it.t == nil {
			return out, nil
		}
		m = it.ext
	}
	if it.t == nil {
		for _, k := range sortedKeys(m) {
			if k == "resourceType" {
				continue
			}
			var err error
			if out, err = c.emitUntyped(out, m[k], nil, 0); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var err error
	for _, el := range it.t.Elements {
		for i := range el.Types {
			et := &el.Types[i]
			x, ok := m[et.JSONName]
			var ext any
			hasExt := false
			if et.ExtName != "" {
				ext, hasExt = m[et.ExtName]
			}
			if !ok && !hasExt {
				continue
			}
			if out, err = c.emit(out, x, ext, et.Type, nil, 0, c.site(m, it.t, el, et)); err != nil {
				return nil, err
			}
			if el.Choice {
				break
			}
		}
	}
	return out, nil
}
