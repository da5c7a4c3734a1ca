package parse

import (
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// A parameter name ("key") is resolved once, then each of its values
// becomes a clause: the key gives the links of a chain or reverse chain,
// outermost first, and the leaf parameter that tests the value.

// resolved is a resolved key.
type resolved struct {
	links []link
	leaf  leaf
}

// link is one step of a chain or a reverse chain.
type link struct {
	has     bool
	param   string              // chain: the reference parameter; reverse chain: Has.Ref
	typ     fhir.ResourceType   // reverse chain: Has.Type
	targets []fhir.ResourceType // chain: Chain.Targets
}

// leaf is the parameter that finally tests a value.
type leaf struct {
	def     *search.Param
	code    string
	mod     search.Modifier
	refType fhir.ResourceType // :[type] on a reference parameter
	missing bool
}

// resolve resolves key for resources of the types ctx (none: any type).
// depth counts the links above key.
func (p *parser) resolve(ctx []fhir.ResourceType, key string, depth int) (*resolved, *problem) {
	if rest, ok := strings.CutPrefix(key, "_has:"); ok {
		return p.resolveHas(ctx, rest, depth)
	}
	if key == "_has" || strings.HasPrefix(key, "_has.") {
		return nil, invalidf("A reverse chain is written _has:Type:reference:parameter, as in _has:Observation:patient:code=1234-5.")
	}
	if head, tail, ok := strings.Cut(key, "."); ok {
		return p.resolveChain(ctx, head, tail, depth)
	}
	code, mod, hasMod := strings.Cut(key, ":")
	def, prob := p.lookup(ctx, code, depth)
	if prob != nil {
		return nil, prob
	}
	l, prob := p.modifier(def, code, mod, hasMod)
	if prob != nil {
		return nil, prob
	}
	return &resolved{leaf: l}, nil
}

// resolveHas resolves a reverse chain, rest being what follows "_has:".
func (p *parser) resolveHas(ctx []fhir.ResourceType, rest string, depth int) (*resolved, *problem) {
	typ, rest1, ok1 := strings.Cut(rest, ":")
	ref, inner, ok2 := strings.Cut(rest1, ":")
	if !ok1 || !ok2 || typ == "" || ref == "" || inner == "" {
		return nil, invalidf("A reverse chain is written _has:Type:reference:parameter, as in _has:Observation:patient:code=1234-5.")
	}
	if depth+1 > p.maxDepth {
		return nil, invalidf("Chains and reverse chains may have at most %d links.", p.maxDepth)
	}
	t := fhir.ResourceType(typ)
	if !isResourceType(typ) {
		return nil, invalidf("The reverse chain names %q, which is not a resource type.", typ)
	}
	def, prob := p.lookup([]fhir.ResourceType{t}, ref, depth+1)
	if prob != nil {
		return nil, prob
	}
	if def.Type != search.TypeReference {
		return nil, invalidf("The reverse chain goes through %s.%s, a %s parameter: it must be a reference parameter.", typ, ref, def.Type)
	}
	if len(ctx) > 0 && len(def.Targets) > 0 && !slices.ContainsFunc(ctx, func(c fhir.ResourceType) bool { return slices.Contains(def.Targets, c) }) {
		return nil, invalidf("The reference parameter %s of %s cannot refer to %s.", ref, typ, typeList(ctx))
	}
	sub, prob := p.resolve([]fhir.ResourceType{t}, inner, depth+1)
	if prob != nil {
		return nil, prob
	}
	sub.links = slices.Insert(sub.links, 0, link{has: true, param: ref, typ: t})
	return sub, nil
}

// resolveChain resolves a chain head.tail, head being a reference
// parameter with an optional :Type.
func (p *parser) resolveChain(ctx []fhir.ResourceType, head, tail string, depth int) (*resolved, *problem) {
	code, mod, hasMod := strings.Cut(head, ":")
	def, prob := p.lookup(ctx, code, depth)
	if prob != nil {
		return nil, prob
	}
	if def.Type != search.TypeReference {
		return nil, invalidf("The parameter %s is a %s parameter: only reference parameters can be chained.", code, def.Type)
	}
	if depth+1 > p.maxDepth {
		return nil, invalidf("Chains and reverse chains may have at most %d links.", p.maxDepth)
	}
	targets := def.Targets
	if hasMod {
		if !isResourceType(mod) {
			return nil, invalidf("In a chain, %s may only take a resource type as modifier (%s:Patient.name), not :%s.", code, code, mod)
		}
		t := fhir.ResourceType(mod)
		if len(targets) > 0 && !slices.Contains(targets, t) {
			return nil, invalidf("The reference parameter %s cannot refer to %s; it refers to %s.", code, mod, typeList(targets))
		}
		targets = []fhir.ResourceType{t}
	}
	if len(targets) == 0 {
		return nil, invalidf("The reference parameter %s may refer to any type: name the type in the chain, as in %s:Patient.%s.", code, code, tail)
	}
	next := tail
	if !strings.HasPrefix(next, "_has:") {
		if i := strings.IndexAny(next, ":."); i >= 0 {
			next = next[:i]
		}
	}
	if next == "" {
		return nil, invalidf("The chain after %s names no parameter.", head)
	}
	var keep []fhir.ResourceType
	if strings.HasPrefix(next, "_has:") {
		keep = slices.Clone(targets)
	} else {
		for _, t := range targets {
			if _, ok := p.reg.Lookup(t, next); ok {
				keep = append(keep, t)
			}
		}
	}
	if len(keep) == 0 {
		return nil, invalidf("The chain %s.%s is unknown: %s has no search parameter %s.", head, next, typeList(targets), next)
	}
	slices.Sort(keep)
	keep = slices.Compact(keep)
	sub, prob := p.resolve(keep, tail, depth+1)
	if prob != nil {
		return nil, prob
	}
	sub.links = slices.Insert(sub.links, 0, link{param: code, targets: keep})
	return sub, nil
}

// lookup finds the parameter code of the types ctx: of every one of them,
// with one type, or among the common parameters when ctx is empty. At
// depth 0 an unknown or unsupported parameter is reported as unknown;
// inside a chain it is an error.
func (p *parser) lookup(ctx []fhir.ResourceType, code string, depth int) (*search.Param, *problem) {
	prob := func(pr *problem) (*search.Param, *problem) {
		if depth > 0 {
			pr.unknown = false
			pr.code = fhir.IssueInvalid
		}
		return nil, pr
	}
	if code == "" {
		return prob(unknownf("A search parameter has a modifier but no name."))
	}
	var def *search.Param
	if len(ctx) == 0 {
		def = p.common(code)
		if def == nil {
			return prob(unknownf("Unknown search parameter %q: a search of all resource types takes only the parameters common to all types (_id, _lastUpdated, _tag, _profile, _security, _source).", code))
		}
	} else {
		var defs []*search.Param
		var lacking []fhir.ResourceType
		for _, t := range ctx {
			if d, ok := p.reg.Lookup(t, code); ok && d != nil {
				defs = append(defs, d)
			} else {
				lacking = append(lacking, t)
			}
		}
		switch {
		case len(defs) == 0:
			return prob(unknownf("Unknown search parameter %q for %s.", code, typeList(ctx)))
		case len(lacking) > 0:
			return prob(unknownf("The search parameter %q is not defined for %s: a search of several types takes only parameters they all have.", code, allTypes(lacking)))
		}
		def = defs[0]
		for _, d := range defs[1:] {
			if d.Type != def.Type || !slices.EqualFunc(d.Components, def.Components, func(a, b search.Component) bool { return a.Type == b.Type }) {
				return nil, invalidf("The search parameter %q is defined differently for %s (%s and %s): search the types separately.", code, allTypes(ctx), def.Type, d.Type)
			}
		}
		if len(defs) > 1 && def.Type == search.TypeReference {
			merged := *def
			merged.Targets = nil
			for _, d := range defs {
				if len(d.Targets) == 0 {
					merged.Targets = nil
					break
				}
				merged.Targets = append(merged.Targets, d.Targets...)
			}
			slices.Sort(merged.Targets)
			merged.Targets = slices.Compact(merged.Targets)
			def = &merged
		}
	}
	if why := unsupported(def); why != "" {
		return prob(unknownf("The search parameter %s is not supported: %s.", code, why))
	}
	return def, nil
}

// common returns the common parameter code (of Resource or
// DomainResource), or nil.
func (p *parser) common(code string) *search.Param {
	// A registry may answer for "Resource"; every concrete type carries the
	// common parameters anyway, so ask one and check the definition's base.
	for _, t := range []fhir.ResourceType{"Resource", "Basic"} {
		if d, ok := p.reg.Lookup(t, code); ok && d != nil && isCommon(d) {
			return d
		}
	}
	return nil
}

func isCommon(d *search.Param) bool {
	return slices.ContainsFunc(d.Base, func(b fhir.ResourceType) bool { return b == "Resource" || b == "DomainResource" })
}

// unsupported tells why a parameter cannot be searched here, or "".
func unsupported(d *search.Param) string {
	switch {
	case d.Type == search.TypeSpecial:
		return "its type is special"
	case d.Type == search.TypeComposite:
		if len(d.Components) < 2 {
			return "the composite has no components"
		}
		for _, c := range d.Components {
			switch c.Type {
			case search.TypeNumber, search.TypeDate, search.TypeString, search.TypeToken,
				search.TypeReference, search.TypeQuantity, search.TypeURI:
			default:
				return "a component has an unsupported type"
			}
		}
	case d.Expression == "":
		return "it has no expression to index"
	}
	switch d.Type {
	case search.TypeNumber, search.TypeDate, search.TypeString, search.TypeToken,
		search.TypeReference, search.TypeComposite, search.TypeQuantity, search.TypeURI:
		return ""
	}
	return "its type " + string(d.Type) + " is unknown"
}

// modifiers lists the modifiers each type takes, besides :missing (every
// type) and :[type] (references).
var modifiers = map[search.ParamType][]search.Modifier{
	search.TypeString: {search.ModExact, search.ModContains},
	search.TypeToken: {search.ModText, search.ModNot, search.ModAbove, search.ModBelow,
		search.ModIn, search.ModNotIn, search.ModOfType},
	search.TypeReference: {search.ModIdentifier, search.ModAbove, search.ModBelow},
	search.TypeURI:       {search.ModAbove, search.ModBelow, search.ModContains},
}

// modifier checks the modifier mod of the parameter code.
func (p *parser) modifier(def *search.Param, code, mod string, hasMod bool) (leaf, *problem) {
	l := leaf{def: def, code: code}
	if !hasMod {
		return l, nil
	}
	if mod == "missing" {
		l.missing = true
		return l, nil
	}
	if def.Type == search.TypeReference && isResourceType(mod) &&
		(len(def.Modifiers) == 0 || slices.Contains(def.Modifiers, "type")) {
		t := fhir.ResourceType(mod)
		if len(def.Targets) > 0 && !slices.Contains(def.Targets, t) {
			return l, invalidf("The reference parameter %s cannot refer to %s; it refers to %s.", code, mod, typeList(def.Targets))
		}
		l.refType = t
		return l, nil
	}
	m := search.Modifier(mod)
	allowed := modifiers[def.Type]
	if code == "_id" {
		allowed = []search.Modifier{search.ModNot}
	}
	if !slices.Contains(allowed, m) || (len(def.Modifiers) > 0 && !slices.Contains(def.Modifiers, m)) {
		var names []string
		for _, a := range allowed {
			if len(def.Modifiers) == 0 || slices.Contains(def.Modifiers, a) {
				names = append(names, ":"+string(a))
			}
		}
		if def.Type == search.TypeReference {
			names = append(names, ":[type]")
		}
		names = append(names, ":missing")
		return l, invalidf("The modifier :%s is not allowed on %s, a %s parameter (allowed: %s).", mod, code, def.Type, strings.Join(names, ", "))
	}
	l.mod = m
	return l, nil
}

// clause builds the clause of one value of a resolved key.
func (p *parser) clause(r *resolved, key, value string) (search.Clause, bool) {
	c, ok := p.leafClause(&r.leaf, key, value)
	if !ok {
		return c, false
	}
	for i := len(r.links) - 1; i >= 0; i-- {
		lk := r.links[i]
		if lk.has {
			c = search.Clause{Param: "_has", Type: search.TypeSpecial, Has: &search.Has{Type: lk.typ, Ref: lk.param, Clause: c}}
		} else {
			c = search.Clause{Param: lk.param, Type: search.TypeReference, Chain: &search.Chain{Targets: lk.targets, Clause: c}}
		}
	}
	return c, true
}

func isResourceType(name string) bool {
	return name != "" && model.IsResourceType(name)
}

// typeList lists types joined with "or"; allTypes with "and".
func typeList(types []fhir.ResourceType) string { return joinTypes(types, " or ") }

func allTypes(types []fhir.ResourceType) string { return joinTypes(types, " and ") }

func joinTypes(types []fhir.ResourceType, conj string) string {
	s := make([]string, len(types))
	for i, t := range types {
		s[i] = string(t)
	}
	switch len(s) {
	case 0:
		return "any type"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + conj + s[len(s)-1]
}
