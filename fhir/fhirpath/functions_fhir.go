package fhirpath

import (
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

var fhirFunctions = map[string]*funcDef{
	"extension": fnN(1, 1, fnExtension),
	"hasValue": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		return boolColl(len(in) == 1 && in[0].t != nil && in[0].t.Kind == model.Primitive && in[0].HasValue()), nil
	}),
	"getValue": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		if len(in) != 1 || in[0].t == nil || in[0].t.Kind != model.Primitive || !in[0].HasValue() {
			return nil, nil
		}
		return []Item{{sys: in[0].sys, v: in[0].v}}, nil
	}),
	"resolve": fn0(fnResolve),
	"memberOf": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, "memberOf")
		if !ok {
			return nil, err
		}
		vs, ok, err := c.stringArg(f, 0, this)
		if !ok {
			return nil, err
		}
		if c.cfg.terminology == nil {
			return nil, evalErrorf(f.pos, "memberOf() needs a terminology service (WithTerminology)")
		}
		b, err := c.cfg.terminology.MemberOf(it, vs)
		if err != nil {
			return nil, evalErrorf(f.pos, "memberOf(): %v", err)
		}
		return boolColl(b), nil
	}),
	"conformsTo": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, "conformsTo")
		if !ok {
			return nil, err
		}
		url, ok, err := c.stringArg(f, 0, this)
		if !ok {
			return nil, err
		}
		if name, ok := strings.CutPrefix(url, baseProfilePrefix); ok {
			if t := model.Lookup(name); t != nil && t.Kind != model.Backbone {
				return boolColl(it.t != nil && it.t.IsSubtypeOf(t)), nil
			}
		}
		if c.cfg.conformsTo == nil {
			return nil, evalErrorf(f.pos, "conformsTo(): unknown profile %s", url)
		}
		b, err := c.cfg.conformsTo(it, url)
		if err != nil {
			return nil, evalErrorf(f.pos, "conformsTo(): %v", err)
		}
		return boolColl(b), nil
	}),
	// htmlChecks() is approximated: the narrative is not checked.
	"htmlChecks": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return trueColl, nil
	}),
	"type": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		out := make([]Item, 0, len(in))
		for _, it := range in {
			out = append(out, Item{v: typeInfoOf(it)})
		}
		return out, nil
	}),
	"is": {minArgs: 1, maxArgs: 1, typeArg: true, fn: func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, "is")
		if !ok {
			return nil, err
		}
		return boolColl(f.spec.matches(it)), nil
	}},
	// as() filters like ofType(): the R4 core invariants (dom-3) apply it to
	// collections. Strict mode requires a single item, as FHIRPath N1 does.
	"as": {minArgs: 1, maxArgs: 1, typeArg: true, fn: func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		if len(in) > 1 && c.cfg.strict {
			return nil, evalErrorf(f.pos, "as() on a collection of %d items; use ofType()", len(in))
		}
		return filterType(in, f.spec), nil
	}},
	"not": fn0(func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		b, ok, err := singletonBool(in, "not()")
		if err != nil {
			return nil, atPos(err, f.pos)
		}
		if !ok {
			return nil, nil
		}
		return boolColl(!b), nil
	}),
}

const baseProfilePrefix = "http://hl7.org/fhir/StructureDefinition/"

func typeInfoOf(it Item) typeInfo {
	if it.t != nil {
		ti := typeInfo{namespace: "FHIR", name: it.t.TypeName()}
		if b := it.t.Base; b != nil {
			ti.base = "FHIR." + b.Name
		}
		if it.t.Kind == model.Backbone && it.t.Base != nil && it.t.Base.Base != nil {
			ti.base = "FHIR." + it.t.Base.Base.Name
		}
		return ti
	}
	if ti, ok := it.v.(typeInfo); ok {
		_ = ti
		return typeInfo{namespace: "System", name: "SimpleTypeInfo"}
	}
	return typeInfo{namespace: "System", name: it.sys.Name(), base: "System.Any"}
}

var extensionStep = newMemberStep([]string{"extension"}, []int{-1})

func fnExtension(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
	url, ok, err := c.stringArg(f, 0, this)
	if !ok {
		return nil, err
	}
	var out []Item
	for _, it := range in {
		n := len(out)
		if out, err = c.navigate(out, it, extensionStep, 0); err != nil {
			return nil, err
		}
		// Keep the extensions with the wanted url, in place.
		k := n
		for _, e := range out[n:] {
			if m, ok := e.v.(map[string]any); ok {
				if u, _ := m["url"].(string); u == url {
					out[k] = e
					k++
				}
			}
		}
		out = out[:k]
	}
	return out, nil
}

func fnResolve(c *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
	var out []Item
	for _, it := range in {
		var ref string
		switch v := it.v.(type) {
		case map[string]any:
			ref, _ = v["reference"].(string)
		case string:
			ref = v
		}
		if ref == "" {
			continue
		}
		if r, ok := c.resolve(ref); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// resolve finds the target of a reference: a contained resource (#id), an
// entry of the Bundle being evaluated (by fullUrl), the configured Resolver,
// and finally a placeholder typed by the resource type in the reference
// (Patient/123, http://server/fhir/Patient/123, Patient/123/_history/2),
// so that resolve() is Patient works without fetching anything.
func (c *evalCtx) resolve(ref string) (Item, bool) {
	for _, root := range c.root {
		m, ok := root.v.(map[string]any)
		if !ok {
			continue
		}
		if id, ok := strings.CutPrefix(ref, "#"); ok {
			if id == "" {
				return root, true
			}
			contained, _ := m["contained"].([]any)
			for _, x := range contained {
				if cm, ok := x.(map[string]any); ok && cm["id"] == id {
					return resourceItem(cm), true
				}
			}
			continue
		}
		if m["resourceType"] == "Bundle" {
			entries, _ := m["entry"].([]any)
			for _, e := range entries {
				em, _ := e.(map[string]any)
				full, _ := em["fullUrl"].(string)
				if full == "" || !(full == ref || strings.HasSuffix(full, "/"+ref)) {
					continue
				}
				if rm, ok := em["resource"].(map[string]any); ok {
					return resourceItem(rm), true
				}
			}
		}
	}
	if c.cfg.resolver != nil {
		if r, ok := c.cfg.resolver.Resolve(ref); ok {
			switch r := r.(type) {
			case Item:
				return r, true
			case map[string]any:
				return resourceItem(r), true
			}
		}
	}
	if t := referenceType(ref); t != nil {
		return Item{t: t, v: refTarget{ref: ref}}, true
	}
	return Item{}, false
}

// referenceType returns the resource type named in a reference, or nil.
func referenceType(ref string) *model.Type {
	if i := strings.IndexByte(ref, '|'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, '/')
	if i <= 0 {
		return nil
	}
	typ := ref[:i]
	if j := strings.LastIndexByte(typ, '/'); j >= 0 {
		typ = typ[j+1:]
	}
	t := model.Lookup(typ)
	if t == nil || t.Kind != model.Resource || t.Abstract {
		return nil
	}
	return t
}
