package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/cpms-fhir/cpms/profiles/base"
)

// apply finds the element the differential element i names and constrains
// it, recording the problems.
func (r *run) apply(i int, de *base.ElementDefinition) {
	where := fmt.Sprintf("StructureDefinition.differential.element[%d]", i)
	if label := de.String(); label != "" {
		where += " (" + label + ")"
	}
	expr := fmt.Sprintf("StructureDefinition.differential.element[%d]", i)
	report := func(msg string) {
		r.issues = append(r.issues, issueAt(expr, where+": "+msg))
	}
	segs, err := r.segments(de)
	if err != nil {
		r.prev = nil
		report(err.Error())
		return
	}
	r.prev = segs
	n, err := r.locate(segs)
	if err != nil {
		report(err.Error())
		return
	}
	if n.diffIndex != 0 {
		report(fmt.Sprintf("the element is already constrained by StructureDefinition.differential.element[%d]", n.diffIndex-1))
		return
	}
	n.diffIndex = i + 1
	for _, msg := range r.merge(n, de) {
		report(msg)
	}
}

var strengths = map[string]int{"example": 1, "preferred": 2, "extensible": 3, "required": 4}

var slicingRules = map[string]bool{"closed": true, "open": true, "openAtEnd": true}

var discriminatorTypes = map[string]bool{"value": true, "exists": true, "pattern": true, "type": true, "profile": true}

// merge applies the differential element de to the working node n and
// returns the problems; a constraint with a problem is not applied.
func (r *run) merge(n *node, de *base.ElementDefinition) (problems []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	e, orig := n.def, n.src.def

	// Cardinality: only narrower than the base.
	if de.Min != nil {
		switch {
		case *de.Min < 0:
			bad("min %d is negative", *de.Min)
		case !n.newSlice && orig.Min != nil && *de.Min < *orig.Min:
			bad("min %d is below the base's min %d", *de.Min, *orig.Min)
		default:
			e.Min = ptr(*de.Min)
		}
	}
	if de.Max != "" {
		switch {
		case !validMax(de.Max):
			bad("max %q is not a cardinality (* or a non-negative integer)", de.Max)
		case wider(de.Max, orig.Max):
			bad("max %s is wider than the base's max %s", de.Max, orig.Max)
		default:
			e.Max = de.Max
		}
	}
	if max, unbounded := base.ParseMax(e.Max); !unbounded && e.MinCount() > max {
		bad("min %d is above max %s", e.MinCount(), e.Max)
	}
	if de.ContentReference != "" && de.ContentReference != orig.ContentReference {
		bad("contentReference %s cannot be changed (base: %q)", de.ContentReference, orig.ContentReference)
	}

	// Types: a subset of the base's types, or their specializations.
	if len(de.Type) > 0 {
		allowed := orig.Type
		ok := true
		for _, t := range de.Type {
			if msg := r.checkType(t, allowed); msg != "" {
				bad("%s", msg)
				ok = false
			}
		}
		if ok {
			e.Type = mergeTypes(allowed, de.Type)
			n.diffTypes = true
			n.choiceTypes = nil
		}
	}

	// An element typed with a profile (an extension definition,
	// SimpleQuantity) takes the constraints of the profile's root, and a
	// new slice its short description.
	var profileRoot *base.ElementDefinition
	if len(de.Type) > 0 && len(e.Type) == 1 && len(e.Type[0].Profile) == 1 {
		// A profile that cannot be resolved or generated is reported
		// where its elements are needed.
		if sd, err := r.g.withSnapshot(e.Type[0].Profile[0]); err == nil {
			profileRoot = &sd.Snapshot.Element[0]
			for _, c := range profileRoot.Constraint {
				if !slices.ContainsFunc(e.Constraint, func(x base.Constraint) bool { return x.Key == c.Key }) {
					e.Constraint = append(e.Constraint, c)
				}
			}
		}
	}
	if de.Short != "" {
		e.Short = de.Short
	} else if n.newSlice && profileRoot != nil && profileRoot.Short != "" {
		e.Short = profileRoot.Short
	}

	// Fixed and pattern values, of one of the element's types.
	for _, v := range []struct {
		kind       string
		diff, base *base.Value
		dst        **base.Value
	}{{"fixed", de.Fixed, orig.Fixed, &e.Fixed}, {"pattern", de.Pattern, orig.Pattern, &e.Pattern}} {
		if v.diff == nil {
			continue
		}
		switch {
		case len(e.Type) > 0 && !valueTypeAllowed(v.diff.Type, e.Type):
			bad("%s%s does not match the element's types (%s)", v.kind, v.diff.Type, typeList(e.Type))
		case v.base != nil && (v.base.Type != v.diff.Type || !sameJSON(v.base.JSON, v.diff.JSON)):
			bad("%s%s differs from the base's %s%s", v.kind, v.diff.Type, v.kind, v.base.Type)
		default:
			*v.dst = &base.Value{Type: v.diff.Type, JSON: compact(v.diff.JSON)}
		}
	}

	if de.Binding != nil {
		r.mergeBinding(e, orig, de.Binding, bad)
	}
	if de.Slicing != nil {
		r.mergeSlicing(n, de.Slicing, bad)
	}

	for _, c := range de.Constraint {
		if c.Key == "" {
			bad("a constraint without key")
			continue
		}
		if c.Source == "" {
			c.Source = r.url
		}
		if j := slices.IndexFunc(e.Constraint, func(x base.Constraint) bool { return x.Key == c.Key }); j >= 0 {
			if e.Constraint[j].Expression != c.Expression {
				bad("constraint %s is already defined by the base, with another expression", c.Key)
			}
			continue
		}
		e.Constraint = append(e.Constraint, c)
	}
	for _, c := range de.Condition {
		if !slices.Contains(e.Condition, c) {
			e.Condition = append(e.Condition, c)
		}
	}
	if de.MustSupport != nil {
		if !*de.MustSupport && orig.MustSupport != nil && *orig.MustSupport {
			bad("mustSupport cannot be turned off: the base requires support")
		} else {
			e.MustSupport = ptr(*de.MustSupport)
		}
	}
	if de.IsModifier != nil {
		e.IsModifier = ptr(*de.IsModifier)
	}
	if de.IsSummary != nil {
		e.IsSummary = ptr(*de.IsSummary)
	}
	if de.MaxLength != nil {
		if orig.MaxLength != nil && *de.MaxLength > *orig.MaxLength {
			bad("maxLength %d is above the base's %d", *de.MaxLength, *orig.MaxLength)
		} else {
			e.MaxLength = ptr(*de.MaxLength)
		}
	}
	for k, v := range de.Extra {
		if e.Extra == nil {
			e.Extra = map[string]json.RawMessage{}
		}
		for _, p := range []string{"defaultValue", "minValue", "maxValue"} {
			if base.ChoiceType(k, p) != "" {
				for old := range e.Extra {
					if base.ChoiceType(old, p) != "" {
						delete(e.Extra, old)
					}
				}
			}
		}
		e.Extra[k] = append(json.RawMessage(nil), v...)
	}
	return problems
}

func (r *run) mergeBinding(e, orig *base.ElementDefinition, d *base.Binding, bad func(string, ...any)) {
	if d.Strength != "" {
		s, ok := strengths[d.Strength]
		if !ok {
			bad("binding strength %q is not a strength", d.Strength)
			return
		}
		if orig.Binding != nil && strengths[orig.Binding.Strength] >= strengths["extensible"] && s < strengths[orig.Binding.Strength] {
			bad("binding strength %s is weaker than the base's %s", d.Strength, orig.Binding.Strength)
			return
		}
	}
	b := &base.Binding{}
	if e.Binding != nil {
		b = &base.Binding{Strength: e.Binding.Strength, Description: e.Binding.Description, ValueSet: e.Binding.ValueSet, Extension: e.Binding.Extension}
	}
	if d.Strength != "" {
		b.Strength = d.Strength
	}
	if d.Description != "" {
		b.Description = d.Description
	}
	if d.ValueSet != "" {
		b.ValueSet = d.ValueSet
	}
	if d.Extension != nil {
		b.Extension = d.Extension
	}
	if b.Strength == "" {
		bad("binding without strength")
		return
	}
	e.Binding = b
}

func (r *run) mergeSlicing(n *node, d *base.Slicing, bad func(string, ...any)) {
	e := n.def
	ok := true
	if d.Rules != "" && !slicingRules[d.Rules] {
		bad("slicing rules %q is not closed, open or openAtEnd", d.Rules)
		ok = false
	}
	for _, x := range d.Discriminator {
		if !discriminatorTypes[x.Type] || x.Path == "" {
			bad("slicing discriminator %s:%s is not a discriminator (value, exists, pattern, type or profile, with a path)", x.Type, x.Path)
			ok = false
		}
	}
	if max, unbounded := base.ParseMax(e.Max); !unbounded && max <= 1 && !n.isChoice() && n.def.SliceName == "" {
		bad("%s does not repeat (max %s): it cannot be sliced", e.Path, e.Max)
		ok = false
	}
	cur := e.Slicing
	if cur == nil {
		if d.Rules == "" {
			bad("slicing without rules")
			ok = false
		}
		if len(d.Discriminator) == 0 && d.Description == "" {
			bad("slicing without discriminator needs a description")
			ok = false
		}
		if ok {
			s := *d
			s.Discriminator = slices.Clone(d.Discriminator)
			e.Slicing = &s
		}
		return
	}
	if len(d.Discriminator) > 0 && len(cur.Discriminator) > 0 && !slices.Equal(d.Discriminator, cur.Discriminator) {
		bad("slicing discriminator %v differs from the base's %v", d.Discriminator, cur.Discriminator)
		ok = false
	}
	if d.Rules != "" && (cur.Rules == "closed" && d.Rules != "closed" || cur.Rules == "openAtEnd" && d.Rules == "open") {
		bad("slicing rules %s are looser than the base's %s", d.Rules, cur.Rules)
		ok = false
	}
	if d.Ordered != nil && !*d.Ordered && cur.Ordered != nil && *cur.Ordered {
		bad("the base's slicing is ordered")
		ok = false
	}
	if !ok {
		return
	}
	s := *cur
	if len(d.Discriminator) > 0 {
		s.Discriminator = slices.Clone(d.Discriminator)
	}
	if d.Description != "" {
		s.Description = d.Description
	}
	if d.Ordered != nil {
		s.Ordered = ptr(*d.Ordered)
	}
	if d.Rules != "" {
		s.Rules = d.Rules
	}
	if d.Extension != nil {
		s.Extension = d.Extension
	}
	e.Slicing = &s
}

// checkType reports why the type t is not allowed by the base's types
// ("" when it is): its code must be one of theirs or a specialization of
// one, its profiles must be on its code, its target profiles among those
// of the base (or profiles on them).
func (r *run) checkType(t base.Type, allowed []base.Type) string {
	if t.Code == "" {
		return "a type without code"
	}
	if len(allowed) == 0 {
		return fmt.Sprintf("type %s: the base element has no type", t.Code)
	}
	var match *base.Type
	for i := range allowed {
		a := &allowed[i]
		if a.Code == t.Code || a.FHIRType() == t.Code || derives(t.Code, a.FHIRType()) {
			match = a
			break
		}
	}
	if match == nil {
		return fmt.Sprintf("type %s is not allowed by the base (%s)", t.Code, typeList(allowed))
	}
	for _, p := range t.Profile {
		sd, ok := r.g.find(p)
		if !ok {
			continue // not known yet: checked when the profile is used
		}
		if sd.Type != t.Code && !derives(sd.Type, t.Code) {
			return fmt.Sprintf("profile %s is on type %s, not %s", p, sd.Type, t.Code)
		}
		if len(match.Profile) > 0 && !slices.Contains(match.Profile, p) {
			if ok, known := r.profileOn(p, match.Profile); known && !ok {
				return fmt.Sprintf("profile %s does not constrain the base's profiles (%v)", p, match.Profile)
			}
		}
	}
	if len(match.TargetProfile) > 0 {
		for _, p := range t.TargetProfile {
			if slices.Contains(match.TargetProfile, p) {
				continue
			}
			if ok, known := r.profileOn(p, match.TargetProfile); known && !ok {
				return fmt.Sprintf("target profile %s is not allowed by the base (%v)", p, match.TargetProfile)
			}
		}
	}
	return ""
}

// profileOn reports whether the profile url is one of bases or derives from
// one of them; known is false when its derivation cannot be followed.
func (r *run) profileOn(url string, bases []string) (ok, known bool) {
	for range 32 {
		if slices.Contains(bases, url) {
			return true, true
		}
		sd, found := r.g.find(url)
		if !found {
			return false, false
		}
		if sd.BaseDefinition == "" {
			return false, true
		}
		url = sd.BaseDefinition
	}
	return false, false
}

// derives reports whether the FHIR type code is baseCode or derives from it
// (Patient from Resource, Age from Quantity).
func derives(code, baseCode string) bool {
	for range 32 {
		if code == baseCode {
			return true
		}
		sd, ok := base.ByType(code)
		if !ok || sd.BaseDefinition == "" {
			return false
		}
		parent, ok := base.Get(sd.BaseDefinition)
		if !ok {
			return false
		}
		code = parent.Type
	}
	return false
}

// mergeTypes returns the differential's types, each taking from the base
// type of the same code what it does not say (profiles, target profiles,
// extensions, aggregation, versioning).
func mergeTypes(allowed, diff []base.Type) []base.Type {
	out := make([]base.Type, len(diff))
	for i, t := range diff {
		for _, a := range allowed {
			if a.Code != t.Code {
				continue
			}
			if len(t.Profile) == 0 && len(t.TargetProfile) == 0 {
				t.Profile, t.TargetProfile = a.Profile, a.TargetProfile
			}
			if t.Extension == nil {
				t.Extension = a.Extension
			}
			if t.Aggregation == nil {
				t.Aggregation = a.Aggregation
			}
			if t.Versioning == "" {
				t.Versioning = a.Versioning
			}
			break
		}
		out[i] = t
	}
	return out
}

func valueTypeAllowed(suffix string, types []base.Type) bool {
	for _, t := range types {
		if upperFirst(t.FHIRType()) == suffix || upperFirst(t.Code) == suffix {
			return true
		}
	}
	return false
}

func validMax(max string) bool {
	if max == "*" {
		return true
	}
	n, err := strconv.Atoi(max)
	return err == nil && n >= 0
}

// wider reports whether the max cardinality a allows more than b.
func wider(a, b string) bool {
	if b == "" || b == "*" {
		return false
	}
	if a == "*" {
		return true
	}
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x > y
}

func compact(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return append(json.RawMessage(nil), v...)
	}
	return b.Bytes()
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}
